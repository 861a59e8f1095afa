"""Demo exams with synthetic scores, written after the demo district is loaded.

For every school and every grade from 三年级 up: the previous term's 期中 and 期末 (locked) and
the current term's 期中 (录入中; a little of it still to be entered). The current 期中 of 六年级
is a 学区统考 across the district's primaries instead, and 九年级 also sits a 中考模拟 across
the district's middle schools. Candidates are the pupils in each class on the day of the exam
(class-membership history), 考号 follow ``exams.services.exam_numbers_assign``'s pattern, and
the 任课教师 are snapshotted from the term's teaching assignments (the demo keeps teachers with
their class from one term to the next).

Scores are drawn columnar with numpy: a fixed ability per pupil (so that exams agree with each
other and value-added has something to find), plus school, class and teacher effects, plus
noise; rounded to the subject's step; a few pupils are absent, exempt or caught cheating.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from django.db.models import Q

from xiaowu.core.pinyin import pinyin_keys
from xiaowu.exams.models import (
    Caliber,
    Exam,
    ExamAnalysis,
    ExamCandidate,
    ExamClassTeacher,
    ExamItem,
    ExamKind,
    ExamStatus,
    ExamSubject,
    ItemScore,
    Score,
    ScoreStatus,
    ValueAddedAnalysis,
)
from xiaowu.org.models import Grade, OrgUnit, Term, UnitKind
from xiaowu.staff.models import TeachingAssignment, TeachingRole
from xiaowu.students.models import ClassMembership

BATCH = 2000
FIRST_GRADE = 3
# (subject, 满分, step) of the papers of each stage.
PRIMARY_PAPERS: tuple[tuple[str, int, str], ...] = (
    ("语文", 100, "0.5"),
    ("数学", 100, "1"),
    ("英语", 100, "0.5"),
    ("科学", 100, "1"),
)
MIDDLE_PAPERS: dict[int, tuple[tuple[str, int, str], ...]] = {
    7: (
        ("语文", 120, "0.5"),
        ("数学", 120, "1"),
        ("英语", 120, "0.5"),
        ("生物", 100, "1"),
        ("道德与法治", 100, "1"),
        ("历史", 100, "1"),
        ("地理", 100, "1"),
    ),
    8: (
        ("语文", 120, "0.5"),
        ("数学", 120, "1"),
        ("英语", 120, "0.5"),
        ("物理", 100, "1"),
        ("生物", 100, "1"),
        ("道德与法治", 100, "1"),
        ("历史", 100, "1"),
        ("地理", 100, "1"),
    ),
    9: (
        ("语文", 120, "0.5"),
        ("数学", 120, "1"),
        ("英语", 120, "0.5"),
        ("物理", 100, "1"),
        ("化学", 100, "1"),
        ("道德与法治", 100, "1"),
        ("历史", 100, "1"),
    ),
}
# Mean share of 满分 and spread, by subject (harder papers have lower means).
SUBJECT_LEVEL = {"数学": -0.03, "物理": -0.05, "化学": -0.02, "英语": -0.02, "语文": 0.02}
ABSENT_EXAM_SHARE = 0.008  # missed the whole exam
ABSENT_PAPER_SHARE = 0.006  # missed one paper
EXEMPT_SHARE = 0.002
CHEATED_SHARE = 0.0008
VISITING_SHARE = 0.01


def papers_for(grade: int) -> tuple[tuple[str, int, str], ...]:
    if grade >= 7:
        return MIDDLE_PAPERS.get(grade, MIDDLE_PAPERS[9])
    return PRIMARY_PAPERS


@dataclass(frozen=True)
class DemoExamSummary:
    exams: int
    candidates: int
    scores: int


@dataclass
class _ExamDraft:
    name: str
    kind: str
    owner_id: int
    school_ids: list[int]
    term: Term
    grade: int
    held_on: date
    status: str
    caliber_code: str
    class_ids: list[int]  # the class units (as they are now) whose pupils sit it
    with_scores: bool
    unfinished: bool = False  # leave a class × subject half entered


def _terms() -> tuple[Term, Term | None]:
    """The term of the demo's teaching assignments, and the term before it."""
    term_ids = TeachingAssignment.objects.values_list("term_id", flat=True).distinct()
    current = Term.objects.filter(pk__in=term_ids).order_by("-start_on").first()
    if current is None:
        current = Term.objects.order_by("-start_on").first()
    if current is None:
        raise LookupError("the demo district has no term")
    previous = Term.objects.filter(start_on__lt=current.start_on).order_by("-start_on").first()
    return current, previous


