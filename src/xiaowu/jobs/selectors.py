"""Reads of background jobs, always through ``Job.objects.visible_to``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone

from xiaowu.accounts.scoping import has_perm_at
from xiaowu.jobs.models import LEADER_PERM, Job, JobQuerySet, JobStatus
from xiaowu.jobs.registry import runner_module
from xiaowu.jobs.watchdog import process_alive

if TYPE_CHECKING:
    from xiaowu.accounts.models import User

# A queued job nobody picked up after this long gets a hint that no worker may be running.
WAITING_NOTICE_AFTER = timedelta(seconds=30)


def stale_after() -> timedelta:
    """How long a job on another host may go without a heartbeat before it counts as dead."""
    return timedelta(seconds=settings.XIAOWU_JOB_STALE_SECONDS)


def job_list(*, actor: User, mine_only: bool = True) -> JobQuerySet:
    jobs = Job.objects.visible_to(actor)
    if mine_only:
        jobs = jobs.filter(started_by_id=actor.pk)
    return jobs.select_related("unit", "started_by")


def job_get(*, actor: User, job_id: int) -> Job:
    """Return the job, or raise Http404 when the actor may not see it."""
    return get_object_or_404(job_list(actor=actor, mine_only=False), pk=job_id)


def job_can_cancel(*, actor: User, job: Job) -> bool:
    if not job.is_active:
        return False
    return job.started_by_id == actor.pk or has_perm_at(actor, LEADER_PERM, job.unit_id)


def job_result_check(*, actor: User, job: Job) -> None:
    """Check again, now, that ``actor`` may have this job's result (the runner's own check);
    raise PermissionDenied or ValidationError otherwise."""
    runner_module(job.kind).check(actor=actor, unit=job.unit, params=job.params)


def job_stale_reason(job: Job, *, now: datetime | None = None) -> str:
    """Return why a running job is dead (its worker crashed or stopped answering), or ""."""
    if job.status != JobStatus.RUNNING:
        return ""
    alive = process_alive(job.worker_host, job.worker_pid, job.worker_process_start)
    if alive is False:
        return (
            "执行任务的后台进程已意外退出（可能被系统终止或服务已重启），任务未完成。请重新提交。"
        )
    if alive is None and job.heartbeat_at is not None:
        limit = stale_after()
        if (now or timezone.now()) - job.heartbeat_at > limit:
            minutes = max(1, round(limit.total_seconds() / 60))
            return f"执行任务的后台进程已超过 {minutes} 分钟没有响应，任务视为失败。请重新提交。"
    return ""


def job_waiting_notice(job: Job, *, now: datetime | None = None) -> str:
    """A hint for a job that has been queued for a while: is a worker running at all?"""
    if job.status != JobStatus.QUEUED:
        return ""
    if (now or timezone.now()) - job.created_at < WAITING_NOTICE_AFTER:
        return ""
    return (
        "任务排队已超过 30 秒仍未开始：可能前面还有任务，或后台进程没有运行"
        "（xiaowu serve 会自动启动它；单独部署时请运行 xiaowu worker）。"
    )
