"""``xiaowu report summary|import`` — work summaries for operators and scripts.

xiaowu report summary --org CODE --period 2024-2025 [--term 1|2] -o FILE.docx
xiaowu report summary --org CODE --period 2024-2025 --variant agreement -o FILE.docx
xiaowu report summary --org CODE --period 2024-2025 --template SCHOOL.docx -o FILE.docx
xiaowu report summary --org CODE --period 2024-2025 --format json
xiaowu report import FILE --org CODE [--format json]
"""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from xiaowu.accounts.scoping import operator_actor
from xiaowu.org.models import OrgUnit
from xiaowu.reports.consistency import check_document
from xiaowu.reports.docx_render import render_docx, render_with_template
from xiaowu.reports.generator import summary_generate
from xiaowu.reports.goal_import import summary_goals_import
from xiaowu.reports.pdf import docx_to_pdf
from xiaowu.reports.period import Period, calendar_year_period, school_year_period
from xiaowu.reports.selectors import agreement_for_period, agreement_spec, figure_payload


class Command(BaseCommand):
    help = "生成工作总结（.docx / .pdf / JSON），或从往期总结中导入存在问题与下一步打算。"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        summary = sub.add_parser("summary", help="生成工作总结")
        summary.add_argument("--org", required=True, help="单位代码（xiaowu orgs 可列出）")
        summary.add_argument("--period", help="学年，如 2024-2025")
        summary.add_argument("--term", type=int, choices=[1, 2], help="学期（不填为整学年）")
        summary.add_argument("--year", type=int, help="自然年，如 2025（代替 --period）")
        summary.add_argument("--variant", choices=["summary", "agreement"], default="summary")
        summary.add_argument("--format", choices=["docx", "pdf", "json"], default="docx")
        summary.add_argument("--template", help="学校自己的 .docx 模板（docxtpl 占位符）")
        summary.add_argument("-o", "--output", help="输出文件；JSON 不填则输出到标准输出")
        imported = sub.add_parser("import", help="导入往期工作总结中的存在问题和下一步打算")
        imported.add_argument("file")
        imported.add_argument("--org", required=True)
        imported.add_argument("--format", choices=["text", "json"], default="text")
        imported.add_argument("--dry-run", action="store_true", help="只显示提取结果，不建立目标")

    def handle(self, *args: Any, **options: Any) -> None:
        unit = OrgUnit.objects.filter(code=options["org"]).first()
        if unit is None:
            raise CommandError(f"找不到代码为“{options['org']}”的单位。")
        if options["action"] == "summary":
            self._summary(unit, options)
        else:
            self._import(unit, options)

    def _period(self, options: dict[str, Any]) -> Period:
        try:
            if options["year"]:
                return calendar_year_period(options["year"])
            if not options["period"]:
                raise CommandError("请用 --period 指定学年，或用 --year 指定自然年。")
            return school_year_period(options["period"], options["term"])
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from exc

    def _summary(self, unit: OrgUnit, options: dict[str, Any]) -> None:
        actor = operator_actor()
        period = self._period(options)
        agreement = None
        if options["variant"] == "agreement":
            found = agreement_for_period(
                actor=actor, unit_id=unit.pk, start_on=period.start_on, end_on=period.end_on
            )
            if found is None:
                raise CommandError(f"{unit.name}在{period.label}没有目标责任书。")
            agreement = agreement_spec(agreement=found)
        generated = summary_generate(
            actor=actor,
            unit=unit,
            period=period,
            variant=options["variant"],
            agreement=agreement,
        )
        findings = check_document(generated.document)
        if options["format"] == "json":
            payload = figure_payload(generated)
            payload["findings"] = [{"kind": f.kind, "message": f.message} for f in findings]
            text = json.dumps(payload, ensure_ascii=False, indent=2)
            if options["output"]:
                Path(options["output"]).write_text(text, encoding="utf-8")
            else:
                self.stdout.write(text)
            return
        if not options["output"]:
            raise CommandError("请用 -o 指定输出文件。")
        if options["template"]:
            try:
                data = render_with_template(
                    generated.document, Path(options["template"]).read_bytes()
                )
            except (OSError, ValueError) as exc:
                raise CommandError(f"模板无法使用：{exc}") from exc
        else:
            data = render_docx(generated.document)
        if options["format"] == "pdf":
            pdf = docx_to_pdf(data)
            if pdf is None:
                raise CommandError("未安装 LibreOffice，无法生成 PDF；可改用 --format docx。")
            data = pdf
        Path(options["output"]).write_bytes(data)
        self.stdout.write(f"已生成：{options['output']}（{generated.document.title}）")
        for finding in findings:
            self.stderr.write(f"一致性检查：{finding.message}")

    def _import(self, unit: OrgUnit, options: dict[str, Any]) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件：{path}")
        try:
            result = summary_goals_import(
                actor=operator_actor(),
                unit=unit,
                data=path.read_bytes(),
                filename=path.name,
                dry_run=options["dry_run"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        else:
            for document in result.documents:
                self.stdout.write(
                    f"《{document.title}》：存在问题 {len(document.problems)} 项，"
                    f"下一步打算 {len(document.plans)} 项"
                )
                for goal in document.goals:
                    self.stdout.write(f"  - {goal}")
        if not result.documents:
            sys.exit(1)
