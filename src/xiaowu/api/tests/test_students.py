"""The 学籍 endpoints: students, guardians, status changes (read and record), masking and the
special-group fields."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from xiaowu.accounts.middleware import SESSION_LOGIN_AT
from xiaowu.api.responses import CSRF_FAILED, INVALID, NOT_FOUND, UNAUTHENTICATED
from xiaowu.api.schemas import StudentGroup
from xiaowu.api.tests.utils import assert_no_full_numbers, ids, items
from xiaowu.audit.models import AuditEvent
from xiaowu.org.models import OrgUnit
from xiaowu.students.models import ClassMembership, StatusChange, Student
from xiaowu.students.selectors import SPECIAL_GROUPS
from xiaowu.students.services import status_change_record
from xiaowu.students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

SPECIAL_FIELDS = (
    "health_status",
    "left_behind",
    "left_behind_label",
    "is_migrant_child",
    "has_disability",
    "disability_type",
    "disability_type_label",
    "is_orphan",
    "is_needy_family",
)
# Roles that hold 学籍管理 or 查看完整个人信息 at the first school, and roles that do not.
MAY_READ_GROUPS = ["admin", "bureau", "district", "principal", "office"]
MAY_NOT_READ_GROUPS = ["vice", "gradehead", "headteacher", "teacher", "parent"]


def _student(api_get, username: str, student: Student) -> dict[str, Any]:
    response = api_get(username, f"/api/students/{student.pk}")
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


# --------------------------------------------------------------------------- students


def test_student_detail_has_the_register_fields_masked(world, register, api_get):
    body = _student(api_get, "principal", register.child)
    number = register.child.id_number

    assert body == {
        "id": register.child.pk,
        "name": "张小明",
        "former_name": "",
        "gender": "male",
        "gender_label": "男",
        "birth_date": register.child.birth_date.isoformat(),
        "id_type": "1",
        "id_type_label": "居民身份证",
        "id_number": f"{number[:6]}********{number[-4:]}",
        "national_student_number": f"G{number[:5]}*********{number[-4:]}",
        "ethnicity": "01",
        "ethnicity_label": "汉族",
        "nationality": "CHN",
        "birthplace_region": "",
        "native_place": "",
        "hukou_region": "",
        "overseas_status": "00",
        "school_id": world.school.pk,
        "school_name": "青石小学",
        "school_class_id": world.class_a.pk,
        "school_class_name": "一年级(1)班",
        "grade": 1,
        "status": "enrolled",
        "status_label": "在校",
        "class_seat_number": "",
        "enrolled_on": "2024-09-01",
        "study_mode": "1",
        "study_mode_label": "走读",
        "health_status": "2",
        "left_behind": "1",
        "left_behind_label": "单亲留守儿童",
        "is_migrant_child": False,
        "has_disability": False,
        "disability_type": "",
        "disability_type_label": None,
        "is_orphan": False,
        "is_needy_family": True,
    }


@pytest.mark.parametrize("username", MAY_READ_GROUPS)
def test_special_groups_are_shown_to_managers(world, register, api_get, username):
    body = _student(api_get, username, register.classmate)

    assert body["is_migrant_child"] is True
    assert body["has_disability"] is True
    assert body["disability_type"] == "2"
    assert body["disability_type_label"] == "听力残疾"


@pytest.mark.parametrize("username", MAY_NOT_READ_GROUPS)
def test_special_groups_are_null_for_everyone_else(world, register, api_get, username):
    student = register.child
    body = _student(api_get, username, student) if username != "gradehead" else None
    listed = items(api_get(username, "/api/students", limit=500))

    assert listed
    for record in [*listed, *([body] if body else [])]:
        for field in SPECIAL_FIELDS:
            assert record[field] is None, (username, field)
        # The rest of the record is there.
        assert record["name"]
        assert record["study_mode"] in ("1", "2")


def test_special_groups_follow_the_school_where_the_permission_is_held(world, register, api_get):
    """principal2 (other district) who also teaches a class of the first school sees the
    special groups of the other school's students only."""
    from xiaowu.accounts.tests.factories import RoleAssignmentFactory

    RoleAssignmentFactory(
        user=world.users["principal2"], role="subject_teacher", org_unit=world.class_a
    )
    own = Student.objects.get(name="钱小军")

    assert _student(api_get, "principal2", register.child)["left_behind"] is None
    assert _student(api_get, "principal2", own)["left_behind"] == "0"
    # A group filter matches only where the groups may be read.
    assert ids(api_get("principal2", "/api/students", group="left_behind")) == set()


