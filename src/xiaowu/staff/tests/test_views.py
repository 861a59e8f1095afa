"""教职工 pages: list filters and search, masking, the staff-file forms end to end."""

from __future__ import annotations

import re
from datetime import date

import pytest

from xiaowu.accounts.models import RoleAssignment
from xiaowu.accounts.tests.factories import UserFactory
from xiaowu.audit.models import AuditEvent
from xiaowu.core.identifiers import make_id_number
from xiaowu.org.tests.factories import TermFactory
from xiaowu.staff.models import StaffMember, StaffStatusPeriod, TeachingAssignment
from xiaowu.staff.services import staff_honour_add, staff_status_record
from xiaowu.staff.tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db

FULL_ID = re.compile(r"\d{17}[\dX]")
FULL_MOBILE = re.compile(r"1[3-9]\d{9}")


def names(response) -> list[str]:
    return [m.name for m in response.context["listing"].page]


def sun(world) -> StaffMember:
    return StaffMember.objects.get(org_unit=world.school, name="孙老师")


# --------------------------------------------------------------------------- list
def test_list_filters_by_status_post_category_and_subject(world, client_for):
    StaffMember.objects.filter(name="孙老师").update(subject="语文")
    StaffMemberFactory(
        org_unit=world.office, name="钱会计", post_category="administrative", subject=""
    )
    StaffMemberFactory(org_unit=world.school, name="吴老师", subject="数学", status="retired")
    client = client_for("principal")

    assert sorted(names(client.get("/staff/"))) == ["吴老师", "孙老师", "钱会计"]
    assert names(client.get("/staff/", {"post_category": "administrative"})) == ["钱会计"]
    assert names(client.get("/staff/", {"subject": "语文"})) == ["孙老师"]
    assert names(client.get("/staff/", {"status": "retired"})) == ["吴老师"]
    assert client.get("/staff/").context["subjects"] == ["数学", "语文"]


@pytest.mark.parametrize("term", ["sls", "sunlaoshi", "孙老师", "SLS"])
def test_search_understands_pinyin(world, client_for, term):
    assert names(client_for("principal").get("/staff/", {"q": term})) == ["孙老师"]


def test_district_leader_filters_by_school(world, client_for):
    StaffMemberFactory(org_unit=world.school_b, name="郑老师")
    client = client_for("district")

    assert sorted(names(client.get("/staff/"))) == ["孙老师", "郑老师"]
    assert names(client.get("/staff/", {"unit": world.school_b.pk})) == ["郑老师"]


def test_htmx_request_returns_only_the_table(world, client_for):
    body = (
        client_for("principal").get("/staff/", {"q": "s"}, HTTP_HX_REQUEST="true").content.decode()
    )

    assert "<table" in body
    assert "<html" not in body


def test_teacher_without_staff_view_gets_403(world, client_for):
    client = client_for("teacher")

    assert client.get("/staff/").status_code == 403
    assert client.get(f"/staff/{sun(world).pk}/").status_code == 403


# --------------------------------------------------------------------------- masking
def _identifiers(world) -> tuple[str, str]:
    id_number = make_id_number("620102", date(1985, 6, 1), 34)
    StaffMember.objects.filter(name="孙老师").update(id_number=id_number, mobile="13698765432")
    return id_number, "13698765432"


@pytest.mark.parametrize("username", ["principal", "vice", "research"])
def test_list_and_detail_mask_mobile_and_id(world, client_for, username):
    _identifiers(world)
    client = client_for(username)

    for body in (
        client.get("/staff/").content.decode(),
        client.get(f"/staff/{sun(world).pk}/").content.decode(),
    ):
        assert "孙老师" in body
        assert "136****5432" in body
        assert FULL_ID.search(body) is None
        assert FULL_MOBILE.search(body) is None


def test_unmask_returns_the_full_number_and_records_it(world, client_for):
    id_number, mobile = _identifiers(world)
    client = client_for("principal")

    assert mobile in client.post(f"/staff/{sun(world).pk}/reveal/mobile/").content.decode()
    assert id_number in client.post(f"/staff/{sun(world).pk}/reveal/id_number/").content.decode()
    assert sorted(AuditEvent.objects.values_list("event", flat=True)) == [
        "staff.staff_view_id_number",
        "staff.staff_view_mobile",
    ]


