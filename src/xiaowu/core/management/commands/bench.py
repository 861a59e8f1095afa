"""``xiaowu bench <target> [options]``: performance benchmarks.

Each target lives in its domain, in a module with ``HELP``, ``add_arguments(parser)`` and
``run(options, *, stdout)``; the benchmarks run in a throwaway database, never on real data.
Targets are listed here by dotted path, so that ``core`` imports no domain at load time.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

BENCHMARKS: dict[str, str] = {
    "import": "xiaowu.exchange.bench",  # 学籍导入: N-row national template, twice
    "summary": "xiaowu.reports.bench",  # 工作总结: school, 学区, 200-school roll-up as a job
    "exams": "xiaowu.exams.bench",  # 成绩分析: 500k students × 9 subjects vs bare polars; SGP
}


def _module(target: str) -> ModuleType:
    return import_module(BENCHMARKS[target])


class Command(BaseCommand):
    help = "性能基准（在临时数据库中运行，不影响现有数据）：xiaowu bench import [--rows 50000]"

    def add_arguments(self, parser: CommandParser) -> None:
        targets = parser.add_subparsers(dest="target", required=True, metavar="TARGET")
        for target in BENCHMARKS:
            module = _module(target)
            module.add_arguments(targets.add_parser(target, help=module.HELP))

    def handle(self, *args: Any, **options: Any) -> None:
        _module(options["target"]).run(options, stdout=self.stdout)
