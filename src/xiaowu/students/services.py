"""Writes to the student register: registration, status changes (异动), edits.

Every change of a student's class or status goes through ``status_change_record``, which
keeps three things in step in one transaction: the dated ``StatusChange`` event, the
``ClassMembership`` history (so headcounts can be asked as of any date) and the current
``school`` / ``school_class`` / ``status`` on the student row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import has_perm_at
from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record, diff, sensitive_value_reveal, snapshot
from xiaowu.core.identifiers import id_number_is_valid, normalise_id_number, normalise_text
from xiaowu.core.masking import mask_id_number
from xiaowu.core.pinyin import pinyin_keys
from xiaowu.org.models import OrgUnit, SchoolYear, UnitKind
from xiaowu.students.models import (
    AgeCohortPopulation,
    ClassMembership,
    Guardian,
    Guardianship,
    StatusChange,
    StatusChangeAttachment,
    StatusChangeKind,
    Student,
    StudentQuerySet,
    StudentStatus,
)
from xiaowu.students.reference import IdDocumentType
from xiaowu.students.validation import national_student_number_is_valid

if TYPE_CHECKING:
    from xiaowu.accounts.models import User

K = StatusChangeKind
S = StudentStatus

# Which statuses each kind of event may start from (None: a student new to the register).
ALLOWED_FROM: dict[str, frozenset[str | None]] = {
    K.ENROLLMENT: frozenset({None}),
    K.TRANSFER_IN: frozenset({None, S.TRANSFERRED_OUT}),
    K.TRANSFER_OUT: frozenset({S.ENROLLED, S.SUSPENDED}),
    K.SUSPENSION: frozenset({S.ENROLLED}),
    K.RESUMPTION: frozenset({S.SUSPENDED, S.DROPPED_OUT}),
    K.REPEAT_GRADE: frozenset({S.ENROLLED}),
    K.SKIP_GRADE: frozenset({S.ENROLLED}),
    K.CLASS_CHANGE: frozenset({S.ENROLLED}),
    K.GRADUATION: frozenset({S.ENROLLED}),
    K.DROPOUT: frozenset({S.ENROLLED, S.SUSPENDED}),
    K.DEATH: frozenset({S.ENROLLED, S.SUSPENDED}),
}
# The status each kind of event leaves the student in.
RESULTING_STATUS: dict[str, str] = {
    K.ENROLLMENT: S.ENROLLED,
    K.TRANSFER_IN: S.ENROLLED,
    K.RESUMPTION: S.ENROLLED,
    K.REPEAT_GRADE: S.ENROLLED,
    K.SKIP_GRADE: S.ENROLLED,
    K.CLASS_CHANGE: S.ENROLLED,
    K.TRANSFER_OUT: S.TRANSFERRED_OUT,
    K.SUSPENSION: S.SUSPENDED,
    K.GRADUATION: S.GRADUATED,
    K.DROPOUT: S.DROPPED_OUT,
    K.DEATH: S.DECEASED,
}
# Events that put the student into a class (and therefore need ``to_class``).
INTO_CLASS = frozenset(
    {K.ENROLLMENT, K.TRANSFER_IN, K.RESUMPTION, K.REPEAT_GRADE, K.SKIP_GRADE, K.CLASS_CHANGE}
)

STUDENT_AUDIT_FIELDS = (
    "name",
    "former_name",
    "gender",
    "birth_date",
    "id_type",
    "id_number",
    "national_student_number",
    "ethnicity",
    "nationality",
    "birthplace_region",
    "native_place",
    "hukou_region",
    "overseas_status",
    "health_status",
    "class_seat_number",
    "enrolled_on",
    "study_mode",
    "address",
    "left_behind",
    "is_migrant_child",
    "has_disability",
    "disability_type",
    "is_orphan",
    "is_needy_family",
)
EDITABLE_FIELDS = frozenset(STUDENT_AUDIT_FIELDS)
MASKS = {"id_number": mask_id_number, "national_student_number": mask_id_number}


def _require_manage(actor: User, school_id: int) -> None:
    if not has_perm_at(actor, Perm.STUDENTS_MANAGE, school_id):
        raise PermissionDenied("您无权管理该校学籍。")


def _check_class(unit: OrgUnit | None, *, school_id: int | None = None) -> OrgUnit:
    if unit is None:
        raise ValidationError({"to_class": "请选择班级。"})
    if unit.kind != UnitKind.SCHOOL_CLASS or not unit.is_active:
        raise ValidationError({"to_class": "所选机构不是有效的班级。"})
    if school_id is not None and unit.school_id != school_id:
        raise ValidationError({"to_class": "所选班级不属于该生所在学校。"})
    return unit


def _others(exclude_pk: int | None) -> StudentQuerySet:
    students = Student.objects.all()
    return students if exclude_pk is None else students.exclude(pk=exclude_pk)


def clean_student_fields(
    values: Mapping[str, Any], *, exclude_pk: int | None = None
) -> dict[str, Any]:
    """Normalise and validate register fields; raise ValidationError with Chinese messages."""
    data = dict(values)
    errors: dict[str, str] = {}
    if "name" in data:
        data["name"] = normalise_text(str(data["name"] or ""))
        if not data["name"]:
            errors["name"] = "请填写姓名。"
    id_type = data.get("id_type") or IdDocumentType.RESIDENT_ID
    if data.get("id_number"):
        data["id_number"] = normalise_id_number(str(data["id_number"]))
        if id_type == IdDocumentType.RESIDENT_ID and not id_number_is_valid(data["id_number"]):
            errors["id_number"] = (
                "身份证件号不是有效的 18 位居民身份证号（校验位不符或日期不存在）。"
            )
        elif _others(exclude_pk).filter(id_number=data["id_number"]).exists():
            errors["id_number"] = "该身份证件号已登记在另一名学生名下。"
    elif "id_number" in data:
        data["id_number"] = None
    if data.get("national_student_number"):
        data["national_student_number"] = normalise_id_number(str(data["national_student_number"]))
        if not national_student_number_is_valid(data["national_student_number"]):
            errors["national_student_number"] = "全国学籍号应为 G/J 加 18 位或 L 加 18 位数字。"
        elif (
            _others(exclude_pk)
            .filter(national_student_number=data["national_student_number"])
            .exists()
        ):
            errors["national_student_number"] = "该全国学籍号已登记在另一名学生名下。"
    elif "national_student_number" in data:
        data["national_student_number"] = None
    if data.get("has_disability") is False and data.get("disability_type"):
        errors["disability_type"] = "未标记残疾的学生不能填写残疾类型。"
    if errors:
        raise ValidationError(errors)
    return data


@transaction.atomic
def student_register(
    *,
    actor: User,
    school_class: OrgUnit,
    effective_on: date,
    kind: str = K.ENROLLMENT,
    counterpart: str = "",
    reason: str = "",
    **fields: Any,
) -> Student:
    """Add a student to the register by 入学 or 转入 into ``school_class``."""
    if kind not in (K.ENROLLMENT, K.TRANSFER_IN):
        raise ValidationError({"kind": "新登记学生只能是入学或转入。"})
    unit = _check_class(school_class)
    _require_manage(actor, unit.owning_school_id)
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(f"未知字段：{', '.join(sorted(unknown))}")
    data = clean_student_fields(fields)
    school_id = unit.owning_school_id
    student = Student(school_id=school_id, school_class=unit, status=S.ENROLLED, **data)
    student.name_pinyin, student.name_initials = pinyin_keys(student.name)
    student.enrolled_on = student.enrolled_on or effective_on
    student.full_clean()
    student.save()
    ClassMembership.objects.create(
        student=student, school_id=school_id, school_class=unit, start_on=effective_on
    )
    event = StatusChange.objects.create(
        student=student,
        school_id=school_id,
        kind=kind,
        effective_on=effective_on,
        to_class=unit,
        counterpart=counterpart,
        reason=reason,
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="students.student_register",
        target=student,
        org_unit_id=unit.pk,
        changes={
            "after": snapshot(student, STUDENT_AUDIT_FIELDS, MASKS),
            "status_change": event.pk,
        },
    )
    return student


@transaction.atomic
def status_change_record(
    *,
    actor: User,
    student: Student,
    kind: str,
    effective_on: date,
    to_class: OrgUnit | None = None,
    reason: str = "",
    counterpart: str = "",
    document_number: str = "",
    note: str = "",
) -> StatusChange:
    """Record one 异动 and bring the membership history and current values in step."""
    locked = Student.objects.select_for_update().get(pk=student.pk)
    if kind not in ALLOWED_FROM:
        raise ValidationError({"kind": "未知的异动类型。"})
    target_school = locked.school_id
    if kind == K.TRANSFER_IN:
        target = _check_class(to_class)
        target_school = target.owning_school_id
    _require_manage(actor, target_school)
    if locked.status not in ALLOWED_FROM[kind]:
        status_label, kind_label = locked.get_status_display(), StatusChangeKind(kind).label
        raise ValidationError({"kind": f"学籍状态为“{status_label}”的学生不能办理“{kind_label}”。"})
    last = (
        locked.status_changes.order_by("-effective_on")
        .values_list("effective_on", flat=True)
        .first()
    )
    if last is not None and effective_on < last:
        raise ValidationError(
            {"effective_on": f"异动日期不能早于该生最近一次异动（{last:%Y-%m-%d}）。"}
        )
    target_class: OrgUnit | None = None
    if kind in INTO_CLASS:
        target_class = _check_class(to_class, school_id=target_school)
        if (
            kind in (K.REPEAT_GRADE, K.SKIP_GRADE, K.CLASS_CHANGE)
            and target_class.pk == locked.school_class_id
        ):
            raise ValidationError({"to_class": "新班级与原班级相同。"})
    open_membership = ClassMembership.objects.filter(student=locked, end_on__isnull=True).first()
    if open_membership is not None and effective_on < open_membership.start_on:
        since = f"{open_membership.start_on:%Y-%m-%d}"
        message = f"异动日期不能早于该生进入现班级的日期（{since}）。"
        raise ValidationError({"effective_on": message})
    if open_membership is not None:
        if open_membership.start_on == effective_on:
            # A same-day correction replaces the day's membership instead of leaving an empty one.
            open_membership.delete()
        else:
            open_membership.end_on = effective_on
            open_membership.save(update_fields=["end_on"])
    if target_class is not None:
        ClassMembership.objects.create(
            student=locked,
            school_id=target_school,
            school_class=target_class,
            start_on=effective_on,
        )
    event = StatusChange.objects.create(
        student=locked,
        school_id=target_school,
        kind=kind,
        effective_on=effective_on,
        from_class_id=locked.school_class_id,
        to_class=target_class,
        reason=reason,
        counterpart=counterpart,
        document_number=document_number,
        note=note,
        recorded_by=actor,
    )
    before = {
        "status": locked.status,
        "school": locked.school_id,
        "school_class": locked.school_class_id,
    }
    locked.status = RESULTING_STATUS[kind]
    locked.school_id = target_school
    if target_class is not None:
        locked.school_class = target_class
    locked.version = F("version") + 1
    locked.save(update_fields=["status", "school", "school_class", "version", "updated_at"])
    after = {
        "status": locked.status,
        "school": target_school,
        "school_class": locked.school_class_id,
    }
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event=f"students.status_change_{kind}",
        target=locked,
        org_unit_id=target_class.pk if target_class else locked.school_class_id or target_school,
        changes={**diff(before, after), "status_change": event.pk, "effective_on": effective_on},
    )
    return event


@transaction.atomic
def student_update(*, actor: User, student: Student, version: int, **changes: Any) -> Student:
    """Edit register fields. ``version`` is the version the user loaded: a stale save is
    refused instead of silently overwriting someone else's edit (CONC-01)."""
    _require_manage(actor, student.school_id)
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(f"不可修改的字段：{', '.join(sorted(unknown))}")
    locked = Student.objects.select_for_update().get(pk=student.pk)
    if locked.version != version:
        raise ValidationError("该学生信息已被他人修改，请刷新页面后重试。", code="stale")
    data = clean_student_fields(changes, exclude_pk=locked.pk)
    before = snapshot(locked, STUDENT_AUDIT_FIELDS, MASKS)
    for field, value in data.items():
        setattr(locked, field, value)
    locked.name_pinyin, locked.name_initials = pinyin_keys(locked.name)
    locked.full_clean()
    changed = diff(before, snapshot(locked, STUDENT_AUDIT_FIELDS, MASKS))
    if not changed:
        return locked
    locked.version = version + 1
    locked.save(update_fields=[*data, "name_pinyin", "name_initials", "version", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event="students.student_update",
        target=locked,
        org_unit_id=locked.school_class_id or locked.school_id,
        changes=changed,
    )
    return locked


# --------------------------------------------------------------------------- pages (issue 3)
# Register identifiers that the pages show masked and unmask only through an audited request.
SENSITIVE_STUDENT_FIELDS = frozenset({"id_number", "national_student_number"})
# Magic bytes of the attachment types accepted (INP-09): the client's name and type are not
# trusted.
ATTACHMENT_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
# 适龄人口 is stated for ages between kindergarten and the end of senior middle school.
COHORT_MIN_AGE = 3
COHORT_MAX_AGE = 18
COHORT_UNIT_KINDS = frozenset({UnitKind.BUREAU, UnitKind.SCHOOL_DISTRICT, UnitKind.SCHOOL})


def size_label(size: int) -> str:
    """Return a file size for messages: ``10 MB``, ``512 KB`` or ``20 字节``."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    if size >= 1024:
        return f"{size / 1024:g} KB"
    return f"{size} 字节"


def student_sensitive_view(*, actor: User, student: Student, field: str) -> str:
    """Return the unmasked ``field`` of ``student`` and record the access (PRIV-05)."""
    if field not in SENSITIVE_STUDENT_FIELDS:
        raise ValidationError("不支持查看该字段。")
    return sensitive_value_reveal(
        actor=actor,
        target=student,
        value=str(getattr(student, field) or ""),
        unit_id=student.school_id,
        audit_unit_id=student.school_class_id or student.school_id,
        event=f"students.student_view_{field}",
        denied_message="您无权查看完整证件号。",
        changes={"field": field},
    )


def guardian_sensitive_view(*, actor: User, student: Student, guardian: Guardian) -> str:
    """Return the full phone number of one of ``student``'s guardians and record the access."""
    if not has_perm_at(actor, Perm.PII_UNMASK, student.school_id):
        raise PermissionDenied("您无权查看完整号码。")
    if not Guardianship.objects.filter(student=student, guardian=guardian).exists():
        raise PermissionDenied("该监护人与该学生无关。")
    return sensitive_value_reveal(
        actor=actor,
        target=guardian,
        value=guardian.mobile,
        unit_id=student.school_id,
        audit_unit_id=student.school_class_id or student.school_id,
        event="students.guardian_view_mobile",
        denied_message="您无权查看完整号码。",
        changes={"field": "mobile", "student": student.pk},
    )


def attachment_check(upload: UploadedFile) -> tuple[str, str, int]:
    """Return ``(content_type, sha256, size)`` of an upload, or raise a ValidationError when
    it is empty, too large, or not a PDF, JPG or PNG file by its content."""
    limit: int = settings.XIAOWU_UPLOAD_MAX_BYTES
    if not upload.size:
        raise ValidationError({"attachment": "上传的文件是空的。"})
    if upload.size > limit:
        raise ValidationError({"attachment": f"文件不能超过 {size_label(limit)}。"})
    upload.seek(0)
    head = upload.read(16)
    content_type = next((ct for magic, ct in ATTACHMENT_SIGNATURES if head.startswith(magic)), "")
    if not content_type:
        raise ValidationError({"attachment": "只能上传 PDF、JPG 或 PNG 文件。"})
    digest = hashlib.sha256()
    size = 0
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    if size > limit:
        raise ValidationError({"attachment": f"文件不能超过 {size_label(limit)}。"})
    return content_type, digest.hexdigest(), size


def _display_name(name: str) -> str:
    base = PurePosixPath((name or "").replace("\\", "/")).name
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    return cleaned[-200:] or "附件"


@transaction.atomic
def status_change_attachment_add(
    *, actor: User, status_change: StatusChange, upload: UploadedFile
) -> StatusChangeAttachment:
    """Store a document (e.g. a transfer certificate scan) with a 异动, under a generated name."""
    _require_manage(actor, status_change.school_id)
    content_type, sha256, size = attachment_check(upload)
    attachment = StatusChangeAttachment(
        status_change=status_change,
        original_name=_display_name(upload.name or ""),
        content_type=content_type,
        size=size,
        sha256=sha256,
    )
    # ``upload_to`` ignores the name passed here: stored names come from the content hash.
    attachment.file.save(sha256[:16], upload, save=False)
    attachment.full_clean()
    attachment.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="students.status_change_attachment_add",
        target=status_change.student,
        org_unit_id=status_change.school_id,
        changes={
            "after": {
                "status_change": status_change.pk,
                "content_type": content_type,
                "size": size,
                "sha256": sha256,
            }
        },
    )
    return attachment


