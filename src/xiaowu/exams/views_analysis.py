"""Analysis pages: dashboard, class / teacher / school comparison, 分数段 and 一分一段, joint
pass rates and 上线, student lists, trends, a student's history, exports, value-added, and the
parents' score slips.

Views look the exam up through the scoped selector (404 outside the scope, 403 without
``exams.view``), read the cached analysis, cut it to what the user may see
(``selectors_analysis``) and turn rows into display cells; charts are ECharts options handed
to ``app.js`` through ``json_script``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xiaowu.accounts.models import User
from xiaowu.accounts.permissions import ensure_perm, require_perm
from xiaowu.accounts.roles import Perm
from xiaowu.core.rates import Rate
from xiaowu.exams.analysis import (
    AnalysisBundle,
    AnalysisError,
    AnalysisPendingError,
    caliber_default,
    exam_analysis_get,
    subject_order,
)
from xiaowu.exams.analytics import TOTAL
from xiaowu.exams.exports import EXPORT_LAYOUTS, XLSX_TYPE, analysis_export
from xiaowu.exams.models import Caliber, Exam, ExamKind, ValueAddedMethod
from xiaowu.exams.naming import unit_name_as_of
from xiaowu.exams.selectors_analysis import (
    LEVEL_LABELS,
    AnalysisScope,
    analysis_exam_get,
    analysis_exam_list,
    analysis_scope,
    caliber_choices,
    caliber_get,
    candidate_labels,
    candidate_table,
    cohort_exams,
    exam_subject_names,
    exams_sharing_students,
    slip_candidacies,
    slip_candidate_get,
    slip_lines,
    student_exam_candidacies,
    student_ranks_allowed,
    student_rows,
    teacher_classes,
    trend_units,
    unit_labels,
    unit_rows,
    value_added_get,
    value_added_list,
)
from xiaowu.exams.value_added import (
    VA_METHOD_HELP,
    ValueAddedError,
    value_added_run,
    value_added_table,
)
from xiaowu.org.models import OrgUnit
from xiaowu.students.selectors import student_get


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


# --------------------------------------------------------------------------- display cells
@dataclass(frozen=True)
class Cell:
    text: str
    title: str = ""
    sort: str = ""  # data-sort-value (numbers for sortable columns)
    css: str = ""


def _number(value: Any, digits: int = 2) -> Cell:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Cell("—")
    number = float(value)
    text = f"{number:.{digits}f}" if digits else f"{number:.0f}"
    if digits and text.endswith("0" * digits):
        text = f"{number:.0f}"
    return Cell(text, sort=f"{number:.6f}")


def _score(value: Any) -> Cell:
    """A score: 1 decimal when it has one (steps are 0.5), else an integer."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Cell("—")
    number = float(value)
    text = f"{number:.1f}".rstrip("0").rstrip(".")
    return Cell(text, sort=f"{number:.6f}")


def _count(value: Any) -> Cell:
    if value is None:
        return Cell("—")
    return Cell(str(int(value)), sort=str(int(value)))


def _signed(value: Any) -> Cell:
    """A whole-number difference with its sign (+3, 0, -2)."""
    if value is None:
        return Cell("—")
    number = int(value)
    return Cell(f"{number:+d}" if number else "0", sort=str(number))


def rate_of(numerator: Any, denominator: Any) -> Rate:
    return Rate(int(numerator or 0), int(denominator or 0))


def _rate(numerator: Any, denominator: Any) -> Cell:
    """A rate as "xx.xx%" with "n/N" in the tooltip (derived from its parts)."""
    rate = rate_of(numerator, denominator)
    if rate.percent is None:
        return Cell("—", title=f"{rate.numerator}/{rate.denominator}")
    return Cell(
        f"{rate.percent}%",
        title=f"{rate.numerator}/{rate.denominator}",
        sort=str(rate.percent),
    )


def _position(rank: Any, total: Any) -> Cell:
    if rank is None:
        return Cell("—")
    return Cell(f"{int(rank)}/{int(total)}", sort=str(int(rank)))


def _denominator(row: Mapping[str, Any], bundle: AnalysisBundle) -> Any:
    """The denominator of the rates of ``row`` under the 口径 (实考 or 应考)."""
    if row.get("rate_denominator") is not None:
        return row["rate_denominator"]
    return row["expected"] if bundle.spec.denominator == "expected" else row["sat"]


RATE_KEYS = (
    ("excellent", "优秀率"),
    ("good", "良好率"),
    ("pass", "及格率"),
    ("low", "低分率"),
)


def _rates(row: Mapping[str, Any], bundle: AnalysisBundle) -> list[Cell]:
    base = _denominator(row, bundle)
    return [_rate(row.get(f"{key}_n"), base) for key, _label in RATE_KEYS]


MAX_BOXES = 40  # boxes in one box chart
ROSTER_ALL_LIMIT = 800  # above this many visible students the roster is shown per class


def _rank_prefix(bundle: AnalysisBundle) -> str:
    """Student rank columns follow the 口径's method: competition (1224) or dense (1223)."""
    return "dense_rank_" if bundle.spec.ranking == "dense" else "rank_"


def _has_composite(bundle: AnalysisBundle) -> bool:
    return bundle.spec.composite is not None


# --------------------------------------------------------------------------- page frame
TABS = (
    ("dashboard", "概览", "exams:analysis_dashboard"),
    ("classes", "班级对比", "exams:analysis_classes"),
    ("teachers", "教师对比", "exams:analysis_teachers"),
    ("schools", "学校对比", "exams:analysis_schools"),
    ("bands", "分数段", "exams:analysis_bands"),
    ("one_point", "一分一段", "exams:analysis_one_point"),
    ("joint", "合格率与上线", "exams:analysis_joint"),
    ("assigned", "等级赋分", "exams:analysis_assigned"),
    ("students", "学生名单", "exams:analysis_students"),
    ("trend", "趋势", "exams:analysis_trend"),
)


