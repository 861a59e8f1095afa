"""上线 analysis (``analytics.md`` §2.9): 上线人数/率 per unit, 有效分 per subject, 单/双上线,
命中率, 贡献率 and 临界生.

- 上线: 总分 ≥ line, over the 总分 实考 (or 应考 with ``denominator: expected``).
- 有效分 e_j, exam level, from the students whose total reaches the line:
  ``ratio``: e_j = round_half_up(mean(x_j | total ≥ L) · L / mean(total | total ≥ L)), in whole
  points; ``proportion``: the k-th highest x_j with k = ⌈N_j · n_L / N⌉ — the same rank
  proportion as the line's pass rate (N = 总分 实考, n_L = at or above the line, N_j = 实考 of
  the subject).
- 单上线 x_j ≥ e_j; 双上线 x_j ≥ e_j and total ≥ L. 命中率 has two definitions in use, both
  given: ``hit_rate`` = 双上线 / 单上线 and ``hit_rate_sat`` = 双上线 / 该科参考人数 (the unit's
  实考 in the subject, ``sat``). 贡献率 = 双上线 / 总分上线人数 (the unit's students of that
  subject whose total reaches the line).
- 临界生: line − critical_width ≤ total < line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import polars as pl

from xiaowu.exams.analytics.caliber import CaliberSpec, Line
from xiaowu.exams.analytics.frame import SCALE, BoolArray, IntArray, Prepared, exact
from xiaowu.exams.analytics.indicators import LEVEL
from xiaowu.exams.analytics.levels import Level

LevelUnits = dict[str, tuple[Level, IntArray]]  # level → (groups, unit id per group)
GroupSums = Callable[[BoolArray], dict[str, IntArray]]  # row mask → per level, count per group


@dataclass(frozen=True)
class Rows:
    """The long rows in the order ``GroupSums`` expects: candidate code, subject code, score
    in tenths (−1 outside 实考)."""

    cand: IntArray
    subj: IntArray
    v: IntArray


TOTAL_LEVELS = ("exam", "district", "school", "class")


@dataclass(frozen=True)
class LineResults:
    lines: pl.DataFrame
    effective: pl.DataFrame
    line_subjects: pl.DataFrame
    critical: pl.DataFrame


def round_half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def effective_scores(
    prep: Prepared, spec: CaliberSpec, line: Line, exam: Level, rows: Rows, above: BoolArray
) -> list[Fraction | None]:
    """有效分 per subject code (points), None when no student reaches the line."""
    v, subj = rows.v, rows.subj
    count = len(prep.subjects.names)
    result: list[Fraction | None] = [None] * count
    above_n = int(above.sum())
    if above_n == 0:
        return result
    if spec.effective_score == "ratio":
        totals = prep.candidates["total_v"].fill_null(0).to_numpy()
        total_sum = int(totals[above].sum())
        mask = above[rows.cand] & (v >= 0) & (subj < count)
        sums = np.bincount(subj[mask], weights=v[mask], minlength=count)
        counts = np.bincount(subj[mask], minlength=count)
        for code in range(count):
            if counts[code] and total_sum:
                # mean_j · L / mean_total, both means in tenths: S_j · n_L · L / (n_j · T)
                ratio = Fraction(round(sums[code]) * above_n) / (int(counts[code]) * total_sum)
                result[code] = Fraction(round_half_up(ratio * exact(line.total)))
        return result
    total_group = np.flatnonzero(exam.subjects == prep.subjects.total_code)
    sat_total = int(exam.sat[total_group].sum())
    for code in range(count):
        group = np.flatnonzero(exam.subjects == code)
        if group.size == 0 or sat_total == 0:
            continue
        subject_sat = int(exam.sat[group[0]])
        k = -(-above_n * subject_sat // sat_total)
        if k >= 1:
            ks = np.zeros(exam.sat.size, dtype=np.int64)
            ks[group[0]] = k - 1
            result[code] = Fraction(int(exam.kth_largest(ks)[group[0]]), SCALE)
    return result


def line_results(
    prep: Prepared, spec: CaliberSpec, orders: LevelUnits, rows: Rows, group_sums: GroupSums
) -> LineResults:
    totals = prep.candidates["total_v"].fill_null(-1).to_numpy()
    enum = prep.subjects.enum()
    total_code = prep.subjects.total_code
    line_frames: list[pl.DataFrame] = []
    effective_rows: list[dict[str, object]] = []
    subject_frames: list[pl.DataFrame] = []
    critical_frames: list[pl.DataFrame] = []
    for line in spec.lines:
        line_tenths = math.ceil(exact(line.total) * SCALE)
        above = totals >= line_tenths
        for level in TOTAL_LEVELS:
            s, ids = orders[level]
            group = np.flatnonzero(s.subjects == total_code)
            reached = s.count_at_least(np.full(group.size, line_tenths), group)
            base = s.sat if spec.denominator == "sat" else s.expected
            line_frames.append(
                pl.DataFrame(
                    {
                        "level": pl.Series([level] * group.size, dtype=LEVEL),
                        "unit_id": ids[group],
                        "line_name": [line.name] * group.size,
                        "line_total": [line.total] * group.size,
                        "n": reached,
                        "denominator": base[group],
                    }
                )
            )
        scores = effective_scores(prep, spec, line, orders["exam"][0], rows, above)
        for code, name in enumerate(prep.subjects.names):
            value = scores[code]
            effective_rows.append(
                {
                    "line_name": line.name,
                    "subject": name,
                    "effective_score": None if value is None else float(value),
                    "method": spec.effective_score,
                }
            )
        cutoff = np.array(
            [-1 if value is None else math.ceil(value * SCALE) for value in scores] + [-1],
            dtype=np.int64,
        )
        above_row = above[rows.cand]
        above_row &= rows.subj != total_code  # subject rows only
        row_cutoff = cutoff[rows.subj]
        double_row = (row_cutoff >= 0) & (rows.v >= row_cutoff) & above_row
        doubles = group_sums(double_row)
        reached_line = group_sums(above_row)
        for level, (s, ids) in orders.items():
            group = np.flatnonzero(s.subjects != total_code)
            subjects = s.subjects[group]
            single = s.count_at_least(cutoff[subjects], group)
            double = doubles[level][group]
            line_n = reached_line[level][group]
            has_line = cutoff[subjects] >= 0
            subject_frames.append(
                pl.DataFrame(
                    {
                        "level": pl.Series([level] * group.size, dtype=LEVEL),
                        "unit_id": ids[group],
                        "line_name": [line.name] * group.size,
                        "subject": prep.subjects.series(subjects),
                        "effective_score": np.where(has_line, cutoff[subjects] / SCALE, np.nan),
                        "sat": s.sat[group],
                        "single_n": np.where(has_line, single, -1),
                        "double_n": np.where(has_line, double, -1),
                        "line_n": line_n,
                    },
                    nan_to_null=True,
                ).with_columns(pl.col("single_n", "double_n").replace(-1, None))
            )
        low_tenths = math.ceil((exact(line.total) - exact(spec.critical_width)) * SCALE)
        critical_frames.append(
            prep.candidates.filter(
                (pl.col("total_v") >= low_tenths) & (pl.col("total_v") < line_tenths)
            ).select(
                "candidate_id",
                "student_id",
                "class_id",
                "school_id",
                pl.lit(line.name).alias("line_name"),
                pl.lit(line.total).alias("line_total"),
                (pl.col("total_v") / SCALE).alias("total"),
                (pl.lit(line.total) - pl.col("total_v") / SCALE).alias("gap"),
            )
        )
    return LineResults(
        lines=_finish_lines(line_frames),
        effective=pl.DataFrame(
            effective_rows,
            schema={
                "line_name": pl.String,
                "subject": pl.String,
                "effective_score": pl.Float64,
                "method": pl.String,
            },
        ),
        line_subjects=_finish_subjects(subject_frames, enum),
        critical=pl.concat(critical_frames) if critical_frames else _empty_critical(),
    )


def _finish_lines(frames: list[pl.DataFrame]) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {
        "level": LEVEL,
        "unit_id": pl.Int64(),
        "line_name": pl.String(),
        "line_total": pl.Float64(),
        "n": pl.Int64(),
        "denominator": pl.Int64(),
    }
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
    return frame.with_columns(
        pl.when(pl.col("denominator") > 0).then(pl.col("n") / pl.col("denominator")).alias("rate")
    )


def _finish_subjects(frames: list[pl.DataFrame], enum: pl.Enum) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {
        "level": LEVEL,
        "unit_id": pl.Int64(),
        "line_name": pl.String(),
        "subject": enum,
        "effective_score": pl.Float64(),
        "sat": pl.Int64(),
        "single_n": pl.Int64(),
        "double_n": pl.Int64(),
        "line_n": pl.Int64(),
    }
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
    return frame.with_columns(
        pl.when(pl.col("single_n") > 0)
        .then(pl.col("double_n") / pl.col("single_n"))
        .alias("hit_rate"),
        pl.when(pl.col("sat") > 0).then(pl.col("double_n") / pl.col("sat")).alias("hit_rate_sat"),
        pl.when(pl.col("line_n") > 0)
        .then(pl.col("double_n") / pl.col("line_n"))
        .alias("contribution_rate"),
    )


def _empty_critical() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "candidate_id": pl.Int64(),
            "student_id": pl.Int64(),
            "class_id": pl.Int64(),
            "school_id": pl.Int64(),
            "line_name": pl.String(),
            "line_total": pl.Float64(),
            "total": pl.Float64(),
            "gap": pl.Float64(),
        }
    )