def test_student_groups_match_the_selector_keys():
    assert set(StudentGroup.__args__) == set(SPECIAL_GROUPS)


def test_group_filter(world, register, api_get):
    assert ids(api_get("principal", "/api/students", group="left_behind")) == {register.child.pk}
    assert ids(api_get("principal", "/api/students", group=["migrant", "disability"])) == {
        register.classmate.pk
    }
    assert ids(api_get("principal", "/api/students", group=["migrant", "needy"])) == set()
    assert ids(api_get("district", "/api/students", group="orphan")) == set()
    # 住校生 is no sensitive group: anyone may filter by it, within their scope.
    assert ids(api_get("teacher", "/api/students", group="boarding")) == {register.classmate.pk}
    assert api_get("principal", "/api/students", group="rich").status_code == 422


@pytest.mark.parametrize("username", MAY_NOT_READ_GROUPS)
def test_sensitive_group_filter_is_403_without_permission(world, register, api_get, username):
    for group in ("left_behind", "migrant", "disability", "orphan", "needy"):
        response = api_get(username, "/api/students", group=group)

        assert response.status_code == 403, group
        assert response.json() == {"detail": "您无权按特殊群体筛选学生。"}


def test_student_filters_and_search(world, register, api_get):
    child, classmate, sibling = register.child, register.classmate, register.sibling
    school_b_student = Student.objects.get(name="赵小丽")

    assert ids(api_get("district", "/api/students", school_id=world.school.pk)) == {
        child.pk,
        classmate.pk,
        sibling.pk,
    }
    assert ids(api_get("district", "/api/students", class_id=world.class_b.pk)) == {sibling.pk}
    assert ids(api_get("district", "/api/students", grade=7)) == {school_b_student.pk}
    assert ids(api_get("district", "/api/students", search="zxm")) == {child.pk}
    assert ids(api_get("district", "/api/students", search="李小红")) == {classmate.pk}
    assert ids(api_get("district", "/api/students", search=child.id_number)) == {child.pk}
    assert ids(
        api_get("district", "/api/students", search=child.national_student_number.lower())
    ) == {child.pk}
    # Outside the caller's scope nothing matches, not even an exact ID number.
    assert ids(api_get("teacher", "/api/students", search=sibling.id_number)) == set()
    StudentFactory(school_class=world.class_a, name="转出生", status="transferred_out")
    assert [
        s["name"] for s in items(api_get("principal", "/api/students", status="transferred_out"))
    ] == ["转出生"]
    assert api_get("principal", "/api/students", status="expelled").status_code == 422


def test_student_list_is_ordered_and_paginated(world, register, api_get):
    names = [s["name"] for s in items(api_get("district", "/api/students"))]
    page = api_get("district", "/api/students", limit=2, offset=1).json()

    assert names == ["李小红", "张小明", "王小刚", "赵小丽"]  # by school, grade, pinyin
    assert page["count"] == 4
    assert [s["name"] for s in page["items"]] == names[1:3]


def test_student_list_query_count_does_not_grow_with_rows(world, register, api_get):
    api_get("principal", "/api/students")
    with CaptureQueriesContext(connection) as few:
        api_get("principal", "/api/students")
    for _ in range(5):
        StudentFactory(school_class=world.class_b)

    with CaptureQueriesContext(connection) as many:
        response = api_get("principal", "/api/students")

    assert response.json()["count"] == 8
    assert len(many) == len(few)


# --------------------------------------------------------------------------- guardians


def test_student_guardians(world, register, api_get):
    response = api_get("headteacher", f"/api/students/{register.child.pk}/guardians")

    assert response.status_code == 200
    grandmother = register.grandmother
    assert [(g["name"], g["relation"], g["relation_label"]) for g in response.json()] == [
        ("张大明", "mother", "母亲"),
        ("王奶奶", "grandmother", "祖母/外祖母"),
    ]
    assert response.json()[1] == {
        "guardian_id": grandmother.pk,
        "name": "王奶奶",
        "mobile": "158****5678",
        "employer": "",
        "id_type": "",
        "id_number": f"{grandmother.id_number[:6]}********{grandmother.id_number[-4:]}",
        "relation": "grandmother",
        "relation_label": "祖母/外祖母",
        "is_custodian": True,
    }


