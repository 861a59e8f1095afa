"""Start background work from the summary pages (the job page shows its progress)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from xiaowu.accounts.models import User
from xiaowu.accounts.permissions import ensure_perm
from xiaowu.accounts.roles import Perm
from xiaowu.jobs.services import job_enqueue
from xiaowu.reports import jobs
from xiaowu.reports.selectors import work_summary_get


@login_required
@require_POST
def summary_job_create_view(request: HttpRequest, summary_id: int) -> HttpResponse:
    """后台生成: queue the summary's Word file (公文 layout, or the chosen unit template) as a
    job and go to its progress page."""
    actor: User = request.user  # type: ignore[assignment]
    summary = work_summary_get(actor=actor, summary_id=summary_id)
    ensure_perm(actor, Perm.REPORTS_VIEW)
    chosen = request.POST.get("template", "")
    try:
        template = jobs.summary_template(summary, int(chosen) if chosen.isdigit() else chosen)
        job = job_enqueue(
            actor=actor,
            kind=jobs.KIND,
            unit=summary.org_unit,
            params=jobs.job_params(summary, template),
            title=jobs.job_title(summary, template),
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("reports:summary_detail", summary_id=summary.pk)
    return redirect("jobs:detail", job_id=job.pk)
