"""Services added for the 教职工 pages: opening and editing staff files, audited unmasking."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from xiaowu.audit.models import AuditEvent
from xiaowu.core.identifiers import make_id_number
from xiaowu.staff.models import StaffMember, StaffStatusPeriod
from xiaowu.staff.services import (
    staff_member_create,
    staff_member_update,
    staff_sensitive_view,
    staff_status_record,
)

pytestmark = pytest.mark.django_db
ID_1990 = make_id_number("620102", date(1990, 4, 5), 17)


def create(world, username: str = "principal", **fields):
    values = {
        "name": "吴 老师",
        "gender": "female",
        "post_category": "full_time_teacher",
        "subject": " 数学 ",
        "started_work_on": date(2012, 9, 1),
        **fields,
    }
    return staff_member_create(actor=world.users[username], org_unit=world.school, **values)


def test_create_normalises_derives_birth_date_and_opens_a_status_period(world):
    staff = create(world, id_number=" " + ID_1990.lower() + " ", mobile="+86 139-1234-5678")

    assert (staff.name, staff.subject, staff.name_pinyin, staff.name_initials) == (
        "吴老师",
        "数学",
        "wulaoshi",
        "wls",
    )
    assert (staff.id_number, staff.mobile, staff.birth_date, staff.status) == (
        ID_1990,
        "13912345678",
        date(1990, 4, 5),
        "on_post",
    )
    assert list(
        StaffStatusPeriod.objects.filter(staff=staff).values_list("status", "start_on")
    ) == [("on_post", date(2012, 9, 1))]
    event = AuditEvent.objects.get(event="staff.staff_member_create")
    assert event.changes["after"]["id_number"] == "620102********" + ID_1990[-4:]
    assert event.changes["after"]["mobile"] == "139****5678"


def test_later_status_changes_follow_the_opening_period(world):
    staff = create(world)

    staff_status_record(
        actor=world.users["principal"],
        staff=staff,
        status="seconded_out",
        start_on=date(2025, 3, 1),
    )

    assert list(
        StaffStatusPeriod.objects.filter(staff=staff).values_list("status", "start_on", "end_on")
    ) == [
        ("on_post", date(2012, 9, 1), date(2025, 3, 1)),
        ("seconded_out", date(2025, 3, 1), None),
    ]


def test_create_rejects_bad_identifiers_in_chinese(world):
    with pytest.raises(ValidationError) as excinfo:
        create(world, id_number="110101200801011231", mobile="12345")

    assert excinfo.value.message_dict == {
        "id_number": ["身份证号不是有效的 18 位居民身份证号（校验位不符或日期不存在）。"],
        "mobile": ["手机号应为 11 位中国大陆手机号码。"],
    }
    assert not StaffMember.objects.filter(name="吴老师").exists()


def test_create_rejects_a_duplicate_id_and_a_wrong_birth_date(world):
    create(world, id_number=ID_1990)

    with pytest.raises(ValidationError, match="已登记在另一名教职工名下"):
        create(world, name="另一人", id_number=ID_1990)
    with pytest.raises(ValidationError, match="出生日期与身份证号中的出生日期不一致"):
        create(
            world,
            name="另一人",
            id_number=make_id_number("620102", date(1991, 1, 1), 3),
            birth_date=date(1991, 1, 2),
        )


@pytest.mark.parametrize("username", ["vice", "teacher", "principal2"])
def test_create_needs_staff_manage_at_the_unit(world, username):
    with pytest.raises(PermissionDenied):
        create(world, username=username)
    assert not StaffMember.objects.filter(name="吴老师").exists()


def test_create_only_at_schools_and_offices(world):
    with pytest.raises(ValidationError, match="教职工只能登记在"):
        staff_member_create(
            actor=world.users["principal"],
            org_unit=world.class_a,
            name="某",
            gender="male",
            post_category="worker",
        )


def test_update_records_a_masked_diff_and_ignores_no_change(world):
    staff = create(world, id_number=ID_1990)
    new_id = make_id_number("620102", date(1990, 4, 5), 18)

    staff_member_update(actor=world.users["office"], staff=staff, professional_title="first")
    staff_member_update(actor=world.users["office"], staff=staff, id_number=new_id)
    staff_member_update(actor=world.users["office"], staff=staff, subject="数学")

    staff.refresh_from_db()
    assert (staff.professional_title, staff.id_number) == ("first", new_id)
    changes = list(
        AuditEvent.objects.filter(event="staff.staff_member_update")
        .order_by("id")
        .values_list("changes", flat=True)
    )
    assert changes == [
        {"professional_title": {"before": "none", "after": "first"}},
        {
            "id_number": {
                "before": "620102********" + ID_1990[-4:],
                "after": "620102********" + new_id[-4:],
            }
        },
    ]


def test_update_refuses_unit_and_status_and_checks_permission(world):
    staff = create(world)

    with pytest.raises(ValidationError, match="不可修改的字段"):
        staff_member_update(actor=world.users["principal"], staff=staff, status="retired")
    with pytest.raises(PermissionDenied):
        staff_member_update(actor=world.users["vice"], staff=staff, subject="语文")
    staff.refresh_from_db()
    assert (staff.status, staff.subject) == ("on_post", "数学")


def test_sensitive_view_returns_the_number_and_audits(world):
    staff = create(world, mobile="13912345678")

    assert (
        staff_sensitive_view(actor=world.users["principal"], staff=staff, field="mobile")
        == "13912345678"
    )
    with pytest.raises(PermissionDenied):
        staff_sensitive_view(actor=world.users["office"], staff=staff, field="mobile")
    with pytest.raises(ValidationError):
        staff_sensitive_view(actor=world.users["principal"], staff=staff, field="name")
    assert AuditEvent.objects.filter(event="staff.staff_view_mobile").count() == 1
