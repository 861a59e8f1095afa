"""Writes of the exams app: exam setup, subjects, participants (考生, 考号), the 任课教师
snapshot, score entry cell by cell, lock / unlock, and 口径 versions.

Every function checks the permission at the unit it acts on, validates, writes in one
transaction and records an audit row. Score writes bump ``Exam.scores_revision`` with
``F() + 1`` in the same transaction (the analysis cache is keyed on it) and are refused once
the exam is locked; each cell write names the ``Score.version`` it read (optimistic lock).

Who may enter which scores of a class (``score_entry_rights``):

- a role holding ``Perm.SCORES_ENTER`` at the class or above it (校长, 教导处, 学区 …): every
  subject;
- the class's 班主任: every subject of the class;
- a 任课教师 of the class: only the subjects they teach there — a teaching assignment of the
  exam's term, or the exam's 任课教师 snapshot (``ExamClassTeacher``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.text import slugify

from xiaowu.accounts.roles import ROLE_SPECS, Perm, Role, ScopeRule
from xiaowu.accounts.scoping import Grant, has_perm_at, scope_for
from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record
from xiaowu.core.pinyin import pinyin_keys
from xiaowu.core.tabular import CellError, fold
from xiaowu.exams.analytics.caliber import CaliberError, CaliberSpec
from xiaowu.exams.models import (
    Caliber,
    Exam,
    ExamCandidate,
    ExamClassTeacher,
    ExamKind,
    ExamStatus,
    ExamSubject,
    Score,
    ScoreStatus,
)
from xiaowu.org.models import Grade, OrgUnit, OrgUnitClosure, Term, UnitKind
from xiaowu.staff.models import TeachingAssignment, TeachingRole
from xiaowu.students.models import ClassMembership, StudentStatus

if TYPE_CHECKING:
    from xiaowu.accounts.models import User

OWNER_KINDS = (UnitKind.BUREAU, UnitKind.SCHOOL_DISTRICT, UnitKind.SCHOOL)
STEPS = (Decimal("1"), Decimal("0.5"))
MAX_FULL_MARK = Decimal("999.5")
TEACHER_ROLES = frozenset({Role.HEAD_TEACHER, Role.SUBJECT_TEACHER})
BULK_BATCH = 2000
LOCKED_MESSAGE = "考试已锁定，不能修改成绩；如需修改，请先由管理人员解除锁定。"
SETUP_LOCKED_MESSAGE = "考试已锁定，不能修改设置；请先解除锁定。"

# What may be typed into a score cell instead of a number (folded, lower case). The letters
# are the pinyin initials teachers use on the number keypad side of the keyboard.
STATUS_WORDS: dict[str, str] = {
    "缺": ScoreStatus.ABSENT,
    "缺考": ScoreStatus.ABSENT,
    "缺席": ScoreStatus.ABSENT,
    "q": ScoreStatus.ABSENT,
    "qk": ScoreStatus.ABSENT,
    "弊": ScoreStatus.CHEATED,
    "作弊": ScoreStatus.CHEATED,
    "违纪": ScoreStatus.CHEATED,
    "z": ScoreStatus.CHEATED,
    "zb": ScoreStatus.CHEATED,
    "免": ScoreStatus.EXEMPT,
    "免考": ScoreStatus.EXEMPT,
    "免试": ScoreStatus.EXEMPT,
    "m": ScoreStatus.EXEMPT,
    "mk": ScoreStatus.EXEMPT,
    "借": ScoreStatus.NOT_COUNTED,
    "借读": ScoreStatus.NOT_COUNTED,
    "不计": ScoreStatus.NOT_COUNTED,
    "借读不计": ScoreStatus.NOT_COUNTED,
    "j": ScoreStatus.NOT_COUNTED,
    "bj": ScoreStatus.NOT_COUNTED,
}
STATUS_HINT = "缺考填“缺”或 q，作弊填“弊”或 z，免考填“免”或 m，借读不计填“借”或 j"
_NUMBER = re.compile(r"^\d+(\.\d+)?$")


# --------------------------------------------------------------------------- helpers
def _audit_unit(exam: Exam) -> int:
    return exam.owner_id


def _require_manage(actor: User, exam: Exam) -> None:
    if not has_perm_at(actor, Perm.EXAMS_MANAGE, exam.owner_id):
        raise PermissionDenied("您无权管理该考试。")


def _require_unlocked(exam: Exam) -> None:
    if exam.status == ExamStatus.LOCKED:
        raise ValidationError(SETUP_LOCKED_MESSAGE)


def exam_can_manage(*, actor: User, exam: Exam) -> bool:
    """Return True when ``actor`` may set up, lock and import scores of ``exam``."""
    return has_perm_at(actor, Perm.EXAMS_MANAGE, exam.owner_id)


def exam_import_schools(*, actor: User | None, exam: Exam) -> set[int] | None:
    """The schools of ``exam`` whose scores ``actor`` may import: None for all of them (a
    manager of the organising unit, or an operator), else the participating schools where the
    actor manages exams (a school in a 学区统考 imports its own pupils)."""
    if actor is None or has_perm_at(actor, Perm.EXAMS_MANAGE, exam.owner_id):
        return None
    return {
        pk
        for pk in exam.schools.values_list("pk", flat=True)
        if has_perm_at(actor, Perm.EXAMS_MANAGE, pk)
    }


def exam_can_import(*, actor: User, exam: Exam) -> bool:
    schools = exam_import_schools(actor=actor, exam=exam)
    return schools is None or bool(schools)


def _step_label(step: Decimal) -> str:
    return "整数分" if step == Decimal("1") else "整数或 .5 分"


def _number_text(value: Decimal) -> str:
    """``85`` for 85.0, ``85.5`` for 85.5."""
    normal = value.normalize()
    return f"{normal:f}" if normal != normal.to_integral_value() else str(int(normal))


def score_display(value: Decimal | None, status: str) -> str:
    """Return what a score cell shows: the number, a status word, or empty."""
    if status:
        return str(ScoreStatus(status).label)
    if value is None:
        return ""
    return _number_text(value)


def score_cell_parse(
    raw: object, *, full_mark: Decimal, step: Decimal
) -> tuple[Decimal | None, str]:
    """Read one typed or imported cell: a score in 0…满分 on the subject's step, a status word
    (缺/q, 弊/z, 免/m, 借/j …), or blank. Return ``(value, status)``; raise ``CellError``
    with a Chinese message otherwise."""
    if raw is None:
        return None, ScoreStatus.NORMAL
    if isinstance(raw, bool):
        raise CellError("分数不能是逻辑值。")
    if isinstance(raw, int | float):
        if isinstance(raw, float) and raw != raw:  # NaN
            raise CellError("无法识别的分数。")
        text = repr(round(float(raw), 6)) if isinstance(raw, float) else str(raw)
    else:
        text = fold(str(raw)).replace(" ", "")
    if not text:
        return None, ScoreStatus.NORMAL
    status = STATUS_WORDS.get(text.lower())
    if status is not None:
        return None, status
    if text.endswith("分"):
        text = text[:-1]
    if text.endswith(".0"):
        text = text[:-2]
    if not _NUMBER.match(text):
        if text.startswith("-") and _NUMBER.match(text[1:]):
            raise CellError(f"分数不能为负数（{text}）。")
        raise CellError(
            f"无法识别的分数“{text}”：请填写 0–{_number_text(full_mark)} 之间的分数，"
            f"或{STATUS_HINT}。"
        )
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise CellError(f"无法识别的分数“{text}”。") from None
    if value > full_mark:
        raise CellError(f"分数 {_number_text(value)} 超过满分 {_number_text(full_mark)}。")
    if value % step:
        raise CellError(f"分数 {text} 不符合本科目的给分要求：只能填写{_step_label(step)}。")
    return value.quantize(Decimal("0.1")), ScoreStatus.NORMAL


def _name_keys(exam: Exam) -> None:
    exam.name_pinyin, exam.name_initials = pinyin_keys(exam.name)


# --------------------------------------------------------------------------- entry rights
@dataclass(frozen=True)
class EntryRights:
    """Which subjects of one class an actor may enter: all of them, or the named ones."""

    all_subjects: bool = False
    subjects: frozenset[str] = frozenset()

    def allows(self, subject: str) -> bool:
        return self.all_subjects or subject in self.subjects

    @property
    def any(self) -> bool:
        return self.all_subjects or bool(self.subjects)


NO_RIGHTS = EntryRights()
ALL_RIGHTS = EntryRights(all_subjects=True)


def _grant_root(grant: Grant) -> int:
    rule = ROLE_SPECS[grant.role].org_scope
    if rule is ScopeRule.SCHOOL:
        return grant.school_id or grant.unit_id
    return grant.unit_id


def score_entry_rights_map(
    *, actor: User, exam: Exam, class_ids: Collection[int]
) -> dict[int, EntryRights]:
    """Return the entry rights of ``actor`` for each class of ``class_ids`` (three queries
    at most, whatever the number of classes). A locked exam grants nothing."""
    class_ids = set(class_ids)
    if not class_ids or exam.status == ExamStatus.LOCKED:
        return dict.fromkeys(class_ids, NO_RIGHTS)
    scope = scope_for(actor)
    if scope.is_global:
        return dict.fromkeys(class_ids, ALL_RIGHTS)
    wide_roots = {
        _grant_root(grant)
        for grant in scope.grants
        if grant.role not in TEACHER_ROLES and Perm.SCORES_ENTER in ROLE_SPECS[grant.role].perms
    }
    wide: set[int] = set()
    if wide_roots:
        wide = set(
            OrgUnitClosure.objects.filter(
                descendant_id__in=class_ids, ancestor_id__in=wide_roots
            ).values_list("descendant_id", flat=True)
        )
    head_classes = {g.unit_id for g in scope.grants if g.role == Role.HEAD_TEACHER}
    subject_classes = {g.unit_id for g in scope.grants if g.role == Role.SUBJECT_TEACHER} & (
        class_ids - wide - head_classes
    )
    taught: dict[int, set[str]] = defaultdict(set)
    if subject_classes:
        if exam.term_id is not None:
            for class_id, subject in TeachingAssignment.objects.filter(
                staff__user_id=actor.pk,
                school_class_id__in=subject_classes,
                term_id=exam.term_id,
                role=TeachingRole.SUBJECT_TEACHER,
            ).values_list("school_class_id", "subject"):
                taught[class_id].add(subject)
        for class_id, subject in ExamClassTeacher.objects.filter(
            exam=exam, school_class_id__in=subject_classes, staff__user_id=actor.pk
        ).values_list("school_class_id", "subject"):
            taught[class_id].add(subject)
    rights: dict[int, EntryRights] = {}
    for class_id in class_ids:
        if class_id in wide or class_id in head_classes:
            rights[class_id] = ALL_RIGHTS
        elif taught.get(class_id):
            rights[class_id] = EntryRights(subjects=frozenset(taught[class_id]))
        else:
            rights[class_id] = NO_RIGHTS
    return rights


def score_entry_rights(*, actor: User, exam: Exam, class_id: int) -> EntryRights:
    """Return the subjects of the class ``actor`` may enter scores for in ``exam``."""
    return score_entry_rights_map(actor=actor, exam=exam, class_ids=[class_id])[class_id]


# --------------------------------------------------------------------------- exams
@dataclass(frozen=True)
class SubjectSpec:
    subject: str
    full_mark: Decimal
    step: Decimal = Decimal("1")


def _check_subject(subject: str, full_mark: Decimal, step: Decimal) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not subject or len(subject) > 20:
        errors["subject"] = "请填写学科名称（不超过 20 个字）。"
    elif subject in {"总分", "总成绩"}:
        errors["subject"] = "“总分”由系统计算，不能作为考试科目。"
    if full_mark <= 0 or full_mark > MAX_FULL_MARK:
        errors["full_mark"] = "满分应在 1 到 999 之间。"
    if step not in STEPS:
        errors["step"] = "最小分值只能是 1 或 0.5。"
    elif full_mark % step:
        errors["full_mark"] = f"满分 {_number_text(full_mark)} 不是最小分值的整数倍。"
    return errors


def _schools_under(owner: OrgUnit, schools: Sequence[OrgUnit]) -> list[OrgUnit]:
    if owner.kind == UnitKind.SCHOOL:
        return [owner]
    bad = [school.name for school in schools if school.kind != UnitKind.SCHOOL]
    if bad:
        raise ValidationError({"schools": f"参考单位必须是学校：{'、'.join(bad)}。"})
    inside = set(
        OrgUnitClosure.objects.filter(
            ancestor_id=owner.pk, descendant_id__in=[school.pk for school in schools]
        ).values_list("descendant_id", flat=True)
    )
    outside = [school.name for school in schools if school.pk not in inside]
    if outside:
        raise ValidationError(
            {"schools": f"参考学校必须在{owner.name}范围内：{'、'.join(outside)}不在其中。"}
        )
    if not schools:
        raise ValidationError({"schools": "请至少选择一所参考学校。"})
    return list(schools)


def _check_exam_fields(
    *, name: str, kind: str, grade: int, held_on: date | None, term: Term | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "请填写考试名称。"
    elif len(name) > 100:
        errors["name"] = "考试名称不能超过 100 个字。"
    if kind not in ExamKind.values:
        errors["kind"] = "请选择考试类型。"
    if grade not in Grade.values or grade < 1:
        errors["grade"] = "请选择年级（一年级至高三）。"
    if held_on is None:
        errors["held_on"] = "请填写考试日期。"
    elif term is not None and not term.start_on <= held_on <= term.end_on:
        errors["held_on"] = f"考试日期应在所选学期（{term.start_on}—{term.end_on}）之内。"
    return errors


def _check_caliber(actor: User, caliber: Caliber | None) -> None:
    if caliber is None:
        return
    visible = Caliber.objects.visible_to(actor).current().filter(pk=caliber.pk).exists()
    if not visible:
        raise ValidationError({"default_caliber": "请选择一个可用的分析口径（最新版本）。"})


@transaction.atomic
def exam_create(
    *,
    actor: User,
    name: str,
    kind: str,
    owner: OrgUnit,
    schools: Sequence[OrgUnit] = (),
    term: Term | None,
    grade: int,
    held_on: date | None,
    default_caliber: Caliber | None = None,
    subjects: Sequence[SubjectSpec] = (),
) -> Exam:
    """Create an exam organised by ``owner`` (a school, 学区 or 局) for the given schools
    (a school's own exam: that school), with its subjects."""
    if owner.kind not in OWNER_KINDS:
        raise ValidationError({"owner": "组织单位必须是教育局、学区或学校。"})
    if not has_perm_at(actor, Perm.EXAMS_MANAGE, owner.pk):
        raise PermissionDenied("您无权以该单位名义组织考试。")
    errors = _check_exam_fields(name=name, kind=kind, grade=grade, held_on=held_on, term=term)
    seen: set[str] = set()
    for spec in subjects:
        problem = _check_subject(spec.subject, spec.full_mark, spec.step)
        if problem:
            errors["subjects"] = f"{spec.subject or '科目'}：{next(iter(problem.values()))}"
        elif spec.subject in seen:
            errors["subjects"] = f"科目“{spec.subject}”重复。"
        seen.add(spec.subject)
    if errors or held_on is None:
        raise ValidationError(errors)
    chosen = _schools_under(owner, schools)
    _check_caliber(actor, default_caliber)
    exam = Exam(
        name=name.strip(),
        kind=kind,
        owner=owner,
        term=term,
        grade=grade,
        held_on=held_on,
        default_caliber=default_caliber,
        created_by=actor if actor.pk else None,
    )
    _name_keys(exam)
    exam.full_clean()
    exam.save()
    exam.schools.set(chosen)
    ExamSubject.objects.bulk_create(
        ExamSubject(
            exam=exam,
            subject=spec.subject,
            full_mark=spec.full_mark,
            step=spec.step,
            sort_order=index,
        )
        for index, spec in enumerate(subjects, start=1)
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="exams.exam_create",
        target=exam,
        org_unit_id=_audit_unit(exam),
        changes={
            "after": {
                "name": exam.name,
                "kind": kind,
                "grade": grade,
                "held_on": held_on,
                "term": term.pk if term else None,
                "schools": [school.pk for school in chosen],
                "subjects": [
                    {"subject": s.subject, "full_mark": s.full_mark, "step": s.step}
                    for s in subjects
                ],
            }
        },
    )
    return exam


EXAM_EDITABLE = ("name", "kind", "term", "grade", "held_on", "default_caliber")


@transaction.atomic
def exam_update(
    *,
    actor: User,
    exam: Exam,
    version: int,
    name: str,
    kind: str,
    term: Term | None,
    grade: int,
    held_on: date | None,
    default_caliber: Caliber | None = None,
    schools: Sequence[OrgUnit] | None = None,
) -> Exam:
    """Change an exam's fields; ``version`` is the ``Exam.version`` the editor read. A school
    or grade that already has candidates cannot be taken away."""
    _require_manage(actor, exam)
    errors = _check_exam_fields(name=name, kind=kind, grade=grade, held_on=held_on, term=term)
    if errors:
        raise ValidationError(errors)
    _check_caliber(actor, default_caliber)
    candidates = ExamCandidate.objects.filter(exam=exam)
    if grade != exam.grade and candidates.exists():
        raise ValidationError({"grade": "已生成考生的考试不能更改年级；请先移除考生。"})
    owner = exam.owner
    chosen = _schools_under(owner, schools) if schools is not None else None
    if chosen is not None:
        kept = {school.pk for school in chosen}
        dropped = (
            candidates.exclude(school_id__in=kept).values_list("school__name", flat=True).distinct()
        )
        if dropped:
            raise ValidationError(
                {"schools": f"{'、'.join(dropped)}已有考生，不能从参考学校中移除。"}
            )
    before = {
        "name": exam.name,
        "kind": exam.kind,
        "term": exam.term_id,
        "grade": exam.grade,
        "held_on": exam.held_on,
        "default_caliber": exam.default_caliber_id,
    }
    pinyin, initials = pinyin_keys(name.strip())
    updated = Exam.objects.filter(pk=exam.pk, version=version).update(
        name=name.strip(),
        kind=kind,
        term=term,
        grade=grade,
        held_on=held_on,
        default_caliber=default_caliber,
        name_pinyin=pinyin,
        name_initials=initials,
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    if not updated:
        raise ValidationError("该考试已被他人修改，请刷新页面后重新编辑。")
    exam.refresh_from_db()
    if chosen is not None:
        exam.schools.set(chosen)
    after = {
        "name": exam.name,
        "kind": exam.kind,
        "term": exam.term_id,
        "grade": exam.grade,
        "held_on": exam.held_on,
        "default_caliber": exam.default_caliber_id,
    }
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event="exams.exam_update",
        target=exam,
        org_unit_id=_audit_unit(exam),
        changes={
            "before": before,
            "after": after,
            **({"schools": sorted(s.pk for s in chosen)} if chosen is not None else {}),
        },
    )
    return exam


def _set_status(*, actor: User, exam: Exam, status: str, event: str) -> Exam:
    _require_manage(actor, exam)
    before = exam.status
    Exam.objects.filter(pk=exam.pk).update(status=status, updated_at=timezone.now())
    exam.status = status
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event=event,
        target=exam,
        org_unit_id=_audit_unit(exam),
        changes={"before": {"status": before}, "after": {"status": status}},
    )
    return exam