def _term_label(term: Term) -> str:
    return f"{term.school_year.name}学年{term.get_number_display()}"


def _drafts(today: date) -> list[_ExamDraft]:
    current, previous = _terms()
    classes = list(
        OrgUnit.objects.filter(kind=UnitKind.SCHOOL_CLASS, is_active=True, grade__gte=FIRST_GRADE)
        .select_related("school")
        .order_by("school__code", "grade", "class_number")
    )
    by_school: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    schools: dict[int, OrgUnit] = {}
    for unit in classes:
        if unit.school is None or unit.grade is None:
            continue
        schools[unit.school.pk] = unit.school
        by_school[unit.school.pk][unit.grade].append(unit.pk)
    midterm = current.start_on + timedelta(days=63)
    midterm_done = midterm <= today
    drafts: list[_ExamDraft] = []
    # The grade a class was in during the previous term.
    shift = 1 if current.number == 1 else 0
    unified_grade, mock_grade = 6, 9
    districts: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for school_id, grades in by_school.items():
        school = schools[school_id]
        for grade, class_ids in sorted(grades.items()):
            if previous is not None and grade - shift >= FIRST_GRADE:
                for kind, held_on, word in (
                    (ExamKind.MIDTERM, previous.start_on + timedelta(days=63), "期中考试"),
                    (ExamKind.FINAL, previous.end_on - timedelta(days=7), "期末考试"),
                ):
                    drafts.append(
                        _ExamDraft(
                            name=f"{_term_label(previous)}{Grade(grade - shift).label}{word}",
                            kind=kind,
                            owner_id=school_id,
                            school_ids=[school_id],
                            term=previous,
                            grade=grade - shift,
                            held_on=held_on,
                            status=ExamStatus.LOCKED,
                            caliber_code="primary-85" if grade - shift <= 6 else "general",
                            class_ids=class_ids,
                            with_scores=True,
                        )
                    )
            if school.parent_id is not None and grade in (unified_grade, mock_grade):
                districts[school.parent_id][grade].extend(class_ids)
            if grade == unified_grade and school.parent_id is not None:
                continue  # sits the 学区统考 instead
            drafts.append(
                _ExamDraft(
                    name=f"{_term_label(current)}{Grade(grade).label}期中考试",
                    kind=ExamKind.MIDTERM,
                    owner_id=school_id,
                    school_ids=[school_id],
                    term=current,
                    grade=grade,
                    held_on=midterm,
                    status=ExamStatus.ENTRY if midterm_done else ExamStatus.DRAFT,
                    caliber_code="primary-85" if grade <= 6 else "general",
                    class_ids=class_ids,
                    with_scores=midterm_done,
                    unfinished=midterm_done and school_id == min(by_school),
                )
            )
    district_names = dict(OrgUnit.objects.filter(pk__in=list(districts)).values_list("pk", "name"))
    for district_id, grades in sorted(districts.items()):
        for grade, class_ids in sorted(grades.items()):
            school_ids = sorted(
                set(OrgUnit.objects.filter(pk__in=class_ids).values_list("school_id", flat=True))
            )
            if grade == unified_grade:
                name = f"{_term_label(current)}{district_names[district_id]}六年级期中统考"
                kind, held_on, code = ExamKind.UNIFIED, midterm, "county-weighted"
            else:
                name = f"{_term_label(current)}{district_names[district_id]}九年级中考模拟"
                kind, held_on, code = ExamKind.MOCK, midterm + timedelta(days=14), "senior-line"
            done = held_on <= today
            drafts.append(
                _ExamDraft(
                    name=name,
                    kind=kind,
                    owner_id=district_id,
                    school_ids=school_ids,
                    term=current,
                    grade=grade,
                    held_on=held_on,
                    status=ExamStatus.ENTRY if done else ExamStatus.DRAFT,
                    caliber_code=code,
                    class_ids=class_ids,
                    with_scores=done,
                )
            )
    return drafts


def _members_on(class_ids: Sequence[int], day: date) -> list[tuple[int, int, int]]:
    """(student, school, class) of the pupils in ``class_ids`` on ``day``."""
    return list(
        ClassMembership.objects.filter(
            Q(end_on__isnull=True) | Q(end_on__gt=day),
            school_class_id__in=class_ids,
            start_on__lte=day,
        )
        .order_by("school_id", "school_class_id", "student__class_seat_number", "student_id")
        .values_list("student_id", "school_id", "school_class_id")
    )


