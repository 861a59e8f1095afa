"""Read audit rows, always through ``visible_to``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q

from xiaowu.audit.models import AuditEvent, AuditEventQuerySet
from xiaowu.audit.services import row_digest

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


def audit_event_list(
    *,
    actor: User,
    action: str = "",
    search: str = "",
    target_type: str = "",
    target_id: str = "",
) -> AuditEventQuerySet:
    events = AuditEvent.objects.visible_to(actor)
    if action:
        events = events.filter(action=action)
    if target_type:
        events = events.filter(target_type=target_type)
    if target_id:
        events = events.filter(target_id=target_id)
    if search:
        events = events.filter(
            Q(actor_label__icontains=search)
            | Q(event__icontains=search)
            | Q(target_label__icontains=search)
        )
    return events.order_by("-id")


@dataclass(frozen=True)
class ChainCheck:
    checked: int
    first_broken_id: int | None


def audit_chain_verify(*, batch_size: int = 5000) -> ChainCheck:
    """Recompute the hash chain over every row; report the first row that does not match."""
    return chain_check(AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size))


def chain_check(events: Iterable[AuditEvent]) -> ChainCheck:
    """Check that each event links to the previous one and that its own hash is right."""
    prev = ""
    checked = 0
    for event in events:
        if event.prev_hash != prev or row_digest(prev, event) != event.row_hash:
            return ChainCheck(checked=checked, first_broken_id=event.pk)
        prev = event.row_hash
        checked += 1
    return ChainCheck(checked=checked, first_broken_id=None)
