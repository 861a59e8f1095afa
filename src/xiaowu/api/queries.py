"""API-only reads that the domain selectors do not (yet) offer.

Every function starts from a domain selector or from ``Model.objects.visible_to(actor)``;
nothing here looks a row up by id without the actor's scope. Counts are aggregates and
follow the organisational scope, like ``students.selectors.student_aggregate_base``: they
are computed only for units the actor may see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from xiaowu.accounts.models import RoleAssignment, RoleAssignmentQuerySet, UserQuerySet
from xiaowu.accounts.roles import Role
from xiaowu.accounts.scoping import unit_subtree
from xiaowu.accounts.selectors import user_get, user_list
from xiaowu.api.schemas import HEAD_TEACHERS_ATTR, ROLES_ATTR
from xiaowu.org.models import OrgUnit, OrgUnitQuerySet, SchoolType, UnitKind
from xiaowu.org.selectors import org_unit_list, school_class_list, school_list
from xiaowu.students.selectors import student_aggregate_base

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


def _count(rows: QuerySet[Any], group_by: str) -> Coalesce:
    """Return ``COALESCE((SELECT COUNT(*) FROM rows WHERE group_by = outer.pk), 0)``."""
    counted = (
        rows.filter(**{group_by: OuterRef("pk")})
        .order_by()
        .values(group_by)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _role_assignments(actor: User) -> RoleAssignmentQuerySet:
    return RoleAssignment.objects.visible_to(actor).select_related("org_unit")


def _visible_roles_prefetch(actor: User) -> Prefetch[Any]:
    return Prefetch(
        "role_assignments",
        queryset=_role_assignments(actor).order_by("valid_from", "role", "pk"),
        to_attr=ROLES_ATTR,
    )


# --------------------------------------------------------------------------- accounts


def me_role_assignments(*, actor: User) -> list[RoleAssignment]:
    """Return the actor's own role assignments that are in force today."""
    return list(
        _role_assignments(actor)
        .active()
        .filter(user=actor, org_unit__is_active=True)
        .order_by("role", "org_unit__code")
    )


def api_user_list(
    *, actor: User, search: str = "", role: str = "", unit_id: int | None = None
) -> UserQuerySet:
    """Return the accounts the actor may see, each with only the role assignments they may see.

    The role and unit filters match assignments inside the actor's scope only, so that a
    filter cannot reveal where else a visible user holds a role.
    """
    users = user_list(actor=actor, search=search)
    if role or unit_id:
        assignments = RoleAssignment.objects.visible_to(actor)
        if role:
            assignments = assignments.filter(role=role)
        if unit_id:
            assignments = assignments.filter(org_unit__in=unit_subtree({unit_id}))
        users = users.filter(pk__in=assignments.values("user_id"))
    # Replace the selector's prefetch of *all* assignments with the visible ones.
    return users.prefetch_related(None).prefetch_related(_visible_roles_prefetch(actor))


def api_user_get(*, actor: User, user_id: int) -> User:
    """Return the account (Http404 outside the actor's scope) with its visible assignments."""
    user = user_get(actor=actor, user_id=user_id)
    prefetch_related_objects([user], _visible_roles_prefetch(actor))
    return user


# --------------------------------------------------------------------------- org


def _with_class_facts(*, actor: User, classes: OrgUnitQuerySet) -> OrgUnitQuerySet:
    head_teachers = (
        RoleAssignment.objects.visible_to(actor)
        .active()
        .filter(role=Role.HEAD_TEACHER, user__is_active=True)
        .select_related("user")
        .order_by("user__name_pinyin", "user_id")
    )
    return classes.annotate(
        student_count=_count(student_aggregate_base(actor=actor), "school_class"),
    ).prefetch_related(
        Prefetch("role_assignments", queryset=head_teachers, to_attr=HEAD_TEACHERS_ATTR)
    )


def api_class_list(
    *, actor: User, school_id: int | None = None, grade: int | None = None, search: str = ""
) -> OrgUnitQuerySet:
    classes = school_class_list(actor=actor, school_id=school_id, grade=grade, search=search)
    # By school, then 年级 and 班号 (the selector orders by tree depth).
    classes = classes.order_by("school__code", "grade", "class_number", "code")
    return _with_class_facts(actor=actor, classes=classes)


def api_class_get(*, actor: User, class_id: int) -> OrgUnit:
    """Return the class, or raise Http404 when it is no class or outside the actor's scope."""
    classes = org_unit_list(actor=actor, kind=UnitKind.SCHOOL_CLASS, include_inactive=True)
    return get_object_or_404(_with_class_facts(actor=actor, classes=classes), pk=class_id)


def api_school_list(
    *, actor: User, school_type: SchoolType | None = None, search: str = ""
) -> OrgUnitQuerySet:
    schools = school_list(actor=actor)
    if school_type:
        schools = schools.filter(school_type=school_type)
    if search:
        # The same name/pinyin/code search as the org-unit list, restricted to these schools.
        schools = schools.filter(pk__in=org_unit_list(actor=actor, search=search).values("pk"))
    active_classes = OrgUnit.objects.visible_to(actor).classes().filter(is_active=True)
    return schools.annotate(
        class_count=_count(active_classes, "school"),
        student_count=_count(student_aggregate_base(actor=actor), "school"),
    )
