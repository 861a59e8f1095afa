"""``xiaowu demo_data [--scale N] [--seed S] [--force]``: load the synthetic demo district."""

from __future__ import annotations

import argparse
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import ProtectedError

from xiaowu.demo.formatting import login_lines, summary_lines
from xiaowu.demo.generator import DEFAULT_SEED
from xiaowu.demo.loader import DemoDataExistsError, demo_district_create
from xiaowu.demo.selectors import demo_login_list

MAX_SCALE = 99  # district codes have two digits


class Command(BaseCommand):
    help = (
        "生成演示数据（全部为合成数据）：一个教育局及其学区、学校、班级、教职工（含任课安排、荣誉）、"
        "学生（含学籍异动、监护人）和演示账号。"
        "规模 1 为一个乡镇学区（10 所学校、43 个教学班）；规模 N 生成 N 个城区学区。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale", type=int, default=1, help="学区数量（默认 1；大于 1 时为城区规模的学校）"
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="随机种子，同一种子生成相同的数据"
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="数据库非空时先清空组织机构、学生、监护人、教职工、角色和相关账号（审计日志保留）",
        )
        # Used by ``xiaowu demo``, which prints the logins itself.
        parser.add_argument("--no-logins", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        scale: int = options["scale"]
        seed: int = options["seed"]
        if not 1 <= scale <= MAX_SCALE:
            raise CommandError(f"--scale 必须在 1 到 {MAX_SCALE} 之间。")
        started = time.perf_counter()
        try:
            result = demo_district_create(scale=scale, seed=seed, force=options["force"])
        except DemoDataExistsError as exc:
            raise CommandError(
                f"{exc}演示数据只生成到空数据库。如需清空后重新生成，请加 --force"
                "（将删除组织机构、学生、教职工、角色分配和相关账号；审计日志保留）。"
            ) from exc
        except ProtectedError as exc:
            raise CommandError(
                "无法清空现有数据：其他业务数据仍引用组织机构、学生或账号，请先处理这些数据。"
            ) from exc
        seconds = time.perf_counter() - started
        if result.wiped:
            self.stdout.write("已清空原有组织机构及演示数据（审计日志保留）。")
        for line in summary_lines(result.summary, scale=scale, seed=seed, seconds=seconds):
            self.stdout.write(line)
        if not options["no_logins"]:
            for line in login_lines(demo_login_list()):
                self.stdout.write(line)