def test_vice_principal_cannot_unmask(world, client_for):
    _identifiers(world)

    response = client_for("vice").post(f"/staff/{sun(world).pk}/reveal/mobile/")

    assert response.status_code == 403
    assert not AuditEvent.objects.exists()


# --------------------------------------------------------------------------- detail
def test_detail_shows_history_honours_and_assignments_by_term(world, client_for):
    staff = sun(world)
    principal = world.users["principal"]
    staff_status_record(actor=principal, staff=staff, status="on_post", start_on=date(2010, 9, 1))
    staff_status_record(
        actor=principal,
        staff=staff,
        status="seconded_out",
        start_on=date(2025, 2, 1),
        counterpart="青石学区教研室",
    )
    staff_honour_add(
        actor=principal,
        staff=staff,
        title="key_teacher",
        level="city",
        awarded_on=date(2024, 9, 10),
        issuer="测试市教育局",
    )
    TeachingAssignment.objects.create(
        staff=staff,
        school_class=world.class_a,
        term=TermFactory(),
        role="subject_teacher",
        subject="语文",
        weekly_periods=6,
    )

    body = client_for("vice").get(f"/staff/{staff.pk}/").content.decode()

    history = body[body.index('id="status-history"') : body.index('id="honours"')]
    assert "借调在外" in history
    assert "青石学区教研室" in history
    assert "2010-09-01" in history
    honours = body[body.index('id="honours"') :]
    assert "骨干教师" in honours
    assert "市级" in honours
    assert "测试市教育局" in honours
    teaching = body[body.index('id="teaching"') : body.index('id="status-history"')]
    assert "2025—2026学年第一学期" in teaching
    assert "一年级(1)班" in teaching
    assert "语文" in teaching
    # A 副校长 reads the file but keeps no staff files.
    assert f"/staff/{staff.pk}/edit/" not in body


# --------------------------------------------------------------------------- forms
def test_teaching_assignment_form_creates_the_role_assignment(world, client_for):
    user = UserFactory(username="sunls", full_name="孙老师")
    StaffMember.objects.filter(name="孙老师").update(user=user)
    term = TermFactory(start_on=date(2025, 9, 1), end_on=date(2026, 1, 20))
    client = client_for("principal")

    response = client.post(
        f"/staff/{sun(world).pk}/assignments/new/",
        {
            "term": term.pk,
            "school_class": world.class_b.pk,
            "role": "head_teacher",
            "subject": "",
            "weekly_periods": "",
        },
    )

    assert response.status_code == 302
    assignment = TeachingAssignment.objects.get()
    assert (assignment.school_class_id, assignment.role, assignment.term_id) == (
        world.class_b.pk,
        "head_teacher",
        term.pk,
    )
    role = RoleAssignment.objects.get(user=user)
    assert (role.role, role.org_unit_id, role.valid_from, role.valid_until) == (
        "head_teacher",
        world.class_b.pk,
        date(2025, 9, 1),
        date(2026, 1, 20),
    )
    detail = client.get(f"/staff/{sun(world).pk}/").content.decode()
    assert "班主任" in detail
    assert f"/staff/assignments/{assignment.pk}/delete/" in detail

    assert client.post(f"/staff/assignments/{assignment.pk}/delete/").status_code == 302
    assert not TeachingAssignment.objects.exists()
    assert not RoleAssignment.objects.filter(user=user).exists()


def test_teaching_assignment_form_errors_in_chinese(world, client_for):
    term = TermFactory()

    response = client_for("principal").post(
        f"/staff/{sun(world).pk}/assignments/new/",
        {"term": term.pk, "school_class": world.class_a.pk, "role": "subject_teacher"},
    )

    assert "任课安排必须填写学科。" in response.content.decode()
    assert not TeachingAssignment.objects.exists()


