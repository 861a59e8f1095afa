"""Student Growth Percentiles (Betebenner), re-implemented from analytics.md §3.4.

For one content area and a current year t, each grade progression g₁ … g_K → g is analysed at
every order k = 1 … min(K, max_order): the cohort is the students whose grades in the last k + 1
panels match the progression exactly and whose scores there are present; the current score is
regressed on cubic B-splines of the k most recent priors at the 100 τ values of
:func:`~xiaowu.exams.valueadded.sgp.quantreg.sgp_taus`; each student's 100 predicted quantiles
(rounded to 5 decimals and sorted) are compared with the score: SGP = #(Q < y), 0 → 1,
100 → 99. A student's final SGP is the one of the highest order available.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from xiaowu.exams.valueadded.sgp.basis import SplineProblem
from xiaowu.exams.valueadded.sgp.knots import KnotsBoundaries, knots_by_grade, merge_kept
from xiaowu.exams.valueadded.sgp.quantreg import (
    SOLVERS,
    ChainStats,
    Solver,
    coefficient_matrices,
    sgp_taus,
)
from xiaowu.exams.valueadded.sgp.wide import ID_COLUMN, Panel, PanelError

Array = npt.NDArray[np.float64]
Progression = tuple[int, ...]

# DEMO growth-level cuts: SGP < 20, < 40, < 61, < 81, else (levels 1 … 5).
LEVEL_CUTS: tuple[int, ...] = (20, 40, 61, 81)
LEVEL_LABELS: tuple[str, ...] = ("很低", "较低", "一般", "较高", "很高")
PREDICTION_DECIMALS = 5
SCORING_CHUNK = 50_000  # students scored at a time (50k × 100 predictions ≈ 40 MB)


def parse_progressions(text: str) -> tuple[Progression, ...]:
    """``"3:4,3:5,4:8"`` (R notation a:b = grades a … b) → ((3, 4), (3, 4, 5), (4, 5, 6, 7, 8))."""
    out: list[Progression] = []
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            continue
        pieces = part.split(":")
        try:
            if len(pieces) != 2:
                raise ValueError
            first, last = int(pieces[0]), int(pieces[1])
        except ValueError:
            raise PanelError(f"年级进度“{part}”格式不对，应为“起始年级:当前年级”，如 3:5") from None
        if last <= first:
            raise PanelError(f"年级进度“{part}”的当前年级必须大于起始年级")
        out.append(tuple(range(first, last + 1)))
    if not out:
        raise PanelError("没有给出年级进度")
    return tuple(out)


def progression_text(grades: Sequence[int]) -> str:
    consecutive = all(b - a == 1 for a, b in pairwise(grades))
    if consecutive and len(grades) > 1:
        return f"{grades[0]}:{grades[-1]}"
    return "-".join(str(g) for g in grades)


@dataclass(frozen=True)
class SGPSettings:
    """What to analyse. ``progressions=None``: every progression ending in ``year``."""

    year: int | None = None
    progressions: tuple[Progression, ...] | None = None
    max_order: int = 3
    solver: Solver = "fast"
    min_cohort: int = 50
    level_cuts: tuple[int, ...] = LEVEL_CUTS
    workers: int | None = None
    content_area: str = ""

    def __post_init__(self) -> None:
        if self.max_order < 1:
            raise PanelError("最高阶数（max order）至少为 1")
        if self.solver not in SOLVERS:
            raise PanelError(f"未知的求解器“{self.solver}”，可选 exact 或 fast")
        if self.min_cohort < 1:
            raise PanelError("最小人数至少为 1")
        if list(self.level_cuts) != sorted(set(self.level_cuts)) or not all(
            1 < cut < 100 for cut in self.level_cuts
        ):
            raise PanelError("增长等级分界必须是 2–99 之间的递增整数")


@dataclass(frozen=True)
class MatrixInfo:
    """One fitted (or skipped) coefficient matrix."""

    progression: Progression  # grades actually used: priors (oldest first) then the current
    order: int
    years: tuple[int, ...]
    n: int
    coefficients: Array | None = None  # p × 100
    skipped: str = ""


@dataclass
class SGPResult:
    students: pl.DataFrame
    matrices: list[MatrixInfo]
    knots: dict[int, KnotsBoundaries]
    year: int
    max_order: int
    solver: Solver
    content_area: str = ""
    level_cuts: tuple[int, ...] = LEVEL_CUTS
    stats: ChainStats = field(default_factory=ChainStats)

    def summary(self) -> dict[str, Any]:
        return sgp_summary(self.students, self.max_order, len(self.level_cuts) + 1)


def _cohort(panel: Panel, current: int, grades: Progression, order: int) -> npt.NDArray[np.bool_]:
    """Rows whose last ``order`` + 1 panels match the last grades of the progression."""
    mask = np.ones(panel.size, dtype=np.bool_)
    for back in range(order + 1):
        column = current - back
        grade = grades[len(grades) - 1 - back]
        mask &= (panel.grades[:, column] == grade) & np.isfinite(panel.scores[:, column])
    return mask


def default_progressions(panel: Panel, current: int, settings: SGPSettings) -> list[Progression]:
    """For each grade of the current year, follow the most common prior grade backwards."""
    out: list[Progression] = []
    grades_now = panel.grades[:, current]
    for grade in np.unique(grades_now[np.isfinite(grades_now)]):
        chain = [int(grade)]
        mask = (grades_now == grade) & np.isfinite(panel.scores[:, current])
        for back in range(1, settings.max_order + 1):
            column = current - back
            if column < 0:
                break
            prior = panel.grades[:, column]
            ok = mask & np.isfinite(prior) & np.isfinite(panel.scores[:, column])
            if not ok.any():
                break
            values, counts = np.unique(prior[ok], return_counts=True)
            best = int(np.argmax(counts))
            if counts[best] < settings.min_cohort:
                break
            chain.insert(0, int(values[best]))
            mask = ok & (prior == values[best])
        if len(chain) > 1:
            out.append(tuple(chain))
    return out


def _levels(sgp: pl.Expr, cuts: Sequence[int]) -> pl.Expr:
    level = pl.lit(1, dtype=pl.Int8)
    for cut in cuts:
        level = level + (sgp >= cut).cast(pl.Int8)
    return level


def score_sgp(x: Array, y: Array, coefficients: Array) -> npt.NDArray[np.int64]:
    """SGP of each row: #(sorted, rounded predicted quantiles < y), 0 → 1, 100 → 99."""
    predicted = np.round(x @ coefficients, PREDICTION_DECIMALS)
    if np.isnan(predicted).any():
        # Missing quantiles are interpolated linearly along τ before sorting.
        grid = np.arange(predicted.shape[1])
        for row in np.flatnonzero(np.isnan(predicted).any(axis=1)):
            values = predicted[row]
            good = ~np.isnan(values)
            values[~good] = np.interp(grid[~good], grid[good], values[good])
    predicted.sort(axis=1)
    counts = (predicted < y[:, None]).sum(axis=1)
    top = coefficients.shape[1]
    result: npt.NDArray[np.int64] = np.clip(counts, 1, top - 1).astype(np.int64)
    return result


