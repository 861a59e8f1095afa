"""Keep a running job honest in the worker process: heartbeat, time limit and memory cap.

While a job runs in ``xiaowu worker``, a watchdog thread writes the job's heartbeat every few
seconds and checks the elapsed time and the process's resident memory. Over a limit, it
interrupts the runner (SIGUSR1 → ``JobAborted`` raised in the main thread, so the job is
recorded as failed with the reason); if the runner does not stop within the grace period
(stuck in native code), it records the failure itself and ends the process, which
``xiaowu serve`` restarts. (``RLIMIT_AS`` is not used: polars reserves address space up
front and spins under it.)

The worker's process identity (host, pid, start time) is stored on the job, so that a page
can tell a crashed worker (process gone) from a busy one at once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from django.db import DatabaseError, connection
from django.utils import timezone

from xiaowu.jobs.models import Job, JobStatus
from xiaowu.jobs.runner import JobAborted

logger = logging.getLogger(__name__)

ABORT_SIGNAL = signal.SIGUSR1
EXIT_STUCK = 70  # exit status when a runner ignored its interruption


@dataclass(frozen=True)
class Limits:
    timeout_seconds: float
    memory_mb: int  # 0: no cap
    heartbeat_seconds: float = 10.0
    grace_seconds: float = 30.0


_limits: Limits | None = None
_current: Watchdog | None = None


def configure(limits: Limits | None) -> None:
    """Turn the watchdog on (the worker command does) or off."""
    global _limits  # one setting per process
    _limits = limits


def current_limits() -> Limits | None:
    return _limits


# --------------------------------------------------------------------------- process identity
def process_start(pid: int) -> int | None:
    """Return the start time of process ``pid`` (clock ticks since boot, Linux), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (the command) may contain spaces and parentheses: split after the last ")".
    fields = stat.rpartition(")")[2].split()
    try:
        return int(fields[19])  # field 22 of stat(5)
    except (IndexError, ValueError):
        return None


def host_identity() -> str:
    """This host as far as pids go: the host name plus the pid namespace (Linux), so that two
    containers that share a host name but not their processes are told apart."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return socket.gethostname()
    return f"{socket.gethostname()} {namespace}"


def process_identity() -> tuple[str, int, int | None]:
    pid = os.getpid()
    return host_identity(), pid, process_start(pid)


def process_alive(host: str, pid: int | None, started: int | None) -> bool | None:
    """Is the process that claimed a job still running? None when it cannot be told from here
    (another host or pid namespace, or no pid recorded)."""
    if not pid or host != host_identity():
        return None
    if started is not None and Path("/proc/self/stat").exists():
        return process_start(pid) == started  # a reused pid has another start time
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def rss_mb() -> float | None:
    """Resident memory of this process in MB (Linux), or None."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


# --------------------------------------------------------------------------- the thread
class Watchdog(threading.Thread):
    def __init__(
        self,
        *,
        job_id: int,
        limits: Limits,
        main_thread_id: int,
        clock: Callable[[], float] = time.monotonic,
        memory: Callable[[], float | None] | None = None,
    ) -> None:
        super().__init__(name=f"job-{job_id}-watchdog", daemon=True)
        self.job_id = job_id
        self.limits = limits
        self.main_thread_id = main_thread_id
        self.clock = clock
        self.memory = memory
        self.reason = ""
        self.heartbeats = 0
        self._stop_event = threading.Event()
        self._started_at = clock()
        self._signalled_at: float | None = None

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=self.limits.heartbeat_seconds + 15)

    def run(self) -> None:
        try:
            next_beat = self.clock()
            while not self._stop_event.is_set():
                now = self.clock()
                if now >= next_beat:
                    self._heartbeat()
                    next_beat = now + self.limits.heartbeat_seconds
                self._check(now)
                self._stop_event.wait(min(1.0, self.limits.heartbeat_seconds))
        finally:
            connection.close()  # this thread's own connection

    def _heartbeat(self) -> None:
        try:
            Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(
                heartbeat_at=timezone.now()
            )
            self.heartbeats += 1
        except DatabaseError:
            # E.g. SQLite locked by the runner's own long transaction: the pid check still
            # shows the worker alive; try again at the next beat.
            logger.warning("Heartbeat of job %s not written (database busy)", self.job_id)

    def _check(self, now: float) -> None:
        if self._stop_event.is_set():
            # The job has ended. A heartbeat that waited on a database lock may have outlasted
            # the grace period, but there is nothing left to interrupt: never end the process.
            return
        if self._signalled_at is not None:
            if now - self._signalled_at > self.limits.grace_seconds:
                self._give_up()
            return
        elapsed = now - self._started_at
        used = (self.memory or rss_mb)() if self.limits.memory_mb else None
        if elapsed > self.limits.timeout_seconds:
            minutes = max(1, round(self.limits.timeout_seconds / 60))
            self.reason = (
                f"任务运行超过 {minutes} 分钟的时限，已停止。请缩小范围后重试，或联系管理员。"
            )
        elif used is not None and used > self.limits.memory_mb:
            self.reason = (
                f"任务占用内存超过 {self.limits.memory_mb} MB 的上限，已停止。"
                "请缩小范围后重试，或联系管理员。"
            )
        if self.reason:
            self._signalled_at = now
            logger.warning("Interrupting job %s: %s", self.job_id, self.reason)
            signal.pthread_kill(self.main_thread_id, ABORT_SIGNAL)

    def _give_up(self) -> None:
        logger.error("Job %s ignored its interruption; ending the worker process", self.job_id)
        try:
            Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(
                status=JobStatus.FAILED,
                error=self.reason,
                finished_at=timezone.now(),
                heartbeat_at=timezone.now(),
            )
        finally:
            connection.close()
            os._exit(EXIT_STUCK)


def _abort_handler(signum: int, frame: FrameType | None) -> None:
    dog = _current
    if dog is not None and dog.reason:
        raise JobAborted(dog.reason)


def install_abort_handler() -> None:
    """Let the watchdog interrupt the main thread (call from the main thread, once)."""
    signal.signal(ABORT_SIGNAL, _abort_handler)


@contextmanager
def guard(job_id: int) -> Iterator[Watchdog | None]:
    """Watch the job while the block runs (only when ``configure`` turned the watchdog on)."""
    global _current  # one running job per worker process
    limits = _limits
    if limits is None or threading.current_thread() is not threading.main_thread():
        yield None
        return
    dog = Watchdog(job_id=job_id, limits=limits, main_thread_id=threading.get_ident())
    _current = dog
    dog.start()
    try:
        yield dog
    finally:
        _current = None
        dog.stop()
