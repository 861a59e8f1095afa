"""Class names as of an exam: a class unit renamed on promotion (七年级(1)班 → 八年级(1)班)
is shown under the name it had when an older exam was sat, on every exam page and export;
custom names and non-class units are left alone."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import World
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings
from time_machine import TimeMachineFixture

from xiaowu.exams.analysis import caliber_default, exam_analysis_get
from xiaowu.exams.exports import analysis_export
from xiaowu.exams.models import Exam, ExamCandidate
from xiaowu.exams.naming import class_name_as_of, school_years_since, unit_name_as_of
from xiaowu.exams.score_import import score_import_plan
from xiaowu.exams.selectors_analysis import (
    analysis_scope,
    candidate_labels,
    teacher_classes,
    unit_labels,
)
from xiaowu.exams.tests.test_analysis_world import (
    candidate_add,
    class_fill,
    exam_create,
    scores_set,
    teacher_set,
)
from xiaowu.org.models import OrgUnit
from xiaowu.staff.tests.factories import StaffMemberFactory
from xiaowu.students.models import Student


# --------------------------------------------------------------------------- the rule
@pytest.mark.parametrize(
    ("exam_grade", "years", "name", "grade", "number", "expected"),
    [
        (7, 1, "八年级(1)班", 8, 1, "七年级(1)班"),  # promoted since: the name it had then
        (7, 2, "九年级(12)班", 9, 12, "七年级(12)班"),  # two years on
        (7, 0, "八年级(1)班", 8, 1, "八年级(1)班"),  # another grade's exam this year: kept
        (7, 2, "八年级(1)班", 8, 1, "八年级(1)班"),  # grades and years disagree: kept
        (8, 1, "八年级(1)班", 8, 1, "八年级(1)班"),  # same grade
        (7, 1, "实验班", 8, 1, "实验班"),  # custom name kept
        (7, 1, "八年级(1)班（实验）", 8, 1, "八年级(1)班（实验）"),  # not the conventional name
        (7, 1, "八年级(2)班", 8, 1, "八年级(2)班"),  # name and number disagree: left alone
        (7, 1, "青石中学", None, None, "青石中学"),  # a school: no grade, no number
        (7, 1, "八年级(1)班", 8, None, "八年级(1)班"),  # no class number
        (None, 1, "八年级(1)班", 8, 1, "八年级(1)班"),
        (1, 1, "小(1)班", -3, 1, "小(1)班"),  # 幼儿园 names are not the conventional form
    ],
)
def test_class_name_as_of(
    exam_grade: int | None,
    years: int,
    name: str,
    grade: int | None,
    number: int | None,
    expected: str,
) -> None:
    assert class_name_as_of(exam_grade, name, grade, number, years_since=years) == expected


def test_school_years_since() -> None:
    today = date(2026, 11, 22)
    assert school_years_since(Exam(held_on=date(2026, 9, 20)), today) == 0
    assert school_years_since(Exam(held_on=date(2026, 6, 30)), today) == 1
    assert school_years_since(Exam(held_on=date(2025, 1, 10)), today) == 2
    assert school_years_since(Exam(held_on=date(2026, 6, 30)), date(2026, 7, 31)) == 0


def test_unit_name_and_template_filter() -> None:
    unit = OrgUnit(name="八年级(3)班", grade=8, class_number=3)
    today = timezone.localdate()
    old = Exam(grade=7, held_on=today.replace(year=today.year - 1, day=1))
    current = Exam(grade=8, held_on=today)
    assert unit_name_as_of(old, unit) == "七年级(3)班"
    assert unit_name_as_of(current, unit) == "八年级(3)班"
    template = Template("{% load exam_names %}[{{ unit|as_of_exam:exam }}]")
    assert template.render(Context({"unit": unit, "exam": old})) == "[七年级(3)班]"
    assert template.render(Context({"unit": unit, "exam": current})) == "[八年级(3)班]"
    assert template.render(Context({"unit": None, "exam": old})) == "[]"
    assert template.render(Context({"unit": unit, "exam": None})) == "[八年级(3)班]"


# --------------------------------------------------------------------------- pages
@pytest.fixture(autouse=True)
def var_dir(settings: Settings, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


@dataclass
class Promoted:
    unit: OrgUnit  # 青石中学's class: 七年级(1)班 last year, 八年级(1)班 now
    old: Exam  # last year's 七年级 期末
    current: Exam  # this year's 八年级 期中
    student: Student  # sat both


@pytest.fixture
def promoted(world: World, time_machine: TimeMachineFixture) -> Promoted:
    # "today" in the 2024 school year: the old exam is one school year back
    time_machine.move_to(datetime(2024, 11, 20, 10, tzinfo=UTC), tick=False)
    unit = OrgUnit.objects.get(code="S2-C701")
    assert (unit.name, unit.grade) == ("七年级(1)班", 7)
    old = exam_create(
        owner=world.school_b,
        schools=[world.school_b],
        subjects={"语文": 100, "数学": 100},
        grade=7,
        held_on=date(2024, 6, 25),
        name="七年级期末考试",
    )
    students = class_fill(
        old, unit, [{"语文": 60 + 3 * i, "数学": 55 + 4 * i} for i in range(10)], prefix="学生"
    )
    teacher_set(old, unit, "语文", StaffMemberFactory(org_unit=world.school_b, name="周老师"))
    # The new school year: the class is promoted and renamed.
    OrgUnit.objects.filter(pk=unit.pk).update(grade=8, name="八年级(1)班")
    unit.refresh_from_db()
    current = exam_create(
        owner=world.school_b,
        schools=[world.school_b],
        subjects={"语文": 100, "数学": 100},
        grade=8,
        held_on=date(2024, 11, 8),
        name="八年级期中考试",
    )
    for index, student in enumerate(students):
        candidate_add(current, student)
        scores_set(current, student, {"语文": 70 + index, "数学": 65 + 2 * index})
    return Promoted(unit, old, current, students[0])


def _get(client: Client, name: str, **kwargs: Any) -> str:
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200, name
    return response.content.decode()


@pytest.mark.parametrize(
    "name",
    ["exams:exam_detail", "exams:participants", "exams:class_teachers", "exams:score_grid"],
)
def test_setup_and_entry_pages_show_the_name_as_of_the_exam(
    promoted: Promoted, client_for: Callable[[str], Client], name: str
) -> None:
    client = client_for("admin")
    for exam, shown, other in (
        (promoted.old, "七年级(1)班", "八年级(1)班"),
        (promoted.current, "八年级(1)班", "七年级(1)班"),
    ):
        kwargs: dict[str, int] = {"exam_id": exam.pk}
        if name == "exams:score_grid":
            kwargs["class_id"] = promoted.unit.pk
        html = _get(client, name, **kwargs)
        assert shown in html, (name, exam.name)
        assert other not in html, (name, exam.name)


def test_analysis_pages_show_the_name_as_of_the_exam(
    promoted: Promoted, client_for: Callable[[str], Client]
) -> None:
    client = client_for("admin")
    for exam, shown, other in (
        (promoted.old, "七年级(1)班", "八年级(1)班"),
        (promoted.current, "八年级(1)班", "七年级(1)班"),
    ):
        for name in (
            "exams:analysis_classes",
            "exams:analysis_dashboard",
            "exams:analysis_students",
            "exams:analysis_bands",
            "exams:analysis_trend",
        ):
            html = _get(client, name, exam_id=exam.pk)
            assert shown in html, (name, exam.name)
            assert other not in html, (name, exam.name)
    teachers = _get(client, "exams:analysis_teachers", exam_id=promoted.old.pk)
    assert "七年级(1)班语文" in teachers


def test_student_history_shows_the_class_each_exam_was_sat_in(
    promoted: Promoted, client_for: Callable[[str], Client]
) -> None:
    html = _get(client_for("admin"), "exams:student_scores", student_id=promoted.student.pk)
    old_card = html.split("七年级期末考试</a>", 1)[1].split("</h2>", 1)[0]
    current_card = html.split("八年级期中考试</a>", 1)[1].split("</h2>", 1)[0]
    assert "七年级(1)班" in old_card
    assert "八年级(1)班" in current_card


def _class_sheet(exam: Exam, world: World) -> list[dict[str, Any]]:
    bundle = exam_analysis_get(exam=exam, caliber=caliber_default(exam))
    actor = world.users["admin"]
    export = analysis_export(
        actor=actor, bundle=bundle, scope=analysis_scope(actor=actor, exam=exam)
    )
    book = openpyxl.load_workbook(io.BytesIO(export.handle.read()))
    rows = list(book["班级对比表"].iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row and row[0] == "班级")
    return [dict(zip(rows[start], row, strict=False)) for row in rows[start + 1 :]]


def test_export_names_the_class_as_of_the_exam(promoted: Promoted, world: World) -> None:
    assert [r["班级"] for r in _class_sheet(promoted.old, world)] == ["七年级(1)班"]
    assert [r["班级"] for r in _class_sheet(promoted.current, world)] == ["八年级(1)班"]


def test_selectors_and_import_preview_name_the_class_as_of_the_exam(
    promoted: Promoted,
) -> None:
    old, unit = promoted.old, promoted.unit
    assert unit_labels("class", [unit.pk], exam=old) == {unit.pk: "七年级(1)班"}
    assert unit_labels("class", [unit.pk], exam=promoted.current) == {unit.pk: "八年级(1)班"}
    teacher = old.class_teachers.get().staff_id
    assert teacher_classes(old, [teacher]) == {teacher: ["七年级(1)班语文"]}
    candidate = ExamCandidate.objects.get(exam=old, student=promoted.student)
    assert candidate_labels(old, [candidate.pk])[candidate.pk].class_name == "七年级(1)班"
    # An import file of the old exam names the class as it was then, and so does the preview.
    data = f"姓名,班级,语文\n{promoted.student.name},七年级(1)班,91\n".encode("utf-8-sig")
    plan = score_import_plan(exam=old, data=data, file_format="csv", encoding="utf-8-sig")
    assert not plan.errors
    assert [row.class_name for row in plan.preview] == ["七年级(1)班"]