@transaction.atomic
def exam_lock(*, actor: User, exam: Exam) -> Exam:
    """Lock the scores: every later write (grid or import) is refused until unlocked."""
    locked = Exam.objects.select_for_update().get(pk=exam.pk)
    if locked.status == ExamStatus.LOCKED:
        raise ValidationError("该考试已经锁定。")
    return _set_status(actor=actor, exam=locked, status=ExamStatus.LOCKED, event="exams.exam_lock")


@transaction.atomic
def exam_unlock(*, actor: User, exam: Exam) -> Exam:
    """Reopen a locked exam for score entry."""
    locked = Exam.objects.select_for_update().get(pk=exam.pk)
    if locked.status != ExamStatus.LOCKED:
        raise ValidationError("该考试没有锁定。")
    return _set_status(actor=actor, exam=locked, status=ExamStatus.ENTRY, event="exams.exam_unlock")


# --------------------------------------------------------------------------- subjects
def _entered(scores: Any) -> Any:
    return scores.filter(Q(value__isnull=False) | ~Q(status=ScoreStatus.NORMAL))


@transaction.atomic
def exam_subject_add(
    *, actor: User, exam: Exam, subject: str, full_mark: Decimal, step: Decimal
) -> ExamSubject:
    _require_manage(actor, exam)
    _require_unlocked(exam)
    subject = subject.strip()
    errors = _check_subject(subject, full_mark, step)
    if not errors and ExamSubject.objects.filter(exam=exam, subject=subject).exists():
        errors["subject"] = f"本次考试已有“{subject}”科目。"
    if errors:
        raise ValidationError(errors)
    last = ExamSubject.objects.filter(exam=exam).order_by("-sort_order").first()
    row = ExamSubject.objects.create(
        exam=exam,
        subject=subject,
        full_mark=full_mark,
        step=step,
        sort_order=(last.sort_order + 1) if last else 1,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="exams.subject_add",
        target=exam,
        org_unit_id=_audit_unit(exam),
        changes={"after": {"subject": subject, "full_mark": full_mark, "step": step}},
    )
    return row