def test_guardians_list_only_the_children_the_caller_may_see(world, register, api_get):
    grandmother = register.grandmother

    def children(username: str) -> list[str]:
        body = api_get(username, f"/api/guardians/{grandmother.pk}").json()
        listed = {g["id"]: g for g in items(api_get(username, "/api/guardians"))}
        assert listed[grandmother.pk] == body
        return [child["student_name"] for child in body["children"]]

    assert children("principal") == ["王小刚", "张小明"]
    assert children("headteacher") == ["张小明"]
    assert children("gradehead") == ["王小刚"]
    assert children("parent") == ["张小明"]


def test_guardian_scope(world, register, api_get):
    parent_guardian = register.child.guardianships.get(relation="mother").guardian

    assert ids(api_get("headteacher", "/api/guardians")) == {
        parent_guardian.pk,
        register.grandmother.pk,
    }
    assert ids(api_get("gradehead", "/api/guardians")) == {register.grandmother.pk}
    assert ids(api_get("teacher2", "/api/guardians")) == set()
    assert ids(api_get("principal", "/api/guardians", search="王")) == {register.grandmother.pk}
    for username in ("teacher2", "principal2", "research", "duty"):
        assert api_get(username, f"/api/guardians/{parent_guardian.pk}").status_code == 404


def test_parent_sees_own_record_and_own_child_only(world, register, api_get):
    me = register.child.guardianships.get(relation="mother").guardian
    body = api_get("parent", f"/api/guardians/{me.pk}").json()

    assert body["has_account"] is True
    assert [child["student_id"] for child in body["children"]] == [register.child.pk]
    assert ids(api_get("parent", "/api/students")) == {register.child.pk}
    for other in (register.classmate, register.sibling):
        assert api_get("parent", f"/api/students/{other.pk}").status_code == 404
        assert api_get("parent", f"/api/students/{other.pk}/guardians").status_code == 404


# --------------------------------------------------------------------------- status changes


def _record(world, student, **kwargs):
    return status_change_record(actor=world.users["principal"], student=student, **kwargs)


def test_status_changes_of_a_student_and_the_list(world, register, api_get):
    child = register.child
    _record(world, child, kind="suspension", effective_on=date(2025, 10, 8), reason="病休")
    _record(world, child, kind="resumption", effective_on=date(2025, 11, 3), to_class=world.class_a)
    _record(world, register.sibling, kind="transfer_out", effective_on=date(2025, 10, 20))

    history = api_get("teacher", f"/api/students/{child.pk}/status-changes").json()
    assert [(e["kind"], e["effective_on"]) for e in history] == [
        ("suspension", "2025-10-08"),
        ("resumption", "2025-11-03"),
    ]
    assert history[1]["to_class_name"] == "一年级(1)班"
    assert history[0]["recorded_by_name"] == "principal用户"
    assert history[0]["reason"] == "病休"

    def kinds(username: str, **query: Any) -> list[str]:
        return [e["kind"] for e in items(api_get(username, "/api/status-changes", **query))]

    assert kinds("principal") == ["resumption", "transfer_out", "suspension"]  # newest first
    assert kinds("teacher") == ["resumption", "suspension"]
    assert kinds("gradehead") == ["transfer_out"]
    assert kinds("parent") == ["resumption", "suspension"]
    assert kinds("teacher2") == []
    assert kinds("principal", kind="transfer_out") == ["transfer_out"]
    assert kinds("principal", start_on="2025-10-20", end_on="2025-11-02") == ["transfer_out"]
    assert kinds("principal", school_id=world.school_b.pk) == []
    assert api_get("principal", "/api/status-changes", kind="expulsion").status_code == 422
    assert api_get("principal", "/api/status-changes", start_on="2025-13-01").status_code == 422


