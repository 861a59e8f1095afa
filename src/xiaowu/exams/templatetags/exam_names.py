"""``{% load exam_names %}`` — class names as of an exam (see ``xiaowu.exams.naming``)."""

from __future__ import annotations

from django import template

from xiaowu.exams.models import Exam
from xiaowu.exams.naming import unit_name_as_of
from xiaowu.org.models import OrgUnit

register = template.Library()


@register.filter
def as_of_exam(unit: OrgUnit | None, exam: Exam | None) -> str:
    """``{{ candidate.school_class|as_of_exam:exam }}``: the unit's name when the exam was sat."""
    if unit is None:
        return ""
    if exam is None:
        return unit.name
    return unit_name_as_of(exam, unit)