@dataclass
class AnalysisPage:
    exam: Exam
    scope: AnalysisScope
    caliber: Caliber
    calibers: list[Caliber]
    bundle: AnalysisBundle | None
    error: str
    tab: str
    multi_school: bool
    job_id: int | None = None
    tabs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def query(self) -> str:
        """The query string that keeps the chosen 口径 across tabs."""
        default = self.exam.default_caliber_id
        if self.caliber.pk == default or (default is None and self._is_preset_default()):
            return ""
        return f"caliber={self.caliber.pk}"

    def _is_preset_default(self) -> bool:
        try:
            return caliber_default(self.exam).pk == self.caliber.pk
        except AnalysisError:
            return False

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "exam": self.exam,
            "page": self,
            "bundle": self.bundle,
            "analysis_error": self.error,
            "analysis_job_id": self.job_id,
            "caliber": self.caliber,
            "calibers": self.calibers,
            "tab": self.tab,
            "tabs": self.tabs,
            "caliber_query": self.query,
            **extra,
        }


def _page(request: HttpRequest, exam_id: int, tab: str) -> AnalysisPage:
    actor = _actor(request)
    exam = analysis_exam_get(actor=actor, exam_id=exam_id)
    caliber_id = _int(request.GET.get("caliber"))
    error = ""
    try:
        caliber = (
            caliber_get(actor=actor, exam=exam, caliber_id=caliber_id)
            if caliber_id
            else caliber_default(exam)
        )
    except AnalysisError as exc:
        raise Http404(str(exc)) from exc
    scope = analysis_scope(actor=actor, exam=exam)
    bundle: AnalysisBundle | None = None
    job_id: int | None = None
    try:
        bundle = exam_analysis_get(exam=exam, caliber=caliber, actor=actor)
    except AnalysisPendingError as exc:
        error, job_id = str(exc), exc.job_id
    except AnalysisError as exc:
        error = str(exc)
    multi_school = exam.schools.count() > 1 or (
        bundle is not None
        and bundle.table("units")
        .filter(pl.col("level") == "school")
        .get_column("unit_id")
        .n_unique()
        > 1
    )
    page = AnalysisPage(
        exam=exam,
        scope=scope,
        caliber=caliber,
        calibers=caliber_choices(actor=actor, exam=exam),
        bundle=bundle,
        error=error,
        tab=tab,
        multi_school=multi_school,
        job_id=job_id,
    )
    for key, label, name in TABS:
        if key == "schools" and not multi_school:
            continue
        if key == "students" and not scope.sees_students:
            continue
        if key == "assigned" and (bundle is None or bundle.spec.assigned_scores is None):
            continue
        url = reverse(name, args=[exam.pk])
        page.tabs.append(
            {
                "key": key,
                "label": label,
                "url": f"{url}?{page.query}" if page.query else url,
                "active": key == tab,
            }
        )
    return page


def _subject_param(request: HttpRequest, bundle: AnalysisBundle | None) -> str:
    subjects = subject_order(bundle) if bundle is not None else [TOTAL]
    chosen = request.GET.get("subject", TOTAL)
    return chosen if chosen in subjects else TOTAL


# --------------------------------------------------------------------------- dashboard
@dataclass(frozen=True)
class Focus:
    level: str
    unit_id: int | None
    name: str


def _focus(page: AnalysisPage) -> Focus:
    """Whose numbers the headline shows: the whole exam, or the one school a user sees."""
    scope = page.scope
    schools = scope.visible("school")
    if schools is not None and len(schools) == 1:
        (school_id,) = tuple(schools)
        return Focus(
            "school",
            school_id,
            unit_labels("school", [school_id], exam=page.exam).get(school_id, ""),
        )
    return Focus("exam", None, "全体考生")


def _focus_rows(bundle: AnalysisBundle, scope: AnalysisScope, focus: Focus) -> pl.DataFrame:
    rows = unit_rows(bundle, scope, focus.level)
    if focus.unit_id is not None:
        rows = rows.filter(pl.col("unit_id") == focus.unit_id)
    return rows


def _by_subject(rows: pl.DataFrame) -> dict[str, dict[str, Any]]:
    return {str(row["subject"]): row for row in rows.iter_rows(named=True)}


def _subject_table(
    bundle: AnalysisBundle, focus_rows: pl.DataFrame, reference: pl.DataFrame | None
) -> list[dict[str, Any]]:
    focus = _by_subject(focus_rows)
    ref = _by_subject(reference) if reference is not None else {}
    table = []
    for subject in subject_order(bundle):
        row = focus.get(subject)
        if row is None:
            continue
        cells = [
            _count(row.get("expected")),
            _count(row.get("sat")),
            _number(row.get("mean")),
            _score(row.get("max")),
            _score(row.get("min")),
            _number(row.get("std")),
            *_rates(row, bundle),
        ]
        reference_row = ref.get(subject)
        if reference is not None:
            cells.append(_number(reference_row.get("mean")) if reference_row else Cell("—"))
            cells.append(
                _rate(reference_row.get("pass_n"), _denominator(reference_row, bundle))
                if reference_row
                else Cell("—")
            )
        table.append({"subject": subject, "cells": cells})
    return table


