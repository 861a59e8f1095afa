"""Imports and exports of 学籍 and 教职工 files: permission, safety checks, one transaction,
the batch record and one summary audit row.

``actor`` is the signed-in user; ``None`` means an operator at the ``xiaowu`` command line
(shell access to the server), recorded in the audit log as 命令行.

- ``import_preview`` checks and parses an upload and stores it with what it would change; it
  writes nothing to the register.
- ``import_commit`` re-reads the stored file and applies it all-or-nothing; a batch with errors
  is refused, and so is a second commit.
- ``import_run`` is preview and commit in one step (command line, benchmark).
- ``student_export`` writes the national template (AUTHZ-08: own permission, audit row with
  the row count, rate limit; identifiers masked unless the actor may unmask them).
- ``staff_export`` writes the staff of a school in the simple staff layout the staff import
  reads, under the same rules (personnel data: needs ``Perm.STAFF_MANAGE``).
"""

from __future__ import annotations

import hashlib
import io
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import has_perm_at
from xiaowu.audit.models import AuditAction, AuditEvent
from xiaowu.audit.services import audit_record
from xiaowu.core.masking import mask_id_number, mask_mobile
from xiaowu.exchange.models import IMPORT_PERMS, ImportBatch, ImportKind, ImportStatus
from xiaowu.exchange.reader import RowError, Table, read_table
from xiaowu.exchange.safety import Inspected, inspect_upload
from xiaowu.exchange.staff_import import StaffPlan, staff_import_apply, staff_import_plan
from xiaowu.exchange.student_import import (
    StudentPlan,
    student_import_apply,
    student_import_plan,
)
from xiaowu.exchange.xlsx import workbook_write
from xiaowu.org.models import OrgUnit, UnitKind
from xiaowu.staff.io import STAFF_COLUMNS, staff_export_row
from xiaowu.staff.models import LEAVING_STATUSES, StaffMember
from xiaowu.students.io import STUDENT_COLUMNS, student_export_row
from xiaowu.students.models import Guardianship, Student, StudentStatus

if TYPE_CHECKING:
    from xiaowu.accounts.models import User

OPERATOR_LABEL = "命令行"
ERRORS_STORED = 1000
EXPORT_LIMIT_PER_HOUR = 10
LAYOUTS = {ImportKind.STUDENTS: STUDENT_COLUMNS, ImportKind.STAFF: STAFF_COLUMNS}
TEMPLATE_NAMES = {
    ImportKind.STUDENTS: "学生基本信息导入模板.xlsx",
    ImportKind.STAFF: "教职工信息导入模板.xlsx",
}
# Student fields read for the export, in addition to the class.
EXPORT_FIELDS = tuple(
    column.key
    for column in STUDENT_COLUMNS
    if not column.key.startswith("guardian") and column.key not in ("grade", "school_class")
)
GUARDIAN_EXPORT_FIELDS = ("name", "mobile", "employer", "id_type", "id_number")
STAFF_EXPORT_FIELDS = tuple(column.key for column in STAFF_COLUMNS)


class ExportRateLimitedError(Exception):
    """Too many exports by one user within an hour (AUTHZ-08, answered with HTTP 429)."""


