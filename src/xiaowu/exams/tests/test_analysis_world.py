"""Builders for small exams in the analysis tests (written straight through the ORM, the way
the score-entry services store them), and a check that the builders themselves are right."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal

import pytest
from conftest import World
from django.db.models import F

from xiaowu.exams.models import (
    Caliber,
    Exam,
    ExamCandidate,
    ExamClassTeacher,
    ExamKind,
    ExamStatus,
    ExamSubject,
    Score,
)
from xiaowu.org.models import OrgUnit
from xiaowu.staff.models import StaffMember
from xiaowu.students.models import Student
from xiaowu.students.tests.factories import StudentFactory

# A value is a score, or one of the ScoreStatus codes with no score.
Entry = float | int | str | None


def exam_create(
    *,
    owner: OrgUnit,
    schools: Iterable[OrgUnit],
    subjects: Mapping[str, int | float],
    grade: int = 1,
    held_on: date = date(2025, 1, 10),
    name: str = "期末考试",
    kind: str = ExamKind.FINAL,
    caliber: Caliber | None = None,
) -> Exam:
    exam = Exam.objects.create(
        name=name,
        kind=kind,
        owner=owner,
        grade=grade,
        held_on=held_on,
        status=ExamStatus.LOCKED,
        default_caliber=caliber,
    )
    exam.schools.set(list(schools))
    for order, (subject, full_mark) in enumerate(subjects.items()):
        ExamSubject.objects.create(
            exam=exam, subject=subject, full_mark=Decimal(str(full_mark)), sort_order=order
        )
    return exam


def candidate_add(exam: Exam, student: Student, *, visiting: bool = False) -> ExamCandidate:
    assert student.school_class is not None
    return ExamCandidate.objects.create(
        exam=exam,
        student=student,
        school_id=student.school_id,
        school_class=student.school_class,
        exam_number=f"{exam.pk:03d}{student.pk:05d}",
        is_visiting=visiting,
    )


def scores_set(exam: Exam, student: Student, entries: Mapping[str, Entry]) -> None:
    """Write ``{subject: value or status}`` for one candidate and bump the scores revision."""
    candidate = ExamCandidate.objects.get(exam=exam, student=student)
    subjects = {s.subject: s for s in exam.subjects.all()}
    for subject, entry in entries.items():
        value = None if entry is None or isinstance(entry, str) else Decimal(str(entry))
        status = entry if isinstance(entry, str) else ""
        Score.objects.update_or_create(
            exam_subject=subjects[subject],
            candidate=candidate,
            defaults={"value": value, "status": status},
        )
    Exam.objects.filter(pk=exam.pk).update(scores_revision=F("scores_revision") + 1)
    exam.refresh_from_db(fields=["scores_revision"])


def teacher_set(exam: Exam, school_class: OrgUnit, subject: str, staff: StaffMember) -> None:
    ExamClassTeacher.objects.create(
        exam=exam, school_class=school_class, subject=subject, staff=staff
    )


def class_fill(
    exam: Exam,
    school_class: OrgUnit,
    rows: Iterable[Mapping[str, Entry]],
    *,
    prefix: str = "考生",
) -> list[Student]:
    """Create one student per row in ``school_class``, enter them and set their scores."""
    students: list[Student] = []
    for index, entries in enumerate(rows, start=1):
        student: Student = StudentFactory(school_class=school_class, name=f"{prefix}{index}")
        candidate_add(exam, student)
        scores_set(exam, student, entries)
        students.append(student)
    return students


@pytest.mark.django_db
def test_builders_bump_the_revision_and_store_statuses(world: World) -> None:
    exam = exam_create(owner=world.school, schools=[world.school], subjects={"语文": 100})
    candidate_add(exam, world.child)
    scores_set(exam, world.child, {"语文": "absent"})
    scores_set(exam, world.child, {"语文": 88.5})
    score = Score.objects.get(candidate__student=world.child)
    assert (score.value, score.status, exam.scores_revision) == (Decimal("88.5"), "", 2)
