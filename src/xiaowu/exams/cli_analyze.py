"""``xiaowu exam analyze ID [--preset CODE | --caliber CODE] --format json|xlsx [--students]
[-o FILE]``.

An operator command (shell access to the server): it sees the whole exam and is recorded in the
audit log as 命令行 when it writes a workbook. It analyses the exam under the chosen 口径 (by
default the exam's own, else the 通用口径 preset), through the same cache as the pages, and
writes either JSON — the exam, the 口径 (code, version, configuration), the scores revision and
the aggregate tables (units, joint pass rates, 上线 with 有效分 and 单科上线, 分数段, 一分一段,
赋分对照; student rows only with ``--students``, which is audited) — or the .xlsx workbook of
the analysis pages (分析总表, 班级对比表, 分数段表, 一分一段表, 单科上线表, 赋分对照表, 口径说明).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from django.core.management.base import CommandError, CommandParser, OutputWrapper

from xiaowu.accounts.scoping import operator_actor
from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record
from xiaowu.exams.analysis import (
    AnalysisBundle,
    AnalysisError,
    caliber_default,
    caliber_label,
    exam_analysis_get,
)
from xiaowu.exams.exports import OPERATOR_LABEL, analysis_export
from xiaowu.exams.models import Caliber, Exam, ExamCandidate
from xiaowu.exams.selectors_analysis import analysis_scope

HELP = "成绩分析：按口径分析考试，输出 JSON 或 Excel（分析总表、班级对比表、分数段表、一分一段表）"
JSON_TABLES = (
    "units",
    "joint",
    "lines",
    "effective",
    "line_subjects",
    "bands",
    "one_point",
    "assigned_bands",
)


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("exam", type=int, metavar="ID", help="考试编号")
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument(
        "--preset", metavar="CODE", help="系统预置口径的代码或名称（如 general、county-weighted）"
    )
    chosen.add_argument("--caliber", metavar="CODE", help="口径代码（任何单位的口径，取最新版本）")
    parser.add_argument(
        "--format", choices=["json", "xlsx"], default="json", help="输出格式（默认 json）"
    )
    parser.add_argument(
        "--students",
        action="store_true",
        help=(
            "json 中同时输出学生级结果（各科成绩、班/校/总名次、标准分、百分等级、"
            "学科均衡、赋分），供独立核对；含未成年人敏感信息，导出记入审计日志"
        ),
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="输出文件（json 默认输出到屏幕；xlsx 默认存到当前目录）",
    )


def _caliber(exam: Exam, options: dict[str, Any]) -> Caliber:
    preset = options.get("preset")
    code = options.get("caliber")
    if preset:
        found = (
            Caliber.objects.filter(owner__isnull=True).current().filter(code=preset).first()
            or Caliber.objects.filter(owner__isnull=True).current().filter(name=preset).first()
        )
        if found is None:
            codes = "、".join(
                Caliber.objects.filter(owner__isnull=True)
                .current()
                .order_by("code")
                .values_list("code", flat=True)
            )
            raise CommandError(f"没有名为“{preset}”的预置口径。可用的预置口径：{codes}")
        return found
    if code:
        found = Caliber.objects.filter(code=code).current().order_by("-version").first()
        if found is None:
            raise CommandError(f"没有代码为“{code}”的口径。")
        return found
    try:
        return caliber_default(exam)
    except AnalysisError as exc:
        raise CommandError(str(exc)) from exc


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (a NaN, which JSON cannot hold, becomes null)."""
    floats = [name for name, dtype in frame.schema.items() if dtype.is_float()]
    return frame.with_columns(pl.col(floats).fill_nan(None)).to_dicts()


def analysis_json(bundle: AnalysisBundle) -> dict[str, Any]:
    exam = bundle.exam
    return {
        "exam": {
            "id": exam.pk,
            "name": exam.name,
            "kind": exam.kind,
            "grade": exam.grade,
            "held_on": exam.held_on.isoformat(),
            "owner": exam.owner.code,
        },
        "caliber": {**caliber_label(bundle.caliber), "config": bundle.spec.to_config()},
        "scores_revision": bundle.analysis.scores_revision,
        "computed_at": bundle.analysis.summary.get("computed_at"),
        "subjects": bundle.analysis.summary.get("subjects", []),
        "warnings": bundle.analysis.summary.get("warnings", []),
        **{name: _records(bundle.table(name)) for name in JSON_TABLES if bundle.has_table(name)},
    }


def student_json(bundle: AnalysisBundle) -> dict[str, Any]:
    """Student-level tables, for an operator who checks the engine against their own
    computation: ``candidates`` (candidate_id, student_id, 考号, class, school, 总分) and
    ``students`` (per candidate × subject: score, ranks, Z/T, 正态化, 百分等级, 学科均衡),
    plus ``assigned`` (等级赋分) when the 口径 has it. Recorded in the audit log."""
    numbers = dict(ExamCandidate.objects.filter(exam=bundle.exam).values_list("pk", "exam_number"))
    candidates = bundle.table("candidates").with_columns(
        pl.col("candidate_id")
        .replace_strict(numbers, default=None, return_dtype=pl.String)
        .alias("exam_number")
    )
    tables = {"candidates": _records(candidates), "students": _records(bundle.table("students"))}
    if bundle.has_table("assigned") and bundle.spec.assigned_scores is not None:
        tables["assigned"] = _records(bundle.table("assigned"))
    audit_record(
        actor=None,
        action=AuditAction.EXPORT,
        event="exams.analysis_students_export",
        target=bundle.exam,
        org_unit_id=bundle.exam.owner_id,
        actor_label=OPERATOR_LABEL,
        changes={
            "caliber": bundle.caliber.code,
            "caliber_version": bundle.caliber.version,
            "scores_revision": bundle.analysis.scores_revision,
            "candidates": candidates.height,
        },
    )
    return tables


def run(options: dict[str, Any], *, stdout: OutputWrapper) -> None:
    exam = Exam.objects.select_related("owner").filter(pk=options["exam"]).first()
    if exam is None:
        raise CommandError(f"没有编号为 {options['exam']} 的考试。")
    caliber = _caliber(exam, options)
    try:
        bundle = exam_analysis_get(exam=exam, caliber=caliber)
    except AnalysisError as exc:
        raise CommandError(str(exc)) from exc
    output = options.get("output")
    if options["format"] == "json":
        document = analysis_json(bundle)
        if options.get("students"):
            document |= student_json(bundle)
        text = json.dumps(document, ensure_ascii=False, allow_nan=False, default=str)
        if output:
            Path(output).write_text(text, encoding="utf-8")
            stdout.write(f"已写入 {output}")
        else:
            stdout.write(text)
        return
    scope = analysis_scope(actor=operator_actor(), exam=exam)
    export = analysis_export(actor=None, bundle=bundle, scope=scope)
    path = Path(output or export.filename)
    path.write_bytes(export.handle.read())
    stdout.write(f"已写入 {path}（{export.rows} 行，口径：{caliber.name} 第{caliber.version}版）")
