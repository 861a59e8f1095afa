"""The 等级赋分 tab of the analysis pages: the conversion table (赋分对照表) of a scaled subject
for the whole exam, and per visible school or class the mean raw and assigned scores and the
number of students in each grade band. Only aggregates are shown; a student's own assigned
scores stay on the staff student pages. The tab appears when the 口径 has ``assigned_scores``."""

from __future__ import annotations

from typing import Any, Final

import polars as pl
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from xiaowu.exams.selectors_analysis import (
    LEVEL_LABELS,
    assigned_conversion,
    assigned_subjects,
    assigned_unit_rows,
    unit_labels,
)
from xiaowu.exams.views_analysis import _count, _number, _page, _rate, _score

SCHEME_LABELS: Final = {
    "3+1+2": "3+1+2 再选科目（A/B/C/D/E 五等，15/35/35/13/2%，等比例转换）",
    "shandong": "山东（八等，3/7/16/24/24/16/7/3%，等比例转换）",
    "zhejiang": "浙江（21 级，每级一个分数，100 至 40 分）",
    "beijing": "北京（21 级，每级一个分数，100 至 40 分）",
    "tianjin": "天津（21 级，每级一个分数，100 至 40 分）",
    "shanghai": "上海（11 级，每级一个分数，70 至 40 分）",
}
BOUNDARY_LABELS: Final = {
    "near": "等级边界取累计比例最接近目标的分数",
    "upper": "等级边界取累计比例首次达到目标的分数",
    "lower": "等级边界取累计比例不超过目标的分数",
}
EQUAL_BAND_LABELS: Final = {
    "top": "一个等级内原始分全部相同时赋该等级最高分",
    "mid": "一个等级内原始分全部相同时赋该等级中间分",
}
TEMPLATE: Final = "exams/analysis_assigned.html"


def _range(low: Any, high: Any, *, score: bool) -> str:
    """ "high–low" as the bands run from the top (one value when equal); "—" for an empty band."""
    if low is None or high is None:
        return "—"
    top, bottom = (_score(high).text, _score(low).text) if score else (str(high), str(low))
    return f"{top}–{bottom}" if top != bottom else top


def _conversion_rows(bands: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "band": str(row["band"]),
            "target": _number(row["target_pct"] * 100, 1),
            "n": _count(row["n"]),
            "pct": _number(row["pct"] * 100, 2) if row["n"] else _number(0, 2),
            "cum_n": _count(row["cum_n"]),
            "cum_pct": _number(row["cum_pct"] * 100, 2),
            "raw": _range(row["raw_low"], row["raw_high"], score=True),
            "assigned": _range(row["assigned_low"], row["assigned_high"], score=False),
        }
        for row in bands.iter_rows(named=True)
    ]


def _chart(bands: pl.DataFrame, subject: str) -> dict[str, Any]:
    labels = bands.get_column("band").cast(pl.String).to_list()
    target = [round(value * 100, 2) for value in bands.get_column("target_pct").to_list()]
    actual = [round(value * 100, 2) for value in bands.get_column("pct").to_list()]
    return {
        "title": {
            "text": f"{subject}各等级人数比例",
            "left": "center",
            "textStyle": {"fontSize": 14},
        },
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "name": "%"},
        "series": [
            {"name": "方案比例", "type": "bar", "data": target},
            {"name": "实际比例", "type": "bar", "data": actual},
        ],
    }


@require_GET
@login_required
def analysis_assigned_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    page = _page(request, exam_id, "assigned")
    bundle = page.bundle
    if bundle is None:
        return render(request, TEMPLATE, page.context())
    subjects = assigned_subjects(bundle)
    settings = bundle.spec.assigned_scores
    if not subjects or settings is None:
        return render(request, TEMPLATE, page.context(subjects=[], settings=settings))
    subject = request.GET.get("subject", "")
    if subject not in subjects:
        subject = subjects[0]
    levels = ["school", "class"] if page.multi_school else ["class"]
    level = request.GET.get("level", levels[0])
    if level not in levels:
        level = levels[0]
    bands = assigned_conversion(bundle, subject)
    labels = bands.get_column("band").cast(pl.String).to_list()
    units = assigned_unit_rows(bundle, page.scope, level, subject)
    names = unit_labels(level, units.get_column("unit_id").to_list(), exam=page.exam)
    unit_rows = [
        {
            "name": "全体考生" if row["level"] == "exam" else names.get(row["unit_id"], "—"),
            "whole": row["level"] == "exam",
            "sat": _count(row["sat"]),
            "raw_mean": _number(row["raw_mean"]),
            "assigned_mean": _number(row["assigned_mean"]),
            "bands": [
                {"n": row[f"band_{index}"], "pct": _rate(row[f"band_{index}"], row["sat"]).text}
                for index in range(len(labels))
            ],
        }
        for row in units.iter_rows(named=True)
    ]
    unit_rows[1:] = sorted(unit_rows[1:], key=lambda row: row["name"])
    context = page.context(
        subject=subject,
        subjects=subjects,
        settings=settings,
        scheme_label=SCHEME_LABELS.get(settings.scheme, settings.scheme),
        boundary_label=BOUNDARY_LABELS[settings.boundary],
        equal_band_label=EQUAL_BAND_LABELS[settings.equal_band],
        conversion=_conversion_rows(bands),
        band_labels=labels,
        level=level,
        level_options=[{"value": key, "label": LEVEL_LABELS[key]} for key in levels],
        unit_rows=unit_rows,
        chart_assigned=_chart(bands, subject),
    )
    return render(request, TEMPLATE, context)
