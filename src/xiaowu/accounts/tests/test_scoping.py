"""AUTHZ-02/04: what each role sees, computed by visible_to, against independent expectations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from xiaowu.accounts.models import RoleAssignment, User
from xiaowu.accounts.roles import ROLE_SPECS, Perm, Role
from xiaowu.accounts.scoping import compute_scope, has_perm_at
from xiaowu.audit.models import AuditEvent
from xiaowu.org.models import OrgUnit
from xiaowu.staff.models import StaffMember
from xiaowu.students.models import Student

pytestmark = pytest.mark.django_db


def codes(queryset):
    return set(queryset.values_list("code", flat=True))


def names(queryset):
    return set(queryset.values_list("name", flat=True))


FIRST_SCHOOL_UNITS = {"S1", "S1-O1", "S1-G3", "S1-R1", "S1-C101", "S1-C301"}


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("admin", {"B", "D1", "D2", "S2", "S3", "S2-C701", "S3-C101"} | FIRST_SCHOOL_UNITS),
        ("district", {"D1", "S2", "S2-C701"} | FIRST_SCHOOL_UNITS),
        ("principal", FIRST_SCHOOL_UNITS),
        ("vice", FIRST_SCHOOL_UNITS),
        ("office", FIRST_SCHOOL_UNITS),
        ("headteacher", FIRST_SCHOOL_UNITS),
        ("teacher", FIRST_SCHOOL_UNITS),
        ("duty", FIRST_SCHOOL_UNITS),
        ("parent", set()),
        ("teacher2", {"S3", "S3-C101"}),
    ],
)
def test_org_units_visible_by_role(world, username, expected):
    assert codes(OrgUnit.objects.visible_to(world.users[username])) == expected


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("admin", {"张小明", "李小红", "王小刚", "赵小丽", "钱小军"}),
        ("district", {"张小明", "李小红", "王小刚", "赵小丽"}),
        ("principal", {"张小明", "李小红", "王小刚"}),
        ("vice", {"张小明", "李小红", "王小刚"}),
        ("gradehead", {"王小刚"}),  # only the classes of the 三年级组
        ("headteacher", {"张小明", "李小红"}),  # own class
        ("teacher", {"张小明", "李小红"}),
        ("research", set()),
        ("duty", set()),
        ("parent", {"张小明"}),  # own child only
        ("teacher2", {"钱小军"}),
    ],
)
def test_student_records_follow_relationship_scope(world, username, expected):
    assert names(Student.objects.visible_to(world.users[username])) == expected


def test_staff_visible_by_org_scope(world):
    assert names(StaffMember.objects.visible_to(world.users["principal"])) == {"孙老师"}
    assert names(StaffMember.objects.visible_to(world.users["teacher2"])) == {"周老师"}
    assert names(StaffMember.objects.visible_to(world.users["parent"])) == set()


def test_users_visible_are_those_with_roles_in_scope(world):
    visible = set(
        User.objects.visible_to(world.users["principal"]).values_list("username", flat=True)
    )
    assert visible == {
        "principal",
        "vice",
        "office",
        "gradehead",
        "research",
        "headteacher",
        "teacher",
        "duty",
        "parent",
    }
    assert set(
        User.objects.visible_to(world.users["parent"]).values_list("username", flat=True)
    ) == {"parent"}


def test_expired_and_future_assignments_grant_nothing(world):
    today = timezone.localdate()
    user = world.users["teacher"]
    RoleAssignment.objects.filter(user=user).update(valid_until=today - timedelta(days=1))
    assert compute_scope(user).org_roots == frozenset()
    RoleAssignment.objects.filter(user=user).update(
        valid_from=today + timedelta(days=1), valid_until=None
    )
    assert compute_scope(user).org_roots == frozenset()
    RoleAssignment.objects.filter(user=user).update(valid_from=today)
    assert compute_scope(user).org_roots == frozenset({world.school.pk})


def test_inactive_user_sees_nothing(world):
    user = world.users["principal"]
    user.is_active = False
    assert compute_scope(user).org_roots == frozenset()


def test_has_perm_at_respects_the_tree(world):
    principal = world.users["principal"]
    assert has_perm_at(principal, Perm.ORG_MANAGE, world.class_b.pk)
    assert not has_perm_at(principal, Perm.ORG_MANAGE, world.school_b.pk)
    assert not has_perm_at(principal, Perm.ORG_MANAGE, world.district.pk)
    assert has_perm_at(world.users["district"], Perm.ORG_MANAGE, world.class_b.pk)


def test_audit_log_is_scoped(world):
    AuditEvent.objects.create(action="update", event="x.first", org_unit=world.class_a)
    AuditEvent.objects.create(action="update", event="x.other", org_unit=world.class_other)

    def events(username):
        visible = AuditEvent.objects.visible_to(world.users[username])
        return set(visible.values_list("event", flat=True))

    assert events("principal") == {"x.first"}
    assert events("principal2") == {"x.other"}
    assert events("admin") == {"x.first", "x.other"}
    assert events("teacher") == set()


def test_role_table_covers_every_role():
    assert set(ROLE_SPECS) == set(Role.values)
