"""``xiaowu exam import FILE --exam ID`` and ``xiaowu exam analyze ID --format json|xlsx``.

Each subcommand lives in its own module with ``HELP``, ``add_arguments(parser)`` and
``run(options, *, stdout)``, listed here by dotted path.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

SUBCOMMANDS: dict[str, str] = {
    "import": "xiaowu.exams.cli_import",  # 成绩导入
    "analyze": "xiaowu.exams.cli_analyze",  # 成绩分析
}


def _module(name: str) -> ModuleType:
    return import_module(SUBCOMMANDS[name])


class Command(BaseCommand):
    help = "考试成绩：xiaowu exam import FILE --exam ID；xiaowu exam analyze ID --format json|xlsx"

    def add_arguments(self, parser: CommandParser) -> None:
        subs = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        for name in SUBCOMMANDS:
            module = _module(name)
            module.add_arguments(subs.add_parser(name, help=module.HELP))

    def handle(self, *args: Any, **options: Any) -> None:
        _module(options["subcommand"]).run(options, stdout=self.stdout)
