"""The worker side: watchdog (heartbeat, time limit, memory cap, give-up), clean interruption
on SIGTERM, and ``xiaowu worker``."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from xiaowu.jobs import watchdog
from xiaowu.jobs.models import Job, JobStatus
from xiaowu.jobs.services import job_enqueue
from xiaowu.jobs.watchdog import Limits, Watchdog, process_identity
from xiaowu.jobs.worker import STOPPING_MESSAGE, XiaowuWorker, jobs_run_pending

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, watchdog.ABORT_SIGNAL)


@pytest.fixture
def restore_signals() -> Iterator[None]:
    """The worker installs process-wide signal handlers: put pytest's back afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in SIGNALS}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    watchdog.configure(None)


def _job(world, sample_kind, **params) -> Job:
    return job_enqueue(
        actor=world.users["principal"],
        kind=sample_kind,
        unit=world.school,
        params=params,
        title="测试任务",
    )


def _worker() -> XiaowuWorker:
    return XiaowuWorker(
        limits=None,
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )


@pytest.mark.django_db
def test_time_limit_interrupts_the_runner(world, sample_kind, restore_signals):
    job = _job(world, sample_kind, mode="slow")
    watchdog.install_abort_handler()
    watchdog.configure(Limits(timeout_seconds=0.3, memory_mb=0, heartbeat_seconds=0.1))

    started = time.monotonic()
    jobs_run_pending()

    assert time.monotonic() - started < 5  # the runner would have slept 10 s
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "时限" in job.error


@pytest.mark.django_db
def test_memory_cap_interrupts_the_runner(world, sample_kind, restore_signals):
    job = _job(world, sample_kind, mode="slow")
    watchdog.install_abort_handler()
    watchdog.configure(Limits(timeout_seconds=60, memory_mb=1, heartbeat_seconds=0.1))

    jobs_run_pending()

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "内存超过 1 MB" in job.error


@pytest.mark.django_db
def test_a_job_within_its_limits_is_not_disturbed(world, sample_kind, restore_signals):
    job = _job(world, sample_kind)
    watchdog.install_abort_handler()
    watchdog.configure(Limits(timeout_seconds=60, memory_mb=100_000, heartbeat_seconds=0.1))

    jobs_run_pending()

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


def _running_job(world, sample_kind) -> Job:
    job = _job(world, sample_kind)
    host, pid, started = process_identity()
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        started_at=timezone.now(),
        heartbeat_at=timezone.now() - timedelta(minutes=5),
        worker_host=host,
        worker_pid=pid,
        worker_process_start=started,
    )
    return job


@pytest.mark.django_db
def test_watchdog_heartbeat_touches_the_running_job(world, sample_kind):
    job = _running_job(world, sample_kind)
    before = Job.objects.get(pk=job.pk).heartbeat_at
    assert before is not None
    dog = Watchdog(
        job_id=job.pk,
        limits=Limits(timeout_seconds=60, memory_mb=0),
        main_thread_id=threading.get_ident(),
    )

    dog._heartbeat()

    assert dog.heartbeats == 1
    after = Job.objects.get(pk=job.pk).heartbeat_at
    assert after is not None
    assert after > before


def test_watchdog_thread_beats_regularly_until_stopped(monkeypatch):
    dog = Watchdog(
        job_id=0,
        limits=Limits(timeout_seconds=60, memory_mb=0, heartbeat_seconds=0.1),
        main_thread_id=threading.get_ident(),
    )
    beats: list[float] = []
    monkeypatch.setattr(dog, "_heartbeat", lambda: beats.append(time.monotonic()))

    dog.start()
    time.sleep(0.55)
    dog.stop()
    count = len(beats)
    time.sleep(0.25)

    assert not dog.is_alive()
    assert 3 <= count <= 7
    assert len(beats) == count
    assert dog.reason == ""


@pytest.mark.django_db
def test_watchdog_gives_up_on_a_runner_stuck_in_native_code(world, sample_kind, monkeypatch):
    job = _running_job(world, sample_kind)
    exits: list[int] = []
    monkeypatch.setattr(watchdog.os, "_exit", exits.append)
    # In its own thread the watchdog closes its own connection; here that is the test's.
    monkeypatch.setattr(watchdog, "connection", SimpleNamespace(close=lambda: None))
    dog = Watchdog(
        job_id=job.pk,
        limits=Limits(timeout_seconds=60, memory_mb=0, grace_seconds=5),
        main_thread_id=threading.get_ident(),
    )
    dog.reason = "任务运行超过 1 分钟的时限，已停止。"
    dog._signalled_at = 0.0

    dog._check(4.0)  # within the grace period: wait
    assert exits == []
    dog._check(6.0)

    assert exits == [watchdog.EXIT_STUCK]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == dog.reason


@pytest.mark.django_db
def test_watchdog_never_gives_up_once_the_job_has_ended(world, sample_kind, monkeypatch):
    job = _running_job(world, sample_kind)
    exits: list[int] = []
    monkeypatch.setattr(watchdog.os, "_exit", exits.append)
    dog = Watchdog(
        job_id=job.pk,
        limits=Limits(timeout_seconds=60, memory_mb=0, grace_seconds=5),
        main_thread_id=threading.get_ident(),
    )
    dog.reason = "任务运行超过 1 分钟的时限，已停止。"
    dog._signalled_at = 0.0
    dog._stop_event.set()  # the job ended while a heartbeat was waiting on a lock

    dog._check(60.0)

    assert exits == []
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING


def test_shutdown_signal_between_jobs_exits_at_once(restore_signals):
    worker = _worker()

    with pytest.raises(SystemExit) as exit_info:
        worker.shutdown(signal.SIGTERM, None)

    assert exit_info.value.code == 0


@pytest.mark.django_db
def test_shutdown_signal_during_a_job_fails_it_with_a_message(world, sample_kind, restore_signals):
    job = _job(world, sample_kind, mode="signal_self", steps=3)
    worker = _worker()
    worker.configure_signals()
    task = DBTaskResult.objects.get(id=job.task_id)
    task.claim(worker.worker_id)

    worker.run_task(task)  # the runner sends itself SIGTERM halfway

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == STOPPING_MESSAGE
    assert worker.running is False
    with pytest.raises(SystemExit) as exit_info:  # a second signal: out now
        worker.shutdown(signal.SIGTERM, None)
    assert exit_info.value.code == 1


@pytest.mark.django_db
def test_worker_command_runs_jobs_and_fails_dead_ones(
    world, sample_kind, restore_signals, monkeypatch
):
    # The worker loop recycles connections; inside the test's transaction that would end it.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    dead = _running_job(world, sample_kind)
    Job.objects.filter(pk=dead.pk).update(worker_process_start=-1)  # not this process
    job = _job(world, sample_kind, steps=2)

    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0")

    job.refresh_from_db()
    dead.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert dead.status == JobStatus.FAILED
    assert "意外退出" in dead.error
    assert signal.getsignal(watchdog.ABORT_SIGNAL) is watchdog._abort_handler
    assert watchdog.current_limits() is None  # switched off again when the worker ends


def test_worker_command_checks_its_limits():
    with pytest.raises(CommandError, match="--timeout"):
        call_command("worker", "--batch", "--timeout", "0")
    with pytest.raises(CommandError, match="--max-memory"):
        call_command("worker", "--batch", "--max-memory", "-1")
