"""The role matrix, kept as data (security.md AUTHZ-03): code and tests both read it.

A role assignment is (user, role, org unit, validity). Each role says
- which kinds of org unit it may be assigned at,
- its organisational scope (what structure and aggregate numbers its holder sees),
- its record scope (which personal records, e.g. students, its holder sees),
- its permissions, and its rank (a user may only grant roles ranked below their own).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    SYSTEM_ADMIN = "system_admin", "系统管理员"
    BUREAU_ADMIN = "bureau_admin", "教育局管理员"
    DISTRICT_LEADER = "district_leader", "学区领导"
    PRINCIPAL = "principal", "校长"
    VICE_PRINCIPAL = "vice_principal", "副校长"
    OFFICE_HEAD = "office_head", "处室主任"
    GRADE_HEAD = "grade_head", "级部主任"
    RESEARCH_GROUP_HEAD = "research_group_head", "教研组长"
    HEAD_TEACHER = "head_teacher", "班主任"
    SUBJECT_TEACHER = "subject_teacher", "任课教师"
    DUTY_WEEK_TEACHER = "duty_week_teacher", "值周教师"
    GUARDIAN = "guardian", "家长"


class Perm(StrEnum):
    """Permissions a role grants inside its scope."""

    ORG_VIEW = "org.view"
    ORG_MANAGE = "org.manage"
    ACCOUNTS_VIEW = "accounts.view"
    ACCOUNTS_MANAGE = "accounts.manage"
    AUDIT_VIEW = "audit.view"
    PII_UNMASK = "pii.unmask"
    STUDENTS_VIEW = "students.view"
    STUDENTS_MANAGE = "students.manage"  # 学籍 edits, 异动, imports
    STUDENTS_EXPORT = "students.export"  # bulk export of student personal data (AUTHZ-08)
    STAFF_VIEW = "staff.view"
    STAFF_MANAGE = "staff.manage"  # staff files, statuses, honours, teaching assignments
    REPORTS_VIEW = "reports.view"  # 工作总结 and improvement goals
    REPORTS_MANAGE = "reports.manage"
    EXAMS_VIEW = "exams.view"  # exams and their aggregate analyses inside the scope
    EXAMS_MANAGE = "exams.manage"  # set up exams, subjects, participants, 口径; lock; import
    SCORES_ENTER = "scores.enter"  # enter scores (teachers: only their own class × subject)


class ScopeRule(StrEnum):
    UNIT = "unit"  # the subtree of the unit the role is assigned at
    SCHOOL = "school"  # the whole school the unit belongs to
    CHILDREN = "children"  # only the guardian's own children
    NONE = "none"


@dataclass(frozen=True, slots=True)
class RoleSpec:
    unit_kinds: tuple[str, ...]
    org_scope: ScopeRule
    record_scope: ScopeRule
    perms: frozenset[Perm]
    rank: int


_LEADER_PERMS = frozenset(
    {
        Perm.ORG_VIEW,
        Perm.ORG_MANAGE,
        Perm.ACCOUNTS_VIEW,
        Perm.ACCOUNTS_MANAGE,
        Perm.AUDIT_VIEW,
        Perm.PII_UNMASK,
        Perm.STUDENTS_VIEW,
        Perm.STUDENTS_MANAGE,
        Perm.STUDENTS_EXPORT,
        Perm.STAFF_VIEW,
        Perm.STAFF_MANAGE,
        Perm.REPORTS_VIEW,
        Perm.REPORTS_MANAGE,
        Perm.EXAMS_VIEW,
        Perm.EXAMS_MANAGE,
        Perm.SCORES_ENTER,
    }
)
_MIDDLE_PERMS = frozenset(
    {
        Perm.ORG_VIEW,
        Perm.ACCOUNTS_VIEW,
        Perm.STUDENTS_VIEW,
        Perm.STAFF_VIEW,
        Perm.REPORTS_VIEW,
        Perm.EXAMS_VIEW,
    }
)
# The 教导处 keeps the 学籍 and the staff files of its school.
_OFFICE_PERMS = _MIDDLE_PERMS | {
    Perm.STUDENTS_MANAGE,
    Perm.STUDENTS_EXPORT,
    Perm.STAFF_MANAGE,
    Perm.REPORTS_MANAGE,
    Perm.EXAMS_MANAGE,
    Perm.SCORES_ENTER,
}
_TEACHER_PERMS = frozenset({Perm.ORG_VIEW, Perm.STUDENTS_VIEW, Perm.EXAMS_VIEW, Perm.SCORES_ENTER})

ROLE_SPECS: dict[str, RoleSpec] = {
    Role.SYSTEM_ADMIN: RoleSpec(("bureau",), ScopeRule.UNIT, ScopeRule.UNIT, frozenset(Perm), 100),
    Role.BUREAU_ADMIN: RoleSpec(("bureau",), ScopeRule.UNIT, ScopeRule.UNIT, _LEADER_PERMS, 90),
    Role.DISTRICT_LEADER: RoleSpec(
        ("school_district",), ScopeRule.UNIT, ScopeRule.UNIT, _LEADER_PERMS, 80
    ),
    Role.PRINCIPAL: RoleSpec(("school",), ScopeRule.UNIT, ScopeRule.UNIT, _LEADER_PERMS, 70),
    Role.VICE_PRINCIPAL: RoleSpec(
        ("school", "campus"), ScopeRule.SCHOOL, ScopeRule.SCHOOL, _MIDDLE_PERMS, 60
    ),
    Role.OFFICE_HEAD: RoleSpec(
        ("admin_office",), ScopeRule.SCHOOL, ScopeRule.SCHOOL, _OFFICE_PERMS, 50
    ),
    Role.GRADE_HEAD: RoleSpec(
        ("grade_division",), ScopeRule.SCHOOL, ScopeRule.UNIT, _MIDDLE_PERMS, 40
    ),
    Role.RESEARCH_GROUP_HEAD: RoleSpec(
        ("teaching_research_group", "lesson_prep_group"),
        ScopeRule.SCHOOL,
        ScopeRule.NONE,
        frozenset({Perm.ORG_VIEW, Perm.ACCOUNTS_VIEW, Perm.STAFF_VIEW, Perm.EXAMS_VIEW}),
        40,
    ),
    Role.HEAD_TEACHER: RoleSpec(
        ("school_class",), ScopeRule.SCHOOL, ScopeRule.UNIT, _TEACHER_PERMS, 30
    ),
    Role.SUBJECT_TEACHER: RoleSpec(
        ("school_class",), ScopeRule.SCHOOL, ScopeRule.UNIT, _TEACHER_PERMS, 20
    ),
    Role.DUTY_WEEK_TEACHER: RoleSpec(
        ("school",), ScopeRule.SCHOOL, ScopeRule.NONE, frozenset({Perm.ORG_VIEW}), 20
    ),
    Role.GUARDIAN: RoleSpec(("school",), ScopeRule.NONE, ScopeRule.CHILDREN, frozenset(), 10),
}


def roles_granting(perm: Perm) -> list[str]:
    """Return the roles whose permissions include ``perm``."""
    return [role for role, spec in ROLE_SPECS.items() if perm in spec.perms]