@dataclass
class ImportOutcome:
    """What an import found (and, unless dry-run or with errors, did)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    row_count: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    committed: bool = False
    batch: ImportBatch | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [error.as_dict() for error in self.errors],
        }


@dataclass
class _Parsed:
    plan: StudentPlan | StaffPlan | None
    errors: list[RowError]
    row_count: int = 0
    ignored: list[str] = field(default_factory=list)


def _import_perm(kind: str) -> Perm:
    if kind not in IMPORT_PERMS:
        raise ValidationError({"kind": "未知的导入内容。"})
    return IMPORT_PERMS[ImportKind(kind)]


def _require_import(actor: User | None, kind: str, school: OrgUnit) -> None:
    perm = _import_perm(kind)
    if school.kind != UnitKind.SCHOOL:
        raise ValidationError({"school": "请选择学校。"})
    if actor is not None and not has_perm_at(actor, perm, school.pk):
        if kind == ImportKind.STUDENTS:
            raise PermissionDenied("您无权导入该校的学籍。")
        raise PermissionDenied("您无权导入该校的教职工档案。")


def _display_name(name: str) -> str:
    base = PurePosixPath((name or "").replace("\\", "/")).name
    cleaned = "".join(char for char in base if char.isprintable()).strip()
    return cleaned[-200:] or "导入文件"


def _parse(
    *,
    kind: str,
    school: OrgUnit,
    data: bytes,
    inspected: Inspected,
    today: date,
    for_update: bool = False,
) -> _Parsed:
    columns = LAYOUTS[ImportKind(kind)]
    table: Table | None = read_table(
        data,
        inspected.file_format,
        columns=columns,
        key_columns=("name",),
        encoding=inspected.encoding,
    )
    if table is None:
        return _Parsed(
            plan=None,
            errors=[
                RowError(1, "", "未找到表头：请在第一行写上列名（如 姓名、性别、身份证件号）。")
            ],
        )
    row_count = len(table.rows)
    plan: StudentPlan | StaffPlan
    if kind == ImportKind.STUDENTS:
        plan = student_import_plan(school=school, table=table, today=today, for_update=for_update)
    else:
        plan = staff_import_plan(school=school, table=table, today=today, for_update=for_update)
    return _Parsed(
        plan=plan,
        errors=plan.errors,
        row_count=row_count,
        ignored=list(table.headers.ignored),
    )


def _apply(*, kind: str, plan: StudentPlan | StaffPlan, actor: User | None) -> dict[str, Any]:
    """Apply ``plan`` and return the details for the audit row."""
    if isinstance(plan, StudentPlan):
        students = student_import_apply(plan=plan, actor=actor)
        return {
            "class_changes": students.class_changes,
            "guardians_created": students.guardians_created,
            "changed_fields": students.changed_fields,
        }
    staff = staff_import_apply(plan=plan, actor=actor)
    return {"status_changes": staff.status_changes, "changed_fields": staff.changed_fields}


def _counts(parsed: _Parsed) -> tuple[int, int, int]:
    if parsed.plan is None or parsed.errors:
        return 0, 0, 0
    counts = parsed.plan.counts
    return counts.created, counts.updated, counts.unchanged


def _store(
    batch: ImportBatch, *, data: bytes, parsed: _Parsed, inspected: Inspected
) -> ImportBatch:
    created, updated, unchanged = _counts(parsed)
    batch.file_format = inspected.file_format
    batch.row_count = parsed.row_count
    batch.created_count, batch.updated_count, batch.unchanged_count = created, updated, unchanged
    batch.error_count = len(parsed.errors)
    batch.errors = [error.as_dict() for error in parsed.errors[:ERRORS_STORED]]
    batch.preview = parsed.plan.preview() if parsed.plan is not None else []
    batch.ignored_columns = parsed.ignored
    batch.file.save(f"upload.{inspected.file_format}", ContentFile(data), save=False)
    batch.full_clean(exclude=["file"])
    batch.save()
    return batch


def _audit_import(*, actor: User | None, batch: ImportBatch, details: Mapping[str, Any]) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.IMPORT,
        event=f"exchange.{batch.kind}_import",
        target=batch,
        org_unit_id=batch.school_id,
        actor_label="" if actor is not None else OPERATOR_LABEL,
        changes={
            "kind": batch.kind,
            "file_sha256": batch.sha256,
            "original_name": batch.original_name,
            "rows": batch.row_count,
            "created": batch.created_count,
            "updated": batch.updated_count,
            "unchanged": batch.unchanged_count,
            **details,
        },
    )


def import_preview(
    *, actor: User | None, school: OrgUnit, kind: str, name: str, data: bytes
) -> ImportBatch:
    """Check and parse an upload and store it, with its preview and errors, as a batch.

    Raises ``UploadRejectedError`` (nothing stored) for a hostile or unreadable file.
    """
    _require_import(actor, kind, school)
    inspected = inspect_upload(name, data)
    parsed = _parse(
        kind=kind, school=school, data=data, inspected=inspected, today=timezone.localdate()
    )
    batch = ImportBatch(
        school=school,
        kind=kind,
        original_name=_display_name(name),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        created_by=actor,
    )
    with transaction.atomic():
        return _store(batch, data=data, parsed=parsed, inspected=inspected)


class _CommitFailedError(Exception):
    def __init__(self, parsed: _Parsed) -> None:
        super().__init__("import failed")
        self.parsed = parsed


def import_commit(*, actor: User | None, batch: ImportBatch) -> ImportBatch:
    """Apply a previewed batch in one transaction. The stored file is read and checked
    again: when the register changed since the preview so that rows no longer fit, nothing is
    written and the batch is marked failed with the new errors."""
    _require_import(actor, batch.kind, batch.school)
    try:
        with transaction.atomic():
            locked = (
                ImportBatch.objects.select_for_update().select_related("school").get(pk=batch.pk)
            )
            if locked.status == ImportStatus.COMMITTED:
                raise ValidationError("该批次已经导入，不能重复提交。")
            if locked.status != ImportStatus.PREVIEWED or locked.error_count:
                raise ValidationError("该批次有错误，不能导入；请修改文件后重新上传。")
            with locked.file.open("rb") as handle:
                data = handle.read()
            if hashlib.sha256(data).hexdigest() != locked.sha256:
                raise ValidationError("已保存的导入文件与预览时不一致，请重新上传。")
            inspected = inspect_upload(f"x.{locked.file_format}", data)
            parsed = _parse(
                kind=locked.kind,
                school=locked.school,
                data=data,
                inspected=inspected,
                today=timezone.localdate(),
                for_update=True,
            )
            if parsed.errors or parsed.plan is None:
                raise _CommitFailedError(parsed)
            details = _apply(kind=locked.kind, plan=parsed.plan, actor=actor)
            created, updated, unchanged = _counts(parsed)
            locked.status = ImportStatus.COMMITTED
            locked.created_count, locked.updated_count = created, updated
            locked.unchanged_count = unchanged
            locked.committed_at = timezone.now()
            locked.save(
                update_fields=[
                    "status",
                    "created_count",
                    "updated_count",
                    "unchanged_count",
                    "committed_at",
                    "updated_at",
                ]
            )
            if created or updated:
                _audit_import(actor=actor, batch=locked, details=details)
    except _CommitFailedError as failed:
        errors = failed.parsed.errors
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportStatus.FAILED,
            error_count=len(errors),
            errors=[error.as_dict() for error in errors[:ERRORS_STORED]],
            updated_at=timezone.now(),
        )
    batch.refresh_from_db()
    return batch


def import_run(
    *,
    actor: User | None,
    school: OrgUnit,
    kind: str,
    name: str,
    data: bytes,
    dry_run: bool = False,
) -> ImportOutcome:
    """Check, parse and (unless ``dry_run`` or with errors) apply a file in one transaction.

    Raises ``UploadRejectedError`` for a hostile or unreadable file.
    """
    _require_import(actor, kind, school)
    inspected = inspect_upload(name, data)
    today = timezone.localdate()
    if dry_run:
        parsed = _parse(kind=kind, school=school, data=data, inspected=inspected, today=today)
        created, updated, unchanged = _counts(parsed)
        return ImportOutcome(
            created,
            updated,
            unchanged,
            errors=parsed.errors,
            row_count=parsed.row_count,
            ignored_columns=parsed.ignored,
        )
    try:
        with transaction.atomic():
            parsed = _parse(
                kind=kind,
                school=school,
                data=data,
                inspected=inspected,
                today=today,
                for_update=True,
            )
            if parsed.errors or parsed.plan is None:
                raise _CommitFailedError(parsed)
            details = _apply(kind=kind, plan=parsed.plan, actor=actor)
            batch = ImportBatch(
                school=school,
                kind=kind,
                status=ImportStatus.COMMITTED,
                original_name=_display_name(name),
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                created_by=actor,
                committed_at=timezone.now(),
            )
            _store(batch, data=data, parsed=parsed, inspected=inspected)
            created, updated, unchanged = _counts(parsed)
            if created or updated:
                _audit_import(actor=actor, batch=batch, details=details)
    except _CommitFailedError as failed:
        return ImportOutcome(
            errors=failed.parsed.errors,
            row_count=failed.parsed.row_count,
            ignored_columns=failed.parsed.ignored,
        )
    return ImportOutcome(
        created,
        updated,
        unchanged,
        row_count=parsed.row_count,
        ignored_columns=parsed.ignored,
        committed=True,
        batch=batch,
    )


def import_template(*, kind: str) -> tuple[str, BinaryIO]:
    """Return the file name and an open temporary file of the empty layout of ``kind``."""
    _import_perm(kind)
    handle = io.BytesIO()
    workbook_write(
        handle,
        sheet_name="学生基本信息" if kind == ImportKind.STUDENTS else "教职工信息",
        columns=LAYOUTS[ImportKind(kind)],
        rows=[],
        properties={"title": TEMPLATE_NAMES[ImportKind(kind)].removesuffix(".xlsx")},
    )
    handle.seek(0)
    return TEMPLATE_NAMES[ImportKind(kind)], handle


# --------------------------------------------------------------------------- export
@dataclass
class ExportFile:
    filename: str
    handle: BinaryIO
    rows: int


def _export_rate_check(actor: User) -> None:
    limit: int = getattr(settings, "XIAOWU_EXPORT_LIMIT_PER_HOUR", EXPORT_LIMIT_PER_HOUR)
    recent = AuditEvent.objects.filter(
        actor_id=actor.pk,
        action=AuditAction.EXPORT,
        at__gte=timezone.now() - timedelta(hours=1),
    ).count()
    if recent >= limit:
        raise ExportRateLimitedError(f"一小时内最多导出 {limit} 次，请稍后再试。")


def _export_records(students: Any, *, unmasked: bool) -> Iterator[list[str]]:
    guardians: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for link in (
        Guardianship.objects.filter(student__in=students.order_by().values("pk"))
        .order_by("student_id", "-is_custodian", "pk")
        .values(
            "student_id",
            "relation",
            "is_custodian",
            *(f"guardian__{f}" for f in GUARDIAN_EXPORT_FIELDS),
        )
    ):
        entries = guardians[link["student_id"]]
        if len(entries) >= 2:
            continue
        entry = {f: link[f"guardian__{f}"] for f in GUARDIAN_EXPORT_FIELDS}
        entry.update(relation=link["relation"], is_custodian=link["is_custodian"])
        if not unmasked:
            entry["mobile"] = mask_mobile(entry["mobile"] or "")
            entry["id_number"] = mask_id_number(entry["id_number"] or "")
        entries.append(entry)
    for record in students.values(
        "pk", *EXPORT_FIELDS, "school_class__grade", "school_class__name"
    ).iterator(chunk_size=2000):
        record["grade"] = record.pop("school_class__grade")
        record["school_class"] = record.pop("school_class__name")
        if not unmasked:
            record["id_number"] = mask_id_number(record["id_number"] or "")
            record["national_student_number"] = mask_id_number(
                record["national_student_number"] or ""
            )
        yield student_export_row(record, guardians.get(record["pk"], []))


def student_export(
    *,
    actor: User | None,
    school: OrgUnit,
    school_class: OrgUnit | None = None,
    unmasked: bool = False,
) -> ExportFile:
    """Write the enrolled students of ``school`` (or of one class) in the national template.

    ID numbers, 学籍号 and phone numbers are masked unless ``unmasked``, which needs
    ``Perm.PII_UNMASK`` at the school: the unmasked file is what the national system takes.
    """
    if school.kind != UnitKind.SCHOOL:
        raise ValidationError({"school": "请选择学校。"})
    if actor is not None:
        if not has_perm_at(actor, Perm.STUDENTS_EXPORT, school.pk):
            raise PermissionDenied("您无权导出该校的学生名单。")
        if unmasked and not has_perm_at(actor, Perm.PII_UNMASK, school.pk):
            raise PermissionDenied("您无权导出未脱敏的证件号和电话号码。")
        _export_rate_check(actor)
    if school_class is not None and (
        school_class.kind != UnitKind.SCHOOL_CLASS or school_class.school_id != school.pk
    ):
        raise ValidationError({"school_class": "所选班级不属于该校。"})
    students = Student.objects.visible_to(actor) if actor is not None else Student.objects.all()
    students = students.filter(school=school, status=StudentStatus.ENROLLED)
    if school_class is not None:
        students = students.filter(school_class=school_class)
    students = students.order_by(
        "school_class__grade",
        "school_class__class_number",
        "school_class_id",
        "class_seat_number",
        "name_pinyin",
        "pk",
    )
    now = timezone.localtime()
    label = OPERATOR_LABEL if actor is None else f"{actor.full_name}（{actor.username}）"
    scope_name = school.name + (school_class.name if school_class is not None else "")
    masked_note = "未脱敏" if unmasked else "证件号、电话已脱敏"
    handle = io.BytesIO()
    with transaction.atomic():
        rows = workbook_write(
            handle,
            sheet_name="学生基本信息",
            columns=STUDENT_COLUMNS,
            rows=_export_records(students, unmasked=unmasked),
            properties={
                "title": f"{scope_name}学生基本信息",
                "author": label,
                "comments": f"{label} 于 {now:%Y-%m-%d %H:%M} 导出；{masked_note}。",
            },
            footer=f"{label} {now:%Y-%m-%d %H:%M} 导出 · {masked_note}",
        )
        # In the same transaction: when the audit write fails, no file is handed out (AUD-05).
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT,
            event="exchange.student_export",
            target=school_class or school,
            org_unit_id=(school_class or school).pk,
            actor_label="" if actor is not None else OPERATOR_LABEL,
            changes={
                "rows": rows,
                "unmasked": unmasked,
                "school": school.code,
                "school_class": school_class.pk if school_class is not None else None,
            },
        )
    handle.seek(0)
    suffix = "（未脱敏）" if unmasked else ""
    filename = f"{scope_name}学生名单{suffix}_{now:%Y%m%d}.xlsx"
    return ExportFile(filename=filename, handle=handle, rows=rows)


def _staff_export_records(staff: Any, *, unmasked: bool) -> Iterator[list[str]]:
    for record in staff.values(*STAFF_EXPORT_FIELDS).iterator(chunk_size=2000):
        if not unmasked:
            record["id_number"] = mask_id_number(record["id_number"] or "")
            record["mobile"] = mask_mobile(record["mobile"] or "")
        yield staff_export_row(record)


def staff_export(*, actor: User | None, school: OrgUnit, unmasked: bool = False) -> ExportFile:
    """Write the staff of ``school`` (all its units; those who retired or transferred out are
    left out) in the simple staff layout that the staff import reads.

    ID numbers and mobile numbers are masked unless ``unmasked``, which needs
    ``Perm.PII_UNMASK`` at the school; only the unmasked file imports back unchanged. Staff
    files are personnel data: the export needs ``Perm.STAFF_MANAGE`` at the school.
    """
    if school.kind != UnitKind.SCHOOL:
        raise ValidationError({"school": "请选择学校。"})
    if actor is not None:
        if not has_perm_at(actor, Perm.STAFF_MANAGE, school.pk):
            raise PermissionDenied("您无权导出该校的教职工名单。")
        if unmasked and not has_perm_at(actor, Perm.PII_UNMASK, school.pk):
            raise PermissionDenied("您无权导出未脱敏的身份证号和手机号码。")
        _export_rate_check(actor)
    staff = StaffMember.objects.visible_to(actor) if actor is not None else StaffMember.objects
    staff = (
        staff.filter(org_unit__school=school)
        .exclude(status__in=LEAVING_STATUSES)
        .order_by("org_unit__sort_order", "org_unit_id", "name_pinyin", "pk")
    )
    now = timezone.localtime()
    label = OPERATOR_LABEL if actor is None else f"{actor.full_name}（{actor.username}）"
    masked_note = "未脱敏" if unmasked else "身份证号、手机已脱敏"
    handle = io.BytesIO()
    with transaction.atomic():
        rows = workbook_write(
            handle,
            sheet_name="教职工信息",
            columns=STAFF_COLUMNS,
            rows=_staff_export_records(staff, unmasked=unmasked),
            properties={
                "title": f"{school.name}教职工信息",
                "author": label,
                "comments": f"{label} 于 {now:%Y-%m-%d %H:%M} 导出；{masked_note}。",
            },
            footer=f"{label} {now:%Y-%m-%d %H:%M} 导出 · {masked_note}",
        )
        # In the same transaction: when the audit write fails, no file is handed out (AUD-05).
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT,
            event="exchange.staff_export",
            target=school,
            org_unit_id=school.pk,
            actor_label="" if actor is not None else OPERATOR_LABEL,
            changes={"rows": rows, "unmasked": unmasked, "school": school.code},
        )
    handle.seek(0)
    suffix = "（未脱敏）" if unmasked else ""
    filename = f"{school.name}教职工名单{suffix}_{now:%Y%m%d}.xlsx"
    return ExportFile(filename=filename, handle=handle, rows=rows)
