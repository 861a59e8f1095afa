"""The one scoping layer: what a user may see, computed from their active role assignments.

Every ``visible_to(actor)`` queryset method starts from ``scope_for(actor)``. The scope is
computed once per user object (i.e. once per request) and is fail-closed: an anonymous or
inactive user, or one without active assignments, sees nothing.

Models are looked up through the app registry because ``accounts.models`` and ``org.models``
both import this module for their ``visible_to`` methods.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db.models import QuerySet
from django.utils import timezone

from xiaowu.accounts.roles import ROLE_SPECS, Perm, Role, ScopeRule

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from xiaowu.accounts.models import User

_CACHE_ATTR = "_xiaowu_scope"


@dataclass(frozen=True)
class Grant:
    """One active role assignment, reduced to what scoping needs."""

    role: str
    unit_id: int
    school_id: int | None


@dataclass(frozen=True)
class Scope:
    user_id: int | None
    is_global: bool = False
    grants: tuple[Grant, ...] = ()
    org_roots: frozenset[int] = frozenset()
    record_roots: frozenset[int] = frozenset()
    sees_own_children: bool = False
    perms: frozenset[str] = field(default_factory=frozenset)

    def has_perm(self, perm: Perm) -> bool:
        return self.is_global or perm in self.perms

    def roles(self) -> frozenset[str]:
        return frozenset(grant.role for grant in self.grants)

    def roots_with_perm(self, perm: Perm) -> frozenset[int]:
        """Return the units under which ``perm`` is held (the unit itself, not widened)."""
        return frozenset(
            _root(grant, ROLE_SPECS[grant.role].org_scope)
            for grant in self.grants
            if perm in ROLE_SPECS[grant.role].perms
        ) - {0}


EMPTY_SCOPE = Scope(user_id=None)


def _root(grant: Grant, rule: ScopeRule) -> int:
    if rule is ScopeRule.UNIT:
        return grant.unit_id
    if rule is ScopeRule.SCHOOL:
        return grant.school_id or grant.unit_id
    return 0


def compute_scope(user: User | AnonymousUser) -> Scope:
    """Compute the scope of ``user`` from the database (uncached)."""
    if not user.is_authenticated or not user.is_active or user.pk is None:
        return EMPTY_SCOPE
    role_assignment = apps.get_model("accounts", "RoleAssignment")
    rows = (
        role_assignment.objects.active_on(timezone.localdate())
        .filter(user_id=user.pk, org_unit__is_active=True)
        .values_list("role", "org_unit_id", "org_unit__school_id", "org_unit__parent_id")
    )
    grants: list[Grant] = []
    is_global = bool(user.is_superuser)
    for role, unit_id, school_id, parent_id in rows:
        grants.append(Grant(role=role, unit_id=unit_id, school_id=school_id))
        # A system administrator at a root bureau administers the whole installation.
        if role == Role.SYSTEM_ADMIN and parent_id is None:
            is_global = True
    org_roots: set[int] = set()
    record_roots: set[int] = set()
    perms: set[str] = set()
    children = False
    for grant in grants:
        spec = ROLE_SPECS[grant.role]
        perms.update(spec.perms)
        if spec.org_scope is not ScopeRule.NONE:
            org_roots.add(_root(grant, spec.org_scope))
        if spec.record_scope is ScopeRule.CHILDREN:
            children = True
        elif spec.record_scope is not ScopeRule.NONE:
            record_roots.add(_root(grant, spec.record_scope))
    return Scope(
        user_id=user.pk,
        is_global=is_global,
        grants=tuple(grants),
        org_roots=frozenset(org_roots),
        record_roots=frozenset(record_roots),
        sees_own_children=children,
        perms=frozenset(perms),
    )


def scope_for(user: User | AnonymousUser) -> Scope:
    """Return the (per user object cached) scope of ``user``."""
    cached = getattr(user, _CACHE_ATTR, None)
    if isinstance(cached, Scope):
        return cached
    scope = compute_scope(user)
    if user.is_authenticated:
        setattr(user, _CACHE_ATTR, scope)
    return scope


def forget_scope(user: User | AnonymousUser) -> None:
    """Drop the cached scope, e.g. after the user's role assignments changed."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def unit_subtree(roots: Iterable[int]) -> QuerySet[Any]:
    """Return a subquery of the ids of all org units under ``roots`` (roots included)."""
    closure = apps.get_model("org", "OrgUnitClosure")
    subquery: QuerySet[Any] = closure.objects.filter(ancestor_id__in=list(roots)).values(
        "descendant_id"
    )
    return subquery


def unit_ancestors(unit_id: int) -> QuerySet[Any]:
    """Return a subquery of the ids of ``unit_id`` and every unit above it."""
    closure = apps.get_model("org", "OrgUnitClosure")
    subquery: QuerySet[Any] = closure.objects.filter(descendant_id=unit_id).values("ancestor_id")
    return subquery


def has_perm_at(user: User | AnonymousUser, perm: Perm, unit_id: int) -> bool:
    """Return True when ``user`` holds ``perm`` at ``unit_id`` or at a unit above it.

    For roles whose organisational scope is the whole school (e.g. 副校长 at a campus), the
    school counts as the place the permission is held.
    """
    scope = scope_for(user)
    if scope.is_global:
        return True
    roots = scope.roots_with_perm(perm)
    if not roots:
        return False
    closure = apps.get_model("org", "OrgUnitClosure")
    return bool(closure.objects.filter(descendant_id=unit_id, ancestor_id__in=list(roots)).exists())


def max_rank(user: User | AnonymousUser) -> int:
    """Return the highest role rank the user holds (100 for a global administrator)."""
    scope = scope_for(user)
    if scope.is_global:
        return 1000
    return max((ROLE_SPECS[grant.role].rank for grant in scope.grants), default=0)


def operator_actor() -> User:
    """Return the actor of operator commands (the ``xiaowu`` CLI run with shell access): an
    unsaved account whose scope is the whole installation. It can never log in."""
    user_model = apps.get_model("accounts", "User")
    operator: User = user_model(username="operator", full_name="命令行", is_superuser=True)
    operator.set_unusable_password()
    setattr(operator, _CACHE_ATTR, Scope(user_id=None, is_global=True))
    return operator