@transaction.atomic
def exam_subject_update(
    *,
    actor: User,
    exam_subject: ExamSubject,
    subject: str,
    full_mark: Decimal,
    step: Decimal,
    sort_order: int | None = None,
) -> ExamSubject:
    """Change a subject's name, 满分 or step; refused when entered scores would no longer fit."""
    exam = exam_subject.exam
    _require_manage(actor, exam)
    _require_unlocked(exam)
    subject = subject.strip()
    errors = _check_subject(subject, full_mark, step)
    if (
        not errors
        and subject != exam_subject.subject
        and ExamSubject.objects.filter(exam=exam, subject=subject).exists()
    ):
        errors["subject"] = f"本次考试已有“{subject}”科目。"
    if errors:
        raise ValidationError(errors)
    values = [
        value
        for value in Score.objects.filter(exam_subject=exam_subject).values_list("value", flat=True)
        if value is not None
    ]
    above = [v for v in values if v > full_mark]
    if above:
        raise ValidationError(
            {
                "full_mark": f"已有 {len(above)} 个成绩高于新满分 {_number_text(full_mark)}"
                f"（最高 {_number_text(max(above))}），请先核对这些成绩。"
            }
        )
    off_step = [v for v in values if v % step]
    if off_step:
        raise ValidationError(
            {"step": f"已有 {len(off_step)} 个成绩带 .5 分，最小分值不能改为 1。"}
        )
    before = {
        "subject": exam_subject.subject,
        "full_mark": exam_subject.full_mark,
        "step": exam_subject.step,
    }
    exam_subject.subject, exam_subject.full_mark, exam_subject.step = subject, full_mark, step
    fields = ["subject", "full_mark", "step", "updated_at"]
    if sort_order is not None:
        exam_subject.sort_order = sort_order
        fields.append("sort_order")
    exam_subject.save(update_fields=fields)
    ExamClassTeacher.objects.filter(exam=exam, subject=before["subject"]).update(subject=subject)
    # 满分 and names feed every indicator: cached analyses must be recomputed.
    Exam.objects.filter(pk=exam.pk).update(scores_revision=F("scores_revision") + 1)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event="exams.subject_update",
        target=exam,
        org_unit_id=_audit_unit(exam),
        changes={
            "before": before,
            "after": {"subject": subject, "full_mark": full_mark, "step": step},
        },
    )
    return exam_subject


