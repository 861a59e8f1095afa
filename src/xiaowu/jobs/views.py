"""Background-job pages: 我的任务 (list), one job with its progress bar (polled by HTMX),
cancel, and the result download (permission checked again)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from xiaowu.accounts.models import User
from xiaowu.accounts.scoping import scope_for
from xiaowu.core.listing import listing
from xiaowu.jobs.models import LEADER_PERM, Job, JobStatus
from xiaowu.jobs.registry import kind_label
from xiaowu.jobs.selectors import (
    job_can_cancel,
    job_get,
    job_list,
    job_result_check,
    job_stale_reason,
    job_waiting_notice,
)
from xiaowu.jobs.services import (
    job_cancel,
    job_fail_stale,
    job_result_download_record,
    jobs_reap_stale,
)

# htmx stops polling an element when the answer has this status (and still swaps it in).
HTMX_STOP_POLLING = 286
JOB_SORTS = {
    "created_at": ("提交时间", "created_at"),
    "status": ("状态", "status"),
    "unit": ("单位", "unit__code"),
}


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _current(job: Job) -> Job:
    """Fail the job if its worker died; return it as it is now."""
    reason = job_stale_reason(job)
    if reason:
        job_fail_stale(job=job, reason=reason)
    return job


def _context(request: HttpRequest, job: Job) -> dict[str, object]:
    actor = _actor(request)
    return {
        "job": job,
        "kind_label": kind_label(job.kind),
        "waiting_notice": job_waiting_notice(job),
        "can_cancel": job_can_cancel(actor=actor, job=job),
        "links": (job.result or {}).get("links", []) if job.status == JobStatus.SUCCEEDED else [],
    }


@login_required
@require_GET
def job_list_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    is_leader = scope_for(actor).has_perm(LEADER_PERM)
    show_all = is_leader and request.GET.get("scope") == "all"
    jobs = job_list(actor=actor, mine_only=not show_all)
    jobs_reap_stale(jobs=jobs.filter(status=JobStatus.RUNNING))
    context = {
        "listing": listing(request, jobs, sortable=JOB_SORTS, default_sort="-created_at"),
        "show_all": show_all,
        "is_leader": is_leader,
        "labels": {kind: kind_label(kind) for kind in set(jobs.values_list("kind", flat=True))},
    }
    return render(request, "jobs/job_list.html", context)


@login_required
@require_GET
def job_detail_view(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _current(job_get(actor=_actor(request), job_id=job_id))
    return render(request, "jobs/job_detail.html", _context(request, job))


@login_required
@require_GET
def job_progress_view(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress panel alone: HTMX replaces it every 2 s while the job is active."""
    job = _current(job_get(actor=_actor(request), job_id=job_id))
    response = render(request, "jobs/_job_progress.html", _context(request, job))
    if request.htmx and not job.is_active:  # type: ignore[attr-defined]
        response.status_code = HTMX_STOP_POLLING
    return response


@login_required
@require_POST
def job_cancel_view(request: HttpRequest, job_id: int) -> HttpResponse:
    actor = _actor(request)
    job = job_get(actor=actor, job_id=job_id)
    try:
        job = job_cancel(actor=actor, job=job)
    except ValidationError as exc:
        messages.info(request, "；".join(exc.messages))
    else:
        if job.status == JobStatus.CANCELLED:
            messages.success(request, "任务已取消。")
        else:
            messages.info(request, "已请求取消，任务将在下一步停止。")
    return redirect("jobs:detail", job_id=job.pk)


@login_required
@require_GET
def job_download_view(request: HttpRequest, job_id: int) -> FileResponse:
    actor = _actor(request)
    job = job_get(actor=actor, job_id=job_id)
    if not job.has_file:
        raise Http404("该任务没有可下载的结果文件。")
    try:
        job_result_check(actor=actor, job=job)
    except ValidationError as exc:
        raise PermissionDenied("；".join(exc.messages)) from exc
    try:
        handle = job.result_file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("结果文件已不存在。") from exc
    job_result_download_record(actor=actor, job=job)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=job.result_filename,
        content_type=job.result_content_type or "application/octet-stream",
    )
