"""``xiaowu exam import FILE --exam ID [--items SUBJECT] [--dry-run] [--format json]``.

An operator command (shell access to the server): it imports without user scoping and is
recorded in the audit log as 命令行. The whole file is applied in one transaction, or nothing
is written when any row has an error. With ``--format json`` it prints exactly one object,
``{"committed", "rows", "matched", "created", "updated", "unchanged", "item_scores",
"errors": [{"row", "column", "message"}]}``, and exits non-zero when there are errors. A file
refused before parsing (type, size, macros, zip bomb) is reported as one error on row 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser, OutputWrapper

from xiaowu.exams.models import Exam, ExamSubject
from xiaowu.exams.score_import import (
    MODE_ITEMS,
    MODE_SCORES,
    ScoreImportOutcome,
    score_import_run,
    upload_rejected_outcome,
)
from xiaowu.exchange.safety import UploadRejectedError, check_size

HELP = "导入考试成绩（.xlsx/.xls/.csv，每科一列；或用 --items 导入某科的小题得分）"


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("file", help="成绩文件（.xlsx、.xls 或 .csv）")
    parser.add_argument("--exam", required=True, type=int, metavar="ID", help="考试编号")
    parser.add_argument(
        "--items",
        metavar="SUBJECT",
        help="导入该科目的小题得分（列名为题号，如 1、2、3(1)），并以小题之和更新该科成绩",
    )
    parser.add_argument(
        "--no-totals", action="store_true", help="与 --items 合用：只导入小题，不更新科目成绩"
    )
    parser.add_argument("--dry-run", action="store_true", help="只检查、不写入")
    parser.add_argument(
        "--format", choices=["text", "json"], default="text", help="输出格式（默认 text）"
    )


def run(options: dict[str, Any], *, stdout: OutputWrapper) -> None:
    exam = Exam.objects.filter(pk=options["exam"]).first()
    if exam is None:
        raise CommandError(f"没有编号为 {options['exam']} 的考试。")
    path = Path(options["file"])
    if not path.is_file():
        raise CommandError(f"找不到文件 {path}。")
    mode, subject_id = MODE_SCORES, None
    if options.get("items"):
        subject = ExamSubject.objects.filter(exam=exam, subject=options["items"].strip()).first()
        if subject is None:
            raise CommandError(f"该考试没有科目“{options['items']}”。")
        mode, subject_id = MODE_ITEMS, subject.pk
    try:
        check_size(path.stat().st_size)
        outcome = score_import_run(
            actor=None,
            exam=exam,
            name=path.name,
            data=path.read_bytes(),
            mode=mode,
            subject_id=subject_id,
            update_totals=not options.get("no_totals", False),
            dry_run=options["dry_run"],
        )
    except UploadRejectedError as exc:
        outcome = upload_rejected_outcome(exc, mode)
    except ValidationError as exc:
        raise CommandError("；".join(exc.messages)) from exc
    if options["format"] == "json":
        stdout.write(json.dumps(outcome.as_json(), ensure_ascii=False))
    else:
        _report(outcome, stdout=stdout, dry_run=options["dry_run"])
    if outcome.plan.errors:
        raise CommandError(f"发现 {len(outcome.plan.errors)} 处错误，未写入任何数据。")


def _report(outcome: ScoreImportOutcome, *, stdout: OutputWrapper, dry_run: bool) -> None:
    plan = outcome.plan
    for error in plan.errors:
        column = f"［{error.column}］" if error.column else ""
        stdout.write(f"第 {error.row} 行{column}：{error.message}")
    if plan.ignored:
        stdout.write(f"未识别、已忽略的列：{'、'.join(plan.ignored)}")
    if plan.errors:
        return
    summary = outcome.as_json()
    verb = "将" if dry_run else "已"
    line = (
        f"共 {plan.row_count} 行，匹配考生 {plan.matched} 人："
        f"{verb}新增成绩 {summary['created']} 个，{verb}修改 {summary['updated']} 个，"
        f"未变化 {summary['unchanged']} 个。"
    )
    if plan.mode == MODE_ITEMS:
        line += f"小题得分{verb}写入 {summary['item_scores']} 个。"
    stdout.write(line)
