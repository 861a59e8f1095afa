"""The simple value-added indices schools compute locally (analytics.md §3.2).

``standard_score_gain``
    标准分增量: VA_u = mean Z_out − mean Z_in, each Z within its reference population
    (the cohort of the frame, ddof = 0), unless the columns already hold standard scores.
``percentile_rank_change``
    百分等级进退: mean(PR_out − PR_in) with PR = 100·(#{x_j < x_i} + 0.5·#{x_j = x_i}) / N
    within the cohort.

Both take matched students (one row each, both scores present) and any grouping column.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from xiaowu.exams.valueadded.residual import COHORT_ALL


def _prepare(
    frame: pl.DataFrame, current: str, prior: str, group: str, cohort: Sequence[str]
) -> tuple[pl.DataFrame, list[str]]:
    missing = [c for c in (current, prior, group, *cohort) if c not in frame.columns]
    if missing:
        raise ValueError(f"缺少列：{'、'.join(missing)}")
    data = frame.drop_nulls([current, prior, group])
    if cohort:
        return data, list(cohort)
    return data.with_columns(pl.lit(0).alias(COHORT_ALL)), [COHORT_ALL]


def _z(column: str, over: list[str]) -> pl.Expr:
    std = pl.col(column).std(ddof=0).over(over)
    centred = pl.col(column) - pl.col(column).mean().over(over)
    return pl.when(std > 0).then(centred / std).otherwise(0.0)


def percentile_rank(column: str, over: Sequence[str]) -> pl.Expr:
    """PR = 100·(#{<} + 0.5·#{=}) / N = 100·(mean rank − 0.5) / N within ``over``."""
    rank = pl.col(column).rank("average").over(list(over))
    return 100.0 * (rank - 0.5) / pl.len().over(list(over))


def standard_score_gain(
    frame: pl.DataFrame,
    *,
    current: str,
    prior: str,
    group: str,
    cohort: Sequence[str] = (),
    standardize: bool = True,
) -> pl.DataFrame:
    """Per unit: n, mean_z_in, mean_z_out, gain = mean_z_out − mean_z_in."""
    data, over = _prepare(frame, current, prior, group, cohort)
    if standardize:
        data = data.with_columns(z_in=_z(prior, over), z_out=_z(current, over))
    else:
        data = data.with_columns(
            z_in=pl.col(prior).cast(pl.Float64), z_out=pl.col(current).cast(pl.Float64)
        )
    units = (
        data.group_by([*over, group])
        .agg(n=pl.len(), mean_z_in=pl.col("z_in").mean(), mean_z_out=pl.col("z_out").mean())
        .with_columns(gain=pl.col("mean_z_out") - pl.col("mean_z_in"))
        .sort([*over, group])
    )
    return units.drop(COHORT_ALL) if COHORT_ALL in units.columns else units


def percentile_rank_change(
    frame: pl.DataFrame,
    *,
    current: str,
    prior: str,
    group: str,
    cohort: Sequence[str] = (),
) -> pl.DataFrame:
    """Per unit: n, mean_pr_in, mean_pr_out, change = mean(PR_out − PR_in)."""
    data, over = _prepare(frame, current, prior, group, cohort)
    data = data.with_columns(
        pr_in=percentile_rank(prior, over), pr_out=percentile_rank(current, over)
    )
    units = (
        data.group_by([*over, group])
        .agg(
            n=pl.len(),
            mean_pr_in=pl.col("pr_in").mean(),
            mean_pr_out=pl.col("pr_out").mean(),
            change=(pl.col("pr_out") - pl.col("pr_in")).mean(),
        )
        .sort([*over, group])
    )
    return units.drop(COHORT_ALL) if COHORT_ALL in units.columns else units
