"""Scoped reads of exam analyses: which rows of a (whole-population) result a user may see.

The engine computes every indicator and rank on the exam's whole population (analytics.md
§5.5: ranks are taken on the reference population of the 口径, never on the rows a user happens
to see); these selectors then filter the result:

- aggregate rows (school, class, teacher) only for units inside the subtrees where the user
  holds ``exams.view``; the exam-level total always, and the 学区 totals of the user's own
  学区 (above their school) and of the 学区 inside their scope. A school user sees their own
  school's row with its position among all schools, never another school's class table;
- a teacher's row only when every class they taught in the exam is visible;
- student-level rows only for students in ``Student.objects.visible_to(user)`` (relationship
  scope), and student ranks only where the user holds ``exams.view`` at the student's school.

Guardians hold no ``exams.view``: they reach only the score slips (``slip_*``), which read the
child's own scores and never a rank.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import polars as pl
from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from xiaowu.accounts.permissions import ensure_perm
from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import has_perm_at, scope_for
from xiaowu.exams.analysis import AnalysisBundle
from xiaowu.exams.models import (
    Caliber,
    Exam,
    ExamCandidate,
    ExamCandidateQuerySet,
    ExamClassTeacher,
    ExamQuerySet,
    ExamStatus,
    ExamSubject,
    Score,
    ScoreStatus,
    ValueAddedAnalysis,
)
from xiaowu.exams.naming import class_name_as_of, school_year_start, school_years_since
from xiaowu.org.models import OrgUnit, OrgUnitClosure, UnitKind
from xiaowu.staff.models import StaffMember
from xiaowu.students.models import Student

if TYPE_CHECKING:
    from xiaowu.accounts.models import User

LEVELS = ("exam", "district", "school", "class", "teacher")
LEVEL_LABELS = {
    "exam": "全体",
    "district": "学区",
    "school": "学校",
    "class": "班级",
    "teacher": "教师",
}


# --------------------------------------------------------------------------- exams
def analysis_exam_list(*, actor: User) -> ExamQuerySet:
    """Exams whose analysis the actor may open (visible, and ``exams.view`` held)."""
    if not scope_for(actor).has_perm(Perm.EXAMS_VIEW):
        return Exam.objects.none()
    return Exam.objects.visible_to(actor).select_related("owner", "term")


def analysis_exam_get(*, actor: User, exam_id: int) -> Exam:
    """The exam, or 404 outside the actor's scope, or 403 without ``exams.view``."""
    exam = get_object_or_404(
        Exam.objects.visible_to(actor).select_related("owner", "term", "default_caliber"),
        pk=exam_id,
    )
    ensure_perm(actor, Perm.EXAMS_VIEW)
    return exam


def caliber_choices(*, actor: User, exam: Exam) -> list[Caliber]:
    """口径 the actor may analyse under: current versions visible to them, plus the exam's own."""
    calibers = list(Caliber.objects.visible_to(actor).current().order_by("owner_id", "code"))
    if exam.default_caliber is not None and exam.default_caliber not in calibers:
        calibers.insert(0, exam.default_caliber)
    return calibers


def caliber_get(*, actor: User, exam: Exam, caliber_id: int) -> Caliber:
    """A 口径 (any version, so old results stay reproducible) the actor may use, else 404."""
    if exam.default_caliber_id == caliber_id:
        return Caliber.objects.get(pk=caliber_id)
    return get_object_or_404(Caliber.objects.visible_to(actor), pk=caliber_id)


# --------------------------------------------------------------------------- scope
class AnalysisScope:
    """What one user may see of one exam's analysis (``None`` sets mean "all").

    The visible candidacies (relationship scope) are read only when a page needs them.
    """

    def __init__(
        self,
        *,
        units: dict[str, frozenset[int] | None],
        rank_school_ids: frozenset[int] | None,
        candidates: ExamCandidateQuerySet | None,
    ) -> None:
        self.units = units  # level → visible unit ids
        self.rank_school_ids = rank_school_ids  # schools where student ranks may be shown
        self._candidates = candidates  # None: every candidate

    def visible(self, level: str) -> frozenset[int] | None:
        return self.units.get(level, frozenset())

    def allows(self, level: str, unit_id: int) -> bool:
        ids = self.visible(level)
        return ids is None or unit_id in ids

    @property
    def sees_all_schools(self) -> bool:
        return self.units.get("school") is None

    @cached_property
    def candidate_ids(self) -> frozenset[int] | None:
        """The candidacies of the students the user may see (None: all)."""
        if self._candidates is None:
            return None
        return frozenset(self._candidates.values_list("pk", flat=True))

    @cached_property
    def sees_students(self) -> bool:
        if self._candidates is None:
            return True
        if "candidate_ids" in self.__dict__:
            return bool(self.candidate_ids)
        return self._candidates.exists()

    def sees_ranks_at(self, school_id: int) -> bool:
        return self.rank_school_ids is None or school_id in self.rank_school_ids


