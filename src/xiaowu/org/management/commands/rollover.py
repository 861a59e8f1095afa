"""``xiaowu rollover --school CODE --year 2027-2028 [--graduated-on YYYY-MM-DD] [--dry-run]
[--format json]``: the annual 学年升级 of one school.

An operator command (shell access to the server): it runs without user scoping and is recorded
in the audit log as 命令行. With ``--dry-run`` it prints the plan and writes nothing. With
``--format json`` it prints exactly one object: the plan (``promoted``, ``graduated_classes``,
``graduated_students``, ``problems``) plus ``graduated_on``, ``dry_run`` and ``applied``. It
exits non-zero when the plan has problems or the rollover is refused.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from xiaowu.accounts.scoping import operator_actor
from xiaowu.org.models import OrgUnit, SchoolYear, UnitKind
from xiaowu.org.rollover import (
    RolloverPlan,
    default_graduated_on,
    rollover_plan,
    school_year_rollover,
)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"日期“{value}”无效，应为 YYYY-MM-DD。") from exc


class Command(BaseCommand):
    help = (
        "学年升级：各班升入下一年级，毕业年级学生办理毕业、班级停用并改名为“某某届”。"
        "全部在一个事务中完成；每所学校每学年只能升级一次。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--school", required=True, metavar="CODE", help="学校代码")
        parser.add_argument("--year", required=True, metavar="2027-2028", help="升入的学年名称")
        parser.add_argument(
            "--graduated-on",
            metavar="YYYY-MM-DD",
            help="毕业日期（默认今天，但不晚于新学年开始的前一天）",
        )
        parser.add_argument("--dry-run", action="store_true", help="只预览、不写入")
        parser.add_argument(
            "--format", choices=["text", "json"], default="text", help="输出格式（默认 text）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        code: str = options["school"].strip()
        school = OrgUnit.objects.filter(code=code, kind=UnitKind.SCHOOL).first()
        if school is None:
            raise CommandError(f"没有代码为“{code}”的学校。")
        school_year = SchoolYear.objects.filter(name=options["year"].strip()).first()
        if school_year is None:
            raise CommandError(f"没有名为“{options['year']}”的学年，请先在校历中建立。")
        graduated_on = (
            _date(options["graduated_on"])
            if options["graduated_on"]
            else default_graduated_on(school_year=school_year)
        )
        plan = rollover_plan(school=school, school_year=school_year)
        errors = list(plan.problems)
        applied = False
        if not errors and not options["dry_run"]:
            try:
                school_year_rollover(
                    actor=operator_actor(),
                    school=school,
                    school_year=school_year,
                    graduated_on=graduated_on,
                )
            except ValidationError as exc:
                errors = list(exc.messages)
            else:
                applied = True
        if options["format"] == "json":
            payload = {
                **plan.as_json(),
                "problems": errors,
                "graduated_on": graduated_on.isoformat(),
                "dry_run": options["dry_run"],
                "applied": applied,
            }
            self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2))
        else:
            self._report(plan, errors, graduated_on=graduated_on, applied=applied)
        if errors:
            raise CommandError(f"发现 {len(errors)} 个问题，未做任何更改。")

    def _report(
        self, plan: RolloverPlan, errors: list[str], *, graduated_on: date, applied: bool
    ) -> None:
        self.stdout.write(f"{plan.school.name}（{plan.school.code}）升入{plan.school_year}：")
        for move in plan.moves:
            if move.graduates:
                self.stdout.write(
                    f"  {move.name_before} → {move.name_after}（毕业 {move.enrolled_count} 人，"
                    "班级停用）"
                )
            else:
                self.stdout.write(
                    f"  {move.name_before} → {move.name_after}（{move.grade_after_label}）"
                )
        for error in errors:
            self.stdout.write(f"问题：{error}")
        if errors:
            return
        verb = "已" if applied else "将"
        self.stdout.write(
            f"共 {len(plan.promoted)} 个班级{verb}升级，{len(plan.graduating)} 个班级的 "
            f"{plan.graduate_count} 名学生{verb}于 {graduated_on:%Y-%m-%d} 毕业。"
            + ("" if applied else "（试运行，未写入）")
        )
