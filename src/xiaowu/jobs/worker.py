"""The background worker: django-tasks-db's database worker with xiaowu's job care.

On top of ``django_tasks_db``'s ``Worker`` it
- turns on the job watchdog (heartbeat, time limit, memory cap: ``jobs.watchdog``);
- fails jobs whose worker died (at start and then every minute), and expires old result files
  (every hour);
- on SIGTERM / SIGINT interrupts the running job, so that it ends as failed with a clear
  message instead of staying "running" (a second signal ends the process at once).

``jobs_run_pending`` runs the queued tasks in this process (tests, benchmarks): the same
claim-and-run path as the worker, without its polling loop and connection recycling.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from types import FrameType
from typing import Any

from django_tasks import DEFAULT_TASK_BACKEND_ALIAS
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from xiaowu.jobs import watchdog
from xiaowu.jobs.runner import JobAborted
from xiaowu.jobs.services import jobs_reap_stale, jobs_results_expire

logger = logging.getLogger(__name__)

REAP_EVERY_SECONDS = 60.0
EXPIRE_EVERY_SECONDS = 3600.0
STOPPING_MESSAGE = "后台服务正在停止，任务已中断。请在服务恢复后重新提交。"


class XiaowuWorker(Worker):
    def __init__(self, *, limits: watchdog.Limits | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limits = limits
        self._next_reap = 0.0
        self._next_expire = 0.0

    def configure_signals(self) -> None:
        super().configure_signals()
        watchdog.install_abort_handler()

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        if not self.running:
            logger.warning("Received %s again - exiting now.", signal.strsignal(signum))
            self.reset_signals()
            sys.exit(1)
        logger.warning("Received %s - stopping the worker.", signal.strsignal(signum))
        self.running = False
        if not self.running_task:
            sys.exit(0)
        # Interrupt the job: it ends as failed with a message, rather than as a stale "running".
        raise JobAborted(STOPPING_MESSAGE)

    def housekeeping(self) -> None:
        now = time.monotonic()
        if now >= self._next_reap:
            self._next_reap = now + REAP_EVERY_SECONDS
            reaped = jobs_reap_stale()
            if reaped:
                logger.warning("Failed %d job(s) whose worker had died", reaped)
        if now >= self._next_expire:
            self._next_expire = now + EXPIRE_EVERY_SECONDS
            jobs_results_expire()

    def run_task(self, db_task_result: DBTaskResult[..., Any]) -> None:
        super().run_task(db_task_result)
        self.housekeeping()

    def run(self) -> None:
        watchdog.configure(self.limits)
        try:
            self.housekeeping()
            super().run()
        finally:
            watchdog.configure(None)


def jobs_run_pending(*, max_tasks: int | None = None) -> int:
    """Claim and run the queued tasks of the default backend in this process, oldest first;
    return how many ran."""
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id="xiaowu-inline",
        excluded_queue_names=[],
    )
    ran = 0
    while max_tasks is None or ran < max_tasks:
        tasks = DBTaskResult.objects.ready().filter(backend_name=DEFAULT_TASK_BACKEND_ALIAS)
        with exclusive_transaction(tasks.db):
            task_result = tasks.get_locked()
            if task_result is not None:
                task_result.claim(worker.worker_id)
        if task_result is None:
            break
        worker.run_task(task_result)
        ran += 1
    return ran
