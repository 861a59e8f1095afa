"""Reads of accounts, always through ``visible_to``."""

from __future__ import annotations

from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404

from xiaowu.accounts.models import ApiToken, RoleAssignment, User, UserQuerySet
from xiaowu.accounts.roles import ROLE_SPECS, Perm, Role
from xiaowu.accounts.scoping import max_rank, scope_for, unit_subtree
from xiaowu.core.search import name_search
from xiaowu.org.models import OrgUnit, OrgUnitQuerySet


def user_list(
    *,
    actor: User,
    search: str = "",
    role: str = "",
    unit_id: int | None = None,
    is_active: bool | None = None,
) -> UserQuerySet:
    users = User.objects.visible_to(actor)
    # Role assignments are scoped too: a visible user's roles in other schools stay hidden.
    assignments = RoleAssignment.objects.visible_to(actor)
    if search:
        users = users.filter(
            name_search(search, name_field="full_name") | Q(username__icontains=search.strip())
        )
    if role or unit_id:
        matching = assignments
        if role:
            matching = matching.filter(role=role)
        if unit_id:
            matching = matching.filter(org_unit__in=unit_subtree({unit_id}))
        users = users.filter(pk__in=matching.values("user_id"))
    if is_active is not None:
        users = users.filter(is_active=is_active)
    return users.prefetch_related(
        Prefetch("role_assignments", queryset=assignments.select_related("org_unit"))
    )


def user_get(*, actor: User, user_id: int) -> User:
    """Return the account, or raise Http404 when it is outside the actor's scope."""
    return get_object_or_404(User.objects.visible_to(actor), pk=user_id)


def user_role_assignments(*, actor: User, user: User) -> list[RoleAssignment]:
    return list(
        RoleAssignment.objects.visible_to(actor)
        .filter(user=user)
        .select_related("org_unit", "org_unit__school")
        .order_by("valid_from", "role")
    )


def role_assignment_get(*, actor: User, assignment_id: int) -> RoleAssignment:
    return get_object_or_404(
        RoleAssignment.objects.visible_to(actor).select_related("user", "org_unit"),
        pk=assignment_id,
    )


def grantable_roles(*, actor: User) -> list[tuple[str, str]]:
    """Return the (value, label) roles the actor may grant: those ranked below their own."""
    scope = scope_for(actor)
    if not scope.has_perm(Perm.ACCOUNTS_MANAGE):
        return []
    own = max_rank(actor)
    return [
        (value, label)
        for value, label in Role.choices
        if scope.is_global or ROLE_SPECS[value].rank < own
    ]


def grantable_units(*, actor: User) -> OrgUnitQuerySet:
    """Return the active units under which the actor may manage accounts."""
    scope = scope_for(actor)
    if scope.is_global:
        return OrgUnit.objects.filter(is_active=True)
    roots = scope.roots_with_perm(Perm.ACCOUNTS_MANAGE)
    return OrgUnit.objects.under(roots).filter(is_active=True)


def api_token_list(*, actor: User) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=actor).order_by("-created_at"))
