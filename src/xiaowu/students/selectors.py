"""Reads of the student register."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count

from xiaowu.accounts.scoping import scope_for, unit_subtree
from xiaowu.students.models import Student, StudentQuerySet

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


@dataclass(frozen=True)
class GradeGenderCount:
    grade: int | None
    gender: str
    headcount: int


def student_aggregate_base(*, actor: User, root_id: int | None = None) -> StudentQuerySet:
    """Return enrolled students counted in the actor's *organisational* scope.

    Aggregate numbers (no names) follow the organisational scope, so a teacher's dashboard
    shows the whole school's headcount while the student records themselves stay limited
    by ``Student.objects.visible_to`` (relationship scope).
    """
    scope = scope_for(actor)
    students = Student.objects.enrolled()
    if not scope.is_global:
        students = (
            students.filter(school__in=unit_subtree(scope.org_roots))
            if scope.org_roots
            else students.none()
        )
    if root_id:
        students = students.filter(school__in=unit_subtree({root_id}))
    return students


def student_headcount_by_grade_gender(
    *, actor: User, root_id: int | None = None
) -> list[GradeGenderCount]:
    rows = (
        student_aggregate_base(actor=actor, root_id=root_id)
        .values("school_class__grade", "gender")
        .annotate(n=Count("pk"))
        .order_by("school_class__grade", "gender")
    )
    return [
        GradeGenderCount(grade=r["school_class__grade"], gender=r["gender"], headcount=r["n"])
        for r in rows
    ]


def student_children_of(*, guardian: User) -> StudentQuerySet:
    """Return the guardian's own children (the only students a 家长 sees)."""
    return (
        Student.objects.visible_to(guardian)
        .filter(guardianships__guardian=guardian)
        .select_related("school", "school_class")
    )
