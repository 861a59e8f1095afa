"""Expected access to the exam-analysis pages (成绩分析, value-added, score slips).

The exam is a 学区 统考 of 青石学区 sat by class_a (with world.child), class_b and a class of
青石中学, so every role of the first school sees it; the other district's users do not (404).
Guardians hold no ``exams.view``: they have no exams (404) and reach only their child's slip.
Student lists need students in the record scope (the 教研组长 has none: 403; the 值周教师
holds no ``exams.view``: 403 wherever the exam is visible to them).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from conftest import World

from tests.access.common import ANON_LOGIN, LEADERS, OUTSIDERS, Route, expect
from xiaowu.exams.models import Exam, ValueAddedAnalysis, ValueAddedMethod
from xiaowu.exams.tests.test_analysis_world import candidate_add, exam_create, scores_set
from xiaowu.org.models import OrgUnit
from xiaowu.students.models import Student

# exams.view with an org scope covering the exam (every role of the first school but 值周).
EXAM_VIEWERS = [*LEADERS, "vice", "office", "gradehead", "research", "headteacher", "teacher"]
# Hold exams.view somewhere (the value-added form lists what they may see).
ANY_VIEWER = [*EXAM_VIEWERS, *OUTSIDERS]
# Record scope covering some candidate: the leaders and 副校长/教导处 (all), the grade head
# (class_b), the teachers of class_a.
STUDENT_VIEWERS = [*LEADERS, "vice", "office", "gradehead", "headteacher", "teacher"]
# Whose record scope covers world.child (class_a), with exams.view.
CHILD_STAFF = [*LEADERS, "vice", "office", "headteacher", "teacher"]


def _exam(w: World, *, name: str = "学区统考", held_on: date = date(2025, 6, 20)) -> Exam:
    exam = exam_create(
        owner=w.district,
        schools=[w.school, w.school_b],
        subjects={"语文": 100, "数学": 100},
        name=name,
        kind="unified",
        held_on=held_on,
    )
    students = [
        w.child,
        *Student.objects.filter(school_class__in=[w.class_b, OrgUnit.objects.get(code="S2-C701")]),
    ]
    for index, student in enumerate(students):
        candidate_add(exam, student)
        scores_set(exam, student, {"语文": 60 + index * 9, "数学": 95 - index * 11})
    return exam


def _exam_id(w: World) -> dict[str, Any]:
    return {"exam_id": _exam(w).pk}


def _slip(w: World) -> dict[str, Any]:
    return {"exam_id": _exam(w).pk, "student_id": w.child.pk}


def _child(w: World) -> dict[str, Any]:
    _exam(w)
    return {"student_id": w.child.pk}


def _value_added(w: World) -> dict[str, Any]:
    entry = _exam(w, name="入学考试", held_on=date(2024, 9, 5))
    exit_ = _exam(w)
    analysis = ValueAddedAnalysis.objects.create(
        entry_exam=entry,
        exit_exam=exit_,
        subject="总分",
        method=ValueAddedMethod.RESIDUAL_EB,
        entry_revision=entry.scores_revision,
        exit_revision=exit_.scores_revision,
        status="done",
        matched=3,
    )
    return {"analysis_id": analysis.pk}


def _exam_page(**extra: tuple[list[str], int]) -> Route:
    return Route(
        "get",
        _exam_id,
        expect={
            **ANON_LOGIN,
            **expect((EXAM_VIEWERS, 200), (["duty"], 403), ([*OUTSIDERS, "parent"], 404)),
            **expect(*extra.values()),
        },
    )


ACCESS: dict[str, Route] = {
    "exams:analysis_dashboard": _exam_page(),
    "exams:analysis_classes": _exam_page(),
    "exams:analysis_teachers": _exam_page(),
    "exams:analysis_schools": _exam_page(),
    "exams:analysis_bands": _exam_page(),
    "exams:analysis_one_point": _exam_page(),
    "exams:analysis_assigned": _exam_page(),
    "exams:analysis_joint": _exam_page(),
    "exams:analysis_trend": _exam_page(),
    "exams:analysis_students": _exam_page(no_students=(["research"], 403)),
    "exams:analysis_export": Route(
        "post",
        _exam_id,
        expect={
            **ANON_LOGIN,
            **expect((EXAM_VIEWERS, 200), (["duty"], 403), ([*OUTSIDERS, "parent"], 404)),
        },
        data={"layout": ["summary", "one_point"]},
    ),
    "exams:student_scores": Route(
        "get",
        _child,
        expect={
            **ANON_LOGIN,
            **expect(
                (CHILD_STAFF, 200),
                (["parent"], 403),
                (["gradehead", "research", "duty", *OUTSIDERS], 404),
            ),
        },
    ),
    "exams:slip_list": Route("get", expect={**ANON_LOGIN}, other=200),
    "exams:slip_detail": Route(
        "get",
        _slip,
        expect={**ANON_LOGIN, **expect(([*CHILD_STAFF, "parent"], 200))},
        other=404,
    ),
    "exams:va_form": Route("get", expect={**ANON_LOGIN, **expect((ANY_VIEWER, 200))}),
    "exams:va_detail": Route(
        "get",
        _value_added,
        expect={
            **ANON_LOGIN,
            **expect((EXAM_VIEWERS, 200), (["duty"], 403), ([*OUTSIDERS, "parent"], 404)),
        },
    ),
}