@transaction.atomic
def exam_subject_delete(*, actor: User, exam_subject: ExamSubject) -> None:
    """Remove a subject that has no entered score (scores are never dropped silently)."""
    exam = exam_subject.exam
    _require_manage(actor, exam)
    _require_unlocked(exam)
    entered = _entered(Score.objects.filter(exam_subject=exam_subject)).count()
    if entered:
        raise ValidationError(
            f"“{exam_subject.subject}”已有 {entered} 条成绩，不能删除；请先清除这些成绩。"
        )
    before = {"subject": exam_subject.subject, "full_mark": exam_subject.full_mark}
    ExamClassTeacher.objects.filter(exam=exam, subject=exam_subject.subject).delete()
    exam_subject.delete()
    Exam.objects.filter(pk=exam.pk).update(scores_revision=F("scores_revision") + 1)
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        event="exams.subject_delete",
        target=exam,
        org_unit_id=_audit_unit(exam),
        changes={"before": before},
    )


# --------------------------------------------------------------------------- candidates
def _participating_classes(exam: Exam, class_ids: Iterable[int]) -> list[OrgUnit]:
    wanted = set(class_ids)
    classes = list(
        OrgUnit.objects.filter(
            pk__in=wanted,
            kind=UnitKind.SCHOOL_CLASS,
            is_active=True,
            school__in=exam.schools.all(),
        )
    )
    if len(classes) != len(wanted):
        raise ValidationError({"classes": "只能选择参考学校的班级。"})
    wrong = [c.name for c in classes if c.grade != exam.grade]
    if wrong:
        raise ValidationError(
            {"classes": f"{'、'.join(wrong)}不是{Grade(exam.grade).label}的班级。"}
        )
    return classes


