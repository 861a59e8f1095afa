"""``xiaowu serve`` keeps one background worker: started with the server, restarted when it
dies (within limits), stopped with the server, and left out with ``--no-worker``."""

from __future__ import annotations

import io
import sys
import time

import pytest
from django.core.management import call_command
from gunicorn.arbiter import Arbiter

from xiaowu.core.management.commands import serve

SLEEPER = (sys.executable, "-c", "import time; time.sleep(60)")
QUITTER = (sys.executable, "-c", "raise SystemExit(3)")


def _wait_exit(background: serve.BackgroundWorker) -> int:
    assert background.process is not None
    return background.process.wait(timeout=10)


def test_worker_is_started_restarted_and_stopped():
    now = [0.0]
    output = io.StringIO()
    background = serve.BackgroundWorker(
        SLEEPER, restart_delay=2.0, output=output, clock=lambda: now[0], stop_timeout=5
    )
    try:
        background.start()
        first = background.pid
        background.check()
        assert background.pid == first  # alive: nothing to do

        assert background.process is not None
        background.process.kill()
        _wait_exit(background)
        background.check()  # noticed: restart after the delay
        assert "已退出" in output.getvalue()
        background.check()
        assert background.pid == first
        now[0] = 2.5
        background.check()
        assert background.pid != first
        assert background.process.poll() is None
    finally:
        started = time.monotonic()
        background.stop()
    assert background.process.poll() is not None
    assert time.monotonic() - started < 5  # SIGTERM was enough
    background.check()  # stopping: never restarted
    assert background.process.poll() is not None


def test_worker_that_keeps_dying_is_given_up():
    now = [0.0]
    output = io.StringIO()
    background = serve.BackgroundWorker(
        QUITTER, restart_delay=0, max_restarts=2, output=output, clock=lambda: now[0]
    )
    background.start()
    for _ in range(3):
        assert _wait_exit(background) == 3
        background.check()  # exit noticed
        background.check()  # restarted
        now[0] += 1
    assert _wait_exit(background) == 3
    background.check()

    assert background.gave_up
    assert "不再自动重启" in output.getvalue()
    assert len(background.restarts) == 3


def test_arbiter_runs_the_worker_alongside_gunicorn(monkeypatch):
    calls: list[str] = []

    class Fake(serve.BackgroundWorker):
        def start(self) -> None:
            calls.append("start")

        def check(self) -> None:
            calls.append("check")

        def terminate(self) -> None:
            calls.append("terminate")

        def stop(self) -> None:
            calls.append("stop")

    monkeypatch.setattr(Arbiter, "start", lambda self: calls.append("gunicorn start"))
    monkeypatch.setattr(Arbiter, "manage_workers", lambda self: calls.append("gunicorn manage"))
    monkeypatch.setattr(Arbiter, "stop", lambda self, graceful=True: calls.append("gunicorn stop"))
    application = serve.XiaowuApplication(
        serve.gunicorn_options(host="127.0.0.1", port=8765, workers=1), background=Fake()
    )
    arbiter = serve.XiaowuArbiter(application, background=application.background)

    arbiter.start()
    arbiter.manage_workers()
    arbiter.stop()

    assert calls == [
        "gunicorn start",
        "start",
        "gunicorn manage",
        "check",
        "terminate",
        "gunicorn stop",
        "stop",
    ]


@pytest.mark.parametrize(("flag", "expects_worker"), [((), True), (("--no-worker",), False)])
def test_serve_starts_a_worker_unless_told_not_to(monkeypatch, flag, expects_worker):
    seen: list[object] = []
    monkeypatch.setattr(serve.XiaowuApplication, "run", lambda self: seen.append(self.background))
    monkeypatch.setattr(serve.connections, "close_all", lambda: None)

    call_command("serve", "--no-collectstatic", *flag, stdout=io.StringIO())

    assert len(seen) == 1
    assert isinstance(seen[0], serve.BackgroundWorker) is expects_worker
    if expects_worker:
        assert seen[0].command[-1] == "worker"