def _ranking_rows(
    bundle: AnalysisBundle, scope: AnalysisScope, level: str, subject: str = TOTAL
) -> list[dict[str, Any]]:
    """Units of ``level`` on ``subject`` ordered by composite (or mean) position."""
    rows = unit_rows(bundle, scope, level, subjects=[subject])
    rank_column = "composite_rank" if _has_composite(bundle) else "mean_rank"
    if rank_column in rows.columns:
        rows = rows.sort([rank_column, "unit_id"], nulls_last=True)
    names = (
        {0: "全体考生"}
        if level == "exam"
        else unit_labels(level, rows.get_column("unit_id").to_list(), exam=bundle.exam)
    )
    result = []
    for row in rows.iter_rows(named=True):
        cells = [
            _count(row.get("sat")),
            _number(row.get("mean")),
            *_rates(row, bundle),
        ]
        if _has_composite(bundle):
            cells.append(_number(row.get("composite")))
        cells.append(
            _position(row.get(rank_column), row.get("units_n")) if level != "exam" else Cell("—")
        )
        result.append(
            {
                "unit_id": row["unit_id"],
                "name": names.get(row["unit_id"], str(row["unit_id"])),
                "cells": cells,
                "small_n": bool(row.get("small_n")),
                "units_n": row.get("units_n"),
            }
        )
    return result


def _band_chart(bands: pl.DataFrame, title: str) -> dict[str, Any]:
    bands = bands.sort("band_low")
    labels = [
        f"{_score(low).text}–{_score(high).text}"
        for low, high in zip(
            bands.get_column("band_low").to_list(),
            bands.get_column("band_high").to_list(),
            strict=True,
        )
    ]
    return {
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 13}},
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 16, "right": 16, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": labels, "axisLabel": {"rotate": 30}},
        "yAxis": {"type": "value", "name": "人"},
        "series": [
            {"name": "人数", "type": "bar", "data": bands.get_column("n").to_list()},
        ],
    }


def _box_chart(rows: pl.DataFrame, names: Mapping[int, str], title: str) -> dict[str, Any]:
    needed = ("min", "q1", "median", "q3", "max")
    rows = rows.drop_nulls(subset=list(needed)).sort("unit_id")
    data = [[round(float(row[k]), 2) for k in needed] for row in rows.iter_rows(named=True)]
    return {
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 13}},
        "tooltip": {"trigger": "item"},
        "grid": {"left": 16, "right": 16, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": [names.get(u, str(u)) for u in rows.get_column("unit_id").to_list()],
            "axisLabel": {"rotate": 30, "interval": 0},
        },
        "yAxis": {"type": "value", "name": "分", "scale": True},
        "series": [{"name": "总分", "type": "boxplot", "data": data}],
    }


def _rate_chart(
    bundle: AnalysisBundle, rows: Mapping[str, Mapping[str, Any]], title: str
) -> dict[str, Any]:
    subjects = [s for s in subject_order(bundle) if s in rows]
    series = []
    for key, label in (("excellent", "优秀率"), ("pass", "及格率"), ("low", "低分率")):
        values = []
        for subject in subjects:
            row = rows[subject]
            percent = rate_of(row.get(f"{key}_n"), _denominator(row, bundle)).percent
            values.append(float(percent) if percent is not None else None)
        series.append({"name": label, "type": "bar", "data": values})
    return {
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 13}},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 22},
        "grid": {"left": 16, "right": 16, "top": 60, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": subjects,
            "axisLabel": {"interval": 0, "rotate": 30 if len(subjects) > 6 else 0},
        },
        "yAxis": {"type": "value", "name": "%", "max": 100},
        "series": series,
    }


@require_GET
@login_required
def analysis_dashboard_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    page = _page(request, exam_id, "dashboard")
    bundle = page.bundle
    if bundle is None:
        return render(request, "exams/analysis_dashboard.html", page.context())
    scope = page.scope
    focus = _focus(page)
    focus_rows = _focus_rows(bundle, scope, focus)
    reference = unit_rows(bundle, scope, "exam") if focus.level != "exam" else None
    subject_table = _subject_table(bundle, focus_rows, reference)
    total = _by_subject(focus_rows).get(TOTAL, {})
    bands = bundle.table("bands").filter(
        (pl.col("level") == focus.level) & (pl.col("subject") == TOTAL)
    )
    if focus.unit_id is not None:
        bands = bands.filter(pl.col("unit_id") == focus.unit_id)
    classes = unit_rows(bundle, scope, "class", subjects=[TOTAL])
    box: dict[str, Any] | None = None
    if 0 < classes.height <= MAX_BOXES:
        class_names = unit_labels("class", classes.get_column("unit_id").to_list(), exam=page.exam)
        box = _box_chart(classes, class_names, "各班总分分布")
    else:  # too many classes for one chart: one box per school
        schools = unit_rows(bundle, scope, "school", subjects=[TOTAL])
        if 0 < schools.height <= MAX_BOXES:
            school_names = unit_labels(
                "school", schools.get_column("unit_id").to_list(), exam=page.exam
            )
            box = _box_chart(schools, school_names, "各校总分分布")
    district_rows: list[dict[str, Any]] = []
    if focus.level == "school":
        district_rows = [
            row for row in _ranking_rows(bundle, scope, "district") if (row["units_n"] or 0) > 1
        ]
    context = page.context(
        focus=focus,
        total=total,
        total_sat_rate=rate_of(total.get("sat"), total.get("expected")),
        headline={
            "mean": _number(total.get("mean")),
            "full_mark": _score(total.get("full_mark")),
            "pass": _rate(total.get("pass_n"), _denominator(total, bundle)) if total else Cell("—"),
            "excellent": (
                _rate(total.get("excellent_n"), _denominator(total, bundle)) if total else Cell("—")
            ),
        },
        subject_table=subject_table,
        has_reference=reference is not None,
        class_ranking=_ranking_rows(bundle, scope, "class"),
        school_ranking=_ranking_rows(bundle, scope, "school") if page.multi_school else [],
        district_rows=district_rows,
        has_composite=_has_composite(bundle),
        rate_headers=[label for _key, label in RATE_KEYS],
        chart_bands=_band_chart(bands, f"{focus.name}总分分数段") if bands.height else None,
        chart_box=box,
        chart_rates=_rate_chart(bundle, _by_subject(focus_rows), f"{focus.name}各科三率"),
    )
    return render(request, "exams/analysis_dashboard.html", context)


