"""The staff endpoints: staff files with status periods and honours, teaching assignments."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from xiaowu.api.responses import NOT_FOUND
from xiaowu.api.tests.utils import assert_no_full_numbers, ids, items
from xiaowu.staff.models import StaffMember
from xiaowu.staff.services import staff_honour_add, staff_status_record
from xiaowu.staff.tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db

NO_STAFF_VIEW = {"detail": "您无权查看教职工档案。"}


def test_staff_detail_with_status_periods_and_honours(world, register, api_get):
    staff = register.staff
    principal = world.users["principal"]
    StaffMember.objects.filter(pk=staff.pk).update(
        education="bachelor", professional_title="first", started_work_on=date(2002, 8, 1)
    )
    staff_status_record(actor=principal, staff=staff, status="on_post", start_on=date(2002, 8, 1))
    staff_status_record(
        actor=principal,
        staff=staff,
        status="seconded_out",
        start_on=date(2023, 9, 1),
        counterpart="示范县教研室",
    )
    staff_status_record(actor=principal, staff=staff, status="on_post", start_on=date(2024, 9, 1))
    honour = staff_honour_add(
        actor=principal,
        staff=staff,
        title="key_teacher",
        title_text="县区级骨干教师",
        level="county",
        subject="语文",
        awarded_on=date(2022, 9, 10),
        issuer="示范县教育局",
    )

    response = api_get("principal", f"/api/staff/{staff.pk}")

    assert response.status_code == 200
    number = staff.id_number
    body = response.json()
    periods = body.pop("status_periods")
    assert body == {
        "id": staff.pk,
        "name": "孙老师",
        "gender": "female",
        "gender_label": "女",
        "birth_date": None,
        "id_number": f"{number[:6]}********{number[-4:]}",
        "mobile": "136****5432",
        "org_unit_id": world.school.pk,
        "org_unit_name": "青石小学",
        "school_id": world.school.pk,
        "post_category": "full_time_teacher",
        "post_category_label": "专任教师",
        "status": "on_post",
        "status_label": "在编在岗",
        "subject": "语文",
        "education": "bachelor",
        "education_label": "大学本科",
        "professional_title": "first",
        "professional_title_label": "一级教师",
        "started_work_on": "2002-08-01",
        "user_id": world.users["teacher"].pk,
        "honours": [
            {
                "id": honour.pk,
                "title": "key_teacher",
                "title_label": "骨干教师",
                "title_text": "县区级骨干教师",
                "level": "county",
                "level_label": "县区级",
                "subject": "语文",
                "awarded_on": "2022-09-10",
                "issuer": "示范县教育局",
            }
        ],
    }
    assert [(p["status"], p["start_on"], p["end_on"], p["counterpart"]) for p in periods] == [
        ("on_post", "2002-08-01", "2023-09-01", ""),
        ("seconded_out", "2023-09-01", "2024-09-01", "示范县教研室"),
        ("on_post", "2024-09-01", None, ""),
    ]
    assert periods[1]["status_label"] == "借调在外"


def test_staff_list_scope_and_filters(world, register, api_get):
    math = StaffMemberFactory(
        org_unit=world.office, name="钱数学", subject="数学", status="long_sick_leave"
    )
    worker = StaffMemberFactory(
        org_unit=world.school_b, name="赵工勤", post_category="worker", gender="male"
    )

    assert ids(api_get("principal", "/api/staff")) == {register.staff.pk, math.pk}
    assert ids(api_get("district", "/api/staff")) == {register.staff.pk, math.pk, worker.pk}
    assert ids(api_get("principal2", "/api/staff")) == {register.other_staff.pk}
    assert ids(api_get("district", "/api/staff", unit_id=world.office.pk)) == {math.pk}
    assert ids(api_get("district", "/api/staff", status="long_sick_leave")) == {math.pk}
    assert ids(api_get("district", "/api/staff", post_category="worker")) == {worker.pk}
    assert ids(api_get("district", "/api/staff", subject="数学")) == {math.pk}
    assert ids(api_get("district", "/api/staff", search="sls")) == {register.staff.pk}
    assert ids(api_get("district", "/api/staff", unit_id=world.other_school.pk)) == set()
    assert api_get("district", "/api/staff", status="fired").status_code == 422
    assert [s["name"] for s in items(api_get("district", "/api/staff"))] == [
        "孙老师",  # S1
        "钱数学",  # S1-O1
        "赵工勤",  # S2
    ]


@pytest.mark.parametrize("username", ["headteacher", "teacher", "duty", "parent"])
def test_staff_files_need_the_staff_view_permission(world, register, api_get, username):
    assert api_get(username, "/api/staff").json() == NO_STAFF_VIEW
    response = api_get(username, f"/api/staff/{register.staff.pk}")

    # In scope but without the permission: 403; a 家长 has no organisational scope: 404.
    assert response.status_code == (404 if username == "parent" else 403)


def test_staff_list_query_count_does_not_grow_with_rows(world, register, api_get):
    api_get("district", "/api/staff")
    with CaptureQueriesContext(connection) as few:
        api_get("district", "/api/staff")
    for _ in range(4):
        StaffMemberFactory(org_unit=world.school_b)

    with CaptureQueriesContext(connection) as many:
        response = api_get("district", "/api/staff")

    assert response.json()["count"] == 5
    assert len(many) == len(few)


def test_teaching_assignments(world, register, api_get):
    response = api_get("principal", "/api/teaching-assignments")

    assert response.status_code == 200
    term = register.term
    head, chinese = items(response)
    assert head == {
        "id": head["id"],
        "term_id": term.pk,
        "term_name": str(term),
        "school_id": world.school.pk,
        "school_class_id": world.class_a.pk,
        "school_class_name": "一年级(1)班",
        "staff_id": register.staff.pk,
        "staff_name": "孙老师",
        "role": "head_teacher",
        "role_label": "班主任",
        "subject": "",
        "weekly_periods": None,
    }
    assert (chinese["role"], chinese["subject"], chinese["weekly_periods"]) == (
        "subject_teacher",
        "语文",
        7,
    )


def test_teaching_assignment_scope_and_filters(world, register, api_get):
    def listed(username: str, **query: object) -> list[tuple[str, str]]:
        return [
            (a["staff_name"], a["subject"])
            for a in items(api_get(username, "/api/teaching-assignments", **query))
        ]

    assert listed("district") == [("孙老师", ""), ("孙老师", "语文")]
    assert listed("teacher") == [("孙老师", ""), ("孙老师", "语文")]
    assert listed("admin", school_id=world.other_school.pk) == [("周老师", "数学")]
    assert listed("principal2") == [("周老师", "数学")]
    assert listed("teacher2") == [("周老师", "数学")]
    assert listed("parent") == []
    assert listed("admin", class_id=world.class_other.pk) == [("周老师", "数学")]
    assert listed("admin", staff_id=register.staff.pk) == [("孙老师", ""), ("孙老师", "语文")]
    assert listed("admin", term_id=register.term.pk + 1000) == []
    assert api_get("admin", "/api/teaching-assignments", term_id=0).status_code == 422


@pytest.mark.parametrize("username", ["admin", "district", "principal", "principal2"])
def test_no_full_id_or_mobile_number_in_staff_responses(world, register, api_get, username):
    listing = api_get(username, "/api/staff", limit=500)
    bodies = [listing.content.decode()]
    bodies += [
        api_get(username, f"/api/staff/{staff['id']}").content.decode()
        for staff in listing.json()["items"]
    ]
    bodies.append(api_get(username, "/api/teaching-assignments").content.decode())

    assert len(bodies) >= 3
    for body in bodies:
        assert_no_full_numbers(body)


def test_missing_staff_is_404(world, api_get):
    response = api_get("admin", f"/api/staff/{2**63 - 1}")

    assert response.status_code == 404
    assert response.json() == {"detail": NOT_FOUND}