def _exam_units(exam: Exam) -> tuple[set[int], set[int]]:
    rows = ExamCandidate.objects.filter(exam=exam).values_list("school_id", "school_class_id")
    schools: set[int] = set()
    classes: set[int] = set()
    for school_id, class_id in rows.distinct().order_by():
        schools.add(school_id)
        classes.add(class_id)
    return schools, classes


def _inside(roots: Iterable[int], unit_ids: Iterable[int]) -> set[int]:
    """The ``unit_ids`` that lie in the subtree of any of ``roots``."""
    return set(
        OrgUnitClosure.objects.filter(ancestor_id__in=list(roots), descendant_id__in=list(unit_ids))
        .values_list("descendant_id", flat=True)
        .distinct()
    )


def _districts_of(unit_ids: Iterable[int]) -> set[int]:
    return set(
        OrgUnitClosure.objects.filter(
            descendant_id__in=list(unit_ids), ancestor__kind=UnitKind.SCHOOL_DISTRICT
        ).values_list("ancestor_id", flat=True)
    )


def analysis_scope(*, actor: User, exam: Exam) -> AnalysisScope:
    scope = scope_for(actor)
    if scope.is_global:
        return AnalysisScope(units=dict.fromkeys(LEVELS), rank_school_ids=None, candidates=None)
    roots = scope.roots_with_perm(Perm.EXAMS_VIEW)
    schools, classes = _exam_units(exam)
    visible_schools = _inside(roots, schools)
    visible_classes = _inside(roots, classes)
    # 学区 totals: the 学区 of the schools the user sees (their own 学区, above a school user)
    # and any 学区 inside their scope.
    districts = _districts_of(visible_schools)
    teachers: dict[int, bool] = {}
    for class_id, staff_id in ExamClassTeacher.objects.filter(exam=exam).values_list(
        "school_class_id", "staff_id"
    ):
        teachers[staff_id] = teachers.get(staff_id, True) and class_id in visible_classes
    units: dict[str, frozenset[int] | None] = {
        "exam": None,
        "district": frozenset(districts),
        "school": None if visible_schools >= schools else frozenset(visible_schools),
        "class": None if visible_classes >= classes else frozenset(visible_classes),
        "teacher": frozenset(staff for staff, ok in teachers.items() if ok),
    }
    if units["school"] is None and units["class"] is None:
        units["district"] = None
        if all(teachers.values()):
            units["teacher"] = None
    return AnalysisScope(
        units=units,
        rank_school_ids=frozenset(visible_schools),
        candidates=ExamCandidate.objects.visible_to(actor).filter(exam=exam),
    )


# --------------------------------------------------------------------------- result rows
def _filter_ids(frame: pl.DataFrame, column: str, ids: frozenset[int] | None) -> pl.DataFrame:
    if ids is None:
        return frame
    return frame.filter(pl.col(column).is_in(list(ids)))


def unit_rows(
    bundle: AnalysisBundle,
    scope: AnalysisScope,
    level: str,
    *,
    subjects: Iterable[str] | None = None,
) -> pl.DataFrame:
    """The indicator rows of ``level`` the user may see, each with its position among all units
    of the level (``mean_rank``/``composite_rank`` and ``units_n``, taken before filtering)."""
    units = bundle.table("units").filter(pl.col("level") == level)
    if subjects is not None:
        units = units.filter(pl.col("subject").is_in(list(subjects)))
    units = units.with_columns(
        pl.col("mean")
        .rank("min", descending=True)
        .over("subject")
        .cast(pl.Int64)
        .alias("mean_rank"),
        pl.len().over("subject").cast(pl.Int64).alias("units_n"),
    )
    return _filter_ids(units, "unit_id", scope.visible(level))