# --------------------------------------------------------------------------- comparisons
def _comparison(
    request: HttpRequest, exam_id: int, *, tab: str, level: str, template: str
) -> HttpResponse:
    page = _page(request, exam_id, tab)
    bundle = page.bundle
    if bundle is None:
        return render(request, template, page.context())
    subjects = subject_order(bundle)
    if level == "teacher":  # a teacher teaches a subject: there is no teacher 总分
        subjects = [s for s in subjects if s != TOTAL]
    subject = request.GET.get("subject", "")
    if subject not in subjects:
        subject = subjects[0] if level == "teacher" and subjects else TOTAL
    rows = _ranking_rows(bundle, page.scope, level, subject)
    extra: dict[str, Any] = {}
    if level == "teacher":
        taught = teacher_classes(page.exam, [row["unit_id"] for row in rows])
        for row in rows:
            row["detail"] = "、".join(taught.get(row["unit_id"], []))
    if level == "school":
        extra["exam_total"] = _ranking_rows(bundle, page.scope, "exam", subject)
        districts = _ranking_rows(bundle, page.scope, "district", subject)
        # One 学区 holding the whole exam repeats the exam's own row.
        extra["districts"] = [row for row in districts if (row["units_n"] or 0) > 1]
    context = page.context(
        subject=subject,
        subjects=subjects,
        rows=rows,
        level=level,
        level_label=LEVEL_LABELS[level],
        has_composite=_has_composite(bundle),
        rate_headers=[label for _key, label in RATE_KEYS],
        min_group_size=bundle.spec.min_group_size,
        **extra,
    )
    return render(request, template, context)


@require_GET
@login_required
def analysis_classes_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    return _comparison(
        request, exam_id, tab="classes", level="class", template="exams/analysis_compare.html"
    )


@require_GET
@login_required
def analysis_teachers_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    return _comparison(
        request, exam_id, tab="teachers", level="teacher", template="exams/analysis_compare.html"
    )


@require_GET
@login_required
def analysis_schools_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    return _comparison(
        request, exam_id, tab="schools", level="school", template="exams/analysis_compare.html"
    )


# --------------------------------------------------------------------------- bands
def _unit_choice(
    request: HttpRequest, page: AnalysisPage
) -> tuple[list[dict[str, Any]], str, int | None]:
    """The units a 分数段 table can be shown for: the exam, visible 学区/schools/classes."""
    if page.bundle is None:
        return [], "exam", None
    units = page.bundle.table("units").filter(pl.col("subject") == TOTAL)
    options: list[dict[str, Any]] = [{"value": "exam", "label": "全体考生"}]
    for level in ("district", "school", "class"):
        ids = units.filter(pl.col("level") == level).get_column("unit_id").to_list()
        ids = [i for i in ids if page.scope.allows(level, i)]
        names = unit_labels(level, ids, exam=page.exam)
        options += [
            {"value": f"{level}-{i}", "label": f"{LEVEL_LABELS[level]}：{names.get(i, i)}"}
            for i in sorted(ids, key=lambda i: names.get(i, ""))
        ]
    chosen = request.GET.get("unit", "exam")
    if chosen not in {o["value"] for o in options}:
        chosen = "exam"
    if chosen == "exam":
        return options, "exam", None
    level, _sep, unit = chosen.partition("-")
    return options, level, int(unit)


@require_GET
@login_required
def analysis_bands_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    page = _page(request, exam_id, "bands")
    bundle = page.bundle
    if bundle is None:
        return render(request, "exams/analysis_bands.html", page.context())
    subject = _subject_param(request, bundle)
    options, level, unit_id = _unit_choice(request, page)
    bands = bundle.table("bands").filter(
        (pl.col("level") == level) & (pl.col("subject") == subject)
    )
    if unit_id is not None:
        bands = bands.filter(pl.col("unit_id") == unit_id)
    bands = bands.sort("band_low", descending=True)
    top = bands.get_column("band_high").max() if bands.height else None
    rows = [
        {
            "label": (
                f"[{_score(r['band_low']).text}, {_score(r['band_high']).text}]"
                if r["band_high"] == top
                else f"[{_score(r['band_low']).text}, {_score(r['band_high']).text})"
            ),
            "n": r["n"],
            "pct": _number(_as_percent(r.get("pct"))),
            "cum_n": r.get("cum_n"),
            "cum_pct": _number(_as_percent(r.get("cum_pct"))),
        }
        for r in bands.iter_rows(named=True)
    ]
    context = page.context(
        subject=subject,
        subjects=subject_order(bundle),
        unit_options=options,
        unit_value=request.GET.get("unit", "exam") if unit_id is not None else "exam",
        rows=rows,
        chart_bands=_band_chart(bands, f"{subject}分数段") if bands.height else None,
    )
    return render(request, "exams/analysis_bands.html", context)


def _as_percent(value: Any) -> float | None:
    """Shares from the engine are fractions (0–1); shown as percent."""
    if value is None:
        return None
    number = float(value)
    return number * 100 if number <= 1.0 else number


@require_GET
@login_required
def analysis_one_point_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    page = _page(request, exam_id, "one_point")
    bundle = page.bundle
    if bundle is None:
        return render(request, "exams/analysis_one_point.html", page.context())
    subject = _subject_param(request, bundle)
    table = bundle.table("one_point").filter(pl.col("subject") == subject)
    table = table.sort("score", descending=True)
    rows = [
        {
            "score": _score(r["score"]),
            "n": r["n"],
            "cum_n": r["cum_n"],
            "cum_pct": _number(_as_percent(r.get("cum_pct"))),
        }
        for r in table.iter_rows(named=True)
    ]
    context = page.context(subject=subject, subjects=subject_order(bundle), rows=rows)
    return render(request, "exams/analysis_one_point.html", context)


