"""``xiaowu export students --school CODE -o FILE.xlsx [--class CODE] [--unmasked]`` and
``xiaowu export staff --school CODE -o FILE.xlsx [--unmasked]``.

An operator command: exports the enrolled students of a school (or one class) in the national
template, or the staff of a school in the staff import layout. Identifiers and phone numbers
are masked unless ``--unmasked`` is given (the file the national system takes, or that imports
back unchanged); either way the export is recorded in the audit log as 命令行.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xiaowu.exchange.services import ExportFile, staff_export, student_export
from xiaowu.org.models import OrgUnit, UnitKind


class Command(BaseCommand):
    help = (
        "导出在校学生名单（全国学籍系统《学生基本信息表》格式）"
        "或教职工名单（教职工导入表格式），.xlsx。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "kind", choices=["students", "staff"], help="students（学生）或 staff（教职工）"
        )
        parser.add_argument("--school", required=True, metavar="CODE", help="学校代码")
        parser.add_argument(
            "--class",
            dest="school_class",
            metavar="CODE",
            help="只导出该班级（班级代码；仅用于 students）",
        )
        parser.add_argument("-o", "--output", required=True, help="输出文件（.xlsx）")
        parser.add_argument(
            "--unmasked", action="store_true", help="导出完整的证件号和电话号码（默认脱敏）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        code: str = options["school"].strip()
        school = OrgUnit.objects.filter(code=code, kind=UnitKind.SCHOOL).first()
        if school is None:
            raise CommandError(f"没有代码为“{code}”的学校。")
        staff = options["kind"] == "staff"
        if staff and options["school_class"]:
            raise CommandError("教职工名单按全校导出，不能指定 --class。")
        school_class = None
        if options["school_class"]:
            school_class = OrgUnit.objects.filter(
                code=options["school_class"].strip(), kind=UnitKind.SCHOOL_CLASS, school=school
            ).first()
            if school_class is None:
                raise CommandError(f"该校没有代码为“{options['school_class']}”的班级。")
        output = Path(options["output"])
        if output.suffix.lower() != ".xlsx":
            raise CommandError("输出文件名应以 .xlsx 结尾。")
        export: ExportFile
        if staff:
            export = staff_export(actor=None, school=school, unmasked=options["unmasked"])
        else:
            export = student_export(
                actor=None, school=school, school_class=school_class, unmasked=options["unmasked"]
            )
        output.write_bytes(export.handle.read())
        masking = "未脱敏" if options["unmasked"] else "证件号、电话已脱敏"
        who = "名教职工" if staff else "名学生"
        self.stdout.write(f"已导出 {export.rows} {who}到 {output}（{masking}）。")
