"""Background jobs (后台任务): who started what, for which unit, and how far it got.

A job is the user-facing record of one run of a registered runner (``jobs.registry``). The
runner itself executes inside a django-tasks task, picked up by the database worker
(``xiaowu worker``); the job row is the source of truth for status, progress and result.
"""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q
from django.utils import timezone

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import scope_for, unit_subtree
from xiaowu.core.models import BaseModel

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from xiaowu.accounts.models import User


class JobStatus(models.TextChoices):
    QUEUED = "queued", "排队中"
    RUNNING = "running", "运行中"
    SUCCEEDED = "succeeded", "已完成"
    FAILED = "failed", "失败"
    CANCELLED = "cancelled", "已取消"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
FINISHED_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
# Leaders see the jobs of everyone in their units; others see only their own.
LEADER_PERM = Perm.ORG_MANAGE


class JobQuerySet(models.QuerySet["Job"]):
    def visible_to(self, actor: User | AnonymousUser) -> JobQuerySet:
        """Return the actor's own jobs, plus every job for a unit the actor leads."""
        scope = scope_for(actor)
        if scope.is_global:
            return self
        if scope.user_id is None:
            return self.none()
        visible = Q(started_by_id=scope.user_id)
        roots = scope.roots_with_perm(LEADER_PERM)
        if roots:
            visible |= Q(unit__in=unit_subtree(roots))
        return self.filter(visible)

    def active(self) -> JobQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)


def job_result_path(instance: Job, filename: str) -> str:
    """Store result files under a generated name; the user-facing name is kept separately."""
    suffix = PurePosixPath(filename).suffix.lower()
    if not suffix[1:].isalnum() or len(suffix) > 8:
        suffix = ""
    return f"jobs/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class Job(BaseModel):
    """后台任务 — one run of a registered runner, with its progress and result."""

    kind = models.CharField("类型", max_length=60)
    title = models.CharField("名称", max_length=200)
    unit = models.ForeignKey(
        "org.OrgUnit", verbose_name="单位", on_delete=models.PROTECT, related_name="jobs"
    )
    started_by = models.ForeignKey(
        "accounts.User",
        verbose_name="发起人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    params = models.JSONField("参数", default=dict, blank=True)
    # sha256 of (kind, unit, params): the same request while one is still active reuses it.
    dedupe_key = models.CharField(max_length=64, db_index=True)
    status = models.CharField(
        "状态", max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    progress_done = models.PositiveIntegerField("已完成", default=0)
    progress_total = models.PositiveIntegerField("总量", default=0)  # 0: not known yet
    progress_message = models.CharField("进度说明", max_length=200, blank=True)
    result = models.JSONField("结果", null=True, blank=True)
    result_message = models.CharField("结果说明", max_length=500, blank=True)
    result_file = models.FileField(
        "结果文件", upload_to=job_result_path, max_length=200, blank=True
    )
    result_filename = models.CharField("文件名", max_length=200, blank=True)
    result_content_type = models.CharField(max_length=120, blank=True)
    result_size = models.PositiveBigIntegerField(default=0)
    error = models.TextField("错误", blank=True)
    task_id = models.CharField(max_length=64, blank=True)  # the django-tasks result id
    cancel_requested = models.BooleanField(default=False)
    # Which process runs the job, so that a crashed worker can be told from a busy one.
    worker_host = models.CharField(max_length=255, blank=True)
    worker_pid = models.PositiveIntegerField(null=True, blank=True)
    worker_process_start = models.BigIntegerField(null=True, blank=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = "后台任务"
        verbose_name_plural = "后台任务"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["started_by", "created_at"], name="job_starter_created_idx"),
            models.Index(fields=["unit", "created_at"], name="job_unit_created_idx"),
            models.Index(fields=["status"], name="job_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress_total=0) | Q(progress_done__lte=models.F("progress_total")),
                name="job_progress_within_total",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in ACTIVE_STATUSES])
                | Q(finished_at__isnull=False),
                name="job_finished_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def percent(self) -> int | None:
        """Progress in whole percent, or None while the total is not known."""
        if self.status == JobStatus.SUCCEEDED:
            return 100
        if not self.progress_total:
            return None
        return min(100, self.progress_done * 100 // self.progress_total)

    @property
    def duration_text(self) -> str:
        """How long the job ran, e.g. "12.3 秒", "2 分 5 秒"; "" before it ends."""
        if self.started_at is None or self.finished_at is None:
            return ""
        seconds = max(0.0, (self.finished_at - self.started_at).total_seconds())
        if seconds < 60:
            return f"{seconds:.1f} 秒"
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} 分 {rest} 秒"

    @property
    def has_file(self) -> bool:
        return self.status == JobStatus.SUCCEEDED and bool(self.result_file)