# --------------------------------------------------------------------------- joint and lines
def _comparable(part: pl.DataFrame, key: str) -> list[tuple[Any, ...]]:
    numbers = [c for c in part.columns if c not in ("level", "unit_id")]
    return sorted(part.sort(key).select(numbers).rows())


def _level_rows(
    table: pl.DataFrame, scope: AnalysisScope, key: str, *, exam: Exam
) -> list[tuple[str, int | None, str, list[dict[str, Any]]]]:
    """Group a per-(level, unit) table by unit, in level order, keeping visible units only."""
    groups: list[tuple[str, int | None, str, list[dict[str, Any]]]] = []
    whole = _comparable(table.filter(pl.col("level") == "exam"), key)
    for level in ("exam", "district", "school", "class"):
        part = table.filter(pl.col("level") == level)
        if not part.height:
            continue
        single = level != "exam" and part.get_column("unit_id").n_unique() == 1
        if single and _comparable(part, key) == whole:
            continue  # one 学区 (or school) holding the whole exam: the same row again
        ids = [i for i in part.get_column("unit_id").unique().to_list() if scope.allows(level, i)]
        names = (
            unit_labels(level, [i for i in ids if i is not None], exam=exam)
            if level != "exam"
            else {}
        )
        for unit_id in sorted(ids, key=lambda i: names.get(i, "")):
            rows = part.filter(pl.col("unit_id") == unit_id).sort(key).to_dicts()
            name = "全体考生" if level == "exam" else names.get(unit_id, str(unit_id))
            groups.append((level, unit_id, name, rows))
    return groups


@require_GET
@login_required
def analysis_joint_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    page = _page(request, exam_id, "joint")
    bundle = page.bundle
    if bundle is None:
        return render(request, "exams/analysis_joint.html", page.context())
    joint = bundle.table("joint") if bundle.has_table("joint") else pl.DataFrame()
    set_names = [name for name, _subjects in bundle.spec.subject_sets]
    joint_rows = []
    if joint.height:
        for level, _unit_id, name, rows in _level_rows(
            joint, page.scope, "set_name", exam=page.exam
        ):
            by_set = {r["set_name"]: r for r in rows}
            joint_rows.append(
                {
                    "level": LEVEL_LABELS[level],
                    "name": name,
                    "cells": [
                        _rate(by_set[s]["passed"], by_set[s]["eligible"])
                        if s in by_set
                        else Cell("—")
                        for s in set_names
                    ],
                }
            )
    lines = bundle.table("lines") if bundle.has_table("lines") else pl.DataFrame()
    line_names = [line.name for line in bundle.spec.lines]
    line_rows = []
    if lines.height and line_names:
        for level, _unit_id, name, rows in _level_rows(
            lines, page.scope, "line_name", exam=page.exam
        ):
            by_line = {r["line_name"]: r for r in rows}
            line_rows.append(
                {
                    "level": LEVEL_LABELS[level],
                    "name": name,
                    "cells": [
                        _line_cell(by_line.get(line_name), bundle) for line_name in line_names
                    ],
                }
            )
    effective: list[dict[str, Any]] = []
    if line_names and bundle.has_table("line_subjects"):
        focus = _focus(page)
        table = bundle.table("line_subjects").filter(pl.col("level") == focus.level)
        if focus.unit_id is not None:
            table = table.filter(pl.col("unit_id") == focus.unit_id)
        order = {subject: index for index, subject in enumerate(subject_order(bundle))}
        for row in sorted(
            table.iter_rows(named=True),
            key=lambda r: (line_names.index(r["line_name"]), order.get(r["subject"], 99)),
        ):
            effective.append(
                {
                    "line": row["line_name"],
                    "subject": row["subject"],
                    "cells": [
                        _score(row.get("effective_score")),
                        _count(row.get("sat")),
                        _count(row.get("single_n")),
                        _count(row.get("double_n")),
                        _rate(row.get("double_n"), row.get("single_n")),  # 命中率 ÷ 单上线
                        _rate(row.get("double_n"), row.get("sat")),  # 命中率 ÷ 参考人数
                        _rate(row.get("double_n"), row.get("line_n")),
                    ],
                }
            )
        context_focus = focus.name
    else:
        context_focus = ""
    context = page.context(
        effective=effective,
        effective_focus=context_focus,
        effective_method="比例法" if bundle.spec.effective_score == "proportion" else "比率法",
        set_names=set_names,
        set_subjects={
            name: ("全部科目" if subjects is None else "、".join(subjects))
            for name, subjects in bundle.spec.subject_sets
        },
        joint_rows=joint_rows,
        line_names=line_names,
        lines=bundle.spec.lines,
        line_rows=line_rows,
    )
    return render(request, "exams/analysis_joint.html", context)


def _line_cell(row: Mapping[str, Any] | None, bundle: AnalysisBundle) -> Cell:
    if row is None:
        return Cell("—")
    base = row.get("denominator", row.get("sat"))
    return _rate(row.get("n"), base)