@transaction.atomic
def exam_candidates_generate(*, actor: User, exam: Exam, class_ids: Iterable[int]) -> int:
    """Add every enrolled student currently in the chosen classes as a candidate (students
    already sitting the exam are kept where they are). Return the number added."""
    _require_manage(actor, exam)
    _require_unlocked(exam)
    classes = _participating_classes(exam, class_ids)
    if not classes:
        raise ValidationError({"classes": "请至少选择一个班级。"})
    existing = set(ExamCandidate.objects.filter(exam=exam).values_list("student_id", flat=True))
    rows = (
        ClassMembership.objects.filter(
            end_on__isnull=True,
            school_class__in=classes,
            student__status=StudentStatus.ENROLLED,
        )
        .order_by("school_class_id", "student__name_pinyin", "student_id")
        .values_list("student_id", "school_id", "school_class_id")
    )
    new = [
        ExamCandidate(exam=exam, student_id=student, school_id=school, school_class_id=unit)
        for student, school, unit in rows
        if student not in existing
    ]
    ExamCandidate.objects.bulk_create(new, batch_size=BULK_BATCH)
    if new:
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            event="exams.candidates_generate",
            target=exam,
            org_unit_id=_audit_unit(exam),
            changes={"classes": sorted(c.pk for c in classes), "added": len(new)},
        )
    return len(new)