def _counts() -> tuple[int, int, int, list[tuple[int, str, int | None, int]]]:
    return (
        StatusChange.objects.count(),
        ClassMembership.objects.count(),
        # (Creating the caller's bearer token writes an accounts.* audit row; that is fine.)
        AuditEvent.objects.filter(event__startswith="students.").count(),
        list(Student.objects.order_by("pk").values_list("pk", "status", "school_class", "version")),
    )


def test_record_a_class_change(world, register, api_post, api_get):
    child = register.child

    response = api_post(
        "principal",
        f"/api/students/{child.pk}/status-changes",
        {
            "kind": "class_change",
            "effective_on": "2025-11-03",
            "to_class_id": world.class_b.pk,
            "reason": "分班调整",
            "document_number": "青小〔2025〕3号",
            "note": "家长同意",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    event = StatusChange.objects.get(pk=body["id"])
    assert body == {
        "id": event.pk,
        "student_id": child.pk,
        "student_name": "张小明",
        "school_id": world.school.pk,
        "school_name": "青石小学",
        "kind": "class_change",
        "kind_label": "调班",
        "effective_on": "2025-11-03",
        "from_class_id": world.class_a.pk,
        "from_class_name": "一年级(1)班",
        "to_class_id": world.class_b.pk,
        "to_class_name": "三年级(1)班",
        "reason": "分班调整",
        "counterpart": "",
        "document_number": "青小〔2025〕3号",
        "note": "家长同意",
        "recorded_by_name": "principal用户",
        "recorded_at": body["recorded_at"],
    }
    child.refresh_from_db()
    assert child.school_class_id == world.class_b.pk
    assert list(
        child.memberships.order_by("start_on").values_list("school_class", "start_on", "end_on")
    ) == [
        (world.class_a.pk, date(2024, 9, 1), date(2025, 11, 3)),
        (world.class_b.pk, date(2025, 11, 3), None),
    ]
    assert AuditEvent.objects.filter(event="students.status_change_class_change").count() == 1
    # The change is visible at once, with the new class's scope.
    assert api_get("gradehead", f"/api/students/{child.pk}").status_code == 200
    assert api_get("headteacher", f"/api/students/{child.pk}").status_code == 404


def test_record_a_transfer_out_and_a_dropout_then_resumption(world, register, api_post):
    path = f"/api/students/{register.sibling.pk}/status-changes"

    out = api_post(
        "office",
        path,
        {"kind": "transfer_out", "effective_on": "2025-10-20", "counterpart": "兰州"},
    )
    assert out.status_code == 201, out.content
    assert (
        api_post("office", path, {"kind": "dropout", "effective_on": "2025-11-01"}).status_code
        == 422
    )

    path = f"/api/students/{register.classmate.pk}/status-changes"
    assert (
        api_post("district", path, {"kind": "dropout", "effective_on": "2025-10-01"}).status_code
        == 201
    )
    back = api_post(
        "district",
        path,
        {"kind": "resumption", "effective_on": "2025-10-15", "to_class_id": world.class_a.pk},
    )
    assert back.status_code == 201, back.content
    register.classmate.refresh_from_db()
    assert register.classmate.status == "enrolled"
    assert register.classmate.memberships.filter(end_on__isnull=True).get().start_on == date(
        2025, 10, 15
    )


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        (
            {"kind": "resumption", "effective_on": "2025-11-01", "to_class_id": "class_a"},
            ["body", "kind"],
            "学籍状态为“在校”的学生不能办理“复学”。",
        ),
        (
            {"kind": "class_change", "effective_on": "2025-11-01"},
            ["body", "to_class_id"],
            "请选择班级。",
        ),
        (
            {"kind": "class_change", "effective_on": "2025-11-01", "to_class_id": "class_a"},
            ["body", "to_class_id"],
            "新班级与原班级相同。",
        ),
        (
            {"kind": "class_change", "effective_on": "2025-11-01", "to_class_id": "school_b_class"},
            ["body", "to_class_id"],
            "所选班级不属于该生所在学校。",
        ),
        (
            {"kind": "class_change", "effective_on": "2025-11-01", "to_class_id": "school"},
            ["body", "to_class_id"],
            "所选机构不是有效的班级。",
        ),
        (
            {"kind": "suspension", "effective_on": "2024-08-31"},
            ["body", "effective_on"],
            "异动日期不能早于该生进入现班级的日期（2024-09-01）。",
        ),
        (
            {"kind": "enrollment", "effective_on": "2025-11-01", "to_class_id": "class_b"},
            ["body", "kind"],
            "学籍状态为“在校”的学生不能办理“入学”。",
        ),
    ],
)
def test_rule_violations_are_422_in_chinese_and_write_nothing(
    world, register, api_post, body, loc, message
):
    units = {
        "class_a": world.class_a.pk,
        "class_b": world.class_b.pk,
        "school_b_class": OrgUnit.objects.get(code="S2-C701").pk,
        "school": world.school.pk,
    }
    if "to_class_id" in body:
        body = {**body, "to_class_id": units[body["to_class_id"]]}
    before = _counts()

    response = api_post("district", f"/api/students/{register.child.pk}/status-changes", body)

    assert response.status_code == 422, response.content
    assert response.json() == {
        "detail": message,
        "errors": [{"loc": loc, "msg": message, "type": "invalid"}],
    }
    assert _counts() == before


