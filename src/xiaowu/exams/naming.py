"""Class names as of an exam.

Class units keep their identity across school years and are renamed on promotion: the unit
"八年级(1)班" today was "七年级(1)班" last year. Exam pages must show the class as it was
called when the exam was sat, so wherever a class name is shown for an exam it goes through
:func:`class_name_as_of`: a unit whose name is the conventional one for its current grade and
number (``class_display_name``) is shown under the conventional name for the exam's grade —
but only when the difference between the two grades is the number of school years since the
exam, i.e. the class has been promoted since. A class sitting another grade's exam this year
(a 八年级 class in a 七年级 exam) keeps its name, which may not be taken by another real class.
Any other name (实验班, 小(1)班, a school or 学区) is left alone.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.utils import timezone

from xiaowu.org.models import Grade
from xiaowu.org.services import class_display_name

if TYPE_CHECKING:
    from xiaowu.exams.models import Exam
    from xiaowu.org.models import OrgUnit

GRADES = frozenset(Grade.values)


def school_year_start(exam: Exam) -> int:
    """The first calendar year of the exam's school year (the term's, else by date)."""
    if exam.term is not None:
        return exam.term.school_year.start_on.year
    return _school_year_of(exam.held_on)


def _school_year_of(day: date) -> int:
    return day.year if day.month >= 8 else day.year - 1


def school_years_since(exam: Exam, today: date | None = None) -> int:
    """Whole school years from the exam's to today's (0 for an exam of this school year)."""
    return _school_year_of(today or timezone.localdate()) - school_year_start(exam)


def class_name_as_of(
    exam_grade: int | None,
    name: str,
    grade: int | None,
    class_number: int | None,
    *,
    years_since: int,
) -> str:
    """The name of a class unit (``name``, current ``grade`` and ``class_number``) as of an exam
    of ``exam_grade`` held ``years_since`` school years ago; plain values so that selectors can
    apply it to ``values_list`` rows."""
    if exam_grade is None or grade is None or class_number is None or exam_grade == grade:
        return name
    if exam_grade not in GRADES or grade not in GRADES:
        return name
    if grade - exam_grade != years_since:  # not promoted since: not the same cohort
        return name
    if name != class_display_name(grade, class_number):
        return name
    return class_display_name(exam_grade, class_number)


def unit_name_as_of(exam: Exam, unit: OrgUnit) -> str:
    """:func:`class_name_as_of` for a loaded unit (any kind; only classes ever change)."""
    return class_name_as_of(
        exam.grade,
        unit.name,
        unit.grade,
        unit.class_number,
        years_since=school_years_since(exam),
    )
