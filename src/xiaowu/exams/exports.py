"""Exam analysis as .xlsx in the usual layouts: 分析总表, 班级对比表, 分数段表, 一分一段表,
单科上线表, and 赋分对照表 when the 口径 has 等级赋分.

Written with xlsxwriter the way ``exchange.xlsx`` writes (constant memory, no string ever
turned into a number, formula or link; text that starts like a formula carries the quote
prefix): identifiers such as unit codes are text cells, measures are number cells. Rates are
percentages derived from their parts (``core.rates.Rate``: numerator ÷ denominator, rounded
half-up to two decimals) and each rate column sits next to its count. Only the rows the user
may see are written (``selectors_analysis``); every sheet names the exam, the 口径 and its
version, and the scores revision; the export is audited in the same transaction.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

import polars as pl
import xlsxwriter
from django.db import transaction
from django.utils import timezone
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record
from xiaowu.core.rates import Rate
from xiaowu.core.tabular import strip_control
from xiaowu.exams.analysis import AnalysisBundle, subject_order
from xiaowu.exams.analytics import TOTAL
from xiaowu.exams.naming import class_name_as_of, school_years_since
from xiaowu.exams.selectors_analysis import (
    LEVEL_LABELS,
    AnalysisScope,
    assigned_conversion,
    assigned_subjects,
    assigned_unit_rows,
    line_subject_rows,
    unit_labels,
    unit_rows,
)
from xiaowu.org.models import OrgUnit

if TYPE_CHECKING:
    from xiaowu.accounts.models import User

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_LAYOUTS: dict[str, str] = {
    "summary": "分析总表",
    "classes": "班级对比表",
    "bands": "分数段表",
    "one_point": "一分一段表",
    "lines": "单科上线表",
    "assigned": "赋分对照表",
}
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
OPERATOR_LABEL = "命令行"


@dataclass
class ExportFile:
    filename: str
    handle: BinaryIO
    rows: int


def rate_percent(numerator: Any, denominator: Any) -> float | None:
    """The rate in percent as written to the workbook (None when the base is 0)."""
    percent = Rate(int(numerator or 0), int(denominator or 0)).percent
    return None if percent is None else float(percent)


def denominator_of(row: dict[str, Any], bundle: AnalysisBundle) -> Any:
    if row.get("rate_denominator") is not None:
        return row["rate_denominator"]
    return row["expected"] if bundle.spec.denominator == "expected" else row["sat"]


class _Sheet:
    """One worksheet written top to bottom (constant-memory mode needs row order)."""

    def __init__(self, workbook: Workbook, name: str, formats: dict[str, Any]) -> None:
        self.sheet: Worksheet = workbook.add_worksheet(name)
        self.formats = formats
        self.row = 0
        self.data_rows = 0

    def _write(self, col: int, value: Any, fmt: Any = None) -> None:
        if value is None or value == "":
            return
        if isinstance(value, bool):
            self.sheet.write_string(self.row, col, "是" if value else "否", self.formats["text"])
        elif isinstance(value, int | float):
            self.sheet.write_number(self.row, col, float(value), fmt)
        else:
            text = strip_control(str(value))
            style = self.formats["quoted"] if text.startswith(FORMULA_TRIGGERS) else fmt
            self.sheet.write_string(self.row, col, text, style or self.formats["text"])

    def note(self, text: str, *, bold: bool = False) -> None:
        self._write(0, text, self.formats["title"] if bold else self.formats["text"])
        self.row += 1

    def header(self, cells: Sequence[str]) -> None:
        for col, text in enumerate(cells):
            self.sheet.write_string(self.row, col, text, self.formats["header"])
        self.sheet.freeze_panes(self.row + 1, 0)
        self.row += 1

    def values(self, cells: Sequence[Any], formats: Sequence[Any] | None = None) -> None:
        for col, value in enumerate(cells):
            self._write(col, value, formats[col] if formats else None)
        self.row += 1
        self.data_rows += 1

    def blank(self) -> None:
        self.row += 1

    def widths(self, widths: Sequence[float]) -> None:
        for col, width in enumerate(widths):
            self.sheet.set_column(col, col, width)


def _meta_lines(bundle: AnalysisBundle, exporter: str) -> list[str]:
    exam = bundle.exam
    caliber = bundle.caliber
    analysis = bundle.analysis
    return [
        f"{exam.name}（{exam.held_on:%Y-%m-%d}）",
        f"分析口径：{caliber.name}（代码 {caliber.code}，第{caliber.version}版）；"
        f"成绩版本 {analysis.scores_revision}；"
        f"比率分母：{'应考人数' if bundle.spec.denominator == 'expected' else '实考人数'}",
        f"{exporter} 于 {timezone.localtime():%Y-%m-%d %H:%M} 导出；"
        "比率为百分数，四舍五入保留两位小数",
    ]


def _codes(level: str, ids: Iterable[int]) -> dict[int, str]:
    if level in ("exam", "teacher"):
        return {}
    return dict(OrgUnit.objects.filter(pk__in=list(ids)).values_list("pk", "code"))


# --------------------------------------------------------------------------- layouts
SUMMARY_HEADER = [
    "层级",
    "单位",
    "单位代码",
    "科目",
    "应考人数",
    "实考人数",
    "平均分",
    "最高分",
    "最低分",
    "标准差",
    "得分率(%)",
    "优秀人数",
    "优秀率(%)",
    "良好人数",
    "良好率(%)",
    "及格人数",
    "及格率(%)",
    "低分人数",
    "低分率(%)",
    "超均率(%)",
    "综合分",
    "名次",
    "参评单位数",
]


def _fraction_percent(value: Any) -> float | None:
    if value is None:
        return None
    return round(float(value) * 100, 2)


def _summary(sheet: _Sheet, bundle: AnalysisBundle, scope: AnalysisScope) -> None:
    sheet.header(SUMMARY_HEADER)
    sheet.widths([6, 22, 14, 8, *([9] * 19)])
    f = sheet.formats
    formats = [None, None, f["text"], None, f["int"], f["int"], f["dec"], f["dec1"], f["dec1"]]
    formats += [f["dec"], f["dec"], f["int"], f["dec"], f["int"], f["dec"], f["int"], f["dec"]]
    formats += [f["int"], f["dec"], f["dec"], f["dec"], f["int"], f["int"]]
    order = {subject: index for index, subject in enumerate(subject_order(bundle))}
    composite = bundle.spec.composite is not None
    for level in ("exam", "district", "school", "class", "teacher"):
        rows = unit_rows(bundle, scope, level)
        if not rows.height:
            continue
        ids = rows.get_column("unit_id").unique().drop_nulls().to_list()
        names = unit_labels(level, ids, exam=bundle.exam)
        codes = _codes(level, ids)
        rank_column = "composite_rank" if composite else "mean_rank"
        ordered = sorted(
            rows.iter_rows(named=True),
            key=lambda r: (names.get(r["unit_id"], ""), order.get(r["subject"], 99)),
        )
        for row in ordered:
            base = denominator_of(row, bundle)
            name = "全体考生" if level == "exam" else names.get(row["unit_id"], "")
            sheet.values(
                [
                    LEVEL_LABELS[level],
                    name,
                    codes.get(row["unit_id"], ""),
                    row["subject"],
                    row.get("expected"),
                    row.get("sat"),
                    _round(row.get("mean")),
                    row.get("max"),
                    row.get("min"),
                    _round(row.get("std")),
                    _fraction_percent(row.get("score_rate")),
                    row.get("excellent_n"),
                    rate_percent(row.get("excellent_n"), base),
                    row.get("good_n"),
                    rate_percent(row.get("good_n"), base),
                    row.get("pass_n"),
                    rate_percent(row.get("pass_n"), base),
                    row.get("low_n"),
                    rate_percent(row.get("low_n"), base),
                    _fraction_percent(row.get("above_mean_rate")),
                    _round(row.get("composite")) if composite else None,
                    row.get(rank_column) if level != "exam" else None,
                    row.get("units_n") if level != "exam" else None,
                ],
                formats,
            )


def _round(value: Any, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def _classes(sheet: _Sheet, bundle: AnalysisBundle, scope: AnalysisScope) -> None:
    subjects = subject_order(bundle)
    composite = bundle.spec.composite is not None
    per_subject = ["平均分", "及格率(%)", "优秀率(%)", "低分率(%)", "名次"]
    header = ["班级", "班级代码", "学校", "实考人数"]
    for subject in subjects:
        header += [f"{subject}{label}" for label in per_subject]
    if composite:
        header += ["综合分", "综合名次"]
    sheet.header(header)
    sheet.widths([16, 14, 16, 9, *([10] * (len(header) - 4))])
    rows = unit_rows(bundle, scope, "class")
    if not rows.height:
        return
    ids = rows.get_column("unit_id").unique().to_list()
    grade = bundle.exam.grade
    years = school_years_since(bundle.exam)
    units = {
        pk: (class_name_as_of(grade, name, unit_grade, number, years_since=years), code, school)
        for pk, name, unit_grade, number, code, school in OrgUnit.objects.filter(
            pk__in=ids
        ).values_list("pk", "name", "grade", "class_number", "code", "school__name")
    }
    by_unit: dict[int, dict[str, dict[str, Any]]] = {}
    for row in rows.iter_rows(named=True):
        by_unit.setdefault(row["unit_id"], {})[row["subject"]] = row
    f = sheet.formats
    formats: list[Any] = [None, f["text"], None, f["int"]]
    formats += [f["dec"], f["dec"], f["dec"], f["dec"], f["int"]] * len(subjects)
    formats += [f["dec"], f["int"]]
    rank_order = sorted(
        by_unit,
        key=lambda u: (by_unit[u].get(TOTAL, {}).get("mean_rank") or 10**9, units.get(u, ("",))[0]),
    )
    for unit_id in rank_order:
        subject_rows = by_unit[unit_id]
        name, code, school = units.get(unit_id, ("", "", ""))
        total = subject_rows.get(TOTAL, {})
        cells: list[Any] = [name, code, school, total.get("sat")]
        for subject in subjects:
            found = subject_rows.get(subject)
            if found is None:
                cells += [None] * len(per_subject)
                continue
            base = denominator_of(found, bundle)
            cells += [
                _round(found.get("mean")),
                rate_percent(found.get("pass_n"), base),
                rate_percent(found.get("excellent_n"), base),
                rate_percent(found.get("low_n"), base),
                found.get("mean_rank"),
            ]
        if composite:
            cells += [_round(total.get("composite")), total.get("composite_rank")]
        sheet.values(cells, formats)


def _bands(sheet: _Sheet, bundle: AnalysisBundle, scope: AnalysisScope) -> None:
    """Per subject: 分数段 rows; columns: 全体 count, cumulative %, then each visible school
    (统考) or class count."""
    bands = bundle.table("bands")
    units_level = (
        "school" if scope.visible("school") is None and _levels(bands, "school") > 1 else "class"
    )
    columns = bands.filter(pl.col("level") == units_level).get_column("unit_id").unique().to_list()
    columns = [u for u in columns if scope.allows(units_level, u)]
    names = unit_labels(units_level, columns, exam=bundle.exam)
    columns.sort(key=lambda u: names.get(u, ""))
    header = ["科目", "分数段", "全体人数", "全体占比(%)", "全体累计人数", "全体累计(%)"]
    header += [f"{names.get(u, u)}人数" for u in columns]
    sheet.header(header)
    sheet.widths([8, 14, 10, 11, 12, 11, *([12] * len(columns))])
    f = sheet.formats
    formats = [
        None,
        f["text"],
        f["int"],
        f["dec"],
        f["int"],
        f["dec"],
        *([f["int"]] * len(columns)),
    ]
    for subject in subject_order(bundle):
        part = bands.filter(pl.col("subject") == subject)
        whole = part.filter(pl.col("level") == "exam").sort("band_low", descending=True)
        if not whole.height:
            continue
        top = whole.get_column("band_high").max()
        per_unit = {
            (r["unit_id"], r["band_low"]): r["n"]
            for r in part.filter(pl.col("level") == units_level).iter_rows(named=True)
        }
        for row in whole.iter_rows(named=True):
            low, high = _num_text(row["band_low"]), _num_text(row["band_high"])
            label = f"[{low}, {high}]" if row["band_high"] == top else f"[{low}, {high})"
            sheet.values(
                [
                    subject,
                    label,
                    row["n"],
                    _fraction_percent(row.get("pct")),
                    row.get("cum_n"),
                    _fraction_percent(row.get("cum_pct")),
                    *(per_unit.get((u, row["band_low"]), 0) for u in columns),
                ],
                formats,
            )


def _levels(frame: pl.DataFrame, level: str) -> int:
    return int(frame.filter(pl.col("level") == level).get_column("unit_id").n_unique())


def _num_text(value: Any) -> str:
    return f"{float(value):.1f}".rstrip("0").rstrip(".")


def _one_point(sheet: _Sheet, bundle: AnalysisBundle, scope: AnalysisScope) -> None:
    sheet.header(["科目", "分数", "人数", "累计人数", "累计百分比(%)"])
    sheet.widths([8, 8, 8, 10, 14])
    f = sheet.formats
    formats = [None, f["dec1"], f["int"], f["int"], f["dec"]]
    table = bundle.table("one_point")
    for subject in subject_order(bundle):
        part = table.filter(pl.col("subject") == subject).sort("score", descending=True)
        for row in part.iter_rows(named=True):
            sheet.values(
                [subject, row["score"], row["n"], row["cum_n"], _fraction_percent(row["cum_pct"])],
                formats,
            )


LINES_HEADER = [
    "层级",
    "单位",
    "单位代码",
    "分数线",
    "科目",
    "有效分",
    "参考人数",
    "单上线人数",
    "双上线人数",
    "总分上线人数",
    "命中率（双上线/单上线）(%)",
    "命中率（双上线/参考人数）(%)",
    "贡献率(%)",
]


def _lines(sheet: _Sheet, bundle: AnalysisBundle, scope: AnalysisScope) -> None:
    """Per 分数线, visible unit and subject: 有效分, 单/双上线, both 命中率 and 贡献率 (rates
    from their counts: 双上线 over 单上线, over the subject's 参考人数 = 实考, over 总分上线)."""
    sheet.header(LINES_HEADER)
    sheet.widths([6, 22, 14, 10, 8, *([11] * 8)])
    f = sheet.formats
    formats = [None, None, f["text"], None, None, f["dec1"], f["int"], f["int"], f["int"]]
    formats += [f["int"], f["dec"], f["dec"], f["dec"]]
    line_order = {line.name: index for index, line in enumerate(bundle.spec.lines)}
    order = {subject: index for index, subject in enumerate(subject_order(bundle))}
    for level in ("exam", "district", "school", "class", "teacher"):
        rows = line_subject_rows(bundle, scope, level)
        if not rows.height:
            continue
        ids = rows.get_column("unit_id").unique().drop_nulls().to_list()
        names = unit_labels(level, ids, exam=bundle.exam) if level != "exam" else {}
        codes = _codes(level, ids)
        ordered = sorted(
            rows.iter_rows(named=True),
            key=lambda r: (
                line_order.get(r["line_name"], 99),
                names.get(r["unit_id"], ""),
                order.get(r["subject"], 99),
            ),
        )
        for row in ordered:
            double = row.get("double_n")
            sheet.values(
                [
                    LEVEL_LABELS[level],
                    "全体考生" if level == "exam" else names.get(row["unit_id"], ""),
                    codes.get(row["unit_id"], ""),
                    row["line_name"],
                    row["subject"],
                    row.get("effective_score"),
                    row.get("sat"),
                    row.get("single_n"),
                    double,
                    row.get("line_n"),
                    None if double is None else rate_percent(double, row.get("single_n")),
                    None if double is None else rate_percent(double, row.get("sat")),
                    None if double is None else rate_percent(double, row.get("line_n")),
                ],
                formats,
            )


ASSIGNED_HEADER = [
    "科目",
    "等级",
    "方案比例(%)",
    "人数",
    "实际比例(%)",
    "累计人数",
    "累计比例(%)",
    "原始分最低",
    "原始分最高",
    "赋分最低",
    "赋分最高",
]


def _assigned(sheet: _Sheet, bundle: AnalysisBundle, scope: AnalysisScope) -> None:
    """等级赋分: per scaled subject the conversion table (whole exam), then per visible school
    or class the mean raw and assigned scores and the count in each band."""
    subjects = assigned_subjects(bundle)
    if not subjects:
        sheet.note("本口径没有设置等级赋分，或赋分科目不在本次考试中。")
        return
    f = sheet.formats
    sheet.header(ASSIGNED_HEADER)
    sheet.widths([8, 8, 11, 8, 11, 9, 11, 10, 10, 9, 9])
    formats = [None, None, f["dec"], f["int"], f["dec"], f["int"], f["dec"]]
    formats += [f["dec1"], f["dec1"], f["int"], f["int"]]
    for subject in subjects:
        for row in assigned_conversion(bundle, subject).iter_rows(named=True):
            sheet.values(
                [
                    subject,
                    str(row["band"]),
                    _fraction_percent(row["target_pct"]),
                    row["n"],
                    _fraction_percent(row["pct"]),
                    row["cum_n"],
                    _fraction_percent(row["cum_pct"]),
                    row["raw_low"],
                    row["raw_high"],
                    row["assigned_low"],
                    row["assigned_high"],
                ],
                formats,
            )
    sheet.blank()
    levels = ["school", "class"] if bundle.exam.schools.count() > 1 else ["class"]
    for subject in subjects:
        labels = assigned_conversion(bundle, subject).get_column("band").cast(pl.String)
        sheet.header(
            ["层级", "单位", "单位代码", "科目", "实考人数", "原始分均分", "赋分均分"]
            + [f"{label}等人数" for label in labels.to_list()]
        )
        unit_formats = [None, None, f["text"], None, f["int"], f["dec"], f["dec"]]
        unit_formats += [f["int"]] * labels.len()
        for number, level in enumerate(levels):
            rows = assigned_unit_rows(bundle, scope, level, subject)
            if number:  # the whole-exam row once, before the first level
                rows = rows.filter(pl.col("level") != "exam")
            ids = rows.filter(pl.col("level") != "exam").get_column("unit_id").to_list()
            names = unit_labels(level, ids, exam=bundle.exam)
            codes = _codes(level, ids)
            for row in sorted(
                rows.iter_rows(named=True),
                key=lambda r: (r["level"] != "exam", names.get(r["unit_id"], "")),
            ):
                whole = row["level"] == "exam"
                sheet.values(
                    [
                        LEVEL_LABELS["exam" if whole else level],
                        "全体考生" if whole else names.get(row["unit_id"], ""),
                        "" if whole else codes.get(row["unit_id"], ""),
                        subject,
                        row["sat"],
                        _round(row["raw_mean"]),
                        _round(row["assigned_mean"]),
                        *(row[f"band_{index}"] for index in range(labels.len())),
                    ],
                    unit_formats,
                )
        sheet.blank()


WRITERS = {
    "summary": _summary,
    "classes": _classes,
    "bands": _bands,
    "one_point": _one_point,
    "lines": _lines,
    "assigned": _assigned,
}


def analysis_workbook_write(
    handle: BinaryIO,
    *,
    bundle: AnalysisBundle,
    scope: AnalysisScope,
    layouts: Sequence[str],
    exporter: str,
) -> int:
    """Write the chosen layouts (one sheet each, plus 口径说明); return the data row count."""
    workbook = xlsxwriter.Workbook(
        handle,
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    workbook.set_properties(
        {
            "title": f"{bundle.exam.name}成绩分析",
            "author": exporter,
            "comments": f"口径 {bundle.caliber.code} 第{bundle.caliber.version}版",
        }
    )
    formats = {
        "title": workbook.add_format({"bold": True, "font_size": 12}),
        "header": workbook.add_format(
            {"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True}
        ),
        "text": workbook.add_format({"num_format": "@"}),
        "quoted": workbook.add_format({"num_format": "@", "quote_prefix": True}),
        "int": workbook.add_format({"num_format": "0"}),
        "dec": workbook.add_format({"num_format": "0.00"}),
        "dec1": workbook.add_format({"num_format": "0.0"}),
    }
    total = 0
    for layout in layouts:
        sheet = _Sheet(workbook, EXPORT_LAYOUTS[layout], formats)
        sheet.note(f"{bundle.exam.name}{EXPORT_LAYOUTS[layout]}", bold=True)
        for line in _meta_lines(bundle, exporter):
            sheet.note(line)
        sheet.blank()
        WRITERS[layout](sheet, bundle, scope)
        total += sheet.data_rows
    notes = _Sheet(workbook, "口径说明", formats)
    notes.note(f"{bundle.caliber.name}（第{bundle.caliber.version}版）", bold=True)
    if bundle.caliber.description:
        notes.note(bundle.caliber.description)
    notes.blank()
    notes.header(["配置项", "值"])
    notes.widths([22, 80])
    for key, value in bundle.spec.to_config().items():
        notes.values([key, _config_text(value)])
    workbook.close()
    return total


def _config_text(value: Any) -> str:
    if isinstance(value, dict):
        return "；".join(f"{k}: {_config_text(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list | tuple):
        return "、".join(_config_text(v) for v in value) or "—"
    if value is None:
        return "—"
    return str(value)


def analysis_export(
    *,
    actor: User | None,
    bundle: AnalysisBundle,
    scope: AnalysisScope,
    layouts: Sequence[str] = tuple(EXPORT_LAYOUTS),
) -> ExportFile:
    """The analysis as .xlsx, audited (the audit row and the file succeed or fail together)."""
    unknown = [layout for layout in layouts if layout not in EXPORT_LAYOUTS]
    if unknown:
        raise ValueError(f"Unknown export layouts: {unknown}")
    label = OPERATOR_LABEL if actor is None else f"{actor.full_name}（{actor.username}）"
    handle = io.BytesIO()
    with transaction.atomic():
        rows = analysis_workbook_write(
            handle, bundle=bundle, scope=scope, layouts=layouts, exporter=label
        )
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT,
            event="exams.analysis_export",
            target=bundle.exam,
            org_unit_id=bundle.exam.owner_id,
            actor_label="" if actor is not None else OPERATOR_LABEL,
            changes={
                "layouts": list(layouts),
                "caliber": bundle.caliber.code,
                "caliber_version": bundle.caliber.version,
                "scores_revision": bundle.analysis.scores_revision,
                "rows": rows,
            },
        )
    handle.seek(0)
    filename = f"{bundle.exam.name}成绩分析_{timezone.localtime():%Y%m%d}.xlsx"
    return ExportFile(filename=filename, handle=handle, rows=rows)
