"""Reads of the exams app. Every lookup starts from ``visible_to(actor)``: an exam outside the
actor's scope answers 404, and score rows only reach those who may see the students."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import scope_for, unit_subtree
from xiaowu.core.search import name_search
from xiaowu.exams.models import (
    Caliber,
    CaliberQuerySet,
    Exam,
    ExamCandidate,
    ExamClassTeacher,
    ExamItem,
    ExamQuerySet,
    ExamSubject,
    Score,
    ScoreStatus,
)
from xiaowu.exams.services import OWNER_KINDS, EntryRights, score_display
from xiaowu.org.models import OrgUnit, OrgUnitClosure, UnitKind
from xiaowu.students.models import ClassMembership, StudentStatus

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


# --------------------------------------------------------------------------- exams
def exam_list(
    *,
    actor: User,
    search: str = "",
    term_id: int | None = None,
    grade: int | None = None,
    kind: str = "",
    school_id: int | None = None,
    status: str = "",
) -> ExamQuerySet:
    """Exams in the actor's scope, narrowed by the list filters; ``search`` matches the name
    (characters or pinyin) and the organising unit's name."""
    exams = Exam.objects.visible_to(actor)
    if search.strip():
        exams = exams.filter(
            name_search(search)
            | name_search(search, prefix="owner__")
            | Q(schools__name__icontains=search.strip())
        ).distinct()
    if term_id:
        exams = exams.filter(term_id=term_id)
    if grade:
        exams = exams.filter(grade=grade)
    if kind:
        exams = exams.filter(kind=kind)
    if school_id:
        exams = exams.filter(Q(schools=school_id) | Q(owner=school_id)).distinct()
    if status:
        exams = exams.filter(status=status)
    # Correlated counts: evaluated for the listed page only, not joined over every score row.
    return exams.select_related("owner", "term__school_year").annotate(
        candidate_count=_count_of(ExamCandidate),
        subject_count=_count_of(ExamSubject),
    )


