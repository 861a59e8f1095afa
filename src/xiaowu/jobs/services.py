"""Writes of background jobs: enqueue, cancel, fail a dead job, expire old result files.

Running a job (in the worker) is ``jobs.execution.job_execute``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from xiaowu.accounts.scoping import has_perm_at
from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record
from xiaowu.jobs.models import LEADER_PERM, Job, JobStatus
from xiaowu.jobs.registry import UnknownJobKindError, runner_module
from xiaowu.jobs.runner import RESERVED_PARAMS
from xiaowu.jobs.selectors import job_stale_reason
from xiaowu.jobs.tasks import job_run
from xiaowu.org.models import OrgUnit

if TYPE_CHECKING:
    from xiaowu.accounts.models import User

logger = logging.getLogger(__name__)

MAX_ACTIVE_PER_USER = 5
PARAMS_MAX_BYTES = 10_000


def _clean_params(params: Mapping[str, Any]) -> dict[str, Any]:
    reserved = sorted(set(params) & set(RESERVED_PARAMS))
    if reserved:
        raise ValidationError({"params": f"参数名 {'、'.join(reserved)} 由系统保留。"})
    try:
        text = json.dumps(dict(params), ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"params": "任务参数只能包含文字、数字、列表和字典。"}) from exc
    if len(text.encode()) > PARAMS_MAX_BYTES:
        raise ValidationError({"params": "任务参数过大。"})
    cleaned: dict[str, Any] = json.loads(text)
    return cleaned


def _dedupe_key(kind: str, unit_id: int, params: Mapping[str, Any]) -> str:
    text = json.dumps([kind, unit_id, params], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


@transaction.atomic
def job_enqueue(
    *, actor: User, kind: str, unit: OrgUnit, params: Mapping[str, Any], title: str
) -> Job:
    """Record a job and queue it for the worker (in one transaction: both or neither).

    Checks the kind's permission rule now (it runs again when the job starts and when its
    result is downloaded). The same request by the same user while an earlier one is still
    queued or running returns the earlier job.
    """
    if not actor.is_active or not actor.pk:
        raise PermissionDenied("请先登录。")
    try:
        module = runner_module(kind)
    except UnknownJobKindError as exc:
        raise ValidationError({"kind": f"未知的任务类型“{kind}”。"}) from exc
    if not OrgUnit.objects.visible_to(actor).filter(pk=unit.pk).exists():
        raise PermissionDenied("该单位不在您的权限范围内。")
    cleaned = _clean_params(params)
    title = title.strip()[:200]
    if not title:
        raise ValidationError({"title": "请填写任务名称。"})
    module.check(actor=actor, unit=unit, params=cleaned)
    key = _dedupe_key(kind, unit.pk, cleaned)
    mine = Job.objects.select_for_update().filter(started_by=actor).active()
    earlier = mine.filter(dedupe_key=key).order_by("created_at").first()
    if earlier is not None:
        return earlier
    if mine.count() >= MAX_ACTIVE_PER_USER:
        raise ValidationError(
            f"您已有 {MAX_ACTIVE_PER_USER} 个任务在排队或运行，请等其完成后再提交。",
            code="too_many",
        )
    job = Job.objects.create(
        kind=kind, title=title, unit=unit, started_by=actor, params=cleaned, dedupe_key=key
    )
    result = job_run.enqueue(job.pk)
    job.task_id = str(result.id)
    job.save(update_fields=["task_id", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="jobs.job_enqueue",
        target=job,
        org_unit_id=unit.pk,
        changes={"after": {"kind": kind, "title": title, "params": cleaned}},
    )
    return job


@transaction.atomic
def job_cancel(*, actor: User, job: Job) -> Job:
    """Cancel a queued job at once; ask a running one to stop at its next progress report."""
    if job.started_by_id != actor.pk and not has_perm_at(actor, LEADER_PERM, job.unit_id):
        raise PermissionDenied("只有任务发起人或单位负责人可以取消任务。")
    locked = Job.objects.select_for_update().get(pk=job.pk)
    before = locked.status
    now = timezone.now()
    if locked.status == JobStatus.QUEUED:
        locked.status = JobStatus.CANCELLED
        locked.error = "任务在开始前已取消。"
        locked.finished_at = now
        locked.save(update_fields=["status", "error", "finished_at", "updated_at"])
        if locked.task_id:
            DBTaskResult.objects.filter(id=locked.task_id, status=TaskResultStatus.READY).delete()
    elif locked.status == JobStatus.RUNNING:
        locked.cancel_requested = True
        locked.save(update_fields=["cancel_requested", "updated_at"])
    else:
        raise ValidationError("任务已结束，无需取消。", code="finished")
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event="jobs.job_cancel",
        target=locked,
        org_unit_id=locked.unit_id,
        changes={"status": {"before": before, "after": locked.status}},
    )
    return locked


def job_result_download_record(*, actor: User, job: Job) -> None:
    """Audit that ``actor`` downloaded the result file of ``job``."""
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        event="jobs.result_download",
        target=job,
        org_unit_id=job.unit_id,
        changes={"file": job.result_filename, "bytes": job.result_size, "kind": job.kind},
    )


@transaction.atomic
def job_fail_stale(*, job: Job, reason: str) -> bool:
    """Mark a running job whose worker died as failed (and its task too); False if it had
    finished meanwhile."""
    now = timezone.now()
    updated = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        status=JobStatus.FAILED, error=reason, finished_at=now, updated_at=now
    )
    if updated and job.task_id:
        DBTaskResult.objects.filter(id=job.task_id, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=now,
            exception_class_path="xiaowu.jobs.StaleJob",
            traceback=reason,
        )
    if updated:
        logger.warning("Job %s failed as stale: %s", job.pk, reason)
        job.refresh_from_db()
    return bool(updated)


def jobs_reap_stale(*, jobs: Iterable[Job] | None = None, now: datetime | None = None) -> int:
    """Fail every running job (of ``jobs``, default all) whose worker is gone; return how many."""
    candidates = (
        jobs if jobs is not None else Job.objects.filter(status=JobStatus.RUNNING).iterator()
    )
    reaped = 0
    for job in candidates:
        reason = job_stale_reason(job, now=now)
        if reason and job_fail_stale(job=job, reason=reason):
            reaped += 1
    return reaped


def jobs_results_expire(*, now: datetime | None = None) -> int:
    """Delete result files older than ``XIAOWU_JOB_RESULT_DAYS`` (results may hold personal
    data: keep them no longer than needed); the job rows stay. Return how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.XIAOWU_JOB_RESULT_DAYS)
    expired = Job.objects.filter(finished_at__lt=cutoff).exclude(result_file="")
    count = 0
    for job in expired.iterator():
        job.result_file.delete(save=False)
        job.result_file = ""
        job.result_message = (job.result_message + "（结果文件已过保存期限，已删除）")[:500]
        job.save(update_fields=["result_file", "result_message", "updated_at"])
        count += 1
    return count
