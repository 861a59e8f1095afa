"""The audit-log page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from xiaowu.accounts.models import User
from xiaowu.accounts.permissions import require_perm
from xiaowu.accounts.roles import Perm
from xiaowu.audit.models import AuditAction
from xiaowu.audit.selectors import audit_event_list
from xiaowu.core.listing import listing

AUDIT_SORTS = {"at": ("时间", "id"), "event": ("事件", "event"), "actor": ("操作人", "actor_label")}


@require_perm(Perm.AUDIT_VIEW)
@require_GET
def event_list_view(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    action = request.GET.get("action", "")
    events = audit_event_list(
        actor=actor,
        action=action if action in AuditAction.values else "",
        search=request.GET.get("q", ""),
        target_type=request.GET.get("target_type", ""),
        target_id=request.GET.get("target_id", ""),
    )
    context = {
        "listing": listing(request, events, sortable=AUDIT_SORTS, default_sort="-at", page_size=50),
        "actions": AuditAction.choices,
        "filters": {"q": request.GET.get("q", ""), "action": action},
    }
    template = "audit/_event_table.html" if request.htmx else "audit/event_list.html"  # type: ignore[attr-defined]
    return render(request, template, context)