def _count_of(model: type[ExamCandidate] | type[ExamSubject]) -> Subquery:
    counted = (
        model.objects.filter(exam=OuterRef("pk"))
        .order_by()
        .values("exam")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(counted, output_field=IntegerField())


def exam_get(*, actor: User, exam_id: int) -> Exam:
    """Return the exam, or raise Http404 when it is outside the actor's scope."""
    return get_object_or_404(
        Exam.objects.visible_to(actor).select_related(
            "owner", "term__school_year", "default_caliber", "created_by"
        ),
        pk=exam_id,
    )


def exam_subject_list(*, exam: Exam) -> list[ExamSubject]:
    return list(ExamSubject.objects.filter(exam=exam).order_by("sort_order", "pk"))


def exam_subject_get(*, exam: Exam, subject_id: int) -> ExamSubject:
    return get_object_or_404(ExamSubject.objects.select_related("exam"), exam=exam, pk=subject_id)


def exam_school_list(*, exam: Exam) -> list[OrgUnit]:
    return list(exam.schools.order_by("sort_order", "code"))


def exam_owner_options(*, actor: User) -> list[OrgUnit]:
    """Units (局, 学区, 学校) the actor may organise an exam for."""
    units = OrgUnit.objects.visible_to(actor).filter(kind__in=OWNER_KINDS, is_active=True)
    scope = scope_for(actor)
    if not scope.is_global:
        units = units.filter(pk__in=unit_subtree(scope.roots_with_perm(Perm.EXAMS_MANAGE)))
    return list(units.order_by("depth", "sort_order", "code"))


def exam_school_options(*, actor: User) -> list[OrgUnit]:
    """Schools that can sit an exam the actor organises."""
    schools = OrgUnit.objects.visible_to(actor).filter(kind=UnitKind.SCHOOL, is_active=True)
    scope = scope_for(actor)
    if not scope.is_global:
        schools = schools.filter(pk__in=unit_subtree(scope.roots_with_perm(Perm.EXAMS_MANAGE)))
    return list(
        schools.select_related("parent").order_by("parent__sort_order", "sort_order", "code")
    )


def exam_filter_schools(*, actor: User) -> list[OrgUnit]:
    return list(
        OrgUnit.objects.visible_to(actor)
        .filter(kind=UnitKind.SCHOOL, is_active=True)
        .order_by("sort_order", "code")
    )


# --------------------------------------------------------------------------- progress
@dataclass
class ProgressCell:
    subject_id: int
    subject: str
    entered: int
    total: int
    teacher: str = ""

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.entered >= self.total


@dataclass
class ClassProgress:
    school_class: OrgUnit
    candidates: int
    cells: list[ProgressCell] = field(default_factory=list)
    rights: EntryRights | None = None

    @property
    def entered(self) -> int:
        return sum(cell.entered for cell in self.cells)

    @property
    def expected(self) -> int:
        return self.candidates * len(self.cells)


@dataclass
class SchoolProgress:
    school: OrgUnit
    classes: list[ClassProgress] = field(default_factory=list)

    @property
    def candidates(self) -> int:
        return sum(c.candidates for c in self.classes)

    @property
    def entered(self) -> int:
        return sum(c.entered for c in self.classes)

    @property
    def expected(self) -> int:
        return sum(c.expected for c in self.classes)


def _entered_scores() -> QuerySet[Score]:
    return Score.objects.filter(Q(value__isnull=False) | ~Q(status=ScoreStatus.NORMAL))


def exam_progress(*, exam: Exam, subjects: list[ExamSubject]) -> list[SchoolProgress]:
    """Entry progress of every participating class × subject (entered / candidates), with the
    任课教师 of the snapshot; three grouped queries whatever the size of the exam."""
    per_class = dict(
        ExamCandidate.objects.filter(exam=exam)
        .values_list("school_class_id")
        .annotate(n=Count("pk"))
        .values_list("school_class_id", "n")
    )
    entered: dict[tuple[int, int], int] = {
        (class_id, subject_id): n
        for class_id, subject_id, n in _entered_scores()
        .filter(exam_subject__exam=exam)
        .values_list("candidate__school_class_id", "exam_subject_id")
        .annotate(n=Count("pk"))
        .values_list("candidate__school_class_id", "exam_subject_id", "n")
    }
    teachers = {
        (class_id, subject): name
        for class_id, subject, name in ExamClassTeacher.objects.filter(exam=exam).values_list(
            "school_class_id", "subject", "staff__name"
        )
    }
    classes = (
        OrgUnit.objects.filter(pk__in=per_class)
        .select_related("school")
        .order_by("school__sort_order", "school__code", "class_number", "code")
    )
    schools: dict[int, SchoolProgress] = {}
    for unit in classes:
        school = unit.school or unit
        row = ClassProgress(school_class=unit, candidates=per_class[unit.pk])
        for subject in subjects:
            row.cells.append(
                ProgressCell(
                    subject_id=subject.pk,
                    subject=subject.subject,
                    entered=entered.get((unit.pk, subject.pk), 0),
                    total=row.candidates,
                    teacher=teachers.get((unit.pk, subject.subject), ""),
                )
            )
        schools.setdefault(school.pk, SchoolProgress(school=school)).classes.append(row)
    return list(schools.values())


def exam_entered_total(*, exam: Exam) -> int:
    return _entered_scores().filter(exam_subject__exam=exam).count()


# --------------------------------------------------------------------------- participants
@dataclass
class ClassOption:
    school_class: OrgUnit
    enrolled: int
    candidates: int


def exam_class_options(*, exam: Exam) -> list[ClassOption]:
    """Classes of the exam's grade in the participating schools, with how many students sit
    in them now and how many of them are already candidates."""
    classes = list(
        OrgUnit.objects.filter(
            kind=UnitKind.SCHOOL_CLASS,
            is_active=True,
            grade=exam.grade,
            school__in=exam.schools.all(),
        )
        .select_related("school")
        .order_by("school__sort_order", "school__code", "class_number", "code")
    )
    ids = [unit.pk for unit in classes]
    enrolled = dict(
        ClassMembership.objects.filter(
            end_on__isnull=True, school_class_id__in=ids, student__status=StudentStatus.ENROLLED
        )
        .values_list("school_class_id")
        .annotate(n=Count("pk"))
        .values_list("school_class_id", "n")
    )
    candidates = dict(
        ExamCandidate.objects.filter(exam=exam)
        .values_list("school_class_id")
        .annotate(n=Count("pk"))
        .values_list("school_class_id", "n")
    )
    options = [
        ClassOption(unit, enrolled.get(unit.pk, 0), candidates.pop(unit.pk, 0)) for unit in classes
    ]
    # Candidates sitting in a class of another grade (set up by an import or an older roster).
    for unit in OrgUnit.objects.filter(pk__in=list(candidates)).select_related("school"):
        options.append(ClassOption(unit, 0, candidates[unit.pk]))
    return options


def exam_candidate_count(*, exam: Exam) -> int:
    return ExamCandidate.objects.filter(exam=exam).count()


def exam_numbered_count(*, exam: Exam) -> int:
    return ExamCandidate.objects.filter(exam=exam).exclude(exam_number="").count()


# --------------------------------------------------------------------------- grid
@dataclass
class GridCell:
    subject_id: int
    subject: str
    full_mark: Decimal
    step: Decimal
    value: str
    version: int
    status: str
    editable: bool
    by: str = ""


@dataclass
class GridRow:
    candidate: ExamCandidate
    cells: list[GridCell]


def class_in_record_scope(*, actor: User, class_id: int) -> bool:
    """Return True when the actor may see the student records of the class."""
    scope = scope_for(actor)
    if scope.is_global:
        return True
    if not scope.record_roots:
        return False
    return OrgUnitClosure.objects.filter(
        descendant_id=class_id, ancestor_id__in=scope.record_roots
    ).exists()


def exam_grid_classes(*, exam: Exam, class_ids: Collection[int] | None = None) -> list[OrgUnit]:
    """The classes that sit the exam (optionally only ``class_ids``), school by school."""
    ids = ExamCandidate.objects.filter(exam=exam).values("school_class_id")
    classes = OrgUnit.objects.filter(pk__in=ids).select_related("school")
    if class_ids is not None:
        classes = classes.filter(pk__in=class_ids)
    return list(classes.order_by("school__sort_order", "school__code", "class_number", "code"))


def exam_grid(
    *,
    actor: User,
    exam: Exam,
    class_id: int,
    subjects: list[ExamSubject],
    rights: EntryRights,
) -> list[GridRow]:
    """Rows of the entry grid of one class: the candidates the actor may see, with the score
    (display text, version) of every subject and whether the actor may edit it."""
    candidates = list(
        ExamCandidate.objects.visible_to(actor)
        .filter(exam=exam, school_class_id=class_id)
        .select_related("student")
        .order_by("exam_number", "student__class_seat_number", "student__name_pinyin", "pk")
    )
    scores: dict[tuple[int, int], tuple[Decimal | None, str, int, str]] = {}
    for candidate_id, subject_id, value, status, version, by in Score.objects.filter(
        candidate__in=[c.pk for c in candidates], exam_subject__exam=exam
    ).values_list(
        "candidate_id", "exam_subject_id", "value", "status", "version", "updated_by__full_name"
    ):
        scores[(candidate_id, subject_id)] = (value, status, version, by or "")
    rows: list[GridRow] = []
    for candidate in candidates:
        cells: list[GridCell] = []
        for subject in subjects:
            value, status, version, by = scores.get((candidate.pk, subject.pk), (None, "", 0, ""))
            cells.append(
                GridCell(
                    subject_id=subject.pk,
                    subject=subject.subject,
                    full_mark=subject.full_mark,
                    step=subject.step,
                    value=score_display(value, status),
                    version=version,
                    status=status,
                    editable=rights.allows(subject.subject),
                    by=by,
                )
            )
        rows.append(GridRow(candidate=candidate, cells=cells))
    return rows


# --------------------------------------------------------------------------- items
def exam_item_counts(*, exam: Exam) -> dict[int, int]:
    """Number of 小题 defined per exam subject."""
    return dict(
        ExamItem.objects.filter(exam_subject__exam=exam)
        .values_list("exam_subject_id")
        .annotate(n=Count("pk"))
        .values_list("exam_subject_id", "n")
    )


# --------------------------------------------------------------------------- 口径
def caliber_list(*, actor: User, search: str = "") -> CaliberQuerySet:
    """The latest version of every 口径 the actor can use: presets, and those of units in or
    above the actor's scope."""
    calibers = Caliber.objects.visible_to(actor).current()
    if search.strip():
        calibers = calibers.filter(
            Q(name__icontains=search.strip()) | Q(code__icontains=search.strip())
        )
    return calibers.select_related("owner").order_by(
        F("owner__depth").asc(nulls_first=True), "owner__code", "code"
    )


def caliber_choices(*, actor: User) -> list[Caliber]:
    return list(
        Caliber.objects.visible_to(actor)
        .current()
        .select_related("owner")
        .order_by(F("owner__depth").asc(nulls_first=True), "owner__code", "code")
    )


def caliber_get(*, actor: User, caliber_id: int) -> Caliber:
    return get_object_or_404(
        Caliber.objects.visible_to(actor).select_related("owner", "created_by", "previous"),
        pk=caliber_id,
    )


def caliber_versions(*, caliber: Caliber) -> list[Caliber]:
    """Every version of the 口径's code, newest first."""
    return list(
        Caliber.objects.filter(code=caliber.code).select_related("created_by").order_by("-version")
    )


def caliber_latest(*, caliber: Caliber) -> Caliber:
    latest = Caliber.objects.filter(code=caliber.code).order_by("-version").first()
    return latest or caliber


def exams_using_caliber(*, actor: User, caliber: Caliber) -> int:
    return Exam.objects.visible_to(actor).filter(default_caliber__code=caliber.code).count()


def entered_by_subject(*, exam: Exam) -> dict[int, int]:
    return dict(
        _entered_scores()
        .filter(exam_subject__exam=exam)
        .values_list("exam_subject_id")
        .annotate(n=Count("pk"))
        .values_list("exam_subject_id", "n")
    )


def group_by_school(classes: list[OrgUnit]) -> list[tuple[OrgUnit, list[OrgUnit]]]:
    grouped: dict[int, list[OrgUnit]] = defaultdict(list)
    schools: dict[int, OrgUnit] = {}
    for unit in classes:
        school = unit.school or unit
        schools[school.pk] = school
        grouped[school.pk].append(unit)
    return [(schools[pk], grouped[pk]) for pk in grouped]
