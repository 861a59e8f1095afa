"""Reads of staff files."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from xiaowu.accounts.scoping import scope_for, unit_subtree
from xiaowu.core.models import Gender
from xiaowu.core.search import name_search
from xiaowu.staff.models import (
    LEAVING_STATUSES,
    PostCategory,
    StaffHonour,
    StaffMember,
    StaffMemberQuerySet,
    StaffStatusPeriod,
    TeachingAssignment,
)

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


def staff_list(
    *,
    actor: User,
    search: str = "",
    unit_id: int | None = None,
    status: str = "",
    post_category: str = "",
    subject: str = "",
    current_only: bool = False,
) -> StaffMemberQuerySet:
    staff = StaffMember.objects.visible_to(actor)
    if search:
        staff = staff.filter(name_search(search))
    if unit_id:
        staff = staff.filter(org_unit__in=unit_subtree({unit_id}))
    if status:
        staff = staff.filter(status=status)
    if post_category:
        staff = staff.filter(post_category=post_category)
    if subject:
        staff = staff.filter(subject=subject)
    if current_only:
        staff = staff.current()
    return staff.select_related("org_unit", "org_unit__school", "user")


def staff_get(*, actor: User, staff_id: int) -> StaffMember:
    """Return the staff member, or raise Http404 when outside the actor's scope."""
    return get_object_or_404(
        StaffMember.objects.visible_to(actor).select_related("org_unit", "user"), pk=staff_id
    )


def staff_status_history(*, staff: StaffMember) -> list[StaffStatusPeriod]:
    return list(staff.status_periods.order_by("start_on", "id"))


def staff_honour_list(*, staff: StaffMember) -> list[StaffHonour]:
    return list(staff.honours.order_by("-awarded_on", "id"))


@dataclass(frozen=True)
class AwardedHonour:
    """One honour awarded to a staff member, with what a summary names it by."""

    staff_name: str
    school_name: str | None  # None for the staff of a 学区 / 教育局 office
    level: str
    title: str
    title_text: str
    awarded_on: date


def staff_honours_awarded(
    *,
    actor: User,
    levels: Iterable[str],
    start_on: date,
    end_on: date,
    root_id: int | None = None,
) -> list[AwardedHonour]:
    """Honours of ``levels`` awarded with start_on ≤ awarded_on ≤ end_on to staff the actor may
    see (under ``root_id``), oldest first, in one query — however many schools they are in."""
    honours = StaffHonour.objects.visible_to(actor).filter(
        level__in=list(levels), awarded_on__gte=start_on, awarded_on__lte=end_on
    )
    if root_id:
        honours = honours.filter(staff__org_unit__in=unit_subtree({root_id}))
    rows = honours.order_by("awarded_on", "staff_id", "pk").values_list(
        "staff__name",
        "staff__org_unit__school__name",
        "level",
        "title",
        "title_text",
        "awarded_on",
    )
    return [AwardedHonour(*row) for row in rows]


def teaching_assignment_list(
    *,
    actor: User,
    term_id: int | None = None,
    class_id: int | None = None,
    staff_id: int | None = None,
    school_id: int | None = None,
) -> QuerySet[TeachingAssignment]:
    """Teaching assignments of staff the actor may see (or at classes the actor may see)."""
    assignments = TeachingAssignment.objects.visible_to(actor)
    if term_id:
        assignments = assignments.filter(term_id=term_id)
    if class_id:
        assignments = assignments.filter(school_class_id=class_id)
    if staff_id:
        assignments = assignments.filter(staff_id=staff_id)
    if school_id:
        assignments = assignments.filter(school_class__school_id=school_id)
    return assignments.select_related("staff", "school_class", "term", "term__school_year")


def teaching_assignment_get(*, actor: User, assignment_id: int) -> TeachingAssignment:
    return get_object_or_404(teaching_assignment_list(actor=actor), pk=assignment_id)


def staff_headcount_by_status(*, actor: User, root_id: int | None = None) -> dict[str, int]:
    """Staff belonging to the unit now, by 人事状态 (retired and transferred-out excluded)."""
    scope = scope_for(actor)
    staff = StaffMember.objects.exclude(status__in=LEAVING_STATUSES)
    if not scope.is_global:
        staff = (
            staff.filter(org_unit__in=unit_subtree(scope.org_roots))
            if scope.org_roots
            else staff.none()
        )
    if root_id:
        staff = staff.filter(org_unit__in=unit_subtree({root_id}))
    return dict(staff.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