@transaction.atomic
def status_change_record_with_attachment(
    *, actor: User, student: Student, attachment: UploadedFile | None = None, **fields: Any
) -> StatusChange:
    """Record one 异动 and, in the same transaction, store its supporting document."""
    if attachment is not None:
        # Checked first so that a wrong file is reported before anything is written.
        attachment_check(attachment)
    event = status_change_record(actor=actor, student=student, **fields)
    if attachment is not None:
        status_change_attachment_add(actor=actor, status_change=event, upload=attachment)
    return event


def status_change_attachment_open(*, actor: User, attachment: StatusChangeAttachment) -> File[Any]:
    """Open a stored 异动 document for reading and record who opened it."""
    school_id = attachment.status_change.school_id
    if not has_perm_at(actor, Perm.STUDENTS_VIEW, school_id):
        raise PermissionDenied("您无权查看该材料。")
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.VIEW_SENSITIVE,
            event="students.status_change_attachment_open",
            target=attachment.status_change.student,
            org_unit_id=school_id,
            changes={"attachment": attachment.pk, "status_change": attachment.status_change_id},
        )
    handle: File[Any] = attachment.file.open("rb")
    return handle


@transaction.atomic
def age_cohort_population_record(
    *,
    actor: User,
    org_unit: OrgUnit,
    school_year: SchoolYear,
    age_from: int,
    age_to: int,
    headcount: int,
    source: str,
) -> AgeCohortPopulation:
    """Record (or correct) the stated 适龄人口 of an age band for a unit and school year."""
    if not has_perm_at(actor, Perm.STUDENTS_MANAGE, org_unit.pk):
        raise PermissionDenied("您无权登记该机构的适龄人口。")
    errors: dict[str, str] = {}
    if org_unit.kind not in COHORT_UNIT_KINDS:
        errors["org_unit"] = "适龄人口只能登记在教育局、学区或学校。"
    if not COHORT_MIN_AGE <= age_from <= COHORT_MAX_AGE:
        errors["age_from"] = f"年龄应在 {COHORT_MIN_AGE}—{COHORT_MAX_AGE} 周岁之间。"
    if not COHORT_MIN_AGE <= age_to <= COHORT_MAX_AGE:
        errors["age_to"] = f"年龄应在 {COHORT_MIN_AGE}—{COHORT_MAX_AGE} 周岁之间。"
    elif age_to < age_from:
        errors["age_to"] = "截止年龄不能小于起始年龄。"
    if headcount <= 0:
        errors["headcount"] = "人数应大于 0。"
    source = source.strip()
    if not source:
        errors["source"] = "请填写数据来源，如“义务教育入学监测信息库”。"
    if errors:
        raise ValidationError(errors)
    cohort = (
        AgeCohortPopulation.objects.select_for_update()
        .filter(org_unit=org_unit, school_year=school_year, age_from=age_from, age_to=age_to)
        .first()
    )
    fields = ("org_unit", "school_year", "age_from", "age_to", "headcount", "source")
    if cohort is None:
        cohort = AgeCohortPopulation(
            org_unit=org_unit,
            school_year=school_year,
            age_from=age_from,
            age_to=age_to,
            headcount=headcount,
            source=source,
        )
        cohort.full_clean()
        cohort.save()
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            event="students.age_cohort_population_record",
            target=cohort,
            org_unit_id=org_unit.pk,
            changes={"after": snapshot(cohort, fields)},
        )
        return cohort
    before = snapshot(cohort, fields)
    cohort.headcount, cohort.source = headcount, source
    cohort.full_clean()
    changed = diff(before, snapshot(cohort, fields))
    if changed:
        cohort.save(update_fields=["headcount", "source", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            event="students.age_cohort_population_record",
            target=cohort,
            org_unit_id=org_unit.pk,
            changes=changed,
        )
    return cohort
