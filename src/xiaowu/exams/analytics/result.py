"""``ExamResult``: every table ``analyze`` produces, as polars DataFrames.

Conventions: scores are points (floats with at most one decimal); rates are fractions in [0, 1]
next to their numerator and denominator columns, so the UI can show "n/N" and round as it
likes; ``level`` is an Enum (exam, district, school, class, teacher) and ``subject`` an Enum of
the exam's subjects followed by 总分; the exam itself is the unit with ``unit_id`` 0; a null
means "not defined" (no student in 实考, no composite in the 口径 …).

Columns:

- ``units`` — level, unit_id, subject, school_id / district_id (the unit's own or its parent's;
  a teacher's is that of their first class in the subject), full_mark, expected (应考), sat
  (实考), sat_rate (参考率), score_sum, mean, std (ddof 0), max, min, median, q1, q3,
  excellent_n / good_n / pass_n / low_n, rate_denominator (实考 or 应考 per the 口径),
  excellent_rate / good_rate / pass_rate / low_rate, score_rate (得分率), mean_diff (均分差),
  mean_ratio (比均率), above_mean_rate (超均率), small_n (sat < min_group_size), composite,
  composite_rank (among the level's units, per subject), composite_rank_school (classes and
  teachers within their school).
- ``students`` — class order: candidate_id, class_id, school_id, subject, score (null outside
  实考), rank_class, rank_school, rank_exam (competition 1224; 总分 with the tie-break chain),
  dense_rank_* (only when the 口径 ranks densely), z, t, normal_score (area-transformed, T or
  500 scale), percentile_rank, balance (Z_subject − Z_总分), balance_rank (rank_exam of
  总分 − rank_exam of the subject, competition ranks, 总分 after the tie-break chain; positive
  = the subject ranks better than the total). Both balances are null on 总分 rows and where a
  Z or rank is null.
- ``candidates`` — candidate_id, student_id, class_id, school_id, district_id, gender,
  row_count, total (null outside the 总分 实考).
- ``bands`` — level, unit_id, subject, band_low, band_high, closed_high (the top band is
  [low, high]), n, pct, cum_n, cum_pct (cumulative from the top; % of 实考).
- ``one_point`` — subject, score (descending), n, cum_n (#≥ score), rank (1 + #> score),
  cum_pct.
- ``joint`` — level, unit_id, set_name, subjects, eligible, passed, rate, failed_all,
  failed_all_rate (全科不及格).
- ``lines`` — level, unit_id, line_name, line_total, n, denominator, rate.
- ``effective`` — line_name, subject, effective_score, method.
- ``line_subjects`` — level, unit_id, line_name, subject, effective_score, sat, single_n,
  double_n, line_n, hit_rate (命中率, 双上线/单上线), hit_rate_sat (命中率, 双上线/该科参考人数
  = sat), contribution_rate (双上线/总分上线人数).
- ``critical`` — candidate_id, student_id, class_id, school_id, line_name, line_total, total,
  gap (line − total).
- ``top`` — candidate_id, class_id, school_id, total, rank (competition rank ≤ top_n).
- ``assigned`` — 等级赋分 (only with ``assigned_scores`` in the 口径, else empty): per candidate
  × configured subject in 实考, candidate_id, class_id, school_id, subject, score (raw), band
  (label), band_index (0 = top), assigned (integer), on the whole exam population.
- ``assigned_bands`` — the 赋分 conversion table: subject, band, band_index, target_pct, n,
  pct, cum_n, cum_pct, raw_high, raw_low (null for an empty band), assigned_high,
  assigned_low.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from xiaowu.exams.analytics.caliber import TOTAL, CaliberSpec


@dataclass(frozen=True)
class ExamResult:
    spec: CaliberSpec
    subjects: tuple[str, ...]  # exam subjects in display order (总分 not included)
    units: pl.DataFrame
    students: pl.DataFrame
    candidates: pl.DataFrame
    bands: pl.DataFrame
    one_point: pl.DataFrame
    joint: pl.DataFrame
    lines: pl.DataFrame
    effective: pl.DataFrame
    line_subjects: pl.DataFrame
    critical: pl.DataFrame
    top: pl.DataFrame
    assigned: pl.DataFrame
    assigned_bands: pl.DataFrame
    warnings: tuple[str, ...]  # parts of the 口径 that did not apply to this exam

    @property
    def balance(self) -> pl.DataFrame:
        """学科均衡: per candidate × subject, ``balance`` = Z_j − Z_总分 and ``balance_rank`` =
        rank_exam(总分) − rank_exam(j) (both positive = stronger than overall)."""
        return self.students.filter(pl.col("subject") != TOTAL).select(
            "candidate_id", "subject", "z", "balance", "rank_exam", "balance_rank"
        )

    def unit(self, level: str, unit_id: int) -> pl.DataFrame:
        """The indicator rows of one unit, one per subject."""
        return self.units.filter((pl.col("level") == level) & (pl.col("unit_id") == unit_id))

    @property
    def rank_columns(self) -> tuple[str, str, str]:
        """The student rank columns that follow the 口径's ranking method."""
        prefix = "rank" if self.spec.ranking == "competition" else "dense_rank"
        return (f"{prefix}_class", f"{prefix}_school", f"{prefix}_exam")
