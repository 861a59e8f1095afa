"""``xiaowu worker``: run background jobs (django-tasks-db's ``db_worker`` with xiaowu's care).

``xiaowu serve`` starts one automatically; run it yourself when the web server runs elsewhere
or with ``xiaowu serve --no-worker``. Options are db_worker's (``--batch``, ``--max-tasks``,
``--interval`` …) plus the job limits.
"""

from __future__ import annotations

import os
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from xiaowu.jobs.watchdog import Limits
from xiaowu.jobs.worker import XiaowuWorker


class Command(DbWorkerCommand):
    help = (
        "运行后台任务进程（xiaowu serve 默认已自动启动一个）。"
        "任务超时和内存上限见 --timeout / --max-memory。"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--timeout",
            type=int,
            default=settings.XIAOWU_JOB_TIMEOUT_SECONDS,
            help="单个任务的运行时限（秒，默认 XIAOWU_JOB_TIMEOUT_SECONDS=%(default)s）",
        )
        parser.add_argument(
            "--max-memory",
            type=int,
            default=settings.XIAOWU_JOB_MEMORY_MB,
            help="进程内存上限（MB，0 为不限；默认 XIAOWU_JOB_MEMORY_MB=%(default)s）",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["timeout"] < 1:
            raise CommandError("--timeout 至少为 1 秒。")
        if options["max_memory"] < 0:
            raise CommandError("--max-memory 不能为负数。")
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues 只能与 --queue-name='*' 一起使用。")
        worker = XiaowuWorker(
            limits=Limits(timeout_seconds=options["timeout"], memory_mb=options["max_memory"]),
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
        )
        if options["reload"] and not options["batch"]:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
