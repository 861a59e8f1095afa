"""综合评比 (composite evaluation), ``analytics.md`` §2.4, as a pure function of the unit table.

Siblings are the units of the same level and subject in the exam (classes with classes, schools
with schools, teachers with teachers …). Indicators: ``mean`` (as 得分率 × 100 for ``weighted``,
as the mean itself for the relative families), ``pass``, ``excellent``, ``good`` (rates × 100)
and ``low`` (the 低分率, which always counts against the unit).

- ``weighted``: S = Σ w·indicator − w_low·low%.
- ``relative_best``: S = Σ P·indicator / best sibling − P_low·low / highest sibling low rate
  (a term whose best value is 0 contributes 0).
- ``relative_mean``: the same against the exam's own value (比均率 × points).
- ``rank_points``: per indicator, points = siblings − rank + 1 (rank 1 = best; for low, the
  lowest rate is best), S = Σ w·points.
- ``standard_score``: the unit's mean student T score, 50 + 10·(x̄_u − x̄_exam)/σ_exam.

The composite is rounded to 8 decimals, so that equal inputs tie exactly, and ranked with the
口径's ranking method (competition by default) among siblings (``composite_rank``) and, for
classes and teachers, among the siblings of the same school (``composite_rank_school``).
"""

from __future__ import annotations

from typing import Final, Literal

import polars as pl

from xiaowu.exams.analytics.caliber import CaliberSpec, Composite

SIBLINGS: Final = ("level", "subject")
RATE_COLUMNS: Final = {
    "pass": "pass_rate",
    "excellent": "excellent_rate",
    "good": "good_rate",
    "low": "low_rate",
}


def _indicator(name: str, *, as_percent_of_full: bool) -> pl.Expr:
    if name == "mean":
        return pl.col("score_rate") * 100 if as_percent_of_full else pl.col("mean")
    return pl.col(RATE_COLUMNS[name]) * 100


def _exam_value(expr: pl.Expr) -> pl.Expr:
    return expr.filter(pl.col("level") == "exam").first().over("subject")


def _signed(name: str, term: pl.Expr) -> pl.Expr:
    return -term if name == "low" else term


def _ratio_term(value: pl.Expr, reference: pl.Expr) -> pl.Expr:
    return (
        pl.when(reference > 0)
        .then(value / reference)
        .otherwise(pl.when(value.is_not_null()).then(0.0))
    )


def composite_expr(composite: Composite) -> pl.Expr:
    terms: list[pl.Expr] = []
    family = composite.family
    if family == "standard_score":
        exam_mean = _exam_value(pl.col("mean"))
        exam_std = _exam_value(pl.col("std"))
        return (
            pl.when(exam_std > 0)
            .then(50 + 10 * (pl.col("mean") - exam_mean) / exam_std)
            .otherwise(pl.when(pl.col("mean").is_not_null()).then(50.0))
        )
    for name, weight in composite.weights:
        if weight == 0:
            continue
        if family == "weighted":
            term = weight * _indicator(name, as_percent_of_full=True)
        elif family == "relative_best":
            value = _indicator(name, as_percent_of_full=False)
            term = weight * _ratio_term(value, value.max().over(SIBLINGS))
        elif family == "relative_mean":
            value = _indicator(name, as_percent_of_full=False)
            term = weight * _ratio_term(value, _exam_value(value))
        else:  # rank_points
            value = _indicator(name, as_percent_of_full=False)
            rank = value.rank("min", descending=name != "low").over(SIBLINGS)
            siblings = value.count().over(SIBLINGS)
            terms.append(weight * (siblings - rank + 1))
            continue
        terms.append(_signed(name, term))
    if not terms:
        return pl.lit(None, dtype=pl.Float64)
    return pl.sum_horizontal(terms) if len(terms) > 1 else terms[0]


def add_composite(units: pl.DataFrame, spec: CaliberSpec) -> pl.DataFrame:
    """Add ``composite``, ``composite_rank`` and ``composite_rank_school`` (null without a
    composite in the 口径)."""
    if spec.composite is None:
        return units.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("composite"),
            pl.lit(None, dtype=pl.UInt32).alias("composite_rank"),
            pl.lit(None, dtype=pl.UInt32).alias("composite_rank_school"),
        )
    method: Literal["min", "dense"] = "min" if spec.ranking == "competition" else "dense"
    composite = composite_expr(spec.composite)
    # A unit without an indicator value has no composite (sum_horizontal would treat it as 0).
    family = spec.composite.family
    needed = [
        _indicator(name, as_percent_of_full=False).is_not_null()
        for name, weight in spec.composite.weights
        if weight and family != "standard_score"
    ] or [pl.col("mean").is_not_null()]
    complete = pl.all_horizontal(needed)
    units = units.with_columns(
        pl.when(complete).then(composite).round(8).cast(pl.Float64).alias("composite")
    )
    score = pl.col("composite")
    by_school = pl.col("level").is_in(("class", "teacher"))
    return units.with_columns(
        score.rank(method, descending=True).over(SIBLINGS).alias("composite_rank"),
        pl.when(by_school)
        .then(score.rank(method, descending=True).over([*SIBLINGS, "school_id"]))
        .alias("composite_rank_school"),
    )
