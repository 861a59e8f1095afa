"""Run one job in the worker: claim it, check permission again, call its runner under the
watchdog, and record the outcome (result file, JSON, message) or a clear Chinese error."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.utils import timezone

from xiaowu.jobs import watchdog
from xiaowu.jobs.models import Job, JobStatus
from xiaowu.jobs.registry import UnknownJobKindError, runner_module
from xiaowu.jobs.runner import JobAborted, JobError, JobOutcome, Progress, job_actor

logger = logging.getLogger(__name__)


def unexpected_error(job_id: int) -> str:
    return f"任务运行出错，未能完成。请稍后重试；如仍失败，请把任务编号 #{job_id} 告诉管理员。"


def _finish(job_id: int, status: str, *, error: str, progress: Progress | None = None) -> str:
    """Record a failed or cancelled end (only if the job is still running), with the progress
    it had made."""
    now = timezone.now()
    fields = progress.snapshot() if progress is not None else {}
    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        **fields, status=status, error=error, finished_at=now, heartbeat_at=now, updated_at=now
    )
    return status


def _store_outcome(job: Job, outcome: JobOutcome, progress: Progress) -> str:
    if not isinstance(outcome, JobOutcome):
        raise TypeError(f"runner of {job.kind} returned {type(outcome).__name__}, not JobOutcome")
    if Job.objects.filter(pk=job.pk, cancel_requested=True).exists():
        return _finish(
            job.pk, JobStatus.CANCELLED, error="任务已按要求取消，结果未保存。", progress=progress
        )
    fields: dict[str, Any] = {
        "status": JobStatus.SUCCEEDED,
        "result": {
            "data": dict(outcome.data),
            "links": [{"label": label, "url": url} for label, url in outcome.links],
        },
        "result_message": outcome.message[:500],
        "progress_done": progress.total or progress.done,
        "progress_total": progress.total,
        "error": "",
    }
    if outcome.file is not None:
        filename = outcome.filename or "result.bin"
        if isinstance(outcome.file, Path):
            with outcome.file.open("rb") as handle:
                job.result_file.save(filename, File(handle), save=False)
            size = outcome.file.stat().st_size
            outcome.file.unlink(missing_ok=True)
        else:
            job.result_file.save(filename, ContentFile(outcome.file), save=False)
            size = len(outcome.file)
        fields.update(
            result_file=job.result_file.name,
            result_filename=filename[:200],
            result_content_type=outcome.content_type[:120],
            result_size=size,
        )
    now = timezone.now()
    updated = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        **fields, finished_at=now, heartbeat_at=now, updated_at=now
    )
    if not updated:
        # Failed as stale (or cancelled) while finishing: do not keep an orphan file.
        if fields.get("result_file"):
            job.result_file.delete(save=False)
        status: str = Job.objects.values_list("status", flat=True).get(pk=job.pk)
        return status
    return JobStatus.SUCCEEDED


def job_execute(*, job_id: int) -> str:
    """Run job ``job_id`` if it is still queued; return its final status.

    Expected failures (the runner's ``JobError``, a refused permission, invalid input, a
    cancellation, the watchdog's time or memory limit) are recorded on the job with their
    message. Anything else is recorded with a generic message and re-raised, so that the
    task result keeps the traceback for the administrator.
    """
    host, pid, started = watchdog.process_identity()
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        updated_at=now,
        worker_host=host[:255],
        worker_pid=pid,
        worker_process_start=started,
    )
    if not claimed:
        # Cancelled before it started, or already run: running it again would be wrong.
        status: str = Job.objects.filter(pk=job_id).values_list("status", flat=True).first() or ""
        return status
    job = Job.objects.select_related("unit").get(pk=job_id)
    progress = Progress(job.pk)
    job_params = {
        **job.params,
        "actor_id": job.started_by_id,
        "unit_id": job.unit_id,
        "job_id": job.pk,
    }
    try:
        module = runner_module(job.kind)
        actor = job_actor(job_params)
        module.check(actor=actor, unit=job.unit, params=job.params)
        progress.update(0, message="开始运行")
        with watchdog.guard(job.pk):
            outcome = module.run(job_params, progress)
    except JobAborted as exc:
        return _finish(job.pk, exc.status, error=exc.message, progress=progress)
    except JobError as exc:
        error = str(exc) or unexpected_error(job.pk)
        return _finish(job.pk, JobStatus.FAILED, error=error, progress=progress)
    except PermissionDenied as exc:
        reason = str(exc) or "您已无权执行此任务。"
        return _finish(job.pk, JobStatus.FAILED, error=f"权限不足，任务未执行：{reason}")
    except ValidationError as exc:
        return _finish(job.pk, JobStatus.FAILED, error="；".join(exc.messages), progress=progress)
    except (UnknownJobKindError, ImportError):
        logger.exception("Job %s has an unknown or broken kind %r", job.pk, job.kind)
        return _finish(job.pk, JobStatus.FAILED, error=f"未知的任务类型“{job.kind}”，无法运行。")
    except Exception:
        _finish(job.pk, JobStatus.FAILED, error=unexpected_error(job.pk), progress=progress)
        raise
    finally:
        progress.close()
    try:
        return _store_outcome(job, outcome, progress)
    except Exception:
        _finish(job.pk, JobStatus.FAILED, error=unexpected_error(job.pk))
        raise