@transaction.atomic
def exam_class_remove(*, actor: User, exam: Exam, school_class_id: int) -> int:
    """Remove the candidates of one class; refused when any of them has an entered score."""
    _require_manage(actor, exam)
    _require_unlocked(exam)
    candidates = ExamCandidate.objects.filter(exam=exam, school_class_id=school_class_id)
    entered = _entered(Score.objects.filter(candidate__in=candidates)).count()
    if entered:
        raise ValidationError(f"该班已有 {entered} 条成绩，不能移除其考生。")
    count = candidates.count()
    # Score rows of these candidates hold no entry (checked above) and go with them.
    candidates.delete()
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        event="exams.class_remove",
        target=exam,
        org_unit_id=_audit_unit(exam),
        changes={"class": school_class_id, "removed": count},
    )
    return count


@transaction.atomic
def exam_numbers_assign(*, actor: User, exam: Exam, prefix: str = "", only_missing: bool) -> int:
    """Number the candidates ``<prefix><school 2 digits><class 2 digits><seat 2 digits>``:
    schools in code order, classes by number, students by 班内学号 then name. With
    ``only_missing`` candidates that have a 考号 keep it. Return the number assigned."""
    _require_manage(actor, exam)
    prefix = fold(prefix).replace(" ", "")
    if len(prefix) > 12 or not re.fullmatch(r"[0-9A-Za-z-]*", prefix):
        raise ValidationError({"prefix": "考号前缀只能包含字母、数字和“-”，不超过 12 位。"})
    school_order = {
        pk: index
        for index, pk in enumerate(
            exam.schools.order_by("sort_order", "code").values_list("pk", flat=True), start=1
        )
    }
    rows = list(
        ExamCandidate.objects.filter(exam=exam)
        .order_by(
            "school__sort_order",
            "school__code",
            "school_class__class_number",
            "school_class_id",
            "student__class_seat_number",
            "student__name_pinyin",
            "pk",
        )
        .values_list(
            "pk", "school_id", "school_class_id", "school_class__class_number", "exam_number"
        )
    )
    targets = [row for row in rows if not (only_missing and row[4])]
    taken = {row[4] for row in rows if only_missing and row[4]}
    numbers: dict[int, str] = {}
    seat: dict[int, int] = defaultdict(int)
    for pk, school_id, class_id, class_number, _number in targets:
        while True:
            seat[class_id] += 1
            school_index = school_order.get(school_id, 99)
            number = (
                f"{prefix}{school_index:02d}{(class_number or 0) % 100:02d}{seat[class_id]:02d}"
            )
            if number not in taken:
                break
        taken.add(number)
        numbers[pk] = number
    batch = [ExamCandidate(pk=pk, exam_number=number) for pk, number in numbers.items()]
    # Clear first: swapping two numbers in one statement would trip the unique constraint.
    ExamCandidate.objects.filter(pk__in=[c.pk for c in batch]).update(exam_number="")
    ExamCandidate.objects.bulk_update(batch, ["exam_number"], batch_size=500)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event="exams.numbers_assign",
        target=exam,
        org_unit_id=_audit_unit(exam),
        changes={"prefix": prefix, "only_missing": only_missing, "assigned": len(batch)},
    )
    return len(batch)


