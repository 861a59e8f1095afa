"""Unit indicators (``analytics.md`` §2.1–§2.3): 应考/实考/参考率, mean, SD (ddof = 0), extremes,
quartiles, 得分率, the four rates with their counts, 超均率/均分差/比均率 and the small-n flag.

The raw statistics of a level come from its ``levels.Level`` (counts, exact integer sums); the
rates and comparisons are then columns of the small unit table.

- Thresholds are ratios of 满分 (of the total 满分 for 总分), per-subject overrides applied;
  x ≥ t for excellent/good/pass, x < t for low, compared exactly in tenths.
- Rates divide by ``rate_denominator``: 实考 (``sat``) or 应考 (``expected``) per the 口径.
- 超均率 = (x̄_u − x̄_exam)/x̄_exam, 均分差 = x̄_u − x̄_exam, 比均率 = x̄_u/x̄_exam.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Final

import numpy as np
import polars as pl

from xiaowu.exams.analytics.caliber import THRESHOLD_KEYS, CaliberSpec
from xiaowu.exams.analytics.frame import SCALE, IntArray, Prepared, Subjects, exact
from xiaowu.exams.analytics.levels import Level

LEVELS: Final = ("exam", "district", "school", "class", "teacher")
LEVEL: Final = pl.Enum(LEVELS)


def threshold_tenths(spec: CaliberSpec, subjects: Subjects) -> dict[str, IntArray]:
    """Per subject code (总分 last), the smallest score in tenths that reaches each threshold:
    x ≥ ratio·W for excellent/good/pass; for low, x < ratio·W ⇔ x < this value."""
    table: dict[str, IntArray] = {}
    for key in THRESHOLD_KEYS:
        values = [
            math.ceil(exact(spec.thresholds_for(label).ratio(key)) * Fraction(full))
            for label, full in zip(subjects.labels, subjects.full_marks, strict=True)
        ]
        table[key] = np.array(values, dtype=np.int64)
    return table


def level_stats(
    level: Level,
    unit_ids: IntArray,
    school_codes: IntArray | None,
    prep: Prepared,
    thresholds: dict[str, IntArray],
) -> pl.DataFrame:
    """Raw statistics of every (unit, subject) group of one level; ``unit_ids`` and
    ``school_codes`` (owning school, for school/class/teacher) are per group."""
    sat = level.sat
    has = sat > 0
    safe = np.maximum(sat, 1)
    mean = np.where(has, level.sums / safe, np.nan)
    variance = np.where(has, np.maximum(level.squares / safe - mean * mean, 0.0), np.nan)
    counts = {key: level.count_at_least(thresholds[key][level.subjects]) for key in THRESHOLD_KEYS}
    groups = sat.size
    if school_codes is None:
        school = np.full(groups, -1, dtype=np.int64)
        district = unit_ids if level.name == "district" else np.full(groups, -1, dtype=np.int64)
    else:
        school = prep.school_ids[school_codes]
        # the code len(district_ids) means "no district"
        district = np.append(prep.district_ids, -1)[prep.school_district[school_codes]]
    first = level.kth_largest(np.zeros(groups, dtype=np.int64))
    last = level.kth_largest(np.maximum(sat - 1, 0))
    frame = pl.DataFrame(
        {
            "level": pl.Series(np.full(groups, LEVELS.index(level.name), dtype=np.uint32)).cat.to(
                LEVEL
            ),
            "unit_id": unit_ids,
            "subject": prep.subjects.series(level.subjects),
            "school_id": school,
            "district_id": district,
            "full_mark": np.array(prep.subjects.full_marks, dtype=np.float64)[level.subjects]
            / SCALE,
            "expected": level.expected,
            "sat": sat,
            "score_sum": level.sums / SCALE,
            "mean": mean / SCALE,
            "std": np.sqrt(variance) / SCALE,
            "max": np.where(has, first / SCALE, np.nan),
            "min": np.where(has, last / SCALE, np.nan),
            "median": level.quantile(0.5) / SCALE,
            "q1": level.quantile(0.25) / SCALE,
            "q3": level.quantile(0.75) / SCALE,
            "excellent_n": counts["excellent"],
            "good_n": counts["good"],
            "pass_n": counts["pass"],
            "low_n": sat - counts["low"],
        },
        nan_to_null=True,
    )
    return frame.with_columns(pl.col("school_id", "district_id").replace(-1, None).cast(pl.Int64))


def finish(units: pl.DataFrame, spec: CaliberSpec) -> pl.DataFrame:
    """Rates with their denominator, comparisons against the exam, the small-n flag."""
    denominator = pl.col("sat") if spec.denominator == "sat" else pl.col("expected")

    def rate(numerator: pl.Expr, base: pl.Expr) -> pl.Expr:
        return pl.when(base > 0).then(numerator / base)

    exam_mean = pl.col("mean").filter(pl.col("level") == "exam").first().over("subject")
    return units.with_columns(denominator.alias("rate_denominator")).with_columns(
        rate(pl.col("sat"), pl.col("expected")).alias("sat_rate"),
        (pl.col("mean") / pl.col("full_mark")).alias("score_rate"),
        *(
            rate(pl.col(f"{key}_n"), pl.col("rate_denominator")).alias(f"{key}_rate")
            for key in THRESHOLD_KEYS
        ),
        (pl.col("mean") - exam_mean).alias("mean_diff"),
        rate(pl.col("mean"), exam_mean).alias("mean_ratio"),
        rate(pl.col("mean") - exam_mean, exam_mean).alias("above_mean_rate"),
        (pl.col("sat") < spec.min_group_size).alias("small_n"),
    )