class _Abilities:
    """One latent ability per pupil, the same in every exam of the demo."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.values: dict[int, float] = {}

    def of(self, student_ids: Iterable[int]) -> np.ndarray:
        ids = list(student_ids)
        missing = [sid for sid in ids if sid not in self.values]
        if missing:
            self.values.update(zip(missing, self.rng.normal(0.0, 1.0, len(missing)), strict=True))
        return np.array([self.values[sid] for sid in ids], dtype=float)


TeacherMap = dict[tuple[int, str], tuple[int, int | None]]


def _teachers(term: Term, class_ids: Sequence[int]) -> TeacherMap:
    """(class, subject) → (staff id, account id) from the teaching assignments of ``term``."""
    rows = (
        TeachingAssignment.objects.filter(
            term=term, role=TeachingRole.SUBJECT_TEACHER, school_class_id__in=class_ids
        )
        .order_by("school_class_id", "subject", "-weekly_periods", "pk")
        .values_list("school_class_id", "subject", "staff_id", "staff__user_id")
    )
    result: TeacherMap = {}
    for class_id, subject, staff_id, user_id in rows:
        result.setdefault((class_id, subject), (staff_id, user_id))
    return result


def _round_to_step(values: np.ndarray, step: float) -> np.ndarray:
    rounded: np.ndarray = np.round(values / step) * step
    return rounded


def _statuses(rng: np.random.Generator, pupils: int, papers: int) -> np.ndarray:
    """Status codes per (pupil, paper): 0 normal, 1 absent, 2 exempt, 3 cheated."""
    codes = np.zeros((pupils, papers), dtype=np.int8)
    whole = rng.random(pupils) < ABSENT_EXAM_SHARE
    codes[whole, :] = 1
    draw = rng.random((pupils, papers))
    codes[(codes == 0) & (draw < ABSENT_PAPER_SHARE)] = 1
    codes[(codes == 0) & (draw > 1 - EXEMPT_SHARE)] = 2
    cheat = rng.random((pupils, papers)) < CHEATED_SHARE
    codes[(codes == 0) & cheat] = 3
    return codes


STATUS_OF_CODE = {1: ScoreStatus.ABSENT, 2: ScoreStatus.EXEMPT, 3: ScoreStatus.CHEATED}


def _exam_write(
    draft: _ExamDraft,
    *,
    rng: np.random.Generator,
    abilities: _Abilities,
    effects: dict[tuple[str, int, str], float],
    calibers: dict[str, int],
    teaching_term: Term,
) -> tuple[int, int]:
    members = _members_on(draft.class_ids, draft.held_on)
    if not members:  # e.g. last term's 六年级 of a middle school: those pupils were elsewhere
        return 0, 0
    pinyin, initials = pinyin_keys(draft.name)
    exam = Exam.objects.create(
        name=draft.name,
        kind=draft.kind,
        owner_id=draft.owner_id,
        term=draft.term,
        grade=draft.grade,
        held_on=draft.held_on,
        status=draft.status,
        default_caliber_id=calibers.get(draft.caliber_code),
        scores_revision=1 if draft.with_scores else 0,
        name_pinyin=pinyin,
        name_initials=initials,
    )
    exam.schools.set(draft.school_ids)
    subjects = ExamSubject.objects.bulk_create(
        ExamSubject(
            exam=exam,
            subject=name,
            full_mark=Decimal(full),
            step=Decimal(step),
            sort_order=order,
        )
        for order, (name, full, step) in enumerate(papers_for(draft.grade), start=1)
    )
    school_order = {pk: index for index, pk in enumerate(sorted(draft.school_ids), start=1)}
    class_numbers = dict(
        OrgUnit.objects.filter(pk__in=draft.class_ids).values_list("pk", "class_number")
    )
    seats: dict[int, int] = defaultdict(int)
    prefix = f"{draft.held_on.year % 100:02d}{draft.held_on.month:02d}"
    visiting = rng.random(len(members)) < VISITING_SHARE
    candidates = []
    for (student_id, school_id, class_id), is_visiting in zip(members, visiting, strict=True):
        seats[class_id] += 1
        number = (
            f"{prefix}{school_order[school_id]:02d}"
            f"{(class_numbers.get(class_id) or 0) % 100:02d}{seats[class_id]:02d}"
        )
        candidates.append(
            ExamCandidate(
                exam=exam,
                student_id=student_id,
                school_id=school_id,
                school_class_id=class_id,
                exam_number=number,
                is_visiting=bool(is_visiting),
            )
        )
    ExamCandidate.objects.bulk_create(candidates, batch_size=BATCH)
    teachers = _teachers(teaching_term, draft.class_ids)
    ExamClassTeacher.objects.bulk_create(
        ExamClassTeacher(exam=exam, school_class_id=class_id, subject=subject, staff_id=staff)
        for (class_id, subject), (staff, _user) in teachers.items()
        if subject in {s.subject for s in subjects}
    )
    if not draft.with_scores:
        return len(candidates), 0
    ability = abilities.of(c.student_id for c in candidates)
    class_of = np.array([c.school_class_id for c in candidates])
    school_of = np.array([c.school_id for c in candidates])
    stage_mean = 0.74 if draft.grade <= 6 else 0.66
    codes = _statuses(rng, len(candidates), len(subjects))
    unfinished_class = max(draft.class_ids) if draft.unfinished else None
    rows: list[Score] = []
    for column, subject in enumerate(subjects):
        # A teacher's effect follows them into every class they teach (value-added finds it).
        teacher_effect = np.array(
            [
                effects.setdefault(
                    ("teacher", teachers.get((cls, subject.subject), (-cls, None))[0], ""),
                    float(rng.normal(0, 0.25)),
                )
                for cls in class_of
            ]
        )
        class_effect = np.array(
            [effects.setdefault(("class", cls, ""), float(rng.normal(0, 0.3))) for cls in class_of]
        )
        school_effect = np.array(
            [
                effects.setdefault(("school", sch, ""), float(rng.normal(0, 0.2)))
                for sch in school_of
            ]
        )
        z = (
            0.85 * ability
            + class_effect
            + school_effect
            + teacher_effect * (1.0 if subject.subject in ("语文", "数学", "英语") else 0.5)
            + rng.normal(0, 0.5, len(candidates))
        )
        share = stage_mean + SUBJECT_LEVEL.get(subject.subject, 0.0) + 0.15 * z
        full = float(subject.full_mark)
        values = _round_to_step(np.clip(share, 0.05, 1.0) * full, float(subject.step))
        keep = np.ones(len(candidates), dtype=bool)
        if unfinished_class is not None and column == len(subjects) - 1:
            in_class = class_of == unfinished_class
            keep[in_class] = rng.random(int(in_class.sum())) < 0.7
        for index, candidate in enumerate(candidates):
            if not keep[index]:
                continue
            code = int(codes[index, column])
            user = teachers.get((candidate.school_class_id, subject.subject), (0, None))[1]
            rows.append(
                Score(
                    exam_subject=subject,
                    candidate=candidate,
                    value=None if code else Decimal(str(values[index])),
                    status=STATUS_OF_CODE.get(code, ScoreStatus.NORMAL),
                    version=1,
                    updated_by_id=user,
                )
            )
    Score.objects.bulk_create(rows, batch_size=BATCH)
    return len(candidates), len(rows)


def demo_exams_create(*, seed: int, today: date) -> DemoExamSummary:
    """Create the demo exams with their candidates, 任课教师 and scores (see the module
    docstring); ``today`` decides which exams have been held."""
    current, _previous = _terms()
    drafts = _drafts(today)
    rng = np.random.default_rng(seed)
    abilities = _Abilities(rng)
    effects: dict[tuple[str, int, str], float] = {}
    calibers = dict(
        Caliber.objects.filter(owner__isnull=True, superseded_by__isnull=True).values_list(
            "code", "pk"
        )
    )
    # Oldest first: the same pupils' abilities drive every exam.
    drafts.sort(key=lambda d: (d.held_on, d.owner_id, d.grade))
    exams = candidates = scores = 0
    for draft in drafts:
        n_candidates, n_scores = _exam_write(
            draft,
            rng=rng,
            abilities=abilities,
            effects=effects,
            calibers=calibers,
            teaching_term=current,
        )
        exams += bool(n_candidates)
        candidates += n_candidates
        scores += n_scores
    return DemoExamSummary(exams=exams, candidates=candidates, scores=scores)


def demo_exams_wipe() -> None:
    """Delete every exam and every 口径 of a unit (presets stay), children first, so that the
    demo's organisation tree, pupils and staff can be deleted after."""
    for model in (ItemScore, Score, ExamItem, ExamClassTeacher, ExamCandidate, ExamSubject):
        model._default_manager.all().delete()
    ExamAnalysis.objects.all().delete()
    ValueAddedAnalysis.objects.all().delete()
    Exam.schools.through._default_manager.all().delete()
    Exam.objects.all().delete()
    owned = Caliber.objects.filter(owner__isnull=False)
    # ``previous`` is a PROTECT link inside each 口径's version chain.
    owned.update(previous=None)
    Caliber.objects.filter(owner__isnull=False).delete()