@transaction.atomic
def exam_class_teachers_snapshot(*, actor: User, exam: Exam) -> int:
    """Copy the 任课教师 of every participating class × exam subject from the teaching
    assignments of the exam's term (replacing an earlier snapshot). Return the row count."""
    _require_manage(actor, exam)
    if exam.term_id is None:
        raise ValidationError("该考试没有指定学期，无法按学期的任课安排生成任课教师。")
    class_ids = set(
        ExamCandidate.objects.filter(exam=exam).values_list("school_class_id", flat=True)
    )
    subjects = set(ExamSubject.objects.filter(exam=exam).values_list("subject", flat=True))
    assignments = (
        TeachingAssignment.objects.filter(
            term_id=exam.term_id,
            role=TeachingRole.SUBJECT_TEACHER,
            school_class_id__in=class_ids,
            subject__in=subjects,
        )
        .order_by("school_class_id", "subject", F("weekly_periods").desc(nulls_last=True), "pk")
        .values_list("school_class_id", "subject", "staff_id")
    )
    chosen: dict[tuple[int, str], int] = {}
    for class_id, subject, staff_id in assignments:
        chosen.setdefault((class_id, subject), staff_id)
    ExamClassTeacher.objects.filter(exam=exam).delete()
    ExamClassTeacher.objects.bulk_create(
        ExamClassTeacher(exam=exam, school_class_id=class_id, subject=subject, staff_id=staff)
        for (class_id, subject), staff in chosen.items()
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event="exams.class_teachers_snapshot",
        target=exam,
        org_unit_id=_audit_unit(exam),
        changes={"term": exam.term_id, "rows": len(chosen)},
    )
    return len(chosen)


# --------------------------------------------------------------------------- score entry
@dataclass(frozen=True)
class ScoreSaved:
    score_id: int
    version: int
    value: Decimal | None
    status: str
    display: str
    changed: bool


class ScoreConflictError(Exception):
    """The cell was changed by someone else since the writer read it (optimistic lock)."""

    def __init__(
        self, *, version: int, display: str, by: str, at: datetime | None, score_id: int | None
    ) -> None:
        super().__init__("score changed since it was read")
        self.version = version
        self.display = display
        self.by = by
        self.at = at
        self.score_id = score_id

    @property
    def message(self) -> str:
        who = self.by or "他人"
        shown = self.display or "空"
        return f"该成绩已被{who}修改为“{shown}”，您的输入未保存。"


class ExamLockedError(ValidationError):
    """A score write on a locked exam."""


def _conflict(exam_subject_id: int, candidate_id: int) -> ScoreConflictError:
    current = (
        Score.objects.filter(exam_subject_id=exam_subject_id, candidate_id=candidate_id)
        .select_related("updated_by")
        .first()
    )
    if current is None:
        return ScoreConflictError(version=0, display="", by="", at=None, score_id=None)
    return ScoreConflictError(
        version=current.version,
        display=score_display(current.value, current.status),
        by=current.updated_by.full_name if current.updated_by else "",
        at=current.updated_at,
        score_id=current.pk,
    )


def _bump_revision(exam: Exam) -> None:
    """Bump the scores revision (and move a draft exam to 录入中); refuse a locked exam.

    The conditional UPDATE also serialises score writes with ``exam_lock`` on the exam row.
    """
    updated = (
        Exam.objects.filter(pk=exam.pk)
        .exclude(status=ExamStatus.LOCKED)
        .update(
            scores_revision=F("scores_revision") + 1,
            status=Case(
                When(status=ExamStatus.DRAFT, then=Value(ExamStatus.ENTRY)), default=F("status")
            ),
            updated_at=timezone.now(),
        )
    )
    if not updated:
        raise ExamLockedError(LOCKED_MESSAGE)


class _ConflictError(Exception):
    pass


def exam_score_save(
    *,
    actor: User,
    exam: Exam,
    candidate_id: int,
    exam_subject_id: int,
    raw: object,
    version: int,
) -> ScoreSaved:
    """Save one cell of the entry grid. ``version`` is the ``Score.version`` the client read
    (0 for an empty cell never saved). Raises ``ScoreConflictError`` when the cell changed
    since, ``ValidationError`` for a bad value or a locked exam, ``PermissionDenied`` when the
    actor may not enter this class × subject."""
    candidate = (
        ExamCandidate.objects.filter(exam=exam, pk=candidate_id)
        .values("pk", "school_class_id", "student_id")
        .first()
    )
    subject = ExamSubject.objects.filter(exam=exam, pk=exam_subject_id).first()
    if candidate is None or subject is None:
        raise ValidationError("该考生或科目不属于本次考试。")
    if exam.status == ExamStatus.LOCKED:
        raise ExamLockedError(LOCKED_MESSAGE)
    rights = score_entry_rights(actor=actor, exam=exam, class_id=candidate["school_class_id"])
    if not rights.allows(subject.subject):
        if rights.any:
            raise PermissionDenied(f"您在该班只能录入{'、'.join(sorted(rights.subjects))}的成绩。")
        raise PermissionDenied("您无权录入该班的成绩。")
    try:
        value, status = score_cell_parse(raw, full_mark=subject.full_mark, step=subject.step)
    except CellError as exc:
        raise ValidationError(exc.message) from None
    user = actor if actor.pk else None
    try:
        with transaction.atomic():
            # The exam row first (as imports and ``exam_lock`` do): one lock order, no deadlock.
            _bump_revision(exam)
            score = (
                Score.objects.select_for_update()
                .filter(exam_subject=subject, candidate_id=candidate_id)
                .first()
            )
            if score is None:
                if version != 0:
                    raise _ConflictError
                if value is None and not status:
                    transaction.set_rollback(True)  # nothing to save: keep the revision
                    return ScoreSaved(0, 0, None, "", "", changed=False)
                try:
                    with transaction.atomic():
                        score = Score.objects.create(
                            exam_subject=subject,
                            candidate_id=candidate_id,
                            value=value,
                            status=status,
                            version=1,
                            updated_by=user,
                        )
                except IntegrityError:
                    raise _ConflictError from None
                before: dict[str, Any] = {"value": None, "status": ""}
                action = AuditAction.CREATE
            else:
                if score.version != version:
                    raise _ConflictError
                if score.value == value and score.status == status:
                    transaction.set_rollback(True)
                    return ScoreSaved(
                        score.pk,
                        score.version,
                        value,
                        status,
                        score_display(value, status),
                        changed=False,
                    )
                before = {"value": score.value, "status": score.status}
                score.value, score.status = value, status
                score.version += 1
                score.updated_by = user
                score.save(update_fields=["value", "status", "version", "updated_by", "updated_at"])
                action = AuditAction.UPDATE
            audit_record(
                actor=actor,
                action=action,
                event="exams.score_save",
                target=score,
                org_unit_id=candidate["school_class_id"],
                changes={
                    "exam": exam.pk,
                    "subject": subject.subject,
                    "candidate": candidate_id,
                    "student": candidate["student_id"],
                    "before": before,
                    "after": {"value": value, "status": status},
                    "version": score.version,
                },
            )
    except _ConflictError:
        raise _conflict(subject.pk, candidate_id) from None
    return ScoreSaved(
        score.pk, score.version, value, status, score_display(value, status), changed=True
    )


