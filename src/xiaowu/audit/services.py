"""Write audit rows. Every service that changes data calls ``audit_record`` in its transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connection, models, transaction
from django.utils import timezone

from xiaowu.accounts.roles import Perm, Role
from xiaowu.accounts.scoping import has_perm_at, scope_for
from xiaowu.audit.models import AuditAction, AuditEvent
from xiaowu.core.context import current_request_meta

if TYPE_CHECKING:
    from xiaowu.accounts.models import User

# A constant key for PostgreSQL's advisory lock that serialises appends to the hash chain.
_CHAIN_LOCK_KEY = 7_152_003


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(
    instance: models.Model,
    fields: Iterable[str],
    masked: Mapping[str, Callable[[str], str]] | None = None,
) -> dict[str, Any]:
    """Return ``{field: value}`` of ``instance``, with sensitive fields passed through a mask."""
    masked = masked or {}
    result: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        value = getattr(instance, getattr(field, "attname", name))
        if name in masked and value:
            value = masked[name](str(value))
        result[name] = _jsonable(value)
    return result


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Return ``{field: {"before": x, "after": y}}`` for the fields whose value changed."""
    return {
        key: {"before": before.get(key), "after": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def row_digest(prev_hash: str, event: AuditEvent) -> str:
    payload = json.dumps(
        {
            "prev": prev_hash,
            "at": event.at.isoformat(),
            "actor": event.actor_id,
            "action": event.action,
            "event": event.event,
            "target": [event.target_type, event.target_id],
            "unit": event.org_unit_id,
            "changes": event.changes,
            "outcome": event.outcome,
        },
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@transaction.atomic
def audit_record(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    event: str,
    target: models.Model | None = None,
    org_unit_id: int | None = None,
    changes: Mapping[str, Any] | None = None,
    outcome: str = "success",
    actor_label: str = "",
) -> AuditEvent:
    """Append one audit row, chained to the previous row's hash.

    Runs inside the caller's transaction, so that when the audit write fails the audited
    action fails with it (security.md AUD-05).
    """
    if action not in AuditAction.values:
        raise ValueError(f"Unknown audit action {action!r}")
    meta = current_request_meta.get()
    user = actor if actor is not None and actor.is_authenticated else None
    roles = ""
    if user is not None:
        roles = ",".join(sorted(Role(role).label for role in scope_for(user).roles()))
        actor_label = actor_label or f"{user.full_name}（{user.username}）"
    row = AuditEvent(
        at=timezone.now(),
        actor_id=user.pk if user is not None else None,
        actor_label=actor_label[:120],
        actor_roles=roles[:200],
        org_unit_id=org_unit_id,
        action=action,
        event=event,
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:200] if target is not None else "",
        changes=dict(changes or {}),
        outcome=outcome,
        ip_address=meta.ip_address,
        request_id=meta.request_id,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    prev = AuditEvent.objects.order_by("-id").values_list("row_hash", flat=True).first() or ""
    row.prev_hash = prev
    # ``changes`` must hash the same before and after a JSON round trip through the database.
    row.changes = json.loads(json.dumps(row.changes, default=_jsonable, ensure_ascii=False))
    row.row_hash = row_digest(prev, row)
    row.save(force_insert=True)
    return row


@transaction.atomic
def sensitive_view_audit(
    *,
    actor: User,
    target: models.Model,
    event: str,
    org_unit_id: int | None,
    changes: Mapping[str, Any] | None = None,
) -> None:
    """Record that ``actor`` saw an unmasked value of ``target`` (PRIV-05, AUD-01)."""
    audit_record(
        actor=actor,
        action=AuditAction.VIEW_SENSITIVE,
        event=event,
        target=target,
        org_unit_id=org_unit_id,
        changes=changes,
    )


def sensitive_value_reveal(
    *,
    actor: User,
    target: models.Model,
    value: str,
    unit_id: int,
    event: str,
    denied_message: str,
    audit_unit_id: int | None = None,
    changes: Mapping[str, Any] | None = None,
) -> str:
    """Return ``value`` unmasked if ``actor`` holds pii.unmask at ``unit_id`` (or above), after
    recording the access; refuse otherwise. The one place every unmask goes through."""
    if not has_perm_at(actor, Perm.PII_UNMASK, unit_id):
        raise PermissionDenied(denied_message)
    sensitive_view_audit(
        actor=actor,
        target=target,
        event=event,
        org_unit_id=audit_unit_id if audit_unit_id is not None else unit_id,
        changes=changes,
    )
    return value