def student_rows(
    bundle: AnalysisBundle, scope: AnalysisScope, *, subjects: Iterable[str] | None = None
) -> pl.DataFrame:
    """Student-level rows of the visible students (ranks already on the whole population)."""
    students = bundle.table("students")
    if subjects is not None:
        students = students.filter(pl.col("subject").is_in(list(subjects)))
    return _filter_ids(students, "candidate_id", scope.candidate_ids)


def line_subject_rows(bundle: AnalysisBundle, scope: AnalysisScope, level: str) -> pl.DataFrame:
    """The 有效分 / 单双上线 / 命中率 / 贡献率 rows of ``level`` for the visible units."""
    if not bundle.has_table("line_subjects"):
        return pl.DataFrame()
    rows = bundle.table("line_subjects").filter(pl.col("level") == level)
    return _filter_ids(rows, "unit_id", scope.visible(level))


def assigned_subjects(bundle: AnalysisBundle) -> list[str]:
    """The subjects the 口径 scales (赋分) that this exam has, in the 口径's order."""
    settings = bundle.spec.assigned_scores
    if settings is None or not bundle.has_table("assigned_bands"):
        return []
    present = set(bundle.table("assigned_bands").get_column("subject").to_list())
    return [subject for subject in settings.subjects if subject in present]


def assigned_conversion(bundle: AnalysisBundle, subject: str) -> pl.DataFrame:
    """The 赋分 conversion table of one subject (whole exam; no student appears in it)."""
    bands = bundle.table("assigned_bands").filter(pl.col("subject") == subject)
    return bands.sort("band_index")


def assigned_unit_rows(
    bundle: AnalysisBundle, scope: AnalysisScope, level: str, subject: str
) -> pl.DataFrame:
    """Per visible unit of ``level`` (school or class) and for the whole exam (``unit_id`` 0,
    level "exam"): 实考, mean raw and mean assigned score, and the count in each band."""
    table = bundle.table("assigned").filter(pl.col("subject") == subject)
    labels = assigned_conversion(bundle, subject).get_column("band").cast(pl.String).to_list()
    stats = [
        pl.len().cast(pl.Int64).alias("sat"),
        pl.col("score").mean().alias("raw_mean"),
        pl.col("assigned").mean().alias("assigned_mean"),
        *(
            (pl.col("band_index") == index).sum().cast(pl.Int64).alias(f"band_{index}")
            for index in range(len(labels))
        ),
    ]
    column = "school_id" if level == "school" else "class_id"
    units = (
        _filter_ids(table, column, scope.visible(level))
        .group_by(pl.col(column).alias("unit_id"))
        .agg(stats)
    )
    whole = table.select(stats).with_columns(pl.lit(0, dtype=pl.Int64).alias("unit_id"))
    return pl.concat(
        [
            whole.with_columns(pl.lit("exam").alias("level")),
            units.with_columns(pl.lit(level).alias("level")).sort("unit_id"),
        ],
        how="diagonal",
    )


def candidate_table(bundle: AnalysisBundle, scope: AnalysisScope, name: str) -> pl.DataFrame:
    """A per-candidate table (``critical``, ``top``, ``balance``) cut to the visible students."""
    if not bundle.has_table(name):
        return pl.DataFrame()
    return _filter_ids(bundle.table(name), "candidate_id", scope.candidate_ids)


# --------------------------------------------------------------------------- labels
def unit_labels(level: str, ids: Iterable[int], *, exam: Exam) -> dict[int, str]:
    """Display names of units as of ``exam`` (classes carry their school's name when schools
    differ; a promoted class shows the name it had when the exam was sat)."""
    wanted = [int(i) for i in ids]
    if not wanted:
        return {}
    if level == "teacher":
        return dict(StaffMember.objects.filter(pk__in=wanted).values_list("pk", "name"))
    rows = [
        (
            pk,
            class_name_as_of(exam.grade, name, grade, number, years_since=school_years_since(exam)),
            school,
        )
        for pk, name, grade, number, school in OrgUnit.objects.filter(pk__in=wanted).values_list(
            "pk", "name", "grade", "class_number", "school__name"
        )
    ]
    if level == "class":
        schools = {school for _pk, _name, school in rows}
        if len(schools) > 1:
            return {pk: f"{school}{name}" for pk, name, school in rows}
    return {pk: name for pk, name, _school in rows}


