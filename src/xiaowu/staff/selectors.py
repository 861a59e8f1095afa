"""Reads of staff files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, Q

from xiaowu.accounts.scoping import scope_for, unit_subtree
from xiaowu.core.models import Gender
from xiaowu.staff.models import PostCategory, StaffMember

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


@dataclass(frozen=True)
class StaffHeadcount:
    total: int
    female: int
    full_time_teachers: int
    full_time_teachers_female: int


def staff_headcount(*, actor: User, root_id: int | None = None) -> StaffHeadcount:
    """Return 现有教职工 in the actor's organisational scope (or under ``root_id``)."""
    scope = scope_for(actor)
    staff = StaffMember.objects.current()
    if not scope.is_global:
        staff = (
            staff.filter(org_unit__in=unit_subtree(scope.org_roots))
            if scope.org_roots
            else staff.none()
        )
    if root_id:
        staff = staff.filter(org_unit__in=unit_subtree({root_id}))
    female = Q(gender=Gender.FEMALE)
    teacher = Q(post_category=PostCategory.FULL_TIME_TEACHER)
    counts = staff.aggregate(
        total=Count("pk"),
        female=Count("pk", filter=female),
        teachers=Count("pk", filter=teacher),
        teachers_female=Count("pk", filter=teacher & female),
    )
    return StaffHeadcount(
        total=counts["total"],
        female=counts["female"],
        full_time_teachers=counts["teachers"],
        full_time_teachers_female=counts["teachers_female"],
    )
