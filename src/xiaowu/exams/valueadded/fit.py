"""One entry point for the pages: fit a value-added model on matched students of two exams.

``fit(method, matched, params)`` takes one row per matched student with ``student_id``,
``prior`` (入口 score), ``score`` (出口 score) and the unit columns ``school_id``, ``class_id``,
``teacher_id`` (nullable), and returns

- ``units``: one row per (level, unit_id) with ``n``, the headline value ``va`` (residual
  gain after shrinkage, mean standard-score gain, mean percentile-rank change, or median SGP),
  ``se``, ``ci_low``, ``ci_high``, ``small_n`` and the method's own columns;
- ``students``: one row per student with the method's student-level values;
- ``summary``: JSON-ready model figures.

Methods: ``residual_eb`` (default model), ``z_gain`` (标准分增量), ``percentile_gain``
(百分等级进退), ``sgp`` (order-1 Student Growth Percentiles, exact solver).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from xiaowu.exams.valueadded.indices import percentile_rank_change, standard_score_gain
from xiaowu.exams.valueadded.residual import EBSettings, residual_gain
from xiaowu.exams.valueadded.sgp.sgp import SGPSettings, student_growth_percentiles, summarize_sgp
from xiaowu.exams.valueadded.sgp.wide import Panel, PanelError

LEVELS = ("school", "class", "teacher")
METHODS = ("residual_eb", "z_gain", "percentile_gain", "sgp")
Z95 = 1.96
# Asymptotic SE of a median = √(π/2)·σ/√n under normality.
MEDIAN_SE_FACTOR = math.sqrt(math.pi / 2)
UNIT_COLUMNS = ["level", "unit_id", "n", "va", "se", "ci_low", "ci_high", "small_n"]


class ValueAddedInputError(ValueError):
    """The matched data cannot be fitted; the message is Chinese."""


def _levels(matched: pl.DataFrame) -> list[str]:
    return [
        level
        for level in LEVELS
        if f"{level}_id" in matched.columns and matched[f"{level}_id"].null_count() < matched.height
    ]


def _stack(per_level: dict[str, pl.DataFrame]) -> pl.DataFrame:
    frames = [
        frame.rename({f"{level}_id": "unit_id"}).with_columns(
            level=pl.lit(level), unit_id=pl.col("unit_id").cast(pl.Int64)
        )
        for level, frame in per_level.items()
    ]
    if not frames:
        return pl.DataFrame(schema={"level": pl.String, "unit_id": pl.Int64, "n": pl.UInt32})
    stacked = pl.concat(frames, how="diagonal_relaxed")
    rest = [c for c in stacked.columns if c not in UNIT_COLUMNS]
    return stacked.select([c for c in UNIT_COLUMNS if c in stacked.columns] + rest)


def _mean_interval(frame: pl.DataFrame, value: str, sd: str, min_n: int) -> pl.DataFrame:
    se = (pl.col(sd) / pl.col("n").cast(pl.Float64).sqrt()).fill_null(float("nan"))
    return frame.with_columns(va=pl.col(value), se=se).with_columns(
        ci_low=pl.col("va") - Z95 * pl.col("se"),
        ci_high=pl.col("va") + Z95 * pl.col("se"),
        small_n=pl.col("n") < min_n,
    )


def _residual_eb(matched: pl.DataFrame, levels: list[str], min_n: int) -> dict[str, Any]:
    settings = EBSettings(min_n=min_n)
    per_level: dict[str, pl.DataFrame] = {}
    students = None
    summary: dict[str, Any] = {"model": "residual_eb", "levels": {}}
    for level in levels:
        result = residual_gain(
            matched, current="score", priors="prior", group=f"{level}_id", settings=settings
        )
        per_level[level] = result.units.drop("sigma2_e", "sigma2_u")
        cohort = result.cohorts.row(0, named=True)
        summary["levels"][level] = {
            "sigma_e": math.sqrt(cohort["sigma2_e"]),
            "sigma_u": math.sqrt(cohort["sigma2_u"]),
            "units": cohort["units"],
        }
        if students is None:
            students = result.students.select(
                "student_id", "z_prior", "z_current", "expected", "residual"
            )
            summary.update(
                n=cohort["n"],
                intercept=cohort["intercept"],
                slope=cohort["b_z_prior"],
                r2=cohort["r2"],
            )
    return {
        "units": _stack(per_level),
        "students": students if students is not None else pl.DataFrame(),
        "summary": summary,
    }


def _z_all(column: str) -> pl.Expr:
    std = pl.col(column).std(ddof=0)
    return pl.when(std > 0).then((pl.col(column) - pl.col(column).mean()) / std).otherwise(0.0)


def _pr_all(column: str) -> pl.Expr:
    return 100.0 * (pl.col(column).rank("average") - 0.5) / pl.len()


def _simple(matched: pl.DataFrame, levels: list[str], min_n: int, method: str) -> dict[str, Any]:
    if method == "z_gain":
        students = matched.select("student_id", z_in=_z_all("prior"), z_out=_z_all("score"))
        students = students.with_columns(gain=pl.col("z_out") - pl.col("z_in"))
    else:
        students = matched.select("student_id", pr_in=_pr_all("prior"), pr_out=_pr_all("score"))
        students = students.with_columns(gain=pl.col("pr_out") - pl.col("pr_in"))
    gains = matched.select("student_id", *[f"{lv}_id" for lv in levels]).join(
        students.select("student_id", "gain"), on="student_id"
    )
    per_level: dict[str, pl.DataFrame] = {}
    for level in levels:
        key = f"{level}_id"
        if method == "z_gain":
            table = standard_score_gain(matched, current="score", prior="prior", group=key)
            value = "gain"
        else:
            table = percentile_rank_change(matched, current="score", prior="prior", group=key)
            value = "change"
        spread = gains.drop_nulls(key).group_by(key).agg(sd=pl.col("gain").std(ddof=1))
        table = table.join(spread, on=key, how="left")
        per_level[level] = _mean_interval(table, value, "sd", min_n).drop("sd")
    return {
        "units": _stack(per_level),
        "students": students,
        "summary": {"model": method, "n": matched.height},
    }


def _sgp(
    matched: pl.DataFrame, levels: list[str], min_n: int, params: Mapping[str, Any]
) -> dict[str, Any]:
    n = matched.height
    panel = Panel(
        ids=matched["student_id"],
        years=(0, 1),
        grades=np.zeros((n, 2)),
        scores=np.column_stack(
            [
                matched["prior"].cast(pl.Float64).to_numpy(),
                matched["score"].cast(pl.Float64).to_numpy(),
            ]
        ),
    )
    settings = SGPSettings(
        year=1,
        progressions=((0, 0),),
        max_order=1,
        solver="fast",
        min_cohort=int(params.get("min_cohort", 30)),
    )
    result = student_growth_percentiles(panel, settings)
    if result.students.is_empty():
        raise ValueAddedInputError(
            f"匹配学生只有 {n} 人，少于计算学生成长百分位所需的 {settings.min_cohort} 人。"
        )
    students = result.students.select(
        pl.col("ID").alias("student_id"), sgp="SGP", sgp_level="SGP_LEVEL"
    )
    joined = matched.join(students, on="student_id")
    per_level: dict[str, pl.DataFrame] = {}
    for level in levels:
        key = f"{level}_id"
        table = summarize_sgp(joined.drop_nulls(key).rename({"sgp": "SGP"}), key)
        spread = joined.drop_nulls(key).group_by(key).agg(sd=pl.col("sgp").std(ddof=1))
        table = (
            table.rename({"N": "n", "MEDIAN_SGP": "median_sgp", "MEAN_SGP": "mean_sgp"})
            .join(spread, on=key, how="left")
            .with_columns(sd=pl.col("sd") * MEDIAN_SE_FACTOR)
        )
        per_level[level] = _mean_interval(table, "median_sgp", "sd", min_n).drop("sd")
    sgp = students["sgp"].cast(pl.Float64).to_numpy()
    return {
        "units": _stack(per_level),
        "students": students,
        "summary": {
            "model": "sgp",
            "n": students.height,
            "median_sgp": float(np.median(sgp)),
            "mean_sgp": float(np.mean(sgp)),
            "knots": result.knots[0].to_dict() if 0 in result.knots else None,
        },
    }


def fit(
    method: str, matched: pl.DataFrame, params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Fit ``method`` on matched students; see the module docstring for the frames returned."""
    params = dict(params or {})
    if method not in METHODS:
        raise ValueAddedInputError(f"未知的增值模型“{method}”")
    missing = [c for c in ("student_id", "prior", "score") if c not in matched.columns]
    if missing:
        raise ValueAddedInputError(f"匹配数据缺少列：{'、'.join(missing)}")
    data = matched.drop_nulls(["student_id", "prior", "score"])
    if data.height < 3:
        raise ValueAddedInputError(f"匹配学生只有 {data.height} 人，无法评价。")
    min_n = int(params.get("min_n", 10))
    levels = _levels(data)
    try:
        if method == "residual_eb":
            return _residual_eb(data, levels, min_n)
        if method == "sgp":
            return _sgp(data, levels, min_n, params)
        return _simple(data, levels, min_n, method)
    except PanelError as error:
        raise ValueAddedInputError(str(error)) from error