def teacher_classes(exam: Exam, teacher_ids: Iterable[int]) -> dict[int, list[str]]:
    """For each teacher: "三年级(1)班语文" style labels of what they taught in the exam."""
    result: dict[int, list[str]] = {}
    years = school_years_since(exam)
    for staff_id, class_name, grade, number, subject in (
        ExamClassTeacher.objects.filter(exam=exam, staff_id__in=list(teacher_ids))
        .order_by("school_class__grade", "school_class__class_number", "subject")
        .values_list(
            "staff_id",
            "school_class__name",
            "school_class__grade",
            "school_class__class_number",
            "subject",
        )
    ):
        shown = class_name_as_of(exam.grade, class_name, grade, number, years_since=years)
        result.setdefault(staff_id, []).append(f"{shown}{subject}")
    return result


@dataclass(frozen=True)
class CandidateLabel:
    candidate_id: int
    student_id: int
    name: str
    exam_number: str
    class_id: int
    class_name: str
    school_id: int
    school_name: str


def candidate_labels(exam: Exam, candidate_ids: Iterable[int]) -> dict[int, CandidateLabel]:
    """Name, number, class (as of the exam) and school of the given candidates."""
    ids = list(candidate_ids)
    if not ids:
        return {}
    rows = ExamCandidate.objects.filter(exam=exam, pk__in=ids).values_list(
        "pk",
        "student_id",
        "student__name",
        "exam_number",
        "school_class_id",
        "school_class__name",
        "school_class__grade",
        "school_class__class_number",
        "school_id",
        "school__name",
    )
    years = school_years_since(exam)
    return {
        row[0]: CandidateLabel(
            *row[:5],
            class_name_as_of(exam.grade, row[5], row[6], row[7], years_since=years),
            *row[8:],
        )
        for row in rows
    }


# --------------------------------------------------------------------------- cohorts
def cohort_key(exam: Exam) -> int:
    """Identifies the cohort: the year it started grade 1 (works for any grade ≥ 1)."""
    return school_year_start(exam) - exam.grade + 1


def cohort_exams(*, actor: User, exam: Exam, unit: OrgUnit) -> list[Exam]:
    """Exams of the same cohort that ``unit`` (a school or class) took part in, oldest first,
    among those the actor may analyse."""
    if unit.kind == UnitKind.SCHOOL_CLASS:
        sat = ExamCandidate.objects.filter(school_class=unit)
    else:
        sat = ExamCandidate.objects.filter(school=unit)
    exams = (
        analysis_exam_list(actor=actor)
        .filter(pk__in=sat.values("exam_id"))
        .select_related("term__school_year", "default_caliber")
        .order_by("held_on", "pk")
    )
    key = cohort_key(exam)
    return [e for e in exams if cohort_key(e) == key]


def trend_units(*, actor: User, exam: Exam, scope: AnalysisScope) -> list[OrgUnit]:
    """Schools and classes of the exam whose trend the actor may open."""
    schools, classes = _exam_units(exam)
    wanted = [
        *(s for s in schools if scope.allows("school", s)),
        *(c for c in classes if scope.allows("class", c)),
    ]
    return list(
        OrgUnit.objects.filter(pk__in=wanted).order_by(
            "kind", "school__code", "grade", "class_number", "code"
        )
    )


# --------------------------------------------------------------------------- students
def student_exam_candidacies(*, actor: User, student: Student) -> list[ExamCandidate]:
    """The student's candidacies in exams the actor may analyse, oldest first."""
    return list(
        ExamCandidate.objects.filter(
            student=student, exam__in=analysis_exam_list(actor=actor).values("pk")
        )
        .select_related("exam", "exam__term__school_year", "exam__default_caliber", "school_class")
        .order_by("exam__held_on", "exam_id")
    )


def student_ranks_allowed(*, actor: User, candidate: ExamCandidate) -> bool:
    """Ranks of a student are shown to staff holding ``exams.view`` at the student's school."""
    return has_perm_at(actor, Perm.EXAMS_VIEW, candidate.school_id)