# --------------------------------------------------------------------------- students
@require_GET
@login_required
def analysis_students_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    """上线 / 临界生 / 尖子生 lists and the score list of the students the user may see."""
    page = _page(request, exam_id, "students")
    bundle = page.bundle
    if not page.scope.sees_students:
        raise PermissionDenied("您无权查看学生名单。")
    if bundle is None:
        return render(request, "exams/analysis_students.html", page.context())
    scope = page.scope
    subjects = subject_order(bundle)
    students = student_rows(bundle, scope)
    # The roster and the 上线 lists are per class when the user sees many students.
    class_ids = students.get_column("class_id").unique().to_list()
    class_names = unit_labels("class", class_ids, exam=page.exam)
    class_options = sorted(class_ids, key=lambda c: class_names.get(c, ""))
    everyone = students.get_column("candidate_id").n_unique() <= ROSTER_ALL_LIMIT
    chosen_class = _int(request.GET.get("class"))
    if chosen_class not in class_names:
        chosen_class = None if everyone or not class_options else class_options[0]
    shown = (
        students if chosen_class is None else students.filter(pl.col("class_id") == chosen_class)
    )
    critical = candidate_table(bundle, scope, "critical")
    top = candidate_table(bundle, scope, "top")
    wanted = set(shown.get_column("candidate_id").to_list())
    for table in (critical, top):
        if table.height:
            wanted |= set(table.get_column("candidate_id").to_list())
    labels = candidate_labels(page.exam, wanted)
    prefix = _rank_prefix(bundle)
    by_candidate: dict[int, dict[str, dict[str, Any]]] = {}
    for row in shown.iter_rows(named=True):
        by_candidate.setdefault(row["candidate_id"], {})[row["subject"]] = row
    roster: list[dict[str, Any]] = []
    for candidate_id, rows in by_candidate.items():
        label = labels.get(candidate_id)
        if label is None:
            continue
        total = rows.get(TOTAL, {})
        ranks = scope.sees_ranks_at(label.school_id)
        roster.append(
            {
                "label": label,
                "scores": [_score(rows.get(s, {}).get("score")) for s in subjects],
                "rank_class": _count(total.get(f"{prefix}class")) if ranks else Cell("—"),
                "rank_school": _count(total.get(f"{prefix}school")) if ranks else Cell("—"),
                "rank_exam": _count(total.get(f"{prefix}exam")) if ranks else Cell("—"),
                "sort": total.get(f"{prefix}exam") or 10**9,
            }
        )
    roster.sort(key=lambda r: (r["sort"], r["label"].exam_number))
    critical_rows = (
        [
            {"label": labels[r["candidate_id"]], **r}
            for r in critical.sort(["line_name", "gap"]).iter_rows(named=True)
            if r["candidate_id"] in labels
        ]
        if critical.height
        else []
    )
    top_rows = (
        [
            {"label": labels[r["candidate_id"]], **r}
            for r in top.sort("rank").iter_rows(named=True)
            if r["candidate_id"] in labels
        ]
        if top.height
        else []
    )
    above = []
    if bundle.spec.lines:
        totals = shown.filter(pl.col("subject") == TOTAL)
        for line in bundle.spec.lines:
            passed = totals.filter(pl.col("score") >= line.total).sort("score", descending=True)
            above.append(
                {
                    "line": line,
                    "rows": [
                        {"label": labels[r["candidate_id"]], "score": _score(r["score"])}
                        for r in passed.iter_rows(named=True)
                        if r["candidate_id"] in labels
                    ],
                }
            )
    context = page.context(
        subjects=subjects,
        roster=roster,
        critical_rows=critical_rows,
        top_rows=top_rows,
        above=above,
        top_n=bundle.spec.top_n,
        class_options=[(c, class_names.get(c, str(c))) for c in class_options],
        chosen_class=chosen_class,
        everyone=everyone,
        critical_width=bundle.spec.critical_width,
    )
    return render(request, "exams/analysis_students.html", context)


# --------------------------------------------------------------------------- trend
def _trend_point(
    actor: User, exam: Exam, unit: OrgUnit, level: str, subject: str
) -> dict[str, Any] | None:
    try:
        bundle = exam_analysis_get(exam=exam, caliber=caliber_default(exam), actor=actor)
    except AnalysisError:
        return None
    units = bundle.table("units").filter(pl.col("subject") == subject)
    own = units.filter((pl.col("level") == level) & (pl.col("unit_id") == unit.pk)).to_dicts()
    whole = units.filter(pl.col("level") == "exam").to_dicts()
    if not own:
        return None
    row, ref = own[0], (whole[0] if whole else {})
    return {
        "exam": exam,
        "row": row,
        "score_rate": _as_percent(row.get("score_rate")),
        "reference_rate": _as_percent(ref.get("score_rate")) if ref else None,
        "pass": rate_of(row.get("pass_n"), _denominator(row, bundle)),
        "reference_pass": (rate_of(ref.get("pass_n"), _denominator(ref, bundle)) if ref else None),
        "mean": _number(row.get("mean")),
        "sat": row.get("sat"),
        "above_mean": _number(_as_percent(row.get("above_mean_rate"))),
    }


@require_GET
@login_required
def analysis_trend_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    """A class's or school's 得分率 and 及格率 over the exams of the same cohort."""
    page = _page(request, exam_id, "trend")
    actor = _actor(request)
    units = trend_units(actor=actor, exam=page.exam, scope=page.scope)
    chosen_id = _int(request.GET.get("unit"))
    unit = next((u for u in units if u.pk == chosen_id), units[0] if units else None)
    subject = request.GET.get("subject", TOTAL)
    subjects = [*exam_subject_names(page.exam), TOTAL]
    if subject not in subjects:
        subject = TOTAL
    points: list[dict[str, Any]] = []
    if unit is not None:
        level = "class" if unit.kind == "school_class" else "school"
        for exam in cohort_exams(actor=actor, exam=page.exam, unit=unit):
            point = _trend_point(actor, exam, unit, level, subject)
            if point is not None:
                points.append(point)
    chart = None
    if points:
        shown = unit_name_as_of(page.exam, unit) if unit else ""
        labels = [f"{p['exam'].held_on:%Y-%m} {p['exam'].get_kind_display()}" for p in points]
        chart = {
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0},
            "grid": {"left": 16, "right": 16, "top": 36, "bottom": 8, "containLabel": True},
            "xAxis": {"type": "category", "data": labels, "axisLabel": {"rotate": 20}},
            "yAxis": {"type": "value", "name": "%", "max": 100},
            "series": [
                {
                    "name": f"{shown}得分率",
                    "type": "line",
                    "data": [_round(p["score_rate"]) for p in points],
                },
                {
                    "name": "全体得分率",
                    "type": "line",
                    "lineStyle": {"type": "dashed"},
                    "data": [_round(p["reference_rate"]) for p in points],
                },
                {
                    "name": f"{shown}及格率",
                    "type": "line",
                    "data": [_percent_value(p["pass"]) for p in points],
                },
            ],
        }
    context = page.context(
        units=units,
        unit=unit,
        subject=subject,
        subjects=subjects,
        points=points,
        chart_trend=chart,
    )
    return render(request, "exams/analysis_trend.html", context)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _percent_value(rate: Rate | None) -> float | None:
    if rate is None or rate.percent is None:
        return None
    return float(rate.percent)


