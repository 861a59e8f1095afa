"""``xiaowu demo [--host] [--port]``: migrate, load the demo district if empty, and serve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from xiaowu.core.management.commands.serve import server_url
from xiaowu.demo.formatting import login_lines
from xiaowu.demo.selectors import demo_login_list
from xiaowu.org.models import OrgUnit


class Command(BaseCommand):
    help = "一键演示：迁移数据库；若数据库中没有组织机构，则生成演示数据；然后启动服务。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1）")
        parser.add_argument("--port", type=int, default=8000, help="端口（默认 8000）")
        parser.add_argument("--workers", type=int, default=2, help="工作进程数（默认 2）")

    def handle(self, *args: Any, **options: Any) -> None:
        Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
        database = settings.DATABASES["default"]
        if connection.vendor == "sqlite" and str(database["NAME"]) != ":memory:":
            Path(str(database["NAME"])).parent.mkdir(parents=True, exist_ok=True)
        self.stdout.write("正在迁移数据库……")
        call_command("migrate", interactive=False, verbosity=0)
        if OrgUnit.objects.exists():
            self.stdout.write("数据库中已有组织机构，不再生成演示数据。")
        else:
            self.stdout.write("正在生成演示数据……")
            try:
                call_command("demo_data", no_logins=True, stdout=self.stdout)
            except CommandError as exc:
                # E.g. a superuser named "admin" exists: serve what there is.
                self.stderr.write(f"未生成演示数据：{exc}")
        url = server_url(host=options["host"], port=options["port"])
        self.stdout.write("")
        self.stdout.write(f"请用浏览器打开 {url}")
        for line in login_lines(demo_login_list()):
            self.stdout.write(line)
        self.stdout.write("")
        call_command(
            "serve",
            host=options["host"],
            port=options["port"],
            workers=options["workers"],
            stdout=self.stdout,
        )