# --------------------------------------------------------------------------- slips
def slip_students(*, actor: User) -> QuerySet[Student]:
    """Students whose score slips the actor may open: a guardian's own children; staff with
    ``exams.view`` the students of their record scope."""
    scope = scope_for(actor)
    students = Student.objects.visible_to(actor)
    if scope.sees_own_children and not scope.has_perm(Perm.EXAMS_VIEW):
        students = students.filter(guardianships__guardian__user=actor)
    elif not scope.has_perm(Perm.EXAMS_VIEW):
        return Student.objects.none()
    return students.select_related("school", "school_class")


def slip_candidacies(*, actor: User) -> list[ExamCandidate]:
    """Locked exams the actor's own children sat (a guardian's slip list)."""
    children = Student.objects.visible_to(actor).filter(guardianships__guardian__user=actor)
    return list(
        ExamCandidate.objects.filter(student__in=children, exam__status=ExamStatus.LOCKED)
        .select_related("exam", "student", "school_class")
        .order_by("student__name", "-exam__held_on", "-exam_id")
    )


def slip_candidate_get(*, actor: User, exam_id: int, student_id: int) -> ExamCandidate:
    """The candidacy behind one slip: a locked exam and a student the actor may see (404)."""
    candidate = (
        ExamCandidate.objects.filter(
            exam_id=exam_id,
            exam__status=ExamStatus.LOCKED,
            student__in=slip_students(actor=actor).values("pk"),
            student_id=student_id,
        )
        .select_related("exam", "student", "school", "school_class")
        .first()
    )
    if candidate is None:
        raise Http404("没有找到该成绩单。")
    return candidate


@dataclass(frozen=True)
class SlipLine:
    subject: str
    full_mark: Any
    value: Any
    status_label: str


def slip_lines(*, candidate: ExamCandidate) -> list[SlipLine]:
    """The child's own score on each paper, with its 满分 — nothing about anyone else."""
    scores = {
        row["exam_subject_id"]: row
        for row in Score.objects.filter(candidate=candidate).values(
            "exam_subject_id", "value", "status"
        )
    }
    lines = []
    for subject in ExamSubject.objects.filter(exam_id=candidate.exam_id).order_by(
        "sort_order", "pk"
    ):
        row = scores.get(subject.pk)
        status = row["status"] if row else ""
        lines.append(
            SlipLine(
                subject=subject.subject,
                full_mark=subject.full_mark,
                value=row["value"] if row else None,
                status_label=ScoreStatus(status).label if status else ("" if row else "未录入"),
            )
        )
    return lines


# --------------------------------------------------------------------------- value-added
def value_added_list(*, actor: User) -> QuerySet[ValueAddedAnalysis]:
    visible = analysis_exam_list(actor=actor).values("pk")
    return (
        ValueAddedAnalysis.objects.filter(exit_exam__in=visible, entry_exam__in=visible)
        .select_related("entry_exam", "exit_exam")
        .order_by("-created_at", "-pk")
    )


def value_added_get(*, actor: User, analysis_id: int) -> ValueAddedAnalysis:
    """A value-added analysis whose two exams the actor sees (else 404); 403 without
    ``exams.view``."""
    visible = Exam.objects.visible_to(actor).values("pk")
    found = (
        ValueAddedAnalysis.objects.filter(
            pk=analysis_id, exit_exam__in=visible, entry_exam__in=visible
        )
        .select_related("entry_exam", "exit_exam", "created_by")
        .first()
    )
    if found is None:
        raise Http404("没有找到该增值评价。")
    ensure_perm(actor, Perm.EXAMS_VIEW)
    return found


def exam_subject_names(exam: Exam) -> list[str]:
    return list(exam.subjects.order_by("sort_order", "pk").values_list("subject", flat=True))


def exams_sharing_students(*, actor: User, exam: Exam) -> ExamQuerySet:
    """Earlier exams (visible to the actor) that some of this exam's students also sat:
    candidates for the 入口 exam of a value-added analysis."""
    students = ExamCandidate.objects.filter(exam=exam).values("student_id")
    return (
        analysis_exam_list(actor=actor)
        .filter(Q(held_on__lt=exam.held_on), candidates__student__in=students)
        .distinct()
        .order_by("-held_on", "-pk")
    )