# --------------------------------------------------------------------------- export
@require_POST
@login_required
def analysis_export_view(request: HttpRequest, exam_id: int) -> HttpResponse | FileResponse:
    page = _page(request, exam_id, "dashboard")
    if page.bundle is None:
        messages.error(request, page.error or "分析结果不可用，无法导出。")
        return redirect(reverse("exams:analysis_dashboard", args=[exam_id]))
    layouts = [x for x in request.POST.getlist("layout") if x in EXPORT_LAYOUTS]
    export = analysis_export(
        actor=_actor(request),
        bundle=page.bundle,
        scope=page.scope,
        layouts=layouts or list(EXPORT_LAYOUTS),
    )
    return FileResponse(
        export.handle, as_attachment=True, filename=export.filename, content_type=XLSX_TYPE
    )


# --------------------------------------------------------------------------- student history
@require_GET
@login_required
def student_scores_view(request: HttpRequest, student_id: int) -> HttpResponse:
    """One student's results across the exams the user may analyse (ranks to authorised
    staff only)."""
    actor = _actor(request)
    student = student_get(actor=actor, student_id=student_id)
    ensure_perm(actor, Perm.EXAMS_VIEW)
    entries: list[dict[str, Any]] = []
    for candidate in student_exam_candidacies(actor=actor, student=student):
        exam = candidate.exam
        try:
            bundle = exam_analysis_get(exam=exam, caliber=caliber_default(exam), actor=actor)
        except AnalysisError as exc:
            entries.append({"candidate": candidate, "error": str(exc)})
            continue
        rows = bundle.table("students").filter(pl.col("candidate_id") == candidate.pk)
        by_subject = {r["subject"]: r for r in rows.iter_rows(named=True)}
        ranks = student_ranks_allowed(actor=actor, candidate=candidate)
        prefix = _rank_prefix(bundle)
        subjects = subject_order(bundle)
        assigned = _assigned_of(bundle, candidate.pk)
        entries.append(
            {
                "candidate": candidate,
                "ranks": ranks,
                "has_assigned": bool(assigned),
                "lines": [
                    {
                        "subject": subject,
                        "score": _score(by_subject.get(subject, {}).get("score")),
                        "rank_class": _count(by_subject.get(subject, {}).get(f"{prefix}class")),
                        "rank_school": _count(by_subject.get(subject, {}).get(f"{prefix}school")),
                        "rank_exam": _count(by_subject.get(subject, {}).get(f"{prefix}exam")),
                        "percentile": _number(by_subject.get(subject, {}).get("percentile_rank")),
                        # 学科均衡 (null on 总分): Z_subject − Z_总分 and 总分名次 − 学科名次
                        "balance": _number(by_subject.get(subject, {}).get("balance")),
                        "balance_rank": _signed(by_subject.get(subject, {}).get("balance_rank")),
                        "assigned": assigned.get(subject, Cell("—")),
                    }
                    for subject in subjects
                    if subject in by_subject
                ],
                "percentile": by_subject.get(TOTAL, {}).get("percentile_rank"),
            }
        )
    chart = None
    ranked = [e for e in entries if e.get("ranks") and e.get("percentile") is not None]
    if len(ranked) >= 2:
        chart = {
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 16, "right": 16, "top": 36, "bottom": 8, "containLabel": True},
            "xAxis": {
                "type": "category",
                "data": [
                    f"{e['candidate'].exam.held_on:%Y-%m} {e['candidate'].exam.get_kind_display()}"
                    for e in ranked
                ],
                "axisLabel": {"rotate": 20},
            },
            "yAxis": {"type": "value", "name": "百分等级", "min": 0, "max": 100},
            "series": [
                {
                    "name": "总分百分等级",
                    "type": "line",
                    "data": [round(float(e["percentile"]), 1) for e in ranked],
                }
            ],
        }
    context = {"student": student, "entries": entries, "chart_history": chart}
    return render(request, "exams/analysis_student.html", context)


def _assigned_of(bundle: AnalysisBundle, candidate_id: int) -> dict[str, Cell]:
    """The candidate's 等级赋分 per scaled subject ("78（B）"), empty without 赋分."""
    if bundle.spec.assigned_scores is None or not bundle.has_table("assigned"):
        return {}
    rows = bundle.table("assigned").filter(pl.col("candidate_id") == candidate_id)
    return {
        str(row["subject"]): Cell(f"{row['assigned']}（{row['band']}）", sort=str(row["assigned"]))
        for row in rows.iter_rows(named=True)
    }


# --------------------------------------------------------------------------- slips
@require_GET
@login_required
def slip_list_view(request: HttpRequest) -> HttpResponse:
    """A guardian's list of their children's score slips (locked exams)."""
    return render(
        request, "exams/slip_list.html", {"candidacies": slip_candidacies(actor=_actor(request))}
    )


