"""教职工导入 — plan and apply a staff file (姓名, 性别, 出生日期, 身份证号, 手机, 学历, 职称,
岗位类别, 任教学科, 人事状态), matched on 身份证号.

A changed 人事状态 is recorded as ``staff.services.staff_status_record`` records it: the open
status period ends on the import day and a new one starts there, and someone who leaves
(退休, 调出) keeps no open role assignment.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from xiaowu.accounts.models import RoleAssignment
from xiaowu.core.identifiers import id_birth_date, id_number_is_valid
from xiaowu.core.masking import mask_id_number
from xiaowu.core.models import Gender
from xiaowu.exchange.common import (
    ACTION_LABELS,
    CREATE,
    ERROR,
    PREVIEW_ROWS,
    UNCHANGED,
    UPDATE,
    Counts,
    PinyinCache,
    chunked,
    header_of,
    keep_stored_over_derived,
    parse_rows,
)
from xiaowu.exchange.reader import RowError, Table
from xiaowu.org.models import OrgUnit
from xiaowu.staff.io import STAFF_COLUMNS
from xiaowu.staff.models import LEAVING_STATUSES, StaffMember, StaffStatusPeriod

if TYPE_CHECKING:
    from xiaowu.accounts.models import User

EARLIEST_BIRTH = date(1900, 1, 1)


@dataclass
class StaffRow:
    row: int
    values: dict[str, Any]
    staff: StaffMember | None = None
    action: str = ""
    changed: list[str] = field(default_factory=list)
    status_change: bool = False


@dataclass
class StaffPlan:
    school: OrgUnit
    today: date
    table: Table | None
    rows: list[StaffRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def preview(self) -> list[dict[str, Any]]:
        result = []
        for row in self.rows[:PREVIEW_ROWS]:
            staff = row.staff
            result.append(
                {
                    "row": row.row,
                    "name": row.values.get("name") or (staff.name if staff else ""),
                    "class": "",
                    "id_number": mask_id_number(row.values.get("id_number", "")),
                    "action": ACTION_LABELS[row.action],
                    "changes": row.changed,
                }
            )
        return result


def _gender_from_id(id_number: str) -> str:
    return Gender.MALE if int(id_number[16]) % 2 else Gender.FEMALE


def staff_import_plan(
    *, school: OrgUnit, table: Table, today: date, for_update: bool = False
) -> StaffPlan:
    """Validate a staff ``table`` and work out what importing it into ``school`` would change."""
    plan = StaffPlan(school=school, today=today, table=table)
    if "id_number" not in table.headers.columns:
        plan.errors.append(
            RowError(table.header_row, "身份证号", "缺少“身份证号”列，无法核对教职工是否已在册。")
        )
        return plan

    def header(key: str) -> str:
        return header_of(table, STAFF_COLUMNS, key)

    parsed = parse_rows(table, STAFF_COLUMNS)
    # The raw cells are not needed any more: free them before the register is loaded.
    table.rows = []
    first_row: dict[str, int] = {}
    for parsed_row in parsed:
        values = parsed_row.values
        id_number = values.get("id_number")
        if not id_number:
            if not any(error.column == header("id_number") for error in parsed_row.errors):
                parsed_row.error(header("id_number"), "请填写身份证号。")
            continue
        if not id_number_is_valid(id_number):
            parsed_row.error(
                header("id_number"), "不是有效的 18 位居民身份证号（校验位不符或出生日期不存在）。"
            )
            continue
        if id_number in first_row:
            parsed_row.error(header("id_number"), f"与第 {first_row[id_number]} 行的身份证号重复。")
            continue
        first_row[id_number] = parsed_row.row
        born = id_birth_date(id_number)
        if "birth_date" not in values:
            values["birth_date"] = born
            parsed_row.derived.add("birth_date")
        elif values["birth_date"] != born:
            parsed_row.error(
                header("birth_date"),
                f"出生日期与身份证号中的出生日期（{born:%Y-%m-%d}）不一致。",
            )
        if not EARLIEST_BIRTH <= values["birth_date"] <= today:
            parsed_row.error(header("birth_date"), "出生日期不合理（晚于今天或早于 1900 年）。")
        gender = _gender_from_id(id_number)
        if "gender" not in values:
            values["gender"] = gender
            parsed_row.derived.add("gender")
        elif values["gender"] != gender:
            parsed_row.error(
                header("gender"), "性别与身份证号不一致（第 17 位奇数为男、偶数为女）。"
            )

    existing: dict[str, StaffMember] = {}
    staff = StaffMember.objects.select_related("org_unit")
    if for_update:
        staff = staff.select_for_update()
    for chunk in chunked(list(first_row)):
        for member in staff.filter(id_number__in=chunk):
            existing[member.id_number or ""] = member
    open_periods: dict[int, date] = {}
    for id_chunk in chunked([member.pk for member in existing.values()]):
        open_periods.update(
            StaffStatusPeriod.objects.filter(
                staff_id__in=id_chunk, end_on__isnull=True
            ).values_list("staff_id", "start_on")
        )

    for parsed_row in parsed:
        row = StaffRow(parsed_row.row, parsed_row.values)
        plan.rows.append(row)
        found = existing.get(row.values.get("id_number", ""))
        if found is not None and not parsed_row.errors:
            if found.org_unit.school_id != school.pk:
                parsed_row.error(
                    header("id_number"), "该教职工已登记在其他单位，请由原单位办理调出后再导入。"
                )
            else:
                row.staff = found
                keep_stored_over_derived(parsed_row, found)
        if found is None and not parsed_row.errors:
            for key in ("name", "post_category"):
                if not row.values.get(key):
                    label = next(c.header for c in STAFF_COLUMNS if c.key == key)
                    parsed_row.error(header(key), f"新登记的教职工请填写{label}。")
        if row.staff is not None and row.values.get("status", row.staff.status) != row.staff.status:
            started = open_periods.get(row.staff.pk)
            if started is not None and started >= today:
                parsed_row.error(
                    header("status"),
                    f"该教职工当前人事状态自 {started:%Y-%m-%d} 起，导入日不能再次变更。",
                )
            else:
                row.status_change = True
        if parsed_row.errors:
            row.action = ERROR
            plan.errors.extend(parsed_row.errors)
            continue
        if row.staff is None:
            row.action = CREATE
            plan.counts.created += 1
            continue
        row.changed = [
            header(key)
            for key, value in row.values.items()
            if key != "status" and getattr(row.staff, key) != value
        ] + ([header("status")] if row.status_change else [])
        if row.changed:
            row.action = UPDATE
            plan.counts.updated += 1
        else:
            row.action = UNCHANGED
            plan.counts.unchanged += 1
    plan.errors.sort(key=lambda error: error.row)
    return plan


@dataclass(frozen=True)
class StaffApplied:
    created: int
    updated: int
    unchanged: int
    status_changes: int
    changed_fields: dict[str, int]


def staff_import_apply(*, plan: StaffPlan, actor: User | None) -> StaffApplied:
    """Write ``plan`` (which must have no errors); the caller holds the transaction."""
    if plan.errors:
        raise ValueError("A plan with errors cannot be applied.")
    now = timezone.now()
    today = plan.today
    pinyin = PinyinCache()
    new_staff: list[StaffMember] = []
    for row in plan.rows:
        if row.action != CREATE:
            continue
        member = StaffMember(org_unit_id=plan.school.pk, **row.values)
        member.name_pinyin, member.name_initials = pinyin(member.name)
        new_staff.append(member)
    StaffMember.objects.bulk_create(new_staff, batch_size=500)

    updating: list[StaffMember] = []
    fields: set[str] = set()
    changed_fields: Counter[str] = Counter()
    status_moves: list[StaffMember] = []
    for row in plan.rows:
        current = row.staff
        if row.action != UPDATE or current is None:
            continue
        changed = [key for key, value in row.values.items() if getattr(current, key) != value]
        for key in changed:
            setattr(current, key, row.values[key])
        changed_fields.update(changed)
        fields.update(changed)
        if "name" in changed:
            current.name_pinyin, current.name_initials = pinyin(current.name)
            fields.update({"name_pinyin", "name_initials"})
        if row.status_change:
            status_moves.append(current)
        current.updated_at = now
        updating.append(current)
    if updating:
        StaffMember.objects.bulk_update(updating, sorted(fields | {"updated_at"}), batch_size=500)
    if status_moves:
        moved_ids = [member.pk for member in status_moves]
        for chunk in chunked(moved_ids):
            StaffStatusPeriod.objects.filter(staff_id__in=chunk, end_on__isnull=True).update(
                end_on=today, updated_at=now
            )
        StaffStatusPeriod.objects.bulk_create(
            StaffStatusPeriod(staff_id=member.pk, status=member.status, start_on=today, note="导入")
            for member in status_moves
        )
        leaving = [
            member.user_id
            for member in status_moves
            if member.status in LEAVING_STATUSES and member.user_id
        ]
        # Someone who has left keeps no access from a current teaching assignment.
        for chunk in chunked(leaving):
            RoleAssignment.objects.filter(user_id__in=chunk, valid_until__isnull=True).update(
                valid_until=today - timedelta(days=1)
            )
    return StaffApplied(
        created=plan.counts.created,
        updated=plan.counts.updated,
        unchanged=plan.counts.unchanged,
        status_changes=len(status_moves),
        changed_fields=dict(changed_fields),
    )
