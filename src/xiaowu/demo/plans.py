"""The frozen records a demo plan is made of: one dataclass per kind of row it will load.

Rows refer to each other by stable keys (unit codes, usernames, ID numbers, indexes into the
plan's tuples), never by database ids, so that a plan is a pure value that tests can inspect
without a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class UnitPlan:
    code: str
    name: str
    kind: str
    parent_code: str | None
    school_code: str | None  # the school the unit is in (a school: itself)
    depth: int
    sort_order: int
    school_type: str = ""
    office_type: str = ""
    grade: int | None = None
    class_number: int | None = None
    entry_year: int | None = None
    subject: str = ""
    address: str = ""


@dataclass(frozen=True, slots=True)
class StaffPlan:
    school_code: str
    name: str
    gender: str
    birth_date: date
    id_number: str  # unique: the key of the staff member's other rows
    mobile: str
    post_category: str
    status: str
    subject: str
    username: str  # "" when the staff member has no account
    education: str = ""
    professional_title: str = "none"
    started_work_on: date | None = None


@dataclass(frozen=True, slots=True)
class StaffPeriodPlan:
    """人事状态 period; the one with ``end_on`` None is the current status."""

    staff_id_number: str
    status: str
    start_on: date
    end_on: date | None
    counterpart: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class HonourPlan:
    staff_id_number: str
    title: str
    title_text: str
    level: str
    subject: str
    awarded_on: date
    issuer: str


@dataclass(frozen=True, slots=True)
class TeachingAssignmentPlan:
    """任课安排 for the plan's current term; a 班主任 row has no subject."""

    staff_id_number: str
    class_code: str
    role: str
    subject: str
    weekly_periods: int | None


@dataclass(frozen=True, slots=True)
class StudentPlan:
    """A pupil with the national-template fields; ``school_code``, ``class_code`` and
    ``status`` are the values after the pupil's 异动 (as ``status_change_record`` leaves them)."""

    school_code: str
    class_code: str
    name: str
    gender: str
    birth_date: date
    id_number: str  # unique: the key of the pupil's other rows
    status: str = "enrolled"
    national_student_number: str = ""  # "" for kindergarten children (not in the 学籍 system)
    ethnicity: str = "01"
    birthplace_region: str = ""
    native_place: str = ""
    hukou_region: str = ""
    health_status: str = "1"
    class_seat_number: str = ""
    enrolled_on: date | None = None
    study_mode: str = "1"
    address: str = ""
    left_behind: str = "0"
    is_migrant_child: bool = False
    has_disability: bool = False
    disability_type: str = ""
    is_orphan: bool = False
    is_needy_family: bool = False


@dataclass(frozen=True, slots=True)
class StatusChangePlan:
    student_id_number: str
    school_code: str
    kind: str
    effective_on: date
    from_class_code: str | None
    to_class_code: str | None
    reason: str = ""
    counterpart: str = ""
    document_number: str = ""


@dataclass(frozen=True, slots=True)
class MembershipPlan:
    student_id_number: str
    school_code: str
    class_code: str
    start_on: date
    end_on: date | None


@dataclass(frozen=True, slots=True)
class GuardianPlan:
    name: str
    mobile: str
    employer: str
    id_number: str
    username: str = ""  # the linked parent account, if any


@dataclass(frozen=True, slots=True)
class GuardianshipPlan:
    guardian_index: int  # into ``DemoPlan.guardians``
    student_id_number: str
    relation: str
    is_custodian: bool = True


@dataclass(frozen=True, slots=True)
class AccountPlan:
    username: str
    full_name: str
    mobile: str | None
    demo_login: bool  # password DEMO_PASSWORD; other accounts get an unusable password


@dataclass(frozen=True, slots=True)
class RolePlan:
    username: str
    role: str
    unit_code: str
    note: str = ""
    valid_from: date | None = None
    valid_until: date | None = None
    # The teaching assignment (index into ``DemoPlan.teaching``) the role follows from, as
    # ``staff.services`` records it in the note ("任课安排 #<id>").
    assignment_index: int | None = None


@dataclass(frozen=True, slots=True)
class AlliancePlan:
    code: str
    name: str
    owner_code: str
    lead_code: str
    member_codes: tuple[str, ...]  # the lead school included
    founded_on: date


@dataclass(frozen=True, slots=True)
class ClusterPlan:
    code: str
    name: str
    owner_code: str
    subject: str
    grade: int
    lead_code: str
    member_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AgeCohortPlan:
    """适龄人口 of a 学区 for the current 学年 (stated, from the 义务教育监测信息库)."""

    unit_code: str
    age_from: int
    age_to: int
    headcount: int