def test_date_before_the_latest_event_is_422(world, register, api_post):
    _record(world, register.child, kind="suspension", effective_on=date(2025, 10, 8))
    before = _counts()

    response = api_post(
        "principal",
        f"/api/students/{register.child.pk}/status-changes",
        {"kind": "resumption", "effective_on": "2025-10-01", "to_class_id": world.class_a.pk},
    )

    assert response.status_code == 422
    assert response.json()["detail"] == "异动日期不能早于该生最近一次异动（2025-10-08）。"
    assert _counts() == before


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"kind": "expulsion", "effective_on": "2025-11-01"}, ["body", "payload", "kind"]),
        ({"kind": "suspension"}, ["body", "payload", "effective_on"]),
        ({"kind": "suspension", "effective_on": "2025-02-30"}, ["body", "payload", "effective_on"]),
        (
            {"kind": "suspension", "effective_on": "2025-11-01", "to_class_id": 0},
            ["body", "payload", "to_class_id"],
        ),
        (
            {"kind": "suspension", "effective_on": "2025-11-01", "reason": "x" * 201},
            ["body", "payload", "reason"],
        ),
        (
            {"kind": "suspension", "effective_on": "2025-11-01", "note": "病\x00休"},
            ["body", "payload", "note"],
        ),
        (
            {"kind": "suspension", "effective_on": "2025-11-01", "status": "suspended"},
            ["body", "payload", "status"],
        ),
    ],
)
def test_malformed_bodies_are_422(world, register, api_post, body, loc):
    before = _counts()

    response = api_post("principal", f"/api/students/{register.child.pk}/status-changes", body)

    assert response.status_code == 422, response.content
    assert response.json()["detail"] == INVALID
    assert [error["loc"] for error in response.json()["errors"]] == [loc]
    assert _counts() == before


def test_unparsable_body_is_422(world, register, api_post):
    response = api_post("principal", f"/api/students/{register.child.pk}/status-changes", "{")

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"loc": ["body"], "msg": "请求体不是有效的 JSON。", "type": "json_invalid"}
    ]


@pytest.mark.parametrize("username", ["vice", "gradehead", "headteacher", "teacher", "parent"])
def test_recording_needs_the_students_manage_permission(world, register, api_post, username):
    before = _counts()
    student, target = register.child, world.class_b
    if username == "gradehead":  # sees the grade's class only
        student, target = register.sibling, world.class_a
    body = {"kind": "class_change", "effective_on": "2025-11-01", "to_class_id": target.pk}
    if username == "parent":  # a 家长 sees no class: the permission check comes after scope
        body = {"kind": "suspension", "effective_on": "2025-11-01"}

    response = api_post(username, f"/api/students/{student.pk}/status-changes", body)

    assert response.status_code == 403, response.content
    assert response.json() == {"detail": "您无权管理学籍。"}
    assert _counts() == before


