"""Writes to the organisation tree, calendar and groupings.

Each service checks permission, validates with Chinese messages, writes the audit log and
runs in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from xiaowu.accounts.roles import ROLE_SPECS, Perm, Role
from xiaowu.accounts.scoping import has_perm_at, max_rank, scope_for
from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record, diff, snapshot
from xiaowu.core.pinyin import pinyin_keys
from xiaowu.org.models import (
    ALLOWED_PARENT_KINDS,
    AllianceMembership,
    Grade,
    OrgUnit,
    OrgUnitClosure,
    SchoolAlliance,
    SchoolYear,
    Term,
    UnitKind,
)

if TYPE_CHECKING:
    from xiaowu.accounts.models import User

UNIT_AUDIT_FIELDS = (
    "code",
    "name",
    "kind",
    "parent",
    "school_type",
    "office_type",
    "grade",
    "class_number",
    "entry_year",
    "subject",
    "address",
    "sort_order",
    "is_active",
)
UNIT_EDITABLE_FIELDS = frozenset(
    {
        "name",
        "school_type",
        "office_type",
        "grade",
        "class_number",
        "entry_year",
        "subject",
        "address",
        "sort_order",
        "is_active",
    }
)


def class_display_name(grade: int, class_number: int) -> str:
    """Return the conventional class name, e.g. 七年级(2)班."""
    return f"{Grade(grade).label}({class_number})班"


def _check_unit_fields(kind: str, attrs: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    if kind == UnitKind.SCHOOL and not attrs.get("school_type"):
        errors["school_type"] = "学校必须选择学校类型。"
    if kind != UnitKind.SCHOOL and attrs.get("school_type"):
        errors["school_type"] = "只有学校可以设置学校类型。"
    if kind == UnitKind.SCHOOL_CLASS:
        if attrs.get("grade") is None:
            errors["grade"] = "班级必须选择年级。"
        if not attrs.get("class_number"):
            errors["class_number"] = "班级必须填写班号。"
    elif attrs.get("class_number"):
        errors["class_number"] = "只有班级可以设置班号。"
    if kind == UnitKind.ADMIN_OFFICE and not attrs.get("office_type"):
        errors["office_type"] = "处室必须选择处室类型。"
    if errors:
        raise ValidationError(errors)


def _apply_pinyin(unit: OrgUnit) -> None:
    unit.name_pinyin, unit.name_initials = pinyin_keys(unit.name)


@transaction.atomic
def org_unit_create(
    *,
    actor: User,
    parent: OrgUnit | None,
    kind: str,
    code: str,
    name: str = "",
    **attrs: Any,
) -> OrgUnit:
    """Create a unit under ``parent`` and record its ancestry in the closure table."""
    if parent is None:
        if not scope_for(actor).is_global:
            raise PermissionDenied("只有系统管理员可以创建顶级机构。")
        if kind != UnitKind.BUREAU:
            raise ValidationError({"kind": "顶级机构必须是教育局。"})
    else:
        if not has_perm_at(actor, Perm.ORG_MANAGE, parent.pk):
            raise PermissionDenied("您无权在该机构下新增下级机构。")
        if parent.kind not in ALLOWED_PARENT_KINDS[kind]:
            raise ValidationError(
                {"kind": f"{UnitKind(kind).label}不能设在{UnitKind(parent.kind).label}之下。"}
            )
    _check_unit_fields(kind, attrs)
    if kind == UnitKind.SCHOOL_CLASS and not name:
        name = class_display_name(attrs["grade"], attrs["class_number"])
    if not name:
        raise ValidationError({"name": "请填写名称。"})
    code = code.strip()
    if OrgUnit.objects.filter(code=code).exists():
        raise ValidationError({"code": f"代码“{code}”已被使用。"})
    if OrgUnit.objects.filter(parent=parent, name=name).exists():
        raise ValidationError({"name": f"同一上级下已有名为“{name}”的机构。"})
    school_id = (
        None
        if parent is None
        else (parent.pk if parent.kind == UnitKind.SCHOOL else parent.school_id)
    )
    if (
        kind == UnitKind.SCHOOL_CLASS
        and OrgUnit.objects.filter(
            kind=UnitKind.SCHOOL_CLASS,
            is_active=True,
            school_id=school_id,
            grade=attrs["grade"],
            class_number=attrs["class_number"],
        ).exists()
    ):
        label = class_display_name(attrs["grade"], attrs["class_number"])
        raise ValidationError({"class_number": f"本校已有在用的{label}。"})
    unit = OrgUnit(parent=parent, kind=kind, code=code, name=name, **attrs)
    unit.depth = parent.depth + 1 if parent else 0
    if parent is not None and kind != UnitKind.SCHOOL:
        unit.school_id = parent.pk if parent.kind == UnitKind.SCHOOL else parent.school_id
    _apply_pinyin(unit)
    unit.full_clean(exclude=["school"])
    unit.save()
    if kind == UnitKind.SCHOOL:
        unit.school = unit
        unit.save(update_fields=["school"])
    closure_add(unit)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="org.unit_create",
        target=unit,
        org_unit_id=unit.pk,
        changes={"after": snapshot(unit, UNIT_AUDIT_FIELDS)},
    )
    return unit


def closure_add(unit: OrgUnit) -> None:
    rows = [OrgUnitClosure(ancestor_id=unit.pk, descendant_id=unit.pk, distance=0)]
    if unit.parent_id is not None:
        rows += [
            OrgUnitClosure(ancestor_id=ancestor_id, descendant_id=unit.pk, distance=distance + 1)
            for ancestor_id, distance in OrgUnitClosure.objects.filter(
                descendant_id=unit.parent_id
            ).values_list("ancestor_id", "distance")
        ]
    OrgUnitClosure.objects.bulk_create(rows)


@transaction.atomic
def org_unit_update(*, actor: User, unit: OrgUnit, **changes: Any) -> OrgUnit:
    """Change the editable attributes of ``unit`` (not its place in the tree)."""
    if not has_perm_at(actor, Perm.ORG_MANAGE, unit.pk):
        raise PermissionDenied("您无权修改该机构。")
    unknown = set(changes) - UNIT_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(f"不可修改的字段：{', '.join(sorted(unknown))}")
    before = snapshot(unit, UNIT_AUDIT_FIELDS)
    for field, value in changes.items():
        setattr(unit, field, value)
    _check_unit_fields(unit.kind, {f: getattr(unit, f) for f in UNIT_EDITABLE_FIELDS})
    if (
        "name" in changes
        and OrgUnit.objects.filter(parent_id=unit.parent_id, name=unit.name)
        .exclude(pk=unit.pk)
        .exists()
    ):
        raise ValidationError({"name": f"同一上级下已有名为“{unit.name}”的机构。"})
    _apply_pinyin(unit)
    unit.full_clean(exclude=["school", "parent"])
    after = snapshot(unit, UNIT_AUDIT_FIELDS)
    changed = diff(before, after)
    if not changed:
        return unit
    unit.save(update_fields=[*changed, "name_pinyin", "name_initials", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event="org.unit_update",
        target=unit,
        org_unit_id=unit.pk,
        changes=changed,
    )
    return unit


def closure_rebuild(units: Iterable[tuple[int, int | None]]) -> int:
    """Rebuild the whole closure table from ``(id, parent_id)`` pairs; return the row count.

    Used by bulk loaders (demo data at city scale), which create units without services.
    """
    parent_of = dict(units)
    rows: list[OrgUnitClosure] = []
    for unit_id in parent_of:
        distance = 0
        current: int | None = unit_id
        while current is not None:
            rows.append(
                OrgUnitClosure(ancestor_id=current, descendant_id=unit_id, distance=distance)
            )
            current = parent_of.get(current)
            distance += 1
    OrgUnitClosure.objects.all().delete()
    OrgUnitClosure.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def calendar_editable_by(actor: User) -> bool:
    """The calendar is shared by every school of the installation: bureau level only."""
    return max_rank(actor) >= ROLE_SPECS[Role.BUREAU_ADMIN].rank


@transaction.atomic
def school_year_create(
    *, actor: User, name: str, start_on: date, end_on: date, terms: Sequence[tuple[date, date]] = ()
) -> SchoolYear:
    """Create a 学年 with its 学期 (first and second term dates)."""
    if not calendar_editable_by(actor):
        raise PermissionDenied("只有教育局管理员可以维护校历。")
    if SchoolYear.objects.filter(name=name).exists():
        raise ValidationError({"name": f"学年“{name}”已存在。"})
    if end_on <= start_on:
        raise ValidationError({"end_on": "结束日期必须晚于开始日期。"})
    year = SchoolYear(name=name, start_on=start_on, end_on=end_on)
    year.full_clean()
    year.save()
    for number, (term_start, term_end) in enumerate(terms, start=1):
        if not (start_on <= term_start < term_end <= end_on):
            raise ValidationError({"terms": f"第{number}学期的日期必须在学年之内且先后有序。"})
        Term.objects.create(school_year=year, number=number, start_on=term_start, end_on=term_end)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="org.school_year_create",
        target=year,
        changes={
            "after": {"name": name, "start_on": start_on, "end_on": end_on, "terms": len(terms)}
        },
    )
    return year


@transaction.atomic
def school_alliance_create(
    *,
    actor: User,
    owner: OrgUnit,
    code: str,
    name: str,
    kind: str,
    lead_school: OrgUnit,
    members: Sequence[OrgUnit],
    founded_on: date | None = None,
) -> SchoolAlliance:
    """Create a 大学区 / 集团化联盟 led by ``lead_school`` with ``members`` (the lead included)."""
    if not has_perm_at(actor, Perm.ORG_MANAGE, owner.pk):
        raise PermissionDenied("您无权在该机构下建立学校联盟。")
    schools = {lead_school.pk: lead_school, **{m.pk: m for m in members}}
    not_schools = [s.name for s in schools.values() if s.kind != UnitKind.SCHOOL]
    if not_schools:
        raise ValidationError({"members": f"联盟成员必须是学校：{'、'.join(not_schools)}"})
    if SchoolAlliance.objects.filter(code=code).exists():
        raise ValidationError({"code": f"代码“{code}”已被使用。"})
    alliance = SchoolAlliance(
        code=code, name=name, kind=kind, owner=owner, lead_school=lead_school, founded_on=founded_on
    )
    alliance.full_clean()
    alliance.save()
    AllianceMembership.objects.bulk_create(
        [
            AllianceMembership(alliance=alliance, school_id=pk, joined_on=founded_on)
            for pk in schools
        ]
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="org.school_alliance_create",
        target=alliance,
        org_unit_id=owner.pk,
        changes={
            "after": {
                "name": name,
                "kind": kind,
                "lead_school": lead_school.pk,
                "members": sorted(schools),
            }
        },
    )
    return alliance
