"""What a runner works with: progress reporting, its outcome, and the errors it may raise.

Runner modules are listed in ``jobs.registry``; this module is their whole interface to the
jobs app.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from xiaowu.accounts.models import User
from xiaowu.jobs.models import Job, JobStatus
from xiaowu.org.models import OrgUnit

# Keys the jobs app adds to the params a runner receives (enqueue refuses them as input).
RESERVED_PARAMS = ("actor_id", "unit_id", "job_id")
PROGRESS_INTERVAL_SECONDS = 1.0
MESSAGE_MAX = 200


class JobError(Exception):
    """A failure the user should read: the message (Chinese) is shown on the job page."""


class JobAborted(BaseException):
    """The job must stop now (cancelled, timed out, over its memory, worker stopping).

    A BaseException, so that a runner's ``except Exception`` cannot swallow it.
    """

    status = JobStatus.FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class JobCancelled(JobAborted):
    status = JobStatus.CANCELLED

    def __init__(self, message: str = "任务已按要求取消。") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class JobOutcome:
    """What a runner returns: a message, JSON data, and optionally one file to download."""

    message: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    file: bytes | Path | None = None
    filename: str = ""
    content_type: str = "application/octet-stream"
    links: Sequence[tuple[str, str]] = ()  # (label, url) shown on the job page


def job_actor(job_params: Mapping[str, Any]) -> User:
    """Return the user who started the job (fresh from the database: roles may have changed)."""
    actor_id = job_params.get("actor_id")
    actor = User.objects.filter(pk=actor_id, is_active=True).first() if actor_id else None
    if actor is None:
        raise PermissionDenied("发起任务的账号已停用或不存在。")
    return actor


def job_unit(job_params: Mapping[str, Any]) -> OrgUnit:
    unit_id = job_params.get("unit_id")
    unit = OrgUnit.objects.filter(pk=unit_id).first() if unit_id else None
    if unit is None:
        raise JobError("任务所属的单位已不存在。")
    return unit


class Progress:
    """Progress of one running job, written to its row at most once a second.

    ``update`` also notices a cancellation (or the job being failed as stale) and raises
    ``JobCancelled`` / ``JobAborted`` into the runner. Inside the runner's own transaction on
    PostgreSQL the row is written through a second connection, so that the progress bar moves
    before the transaction commits; on SQLite it becomes visible when the transaction commits.
    """

    def __init__(
        self,
        job_id: int,
        *,
        interval: float = PROGRESS_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.job_id = job_id
        self.interval = interval
        self.clock = clock
        self.done = 0
        self.total = 0
        self.message = ""
        self.writes = 0
        self._last_write: float | None = None
        self._side: BaseDatabaseWrapper | None = None

    def update(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Record that ``done`` of ``total`` units of work are finished (``message`` in Chinese).

        ``total`` and ``message`` keep their previous values when omitted.
        """
        if total is not None:
            self.total = max(0, int(total))
        self.done = max(0, int(done))
        if self.total:
            self.done = min(self.done, self.total)
        if message is not None:
            self.message = message[:MESSAGE_MAX]
        now = self.clock()
        finished = bool(self.total) and self.done >= self.total
        due = self._last_write is None or now - self._last_write >= self.interval
        if due or finished:
            self.flush()

    def flush(self) -> None:
        """Write the current progress now."""
        self._last_write = self.clock()
        self.writes += 1
        self._write()

    def snapshot(self) -> dict[str, Any]:
        """The progress fields as they are now (to record with the job's end)."""
        return {
            "progress_done": self.done,
            "progress_total": self.total,
            "progress_message": self.message,
        }

    def _write(self) -> None:
        fields = {
            "progress_done": self.done,
            "progress_total": self.total,
            "progress_message": self.message,
            "heartbeat_at": timezone.now(),
        }
        inside_transaction = connection.in_atomic_block and connection.vendor == "postgresql"
        if inside_transaction and self._side_update(fields):
            return
        updated = Job.objects.filter(
            pk=self.job_id, status=JobStatus.RUNNING, cancel_requested=False
        ).update(**fields)
        if not updated:
            self._raise_stopped()

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None

    def _raise_stopped(self) -> None:
        row = Job.objects.filter(pk=self.job_id).values("status", "cancel_requested").first()
        if row is None:
            raise JobAborted("任务记录已被删除。")
        if row["cancel_requested"] or row["status"] == JobStatus.CANCELLED:
            raise JobCancelled()
        raise JobAborted("任务已被标记为结束，停止运行。")

    def _side_update(self, fields: Mapping[str, Any]) -> bool:
        """Write through a connection of its own (autocommit); False if the row is not visible
        there (e.g. created in a transaction that has not committed)."""
        if self._side is None:
            self._side = connections.create_connection(DEFAULT_DB_ALIAS)
        side = self._side
        quote = side.ops.quote_name
        # Plain (non-relation) fields: the column is the field's name.
        columns = ", ".join(f"{quote(name)} = %s" for name in fields)
        sql = (
            f"UPDATE {quote(Job._meta.db_table)} SET {columns} "  # noqa: S608 — names from the model
            f"WHERE {quote('id')} = %s AND {quote('status')} = %s "
            f"AND NOT {quote('cancel_requested')}"
        )
        with side.cursor() as cursor:
            cursor.execute(sql, [*fields.values(), self.job_id, JobStatus.RUNNING])
            return bool(cursor.rowcount)
