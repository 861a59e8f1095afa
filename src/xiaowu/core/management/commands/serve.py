"""``xiaowu serve [--host 127.0.0.1] [--port 8000] [--workers 2]``: run xiaowu under gunicorn.

Collects the static files first (WhiteNoise serves them from ``STATIC_ROOT`` with hashed,
compressed names when ``DEBUG`` is off), then runs gunicorn in this process. Plain HTTP on a
laptop needs ``XIAOWU_INSECURE_HTTP=1`` (``make demo`` and ``make serve`` set it).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from gunicorn.app.base import BaseApplication

WSGI_MODULE = "xiaowu.wsgi"

WsgiApp = Callable[..., Any]


class XiaowuApplication(BaseApplication):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn with its options given in code and ``xiaowu.wsgi:application`` as the app."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = dict(options)
        super().__init__()

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
        XiaowuApplication(gunicorn_options(host=host, port=port, workers=workers)).run()
