"""``xiaowu import students|staff FILE --school CODE [--dry-run] [--format json]``.

An operator command (shell access to the server): it imports without user scoping and is
recorded in the audit log as 命令行. The whole file is applied in one transaction, or nothing
is written when any row has an error. With ``--format json`` it prints exactly one object,
``{"created": n, "updated": n, "unchanged": n, "errors": [{"row", "column", "message"}]}``,
and exits non-zero when there are errors. A file refused before parsing (type, size,
macros, zip bomb) is reported as one error on row 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xiaowu.exchange.models import ImportKind
from xiaowu.exchange.reader import RowError
from xiaowu.exchange.safety import UploadRejectedError, check_size
from xiaowu.exchange.services import ImportOutcome, import_run
from xiaowu.org.models import OrgUnit, UnitKind


class Command(BaseCommand):
    help = (
        "导入学生学籍（全国学籍系统《学生基本信息表》）或教职工名单（.xlsx/.xls/.csv）。"
        "按身份证件号或全国学籍号匹配，已在册的更新、未在册的新增；有任何错误时不写入任何数据。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=ImportKind.values, help="students 或 staff")
        parser.add_argument("file", help="要导入的文件（.xlsx、.xls 或 .csv）")
        parser.add_argument("--school", required=True, metavar="CODE", help="学校代码")
        parser.add_argument("--dry-run", action="store_true", help="只检查、不写入")
        parser.add_argument(
            "--format", choices=["text", "json"], default="text", help="输出格式（默认 text）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        code: str = options["school"].strip()
        school = OrgUnit.objects.filter(code=code, kind=UnitKind.SCHOOL).first()
        if school is None:
            raise CommandError(f"没有代码为“{code}”的学校。")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件 {path}。")
        try:
            check_size(path.stat().st_size)
            outcome = import_run(
                actor=None,
                school=school,
                kind=options["kind"],
                name=path.name,
                data=path.read_bytes(),
                dry_run=options["dry_run"],
            )
        except UploadRejectedError as exc:
            outcome = ImportOutcome(errors=[RowError(0, "", exc.message)])
        if options["format"] == "json":
            self.stdout.write(json.dumps(outcome.as_json(), ensure_ascii=False))
        else:
            self._report(outcome, dry_run=options["dry_run"])
        if outcome.errors:
            raise CommandError(f"发现 {len(outcome.errors)} 处错误，未写入任何数据。")

    def _report(self, outcome: ImportOutcome, *, dry_run: bool) -> None:
        for error in outcome.errors:
            column = f"［{error.column}］" if error.column else ""
            self.stdout.write(f"第 {error.row} 行{column}：{error.message}")
        if outcome.ignored_columns:
            self.stdout.write(f"未识别、已忽略的列：{'、'.join(outcome.ignored_columns)}")
        if outcome.errors:
            return
        verb = "将" if dry_run else "已"
        self.stdout.write(
            f"共 {outcome.row_count} 行：{verb}新增 {outcome.created}，{verb}更新 "
            f"{outcome.updated}，未变化 {outcome.unchanged}。"
            + ("（试运行，未写入）" if dry_run else "")
        )
