"""The 基本情况 of a user's scope, composed from the domain selectors (read only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xiaowu.accounts.scoping import scope_for
from xiaowu.core.models import Gender
from xiaowu.org.models import Grade, OrgUnit
from xiaowu.org.selectors import (
    SchoolTypeCount,
    org_roots_for,
    school_class_list,
    school_count_by_type,
)
from xiaowu.staff.selectors import StaffHeadcount, staff_headcount
from xiaowu.students.selectors import student_headcount_by_grade_gender

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


@dataclass(frozen=True)
class GradeRow:
    grade: int | None
    label: str
    male: int
    female: int

    @property
    def total(self) -> int:
        return self.male + self.female


@dataclass(frozen=True)
class BasicFacts:
    """基本情况: the numbers every 工作总结 opens with."""

    scope_units: list[OrgUnit]
    schools_by_type: list[SchoolTypeCount]
    school_count: int
    class_count: int
    staff: StaffHeadcount
    grades: list[GradeRow]
    student_count: int
    student_female: int

    @property
    def student_male(self) -> int:
        return self.student_count - self.student_female

    def chart_school_types(self) -> dict[str, Any]:
        return {
            "tooltip": {"trigger": "item"},
            "legend": {"top": 0},
            "series": [
                {
                    "type": "pie",
                    "radius": ["35%", "60%"],
                    "center": ["50%", "58%"],
                    "data": [
                        {"name": row.label, "value": row.count} for row in self.schools_by_type
                    ],
                    "label": {"formatter": "{b}\n{c} 所"},
                }
            ],
        }

    def chart_students_by_grade(self) -> dict[str, Any]:
        return {
            "tooltip": {"trigger": "axis"},
            "legend": {"data": ["男", "女"], "bottom": 0},
            "grid": {"left": 40, "right": 16, "top": 36, "bottom": 64},
            "xAxis": {
                "type": "category",
                "data": [row.label for row in self.grades],
                "axisLabel": {"interval": 0, "rotate": 30 if len(self.grades) > 6 else 0},
            },
            "yAxis": {"type": "value", "name": "人"},
            "series": [
                {
                    "name": "男",
                    "type": "bar",
                    "stack": "g",
                    "data": [row.male for row in self.grades],
                },
                {
                    "name": "女",
                    "type": "bar",
                    "stack": "g",
                    "data": [row.female for row in self.grades],
                },
            ],
        }


def basic_facts(*, actor: User, root_id: int | None = None) -> BasicFacts:
    """Return the 基本情况 numbers for everything the actor may see (or under ``root_id``)."""
    by_type = school_count_by_type(actor=actor, root_id=root_id)
    classes = school_class_list(actor=actor)
    if root_id:
        classes = classes.under({root_id})
    rows: dict[int | None, dict[str, int]] = {}
    for count in student_headcount_by_grade_gender(actor=actor, root_id=root_id):
        rows.setdefault(count.grade, {Gender.MALE: 0, Gender.FEMALE: 0})[count.gender] = (
            count.headcount
        )
    grades = [
        GradeRow(
            grade=grade,
            label=Grade(grade).label if grade is not None else "未分班",
            male=counts[Gender.MALE],
            female=counts[Gender.FEMALE],
        )
        for grade, counts in sorted(rows.items(), key=lambda item: (item[0] is None, item[0] or 0))
    ]
    scope_units = (
        list(org_roots_for(actor=actor)) if not scope_for(actor).is_global or not root_id else []
    )
    return BasicFacts(
        scope_units=scope_units,
        schools_by_type=by_type,
        school_count=sum(row.count for row in by_type),
        class_count=classes.count(),
        staff=staff_headcount(actor=actor, root_id=root_id),
        grades=grades,
        student_count=sum(row.total for row in grades),
        student_female=sum(row.female for row in grades),
    )
