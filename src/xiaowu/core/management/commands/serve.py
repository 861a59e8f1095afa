"""``xiaowu serve [--host 127.0.0.1] [--port 8000] [--workers 2] [--no-worker]``: run xiaowu
under gunicorn, with one background-job worker.

Collects the static files first (WhiteNoise serves them from ``STATIC_ROOT`` with hashed,
compressed names when ``DEBUG`` is off), then runs gunicorn in this process. Plain HTTP on a
laptop needs ``XIAOWU_INSECURE_HTTP=1`` (``make demo`` and ``make serve`` set it).

Unless ``--no-worker`` is given, gunicorn's master also runs ``xiaowu worker`` as a child
process (background jobs such as large summaries): started when the server is ready,
restarted if it dies, stopped with the server (and, on Linux, when the server is killed).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

WSGI_MODULE = "xiaowu.wsgi"
# The job worker, run with this interpreter (works in any venv, installed or not).
WORKER_COMMAND = (sys.executable, "-m", "xiaowu.cli", "worker")
PR_SET_PDEATHSIG = 1  # linux/prctl.h

WsgiApp = Callable[..., Any]
logger = logging.getLogger(__name__)


def _die_with_parent(parent: int) -> Callable[[], None]:
    """Return a pre-exec hook that has Linux send SIGTERM to the child when ``parent`` dies."""

    def hook() -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(0)

    return hook


class BackgroundWorker:
    """One ``xiaowu worker`` child process: started, watched (restarted if it dies, within
    limits) and stopped by the server's master."""

    def __init__(
        self,
        command: Sequence[str] = WORKER_COMMAND,
        *,
        restart_delay: float = 2.0,
        max_restarts: int = 5,
        restart_window: float = 60.0,
        stop_timeout: float = 25.0,
        output: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.command = list(command)
        self.restart_delay = restart_delay
        self.max_restarts = max_restarts
        self.restart_window = restart_window
        self.stop_timeout = stop_timeout
        self.output = output or sys.stdout
        self.clock = clock
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts: list[float] = []
        self.gave_up = False
        self.stopping = False
        self._restart_at: float | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        linux = sys.platform.startswith("linux")
        self.process = subprocess.Popen(  # noqa: S603 — our own interpreter and command
            self.command,
            # Its own session: a terminal's Ctrl+C reaches the master, which stops it once.
            start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid()) if linux else None,
        )
        self._say(f"后台任务进程已启动（pid {self.process.pid}）。")

    def check(self) -> None:
        """Restart the worker if it exited (called from the master's loop, about every second)."""
        if self.stopping or self.gave_up or self.process is None:
            return
        now = self.clock()
        if self._restart_at is not None:
            if now >= self._restart_at:
                self._restart_at = None
                self.start()
            return
        code = self.process.poll()
        if code is None:
            return
        self.restarts = [t for t in self.restarts if now - t < self.restart_window] + [now]
        if len(self.restarts) > self.max_restarts:
            self.gave_up = True
            self._say(
                f"后台任务进程在 {self.restart_window:.0f} 秒内退出了 {len(self.restarts)} 次，"
                "不再自动重启；请查看上面的日志，修复后重启服务或单独运行 xiaowu worker。"
            )
            return
        # gunicorn's master reaps every child, so the real status is often lost (0 then).
        status = f"（代码 {code}）" if code else ""
        self._say(f"后台任务进程已退出{status}，{self.restart_delay:.0f} 秒后重启。")
        self._restart_at = now + self.restart_delay

    def terminate(self) -> None:
        """Ask the worker to stop (it fails a running job with a message, then exits)."""
        self.stopping = True
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        self.terminate()
        if self.process is None:
            return
        try:
            self.process.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def _say(self, text: str) -> None:
        self.output.write(text + "\n")
        self.output.flush()


class XiaowuArbiter(Arbiter):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn's master, also keeping the background worker alive."""

    def __init__(self, app: Any, background: BackgroundWorker | None = None) -> None:
        self.background = background
        super().__init__(app)

    def start(self) -> None:
        super().start()
        if self.background is not None:
            self.background.start()

    def manage_workers(self) -> None:
        super().manage_workers()
        if self.background is not None:
            self.background.check()

    def stop(self, graceful: bool = True) -> None:
        if self.background is not None:
            self.background.terminate()  # both stop at the same time
        super().stop(graceful)
        if self.background is not None:
            self.background.stop()


class XiaowuApplication(BaseApplication):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn with its options given in code and ``xiaowu.wsgi:application`` as the app."""

    def __init__(
        self, options: Mapping[str, Any], background: BackgroundWorker | None = None
    ) -> None:
        self.options = dict(options)
        self.background = background
        super().__init__()

    def run(self) -> None:
        try:
            XiaowuArbiter(self, background=self.background).run()
        except RuntimeError as exc:
            sys.stderr.write(f"\nError: {exc}\n\n")
            sys.stderr.flush()
            sys.exit(1)

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> WsgiApp:
        # Imported here, in each worker, so that WhiteNoise indexes the freshly collected
        # static files (it reads STATIC_ROOT when the WSGI handler is built).
        application: WsgiApp = importlib.import_module(WSGI_MODULE).application
        return application


def gunicorn_options(*, host: str, port: int, workers: int) -> dict[str, Any]:
    """Return the gunicorn settings ``serve`` runs with."""
    return {
        "bind": [f"{host}:{port}"],
        "workers": workers,
        "worker_class": "sync",
        "timeout": 60,
        "graceful_timeout": 20,
        "accesslog": "-",
        "errorlog": "-",
        "proc_name": "xiaowu",
        # gunicorn ≥ 25 opens a control socket under $HOME by default; not needed here, and
        # two instances would compete for it. (Unknown settings are skipped on older versions.)
        "control_socket_disable": True,
    }


def server_url(*, host: str, port: int) -> str:
    """Return the address to open in a browser (a wildcard bind is reached via 127.0.0.1)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host  # noqa: S104 — a comparison
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


class Command(BaseCommand):
    help = "用 gunicorn 运行校务（先收集静态文件）。纯 HTTP 部署需设置 XIAOWU_INSECURE_HTTP=1。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1）")
        parser.add_argument("--port", type=int, default=8000, help="端口（默认 8000）")
        parser.add_argument("--workers", type=int, default=2, help="工作进程数（默认 2）")
        parser.add_argument(
            "--no-collectstatic", action="store_true", help="跳过收集静态文件（已收集过时）"
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="不启动后台任务进程（另行运行 xiaowu worker 时）",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        port: int = options["port"]
        workers: int = options["workers"]
        if not 0 < port < 65536:
            raise CommandError("端口必须在 1 到 65535 之间。")
        if workers < 1:
            raise CommandError("--workers 至少为 1。")
        if not options["no_collectstatic"]:
            self.stdout.write("正在收集静态文件……")
            Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
            call_command("collectstatic", interactive=False, verbosity=0)
        # The workers are forked from this process: they must not share its connections.
        connections.close_all()
        self.stdout.write(f"校务已启动：{server_url(host=host, port=port)}（按 Ctrl+C 停止）")
        if not settings.INSECURE_HTTP:
            self.stdout.write(
                "提示：当前为 HTTPS 配置（安全 Cookie、HSTS）；在本机用纯 HTTP 访问请设置 "
                "XIAOWU_INSECURE_HTTP=1。"
            )
        self.stdout.flush()
        background = None if options["no_worker"] else BackgroundWorker()
        XiaowuApplication(
            gunicorn_options(host=host, port=port, workers=workers), background=background
        ).run()
