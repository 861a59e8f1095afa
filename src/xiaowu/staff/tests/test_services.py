from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from xiaowu.accounts.models import RoleAssignment
from xiaowu.accounts.scoping import compute_scope
from xiaowu.accounts.tests.factories import UserFactory
from xiaowu.org.tests.factories import TermFactory
from xiaowu.staff.models import StaffMember
from xiaowu.staff.services import (
    staff_honour_add,
    staff_status_record,
    teaching_assignment_create,
    teaching_assignment_delete,
)
from xiaowu.staff.tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db


def test_teaching_assignment_grants_class_scope_for_the_term(world):
    user = UserFactory(username="newteacher")
    staff = StaffMemberFactory(org_unit=world.school, user=user)
    term = TermFactory(start_on=date(2026, 9, 1), end_on=date(2027, 1, 22))
    assignment = teaching_assignment_create(
        actor=world.users["principal"],
        staff=staff,
        school_class=world.class_b,
        term=term,
        role="subject_teacher",
        subject="数学",
        weekly_periods=5,
    )
    role = RoleAssignment.objects.get(user=user)
    assert (role.role, role.org_unit_id, role.valid_from, role.valid_until) == (
        "subject_teacher",
        world.class_b.pk,
        date(2026, 9, 1),
        date(2027, 1, 22),
    )
    teaching_assignment_delete(actor=world.users["principal"], assignment=assignment)
    assert not RoleAssignment.objects.filter(user=user).exists()


def test_one_head_teacher_per_class_and_term(world):
    term = TermFactory()
    first = StaffMemberFactory(org_unit=world.school, name="甲老师")
    second = StaffMemberFactory(org_unit=world.school, name="乙老师")
    teaching_assignment_create(
        actor=world.users["principal"],
        staff=first,
        school_class=world.class_a,
        term=term,
        role="head_teacher",
    )
    with pytest.raises(ValidationError, match="本学期已有班主任：甲老师"):
        teaching_assignment_create(
            actor=world.users["principal"],
            staff=second,
            school_class=world.class_a,
            term=term,
            role="head_teacher",
        )


def test_teaching_assignment_rules(world):
    term = TermFactory()
    staff = StaffMemberFactory(org_unit=world.school)
    with pytest.raises(ValidationError, match="必须填写学科"):
        teaching_assignment_create(
            actor=world.users["principal"],
            staff=staff,
            school_class=world.class_a,
            term=term,
            role="subject_teacher",
        )
    with pytest.raises(ValidationError, match="只能安排本校教职工任课"):
        teaching_assignment_create(
            actor=world.users["principal2"],
            staff=staff,
            school_class=world.class_other,
            term=term,
            role="subject_teacher",
            subject="语文",
        )
    with pytest.raises(PermissionDenied):
        teaching_assignment_create(
            actor=world.users["teacher"],
            staff=staff,
            school_class=world.class_a,
            term=term,
            role="subject_teacher",
            subject="语文",
        )


def test_status_periods_are_dated_and_leaving_ends_access(world):
    user = world.users["teacher"]
    staff = StaffMemberFactory(org_unit=world.school, user=user)
    principal = world.users["principal"]
    staff_status_record(actor=principal, staff=staff, status="on_post", start_on=date(2020, 9, 1))
    staff_status_record(
        actor=principal,
        staff=staff,
        status="seconded_out",
        start_on=date(2025, 3, 1),
        counterpart="县教研室",
    )
    with pytest.raises(ValidationError, match="起始日期必须晚于当前状态的起始日期（2025-03-01）"):
        staff_status_record(
            actor=principal, staff=staff, status="on_post", start_on=date(2025, 2, 1)
        )
    staff_status_record(
        actor=principal, staff=staff, status="transferred_out", start_on=date(2026, 9, 1)
    )
    assert list(staff.status_periods.values_list("status", "start_on", "end_on")) == [
        ("on_post", date(2020, 9, 1), date(2025, 3, 1)),
        ("seconded_out", date(2025, 3, 1), date(2026, 9, 1)),
        ("transferred_out", date(2026, 9, 1), None),
    ]
    assert StaffMember.objects.get(pk=staff.pk).status == "transferred_out"
    assert compute_scope(user).org_roots == frozenset()


def test_honour_with_level(world):
    staff = StaffMemberFactory(org_unit=world.school)
    honour = staff_honour_add(
        actor=world.users["principal"],
        staff=staff,
        title="key_teacher",
        level="city",
        subject="语文",
        awarded_on=date(2025, 9, 10),
        issuer="市教育局",
    )
    assert str(honour) == "市级骨干教师"