def score_problem(
    problem: SplineProblem, coefficients: Array, *, chunk: int = SCORING_CHUNK
) -> npt.NDArray[np.int64]:
    """SGPs of a problem's students, in chunks (N × 100 predictions are never all held)."""
    out = np.empty(problem.n, dtype=np.int64)
    for start in range(0, problem.n, chunk):
        part = slice(start, start + chunk)
        piece = SplineProblem(
            priors=tuple(prior[part] for prior in problem.priors),
            knots=problem.knots,
            y=problem.y[part],
        )
        out[part] = score_sgp(piece.design(), piece.y, coefficients)
    return out


def student_growth_percentiles(
    panel: Panel,
    settings: SGPSettings | None = None,
    *,
    knots: Mapping[int, KnotsBoundaries] | None = None,
) -> SGPResult:
    """Run SGP for every progression ending in the settings' year (see module docstring).

    ``knots`` (grade → set) are kept; missing grades get theirs from the stacked prior panels
    of the first analysis that sees them.
    """
    settings = settings or SGPSettings()
    year = settings.year if settings.year is not None else panel.years[-1]
    current = panel.column(year)
    if current == 0:
        raise PanelError(f"{year} 年之前没有成绩，无法计算增长百分位")
    progressions = (
        list(settings.progressions)
        if settings.progressions is not None
        else default_progressions(panel, current, settings)
    )
    if not progressions:
        raise PanelError(f"{year} 年没有可分析的年级进度（需要相邻年份的成绩）")
    finals = [p[-1] for p in progressions]
    if len(set(finals)) != len(finals):
        raise PanelError("多个年级进度的当前年级相同，每个当前年级只能有一个进度")
    kept: dict[int, KnotsBoundaries] = dict(knots or {})
    plans: list[tuple[Progression, int, npt.NDArray[np.intp], SplineProblem]] = []
    infos: list[MatrixInfo] = []
    for full in progressions:
        priors = min(len(full) - 1, settings.max_order, current)
        if priors < 1:
            raise PanelError(f"年级进度“{progression_text(full)}”至少要有一个前测年级")
        grades = full[-(priors + 1) :]
        # Knots: every grade in this analysis's stacked prior panels that has none yet.
        columns = list(range(current - priors, current))
        new = knots_by_grade(panel.grades[:, columns].ravel(), panel.scores[:, columns].ravel())
        kept = merge_kept(kept, new)
        for order in range(1, priors + 1):
            used = grades[-(order + 1) :]
            years = tuple(panel.years[current - order : current + 1])
            rows = np.flatnonzero(_cohort(panel, current, used, order))
            p = 1 + 7 * order
            missing = [g for g in used[:-1] if g not in kept]
            if missing:
                infos.append(MatrixInfo(used, order, years, rows.size, skipped="缺少节点"))
                continue
            if rows.size < max(settings.min_cohort, p + 1):
                infos.append(MatrixInfo(used, order, years, rows.size, skipped="人数不足"))
                continue
            prior_scores = [panel.scores[rows, current - back] for back in range(order, 0, -1)]
            problem = SplineProblem(
                priors=tuple(prior_scores),
                knots=tuple(kept[g] for g in used[:-1]),
                y=panel.scores[rows, current],
            )
            plans.append((used, order, rows, problem))
            infos.append(MatrixInfo(used, order, years, rows.size))
    matrices, stats = coefficient_matrices(
        [problem for *_, problem in plans],
        taus=sgp_taus(),
        solver=settings.solver,
        workers=settings.workers,
    )
    fitted = iter(matrices)
    infos = [
        info
        if info.skipped
        else MatrixInfo(info.progression, info.order, info.years, info.n, coefficients=next(fitted))
        for info in infos
    ]
    by_order = np.full((panel.size, settings.max_order), -1, dtype=np.int64)
    progression_of = np.full(panel.size, -1, dtype=np.int64)
    for (used, order, rows, problem), coefficients in zip(plans, matrices, strict=True):
        by_order[rows, order - 1] = score_problem(problem, coefficients)
        if order == 1:
            index = next(i for i, full in enumerate(progressions) if full[-1] == used[-1])
            progression_of[rows] = index
    students = _assemble(panel, current, progressions, by_order, progression_of, settings)
    return SGPResult(
        students=students,
        matrices=infos,
        knots=kept,
        year=year,
        max_order=settings.max_order,
        solver=settings.solver,
        content_area=settings.content_area,
        level_cuts=settings.level_cuts,
        stats=stats,
    )


