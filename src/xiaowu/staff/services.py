"""Writes to staff files: status periods, honours and teaching assignments.

A teaching assignment is also what gives the teacher access to the class: it keeps a role
assignment (任课教师 / 班主任 at the class, valid for the term) in step for the linked account.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from xiaowu.accounts.models import RoleAssignment
from xiaowu.accounts.roles import Perm, Role
from xiaowu.accounts.scoping import forget_scope, has_perm_at
from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record, diff, sensitive_value_reveal, snapshot
from xiaowu.core.identifiers import (
    id_birth_date,
    id_number_is_valid,
    mobile_is_valid,
    normalise_id_number,
    normalise_mobile,
    normalise_text,
)
from xiaowu.core.masking import mask_id_number, mask_mobile
from xiaowu.core.pinyin import pinyin_keys
from xiaowu.org.models import OrgUnit, Term, UnitKind
from xiaowu.staff.models import (
    LEAVING_STATUSES,
    StaffHonour,
    StaffMember,
    StaffStatus,
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


# --------------------------------------------------------------------------- staff files (issue 3)
STAFF_EDITABLE_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "id_number",
    "mobile",
    "post_category",
    "subject",
    "education",
    "professional_title",
    "started_work_on",
)
STAFF_AUDIT_FIELDS = ("org_unit", "status", *STAFF_EDITABLE_FIELDS)
STAFF_MASKS = {"id_number": mask_id_number, "mobile": mask_mobile}
SENSITIVE_STAFF_FIELDS = frozenset({"id_number", "mobile"})
# Where a staff file may live: a school (or a unit inside it) or an education office.
STAFF_UNIT_KINDS = frozenset(
    {
        UnitKind.BUREAU,
        UnitKind.SCHOOL_DISTRICT,
        UnitKind.SCHOOL,
        UnitKind.CAMPUS,
        UnitKind.ADMIN_OFFICE,
    }
)


def _clean_staff_fields(values: dict[str, Any], *, exclude_pk: int | None) -> dict[str, Any]:
    """Normalise identifiers and names; raise ValidationError with Chinese messages."""
    data = dict(values)
    errors: dict[str, str] = {}
    unknown = set(data) - set(STAFF_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"不可修改的字段：{', '.join(sorted(unknown))}")
    if "name" in data:
        data["name"] = normalise_text(str(data["name"] or ""))
        if not data["name"]:
            errors["name"] = "请填写姓名。"
    if "subject" in data:
        data["subject"] = normalise_text(str(data["subject"] or ""))
    if data.get("id_number"):
        data["id_number"] = normalise_id_number(str(data["id_number"]))
        others = StaffMember.objects.filter(id_number=data["id_number"])
        if exclude_pk is not None:
            others = others.exclude(pk=exclude_pk)
        if not id_number_is_valid(data["id_number"]):
            errors["id_number"] = "身份证号不是有效的 18 位居民身份证号（校验位不符或日期不存在）。"
        elif others.exists():
            errors["id_number"] = "该身份证号已登记在另一名教职工名下。"
    elif "id_number" in data:
        data["id_number"] = None
    if data.get("mobile"):
        data["mobile"] = normalise_mobile(str(data["mobile"]))
        if not mobile_is_valid(data["mobile"]):
            errors["mobile"] = "手机号应为 11 位中国大陆手机号码。"
    elif "mobile" in data:
        data["mobile"] = ""
    if errors:
        raise ValidationError(errors)
    return data


def _check_staff_dates(staff: StaffMember) -> None:
    """Cross-check the birth date with the ID number and the start of work."""
    errors: dict[str, str] = {}
    if staff.id_number and id_number_is_valid(staff.id_number):
        encoded = id_birth_date(staff.id_number)
        if staff.birth_date is None:
            staff.birth_date = encoded
        elif staff.birth_date != encoded:
            errors["birth_date"] = "出生日期与身份证号中的出生日期不一致。"
    if staff.birth_date and staff.started_work_on and staff.started_work_on <= staff.birth_date:
        errors["started_work_on"] = "参加工作时间应晚于出生日期。"
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def staff_member_create(*, actor: User, org_unit: OrgUnit, **fields: Any) -> StaffMember:
    """Open a staff file (教职工档案) at ``org_unit``, in post (在编在岗) from the day the person
    started work (or today), so that later status changes have a period to follow."""
    _require_manage(actor, org_unit.pk)
    if org_unit.kind not in STAFF_UNIT_KINDS or not org_unit.is_active:
        raise ValidationError({"org_unit": "教职工只能登记在教育局、学区、学校、校区或处室。"})
    data = _clean_staff_fields(fields, exclude_pk=None)
    staff = StaffMember(org_unit=org_unit, status=StaffStatus.ON_POST, **data)
    _check_staff_dates(staff)
    staff.name_pinyin, staff.name_initials = pinyin_keys(staff.name)
    staff.full_clean()
    staff.save()
    StaffStatusPeriod.objects.create(
        staff=staff,
        status=StaffStatus.ON_POST,
        start_on=staff.started_work_on or timezone.localdate(),
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="staff.staff_member_create",
        target=staff,
        org_unit_id=org_unit.pk,
        changes={"after": snapshot(staff, STAFF_AUDIT_FIELDS, STAFF_MASKS)},
    )
    return staff


@transaction.atomic
def staff_member_update(*, actor: User, staff: StaffMember, **changes: Any) -> StaffMember:
    """Edit the fields of a staff file. The unit and the 人事状态 change through
    ``staff_status_record`` instead, so that their history stays dated."""
    _require_manage(actor, staff.org_unit_id)
    locked = StaffMember.objects.select_for_update().get(pk=staff.pk)
    data = _clean_staff_fields(changes, exclude_pk=locked.pk)
    before = snapshot(locked, STAFF_AUDIT_FIELDS, STAFF_MASKS)
    for field, value in data.items():
        setattr(locked, field, value)
    _check_staff_dates(locked)
    locked.name_pinyin, locked.name_initials = pinyin_keys(locked.name)
    locked.full_clean()
    changed = diff(before, snapshot(locked, STAFF_AUDIT_FIELDS, STAFF_MASKS))
    if not changed:
        return locked
    locked.save(
        update_fields=[*changed, "name_pinyin", "name_initials", "updated_at"],
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event="staff.staff_member_update",
        target=locked,
        org_unit_id=locked.org_unit_id,
        changes=changed,
    )
    return locked


def staff_sensitive_view(*, actor: User, staff: StaffMember, field: str) -> str:
    """Return the unmasked ID or mobile number of a staff member and record the access."""
    if field not in SENSITIVE_STAFF_FIELDS:
        raise ValidationError("不支持查看该字段。")
    return sensitive_value_reveal(
        actor=actor,
        target=staff,
        value=str(getattr(staff, field) or ""),
        unit_id=staff.org_unit_id,
        event=f"staff.staff_view_{field}",
        denied_message="您无权查看完整号码。",
        changes={"field": field},
    )
