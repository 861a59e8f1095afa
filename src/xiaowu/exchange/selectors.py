"""Reads for the import/export pages; every lookup starts from ``visible_to(actor)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q
from django.shortcuts import get_object_or_404

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import has_perm_at, scope_for, unit_subtree
from xiaowu.exchange.models import IMPORT_PERMS, ImportBatch, ImportBatchQuerySet, ImportKind
from xiaowu.org.models import OrgUnit, OrgUnitQuerySet

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


def school_with_perm_list(*, actor: User, perm: Perm) -> OrgUnitQuerySet:
    """Return the active schools the actor sees and holds ``perm`` at."""
    schools = OrgUnit.objects.visible_to(actor).schools().filter(is_active=True)
    scope = scope_for(actor)
    if not scope.is_global:
        schools = schools.filter(pk__in=unit_subtree(scope.roots_with_perm(perm)))
    return schools.order_by("sort_order", "code")


def school_get(*, actor: User, school_id: int) -> OrgUnit:
    """Return a school the actor sees, or raise Http404."""
    return get_object_or_404(OrgUnit.objects.visible_to(actor).schools(), pk=school_id)


def school_class_get(*, actor: User, school: OrgUnit, class_id: int) -> OrgUnit:
    """Return an active class of ``school`` that the actor sees, or raise Http404."""
    return get_object_or_404(
        OrgUnit.objects.visible_to(actor).classes().filter(school=school, is_active=True),
        pk=class_id,
    )


def export_class_list(*, actor: User) -> OrgUnitQuerySet:
    """Return the active classes of the schools the actor may export."""
    schools = school_with_perm_list(actor=actor, perm=Perm.STUDENTS_EXPORT)
    return (
        OrgUnit.objects.visible_to(actor)
        .classes()
        .filter(school__in=schools.values("pk"), is_active=True)
        .select_related("school")
        .order_by("school__sort_order", "school__code", "grade", "class_number", "code")
    )


def import_batch_list(*, actor: User) -> ImportBatchQuerySet:
    """Return the batches of schools where the actor may import that kind of file."""
    batches = ImportBatch.objects.visible_to(actor)
    scope = scope_for(actor)
    if not scope.is_global:
        allowed = Q(pk__in=[])
        for kind, perm in IMPORT_PERMS.items():
            roots = scope.roots_with_perm(perm)
            if roots:
                allowed |= Q(kind=kind, school__in=unit_subtree(roots))
        batches = batches.filter(allowed)
    return batches.select_related("school", "created_by").order_by("-created_at", "-id")


def import_batch_get(*, actor: User, batch_id: int) -> ImportBatch:
    """Return a batch of a school in the actor's scope, or raise Http404."""
    return get_object_or_404(
        ImportBatch.objects.visible_to(actor).select_related("school", "created_by"),
        pk=batch_id,
    )


def import_batch_permitted(*, actor: User, batch: ImportBatch) -> bool:
    """Return True when the actor may import that kind of file at the batch's school."""
    return has_perm_at(actor, IMPORT_PERMS[ImportKind(batch.kind)], batch.school_id)