def test_manager_of_another_school_in_scope_is_refused_by_the_service(world, register, api_post):
    """A 校长 of the first school who teaches at school B: the student there is visible, the
    permission is held, but not at school B (403 from the service)."""
    from xiaowu.accounts.tests.factories import RoleAssignmentFactory

    school_b_class = OrgUnit.objects.get(code="S2-C701")
    RoleAssignmentFactory(
        user=world.users["principal"], role="subject_teacher", org_unit=school_b_class
    )
    student = Student.objects.get(name="赵小丽")
    before = _counts()

    response = api_post(
        "principal",
        f"/api/students/{student.pk}/status-changes",
        {"kind": "suspension", "effective_on": "2025-11-01"},
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "您无权管理该校学籍。"}
    assert _counts() == before


def test_out_of_scope_student_or_class_is_404(world, register, api_post):
    before = _counts()
    cases = [
        ("teacher2", register.child.pk, {"kind": "suspension", "effective_on": "2025-11-01"}),
        ("principal2", register.child.pk, {"kind": "suspension", "effective_on": "2025-11-01"}),
        ("principal", 2**63 - 1, {"kind": "suspension", "effective_on": "2025-11-01"}),
        (
            "principal",
            register.child.pk,
            {
                "kind": "class_change",
                "effective_on": "2025-11-01",
                "to_class_id": world.class_other.pk,
            },
        ),
        (
            "principal",
            register.child.pk,
            {"kind": "class_change", "effective_on": "2025-11-01", "to_class_id": 2**63 - 1},
        ),
    ]

    for username, student_id, body in cases:
        response = api_post(username, f"/api/students/{student_id}/status-changes", body)

        assert response.status_code == 404, (username, body)
        assert response.json() == {"detail": NOT_FOUND}
    assert _counts() == before


def _session_client(world, username: str, *, csrf: bool) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(
        world.users[username], backend="xiaowu.accounts.backends.UsernameOrMobileBackend"
    )
    session = client.session
    session[SESSION_LOGIN_AT] = time.time()
    session.save()
    return client


def test_session_post_needs_the_csrf_token(world, register):
    client = _session_client(world, "principal", csrf=True)
    path = f"/api/students/{register.child.pk}/status-changes"
    body = json.dumps({"kind": "suspension", "effective_on": "2025-11-01"})
    before = _counts()

    refused = client.post(path, body, content_type="application/json")

    assert refused.status_code == 403
    assert refused.json() == {"detail": CSRF_FAILED}
    assert _counts() == before
    # With the CSRF cookie and the matching header the same request is recorded.
    token = "x" * 32
    client.cookies[settings.CSRF_COOKIE_NAME] = token
    accepted = client.post(path, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201, accepted.content


def test_session_get_needs_no_csrf_token(world, register):
    client = _session_client(world, "principal", csrf=True)

    assert client.get("/api/students").status_code == 200


def test_anonymous_post_is_401(world, register):
    response = Client(enforce_csrf_checks=True).post(
        f"/api/students/{register.child.pk}/status-changes",
        json.dumps({"kind": "suspension", "effective_on": "2025-11-01"}),
        content_type="application/json",
    )

    assert response.status_code == 401
    assert response.json() == {"detail": UNAUTHENTICATED}


# --------------------------------------------------------------------------- masking


def _bodies(api_get, username: str) -> list[str]:
    """Return every student-, guardian- and staff-bearing response the user may read."""
    bodies = []
    for path in ("/api/students", "/api/guardians", "/api/status-changes", "/api/staff"):
        response = api_get(username, path, limit=500)
        bodies.append(response.content.decode())
        if response.status_code != 200:
            continue
        for item in response.json()["items"]:
            base = path if path != "/api/status-changes" else "/api/students"
            pk = item["id"] if path != "/api/status-changes" else item["student_id"]
            bodies.append(api_get(username, f"{base}/{pk}").content.decode())
            if path == "/api/students":
                for sub in ("guardians", "status-changes"):
                    bodies.append(api_get(username, f"{base}/{pk}/{sub}").content.decode())
    return bodies


@pytest.mark.parametrize(
    "username", ["admin", "district", "principal", "office", "headteacher", "parent"]
)
def test_no_full_id_or_mobile_number_in_any_response(world, register, api_get, username):
    _record(world, register.child, kind="suspension", effective_on=date(2025, 10, 8))

    bodies = _bodies(api_get, username)

    assert len(bodies) >= 5
    for body in bodies:
        assert_no_full_numbers(body)