@require_GET
@login_required
def slip_detail_view(request: HttpRequest, exam_id: int, student_id: int) -> HttpResponse:
    """成绩单: the child's own score on each paper and its 满分 — no rank, no other student."""
    candidate = slip_candidate_get(actor=_actor(request), exam_id=exam_id, student_id=student_id)
    return render(
        request,
        "exams/slip_detail.html",
        {"candidate": candidate, "lines": slip_lines(candidate=candidate)},
    )


# --------------------------------------------------------------------------- value-added
@require_perm(Perm.EXAMS_VIEW)
@require_http_methods(["GET", "POST"])
def va_form_view(request: HttpRequest) -> HttpResponse:
    """Choose the 入口 and 出口 exams, subject and model; run; list earlier analyses."""
    actor = _actor(request)
    exams = list(analysis_exam_list(actor=actor).order_by("-held_on", "-pk")[:300])
    exit_id = _int(request.POST.get("exit_exam") or request.GET.get("exit_exam"))
    exit_exam = next((e for e in exams if e.pk == exit_id), None)
    entry_options = (
        list(exams_sharing_students(actor=actor, exam=exit_exam)[:100]) if exit_exam else []
    )
    subjects = [*exam_subject_names(exit_exam), TOTAL] if exit_exam else []
    errors: list[str] = []
    if request.method == "POST":
        entry_id = _int(request.POST.get("entry_exam"))
        entry_exam = next((e for e in entry_options if e.pk == entry_id), None)
        subject = request.POST.get("subject", "")
        method = request.POST.get("method", ValueAddedMethod.RESIDUAL_EB)
        if exit_exam is None:
            errors.append("请选择出口考试。")
        if entry_exam is None:
            errors.append("请选择与出口考试有共同学生、且更早的入口考试。")
        if subject not in subjects:
            errors.append("请选择出口考试的科目或总分。")
        if method not in ValueAddedMethod.values:
            errors.append("请选择增值模型。")
        if not errors and exit_exam is not None and entry_exam is not None:
            try:
                analysis = value_added_run(
                    actor=actor,
                    entry_exam=entry_exam,
                    exit_exam=exit_exam,
                    subject=subject,
                    method=method,
                )
            except (ValueAddedError, ValidationError) as exc:
                errors.append(exc.messages[0] if isinstance(exc, ValidationError) else str(exc))
            else:
                return redirect(reverse("exams:va_detail", args=[analysis.pk]))
    context = {
        "exams": exams,
        "exit_exam": exit_exam,
        "entry_options": entry_options,
        "subjects": subjects,
        "methods": ValueAddedMethod.choices,
        "method_help": VA_METHOD_HELP,
        "errors": errors,
        "chosen": request.POST if request.method == "POST" else request.GET,
        "recent": list(value_added_list(actor=actor)[:20]),
        "kinds": ExamKind,
    }
    return render(request, "exams/va_form.html", context, status=400 if errors else 200)


VA_UNITS: dict[str, str] = {
    ValueAddedMethod.RESIDUAL_EB: "增值以标准分为单位，0 表示与入口成绩相同的学生的预期一致",
    ValueAddedMethod.Z_GAIN: "增值为出口标准分与入口标准分之差的平均",
    ValueAddedMethod.PERCENTILE_GAIN: "增值为百分等级（0–100）进退的平均，单位为百分点",
    ValueAddedMethod.SGP: "增值为学生成长百分位的平均数减 50，0 表示与同起点学生成长相当",
}


def _va_chart(rows: Sequence[Mapping[str, Any]], label: str) -> dict[str, Any] | None:
    """Value-added with its 95% interval per unit: a box from the lower to the upper bound with
    the estimate as its middle line (ECharts boxplot: [low, low, va, high, high])."""
    points = [r for r in rows if r.get("va") is not None and r.get("ci_low") is not None]
    if not points:
        return None
    data = [
        [round(float(r[k]), 3) for k in ("ci_low", "ci_low", "va", "ci_high", "ci_high")]
        for r in points
    ]
    return {
        "title": {
            "text": f"各{label}增值及 95% 置信区间",
            "left": "center",
            "textStyle": {"fontSize": 13},
        },
        "tooltip": {"trigger": "item"},
        "grid": {"left": 16, "right": 16, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": [str(r["name"]) for r in points],
            "axisLabel": {"rotate": 30, "interval": 0},
        },
        "yAxis": {"type": "value", "name": "增值", "scale": True},
        "series": [
            {"name": "增值（中线）与置信区间", "type": "boxplot", "data": data},
            {
                "name": "零线",
                "type": "line",
                "data": [0] * len(points),
                "symbol": "none",
                "lineStyle": {"type": "dashed", "width": 1},
            },
        ],
    }


@require_GET
@login_required
def va_detail_view(request: HttpRequest, analysis_id: int) -> HttpResponse:
    actor = _actor(request)
    analysis = value_added_get(actor=actor, analysis_id=analysis_id)
    scope = analysis_scope(actor=actor, exam=analysis.exit_exam)
    tables = [
        (LEVEL_LABELS[level], value_added_table(analysis=analysis, scope=scope, level=level))
        for level in ("school", "class", "teacher")
    ]
    tables = [(label, rows) for label, rows in tables if rows]
    chart = None
    for label, rows in reversed(tables):  # the finest level that has rows: classes
        if label != LEVEL_LABELS["teacher"]:
            chart = _va_chart(rows, label)
            break
    context = {
        "analysis": analysis,
        "tables": tables,
        "is_sgp": analysis.method == ValueAddedMethod.SGP,
        "is_residual": analysis.method == ValueAddedMethod.RESIDUAL_EB,
        "va_unit": VA_UNITS.get(analysis.method, ""),
        "summary": analysis.summary,
        "method_help": VA_METHOD_HELP.get(analysis.method, ""),
        "chart": chart,
    }
    return render(request, "exams/va_detail.html", context)
