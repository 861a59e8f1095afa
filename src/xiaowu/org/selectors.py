"""Reads of the organisation tree. Every function starts from ``visible_to(actor)``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone

from xiaowu.accounts.models import RoleAssignment
from xiaowu.accounts.roles import Role
from xiaowu.accounts.scoping import unit_ancestors
from xiaowu.core.search import name_search
from xiaowu.org.models import (
    AllianceMembership,
    OrgUnit,
    OrgUnitQuerySet,
    ResearchCluster,
    SchoolAlliance,
    SchoolType,
    Term,
    UnitKind,
)

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


def org_unit_list(
    *,
    actor: User,
    kind: str = "",
    school_id: int | None = None,
    under_id: int | None = None,
    search: str = "",
    include_inactive: bool = False,
) -> OrgUnitQuerySet:
    units = OrgUnit.objects.visible_to(actor)
    if not include_inactive:
        units = units.filter(is_active=True)
    if kind:
        units = units.filter(kind=kind)
    if school_id:
        units = units.filter(school_id=school_id)
    if under_id:
        units = units.under({under_id})
    if search:
        units = units.filter(name_search(search) | Q(code__icontains=search.strip()))
    return units.select_related("parent", "school")


def org_unit_get(*, actor: User, unit_id: int) -> OrgUnit:
    """Return the unit, or raise Http404 when it is outside the actor's scope."""
    return get_object_or_404(
        OrgUnit.objects.visible_to(actor).select_related("parent", "school"), pk=unit_id
    )


def org_unit_children(*, actor: User, unit: OrgUnit) -> OrgUnitQuerySet:
    return (
        OrgUnit.objects.visible_to(actor)
        .filter(parent=unit)
        .annotate(child_count=Count("children"))
    )


def org_unit_ancestors(*, actor: User, unit: OrgUnit) -> list[OrgUnit]:
    """Return the visible units above ``unit``, root first (for breadcrumbs), in one query."""
    return list(
        OrgUnit.objects.visible_to(actor)
        .filter(pk__in=unit_ancestors(unit.pk))
        .exclude(pk=unit.pk)
        .order_by("depth")
    )


def org_roots_for(*, actor: User) -> OrgUnitQuerySet:
    """Return the topmost visible units: where the actor's tree view starts."""
    visible = OrgUnit.objects.visible_to(actor)
    return visible.exclude(parent__in=visible.values("pk")).filter(is_active=True)


def school_class_list(
    *,
    actor: User,
    school_id: int | None = None,
    grade: int | None = None,
    search: str = "",
) -> OrgUnitQuerySet:
    classes = org_unit_list(
        actor=actor, kind=UnitKind.SCHOOL_CLASS, school_id=school_id, search=search
    )
    if grade is not None:
        classes = classes.filter(grade=grade)
    return classes


def school_list(*, actor: User) -> OrgUnitQuerySet:
    return (
        OrgUnit.objects.visible_to(actor)
        .schools()
        .filter(is_active=True)
        .order_by("sort_order", "code")
    )


@dataclass(frozen=True)
class SchoolTypeCount:
    school_type: str
    label: str
    count: int


def school_count_by_type(*, actor: User, root_id: int | None = None) -> list[SchoolTypeCount]:
    """Return 学校数 by 学校类型 in the actor's scope (or under ``root_id``), in a fixed order."""
    schools = OrgUnit.objects.visible_to(actor).schools().filter(is_active=True)
    if root_id:
        schools = schools.under({root_id})
    counts = dict(
        schools.values_list("school_type").annotate(n=Count("pk")).values_list("school_type", "n")
    )
    return [
        SchoolTypeCount(school_type=value, label=label, count=counts[value])
        for value, label in SchoolType.choices
        if counts.get(value)
    ]


def term_current(*, on: object = None) -> Term | None:
    """Return the term containing today (or ``on``), else the latest term that has started."""
    day = on or timezone.localdate()
    term = (
        Term.objects.select_related("school_year")
        .filter(start_on__lte=day, end_on__gte=day)
        .first()
    )
    if term is not None:
        return term
    return (
        Term.objects.select_related("school_year")
        .filter(start_on__lte=day)
        .order_by("-start_on")
        .first()
    )


def term_list() -> list[Term]:
    return list(Term.objects.select_related("school_year").order_by("-start_on"))


def school_alliance_list(*, actor: User) -> list[SchoolAlliance]:
    return list(
        SchoolAlliance.objects.visible_to(actor)
        .select_related("owner", "lead_school")
        .annotate(member_count=Count("memberships", distinct=True))
        .order_by("code")
    )


def school_alliance_get(*, actor: User, alliance_id: int) -> SchoolAlliance:
    return get_object_or_404(
        SchoolAlliance.objects.visible_to(actor).select_related("owner", "lead_school"),
        pk=alliance_id,
    )


def school_alliance_members(*, alliance: SchoolAlliance) -> list[AllianceMembership]:
    return list(alliance.memberships.select_related("school").order_by("school__code"))


def research_cluster_list(*, actor: User) -> list[ResearchCluster]:
    return list(
        ResearchCluster.objects.visible_to(actor)
        .select_related("owner", "lead_school")
        .prefetch_related("member_schools")
        .order_by("code")
    )


def unit_people(*, actor: User, unit: OrgUnit) -> list[RoleAssignment]:
    """Return the active role holders at ``unit`` (e.g. a class's 班主任 and 任课教师)."""
    return list(
        RoleAssignment.objects.visible_to(actor)
        .active()
        .filter(org_unit=unit)
        .exclude(role=Role.GUARDIAN)  # parents are not the unit's people
        .select_related("user")
        .order_by("role", "user__name_pinyin")
    )