def test_teaching_assignment_form_offers_only_classes_of_the_staff_school(world, client_for):
    term = TermFactory()

    response = client_for("district").post(
        f"/staff/{sun(world).pk}/assignments/new/",
        {
            "term": term.pk,
            "school_class": world.class_other.pk,
            "role": "subject_teacher",
            "subject": "语文",
        },
    )

    assert "选择一个有效的选项" in response.content.decode()
    assert not TeachingAssignment.objects.exists()


def test_status_form_records_a_period(world, client_for):
    response = client_for("office").post(
        f"/staff/{sun(world).pk}/status/new/",
        {"status": "long_sick_leave", "start_on": "2025-11-03", "counterpart": "", "note": "手术"},
    )

    assert response.status_code == 302
    period = StaffStatusPeriod.objects.get(staff=sun(world))
    assert (period.status, period.start_on, period.end_on, period.note) == (
        "long_sick_leave",
        date(2025, 11, 3),
        None,
        "手术",
    )
    assert sun(world).status == "long_sick_leave"


def test_honour_form_adds_an_honour(world, client_for):
    response = client_for("principal").post(
        f"/staff/{sun(world).pk}/honours/new/",
        {
            "title": "teaching_expert",
            "title_text": "",
            "level": "county",
            "subject": "语文",
            "awarded_on": "2025-09-10",
            "issuer": "青石县教育局",
        },
    )

    assert response.status_code == 302
    honour = sun(world).honours.get()
    assert (honour.title, honour.level, honour.awarded_on, honour.issuer) == (
        "teaching_expert",
        "county",
        date(2025, 9, 10),
        "青石县教育局",
    )


def _staff_data(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "周新",
        "gender": "female",
        "birth_date": "",
        "id_number": "",
        "mobile": "",
        "post_category": "full_time_teacher",
        "subject": "英语",
        "education": "bachelor",
        "professional_title": "second",
        "started_work_on": "2020-09-01",
    }
    data.update(changes)
    return data


def test_create_form_opens_a_staff_file(world, client_for):
    id_number = make_id_number("620102", date(1998, 2, 3), 45)

    response = client_for("office").post(
        "/staff/new/",
        _staff_data(org_unit=world.school.pk, id_number=id_number, mobile="139 1234 5678"),
    )

    staff = StaffMember.objects.get(name="周新")
    assert response.status_code == 302
    assert response["Location"] == f"/staff/{staff.pk}/"
    assert (staff.org_unit_id, staff.mobile, staff.birth_date, staff.name_initials) == (
        world.school.pk,
        "13912345678",
        date(1998, 2, 3),
        "zx",
    )


def test_create_form_rejects_a_bad_id_checksum_in_chinese(world, client_for):
    response = client_for("principal").post(
        "/staff/new/", _staff_data(org_unit=world.school.pk, id_number="110101200801011231")
    )

    assert "校验位不符" in response.content.decode()
    assert not StaffMember.objects.filter(name="周新").exists()


def test_update_form_keeps_identifiers_when_left_empty(world, client_for):
    id_number, mobile = _identifiers(world)
    client = client_for("principal")
    assert FULL_ID.search(client.get(f"/staff/{sun(world).pk}/edit/").content.decode()) is None

    response = client.post(
        f"/staff/{sun(world).pk}/edit/",
        _staff_data(name="孙老师", birth_date="1985-06-01", professional_title="first"),
    )

    assert response.status_code == 302
    staff = sun(world)
    assert (staff.professional_title, staff.id_number, staff.mobile) == (
        "first",
        id_number,
        mobile,
    )


def test_filtering_updates_the_export_link_to_the_chosen_school(world, client_for):
    """The export button follows the unit filter (an out-of-band swap with the table)."""
    body = (
        client_for("district")
        .get("/staff/", {"unit": world.school_b.pk}, HTTP_HX_REQUEST="true")
        .content.decode()
    )

    assert 'id="staff-export"' in body
    assert 'hx-swap-oob="true"' in body
    assert f"kind=staff&amp;school={world.school_b.pk}" in body