def _assemble(
    panel: Panel,
    current: int,
    progressions: Sequence[Progression],
    by_order: npt.NDArray[np.int64],
    progression_of: npt.NDArray[np.int64],
    settings: SGPSettings,
) -> pl.DataFrame:
    rows = np.flatnonzero(by_order[:, 0] > 0)
    orders = by_order[rows]
    present = orders > 0
    highest = present.shape[1] - np.argmax(present[:, ::-1], axis=1)  # 1-based highest order
    final = orders[np.arange(rows.size), highest - 1]
    labels = [
        f"{progression_text(full[-(min(len(full) - 1, settings.max_order) + 1) :])}"
        for full in progressions
    ]
    frame = pl.DataFrame(
        {
            ID_COLUMN: panel.ids.gather(rows.tolist()) if rows.size else panel.ids.clear(),
            "GRADE": panel.grades[rows, current].astype(np.int64),
            "PROGRESSION": np.array(labels, dtype=object)[progression_of[rows]].astype(str),
            "SCALE_SCORE": panel.scores[rows, current],
            "SCALE_SCORE_PRIOR": panel.scores[rows, current - 1],
            **{
                f"SGP_ORDER_{k + 1}": pl.Series(orders[:, k]).replace(-1, None)
                for k in range(orders.shape[1])
            },
            "SGP": final,
            "SGP_ORDER": highest.astype(np.int64),
        }
    )
    frame = frame.with_columns(SGP_LEVEL=_levels(pl.col("SGP"), settings.level_cuts))
    return frame.sort(["GRADE", ID_COLUMN])


def summarize_sgp(students: pl.DataFrame, by: str | Sequence[str]) -> pl.DataFrame:
    """``summarizeSGP``: N, MEDIAN_SGP and MEAN_SGP per group (any columns of ``students``)."""
    keys = [by] if isinstance(by, str) else list(by)
    return (
        students.group_by(keys)
        .agg(
            N=pl.len(),
            MEDIAN_SGP=pl.col("SGP").median(),
            MEAN_SGP=pl.col("SGP").mean(),
        )
        .sort(keys)
    )


def sgp_summary(students: pl.DataFrame, max_order: int, levels: int) -> dict[str, Any]:
    """N, the golden-test sums, the order and level tables, and per-grade medians."""
    order_counts = dict(students.group_by("SGP_ORDER").len().iter_rows())
    level_counts = dict(students.group_by("SGP_LEVEL").len().iter_rows())
    per_grade = summarize_sgp(students, "GRADE") if students.height else None
    return {
        "n": students.height,
        "sum_sgp": int(students["SGP"].sum()),
        "sum_sgp_order_1": int(students["SGP_ORDER_1"].sum()),
        "sum_scale_score_prior": float(students["SCALE_SCORE_PRIOR"].sum()),
        "order_counts": {str(k): int(order_counts.get(k, 0)) for k in range(1, max_order + 1)},
        "level_counts": {str(k): int(level_counts.get(k, 0)) for k in range(1, levels + 1)},
        "grades": [
            {
                "grade": int(row["GRADE"]),
                "n": int(row["N"]),
                "median_sgp": float(row["MEDIAN_SGP"]),
                "mean_sgp": round(float(row["MEAN_SGP"]), 4),
            }
            for row in (per_grade.iter_rows(named=True) if per_grade is not None else [])
        ],
    }