# --------------------------------------------------------------------------- 口径
def caliber_config_clean(config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a 口径 configuration with the analytics engine's own reader and return its
    normalised form; ``ValidationError`` (on the ``config`` field) names the bad key."""
    try:
        spec = CaliberSpec.from_config(dict(config))
    except CaliberError as exc:
        raise ValidationError({"config": str(exc)}) from None
    cleaned: dict[str, Any] = spec.to_config()
    return cleaned


def caliber_can_edit(*, actor: User, caliber: Caliber) -> bool:
    """Presets belong to the installation (global administrators); a unit's 口径 to those
    who manage exams there."""
    if caliber.owner_id is None:
        return scope_for(actor).is_global
    return has_perm_at(actor, Perm.EXAMS_MANAGE, caliber.owner_id)


def _caliber_code(owner: OrgUnit) -> str:
    base = slugify(owner.code) or f"unit-{owner.pk}"
    taken = set(Caliber.objects.filter(code__startswith=f"{base}-").values_list("code", flat=True))
    number = 1
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _check_caliber_text(name: str, description: str) -> None:
    if not name.strip():
        raise ValidationError({"name": "请填写口径名称。"})
    if len(name) > 100:
        raise ValidationError({"name": "口径名称不能超过 100 个字。"})


@transaction.atomic
def caliber_create(
    *,
    actor: User,
    owner: OrgUnit,
    name: str,
    description: str = "",
    config: Mapping[str, Any],
) -> Caliber:
    """Create a unit's own 口径 (version 1)."""
    if owner.kind not in OWNER_KINDS:
        raise ValidationError({"owner": "所属单位必须是教育局、学区或学校。"})
    if not has_perm_at(actor, Perm.EXAMS_MANAGE, owner.pk):
        raise PermissionDenied("您无权为该单位建立分析口径。")
    _check_caliber_text(name, description)
    cleaned = caliber_config_clean(config)
    caliber = Caliber.objects.create(
        code=_caliber_code(owner),
        name=name.strip(),
        owner=owner,
        version=1,
        description=description.strip(),
        config=cleaned,
        created_by=actor if actor.pk else None,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="exams.caliber_create",
        target=caliber,
        org_unit_id=owner.pk,
        changes={"after": {"code": caliber.code, "name": caliber.name, "config": cleaned}},
    )
    return caliber


@transaction.atomic
def caliber_revise(
    *,
    actor: User,
    caliber: Caliber,
    name: str,
    description: str = "",
    config: Mapping[str, Any],
) -> Caliber:
    """Save an edit of ``caliber`` as its next version; the old version is kept unchanged
    (results computed with it keep naming it). Only the latest version can be revised."""
    if not caliber_can_edit(actor=actor, caliber=caliber):
        raise PermissionDenied("您无权修改该分析口径。")
    _check_caliber_text(name, description)
    cleaned = caliber_config_clean(config)
    if Caliber.objects.filter(previous=caliber).exists():
        raise ValidationError("该口径已有更新的版本，请在最新版本上修改。")
    try:
        with transaction.atomic():
            revised = Caliber.objects.create(
                code=caliber.code,
                name=name.strip(),
                owner_id=caliber.owner_id,
                version=caliber.version + 1,
                previous=caliber,
                description=description.strip(),
                config=cleaned,
                created_by=actor if actor.pk else None,
            )
    except IntegrityError:
        raise ValidationError("该口径刚被他人修改，请刷新后在最新版本上修改。") from None
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event="exams.caliber_revise",
        target=revised,
        org_unit_id=caliber.owner_id,
        changes={
            "code": caliber.code,
            "version": revised.version,
            "before": {"name": caliber.name, "config": caliber.config},
            "after": {"name": revised.name, "config": cleaned},
        },
    )
    return revised
