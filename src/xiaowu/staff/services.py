"""Writes to staff files: status periods, honours and teaching assignments.

A teaching assignment is also what gives the teacher access to the class: it keeps a role
assignment (任课教师 / 班主任 at the class, valid for the term) in step for the linked account.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from xiaowu.accounts.models import RoleAssignment
from xiaowu.accounts.roles import Perm, Role
from xiaowu.accounts.scoping import forget_scope, has_perm_at
from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record
from xiaowu.org.models import OrgUnit, Term, UnitKind
from xiaowu.staff.models import (
    LEAVING_STATUSES,
    StaffHonour,
    StaffMember,
    StaffStatusPeriod,
    TeachingAssignment,
    TeachingRole,
)

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


def _require_manage(actor: User, unit_id: int) -> None:
    if not has_perm_at(actor, Perm.STAFF_MANAGE, unit_id):
        raise PermissionDenied("您无权管理该单位的教职工档案。")


@transaction.atomic
def staff_status_record(
    *,
    actor: User,
    staff: StaffMember,
    status: str,
    start_on: date,
    counterpart: str = "",
    note: str = "",
) -> StaffStatusPeriod:
    """Start a new status period on ``start_on``, closing the open one the day before."""
    _require_manage(actor, staff.org_unit_id)
    locked = StaffMember.objects.select_for_update().get(pk=staff.pk)
    current = StaffStatusPeriod.objects.filter(staff=locked, end_on__isnull=True).first()
    if current is not None:
        if start_on <= current.start_on:
            raise ValidationError(
                {"start_on": f"起始日期必须晚于当前状态的起始日期（{current.start_on:%Y-%m-%d}）。"}
            )
        if current.status == status:
            raise ValidationError({"status": "新状态与当前状态相同。"})
        current.end_on = start_on
        current.save(update_fields=["end_on", "updated_at"])
    period = StaffStatusPeriod(
        staff=locked, status=status, start_on=start_on, counterpart=counterpart, note=note
    )
    period.full_clean()
    period.save()
    before = locked.status
    locked.status = status
    locked.save(update_fields=["status", "updated_at"])
    if status in LEAVING_STATUSES and locked.user_id:
        # Someone who has left keeps no access from a current teaching assignment.
        RoleAssignment.objects.filter(user_id=locked.user_id, valid_until__isnull=True).update(
            valid_until=start_on - timedelta(days=1)
        )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event="staff.status_record",
        target=locked,
        org_unit_id=locked.org_unit_id,
        changes={
            "status": {"before": before, "after": status},
            "start_on": start_on,
            "counterpart": counterpart,
        },
    )
    return period


@transaction.atomic
def staff_honour_add(*, actor: User, staff: StaffMember, **fields: Any) -> StaffHonour:
    _require_manage(actor, staff.org_unit_id)
    honour = StaffHonour(staff=staff, **fields)
    honour.full_clean()
    honour.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="staff.honour_add",
        target=staff,
        org_unit_id=staff.org_unit_id,
        changes={
            "after": {"title": honour.title, "level": honour.level, "awarded_on": honour.awarded_on}
        },
    )
    return honour


def _sync_role(assignment: TeachingAssignment, term: Term) -> None:
    user_id = assignment.staff.user_id
    if user_id is None:
        return
    role = (
        Role.HEAD_TEACHER if assignment.role == TeachingRole.HEAD_TEACHER else Role.SUBJECT_TEACHER
    )
    RoleAssignment.objects.get_or_create(
        user_id=user_id,
        role=role,
        org_unit_id=assignment.school_class_id,
        valid_from=term.start_on,
        defaults={"valid_until": term.end_on, "note": f"任课安排 #{assignment.pk}"},
    )


@transaction.atomic
def teaching_assignment_create(
    *,
    actor: User,
    staff: StaffMember,
    school_class: OrgUnit,
    term: Term,
    role: str,
    subject: str = "",
    weekly_periods: int | None = None,
) -> TeachingAssignment:
    """Assign a teacher to a class for a term (as 任课教师 of a subject, or as 班主任)."""
    if school_class.kind != UnitKind.SCHOOL_CLASS:
        raise ValidationError({"school_class": "请选择班级。"})
    _require_manage(actor, school_class.owning_school_id)
    staff_school = (
        StaffMember.objects.filter(pk=staff.pk)
        .values_list("org_unit__school_id", flat=True)
        .first()
    )
    if staff_school != school_class.school_id:
        raise ValidationError({"staff": "只能安排本校教职工任课。"})
    subject = subject.strip()
    if role == TeachingRole.SUBJECT_TEACHER and not subject:
        raise ValidationError({"subject": "任课安排必须填写学科。"})
    if role == TeachingRole.HEAD_TEACHER:
        subject = ""
        holder = (
            TeachingAssignment.objects.filter(
                school_class=school_class, term=term, role=TeachingRole.HEAD_TEACHER
            )
            .select_related("staff")
            .first()
        )
        if holder is not None:
            raise ValidationError(
                {"role": f"{school_class.name}本学期已有班主任：{holder.staff.name}。"}
            )
    elif TeachingAssignment.objects.filter(
        staff=staff, school_class=school_class, term=term, subject=subject, role=role
    ).exists():
        raise ValidationError({"subject": "该教师已有这门课的任课安排。"})
    assignment = TeachingAssignment(
        staff=staff,
        school_class=school_class,
        term=term,
        role=role,
        subject=subject,
        weekly_periods=weekly_periods,
    )
    assignment.full_clean()
    assignment.save()
    _sync_role(assignment, term)
    if staff.user is not None:
        forget_scope(staff.user)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="staff.teaching_assignment_create",
        target=staff,
        org_unit_id=school_class.pk,
        changes={
            "after": {"class": school_class.pk, "term": term.pk, "role": role, "subject": subject}
        },
    )
    return assignment


@transaction.atomic
def teaching_assignment_delete(*, actor: User, assignment: TeachingAssignment) -> None:
    school_class = assignment.school_class
    _require_manage(actor, school_class.owning_school_id)
    RoleAssignment.objects.filter(note=f"任课安排 #{assignment.pk}").delete()
    before = {
        "class": school_class.pk,
        "term": assignment.term_id,
        "role": assignment.role,
        "subject": assignment.subject,
    }
    staff = assignment.staff
    assignment.delete()
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        event="staff.teaching_assignment_delete",
        target=staff,
        org_unit_id=school_class.pk,
        changes={"before": before},
    )
