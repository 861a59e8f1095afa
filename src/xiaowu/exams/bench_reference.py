"""The benchmark's like-for-like baseline: the engine's indicators written as bare polars.

``xiaowu bench exams`` must compare ``analyze()`` with "a bare DuckDB or Polars group-by over
the same table". A one-level group-by of a few aggregates is a floor, not a comparison: the
engine produces five levels × every subject and 总分, three student ranks with a tie-break
chain, standard scores, bands, 一分一段, joint rates and 上线. This module computes those same
tables the way a data engineer would write them directly in polars — lazy queries of
``group_by``, ``over`` windows, ``rank`` and joins over the long score table, collected together
with ``pl.collect_all`` so polars shares the common sub-plans and runs them in parallel — with no
engine machinery (no packed sort keys, histograms or roll-ups).

``test_bench_reference`` checks that its tables equal ``analyze()``'s on synthetic exams, so the
two sides of the benchmark provably do the same work. The small unit table reuses the engine's
``finish`` and ``add_composite`` (already plain polars expressions over ~150 k rows).

Only the 口径 features the benchmark uses are supported; ``reference`` refuses the others
(``ReferenceUnsupportedError``) rather than compute something different.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

import polars as pl
from polars.testing import assert_frame_equal
from scipy.special import ndtri

from xiaowu.exams.analytics.caliber import (
    EXCLUDABLE_STATUSES,
    THRESHOLD_KEYS,
    TOTAL,
    CaliberSpec,
    Line,
)
from xiaowu.exams.analytics.composite import add_composite
from xiaowu.exams.analytics.frame import SCALE, ceil_tenths, exact
from xiaowu.exams.analytics.indicators import LEVEL, finish
from xiaowu.exams.analytics.result import ExamResult

UNIT_KEYS: Final = {
    "exam": pl.lit(0, dtype=pl.Int64),
    "district": pl.col("district_id"),
    "school": pl.col("school_id"),
    "class": pl.col("class_id"),
    "teacher": pl.col("teacher_id"),
}
TOTAL_LEVELS: Final = ("exam", "district", "school", "class")


class ReferenceUnsupportedError(ValueError):
    """A 口径 feature the reference implementation does not cover."""


def _check_supported(spec: CaliberSpec) -> None:
    unsupported = {
        "ranking": spec.ranking != "competition",
        "cheated": spec.cheated != "exclude",
        "excluded_statuses": set(spec.excluded_statuses) != set(EXCLUDABLE_STATUSES),
        "exclude_visiting": spec.exclude_visiting,
        "joint_absent": spec.joint_absent != "exclude",
        "total_subjects": spec.total_subjects is not None,
        "total_absent": spec.total_absent != "exclude",
        "denominator": spec.denominator != "sat",
        "effective_score": spec.effective_score != "ratio",
        "standard_score": spec.standard_score != "T",
        "subject_thresholds": bool(spec.subject_thresholds),
        "band_widths": bool(spec.band_widths),
        "band_width": exact(spec.band_width) * SCALE != int(exact(spec.band_width) * SCALE),
    }
    bad = [name for name, flag in unsupported.items() if flag]
    if bad:
        raise ReferenceUnsupportedError(f"the reference does not implement 口径 {', '.join(bad)}")


@dataclass(frozen=True)
class _Exam:
    """What the queries share: subject labels, full marks and thresholds in tenths."""

    names: list[str]
    spec: CaliberSpec
    full: dict[str, int]
    thresholds: dict[str, dict[str, int]]

    @property
    def labels(self) -> list[str]:
        return [*self.names, TOTAL]

    @property
    def enum(self) -> pl.Enum:
        return pl.Enum(self.labels)

    def sets(self) -> list[tuple[str, tuple[str, ...]]]:
        return [
            (name, tuple(self.names) if members is None else members)
            for name, members in self.spec.subject_sets
            if members is None or all(subject in self.names for subject in members)
        ]

    def tie_break(self) -> list[str]:
        return [name for name in self.spec.tie_break if name in self.names]


def _per_subject(table: Mapping[str, float | int | None], dtype: pl.DataType) -> pl.Expr:
    return pl.col("subject").replace_strict(dict(table), default=None, return_dtype=dtype)


def reference(frame: pl.DataFrame, spec: CaliberSpec) -> dict[str, pl.DataFrame]:
    """The engine's tables (units, students, bands, one_point, joint, lines, effective,
    line_subjects, critical, top) for the exam-contract ``frame``, in bare polars."""
    _check_supported(spec)
    names = frame["subject"].cast(pl.String).unique(maintain_order=True).to_list()
    marks = frame.group_by("subject").agg(pl.col("full_mark").first())
    full = {str(s): round(mark * SCALE) for s, mark in marks.iter_rows()}
    full[TOTAL] = sum(full[name] for name in names)
    thresholds = {
        key: {
            label: math.ceil(exact(spec.thresholds.ratio(key)) * Fraction(mark))
            for label, mark in full.items()
        }
        for key in THRESHOLD_KEYS
    }
    exam = _Exam(names, spec, full, thresholds)
    candidates, long = _base_tables(frame, exam)
    stats = (
        long.group_by("subject")
        .agg(
            pl.col("v").count().alias("n"),
            pl.col("v").mean().alias("mean"),
            pl.col("v").std(ddof=0).alias("std"),
        )
        .collect()
    )
    cutoffs, effective = _effective_scores(candidates, long, exam)
    queries: dict[str, list[pl.LazyFrame]] = {
        "units": _unit_queries(long, candidates),
        "students": [_student_query(long, stats, exam)],
        "bands": _band_queries(long, exam),
        "one_point": [_one_point_query(long)],
        "joint": [_joint_query(candidates, level) for level in TOTAL_LEVELS],
        "lines": [_line_query(candidates, level, spec) for level in TOTAL_LEVELS],
        "line_subjects": [_line_subject_query(long, level, cutoffs, spec) for level in UNIT_KEYS],
    }
    flat = [query for group in queries.values() for query in group]
    results = iter(pl.collect_all(flat))
    collected = {name: [next(results) for _ in group] for name, group in queries.items()}
    units = pl.concat(collected["units"], how="vertical_relaxed")
    students = collected["students"][0]
    return {
        "units": add_composite(finish(units, spec), spec),
        "students": students,
        "bands": pl.concat(collected["bands"], how="vertical_relaxed"),
        "one_point": collected["one_point"][0],
        "joint": _joint_table(collected["joint"], exam),
        "lines": _lines_table(collected["lines"], spec),
        "effective": effective,
        "line_subjects": _line_subjects_table(collected["line_subjects"], cutoffs, spec),
        "critical": _critical(candidates, spec),
        "top": students.filter((pl.col("subject") == TOTAL) & (pl.col("rank_exam") <= spec.top_n))
        .select("candidate_id", "class_id", "school_id", "score", "rank_exam")
        .rename({"score": "total", "rank_exam": "rank"})
        .sort("rank", "candidate_id"),
    }


def _base_tables(frame: pl.DataFrame, exam: _Exam) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The candidate table (总分, tie-break chain key, joint-set flags) and the long table (the
    subject rows and one 总分 row per candidate, with the row's threshold flags and its
    candidate's 总分 and rank key), both materialised once."""
    enum = exam.enum
    v = pl.col("v")
    counted = pl.col("status").cast(pl.String).fill_null("") == ""
    subject = pl.col("subject").cast(pl.String).cast(enum)
    sets = exam.sets()
    pass_marks = _per_subject(exam.thresholds["pass"], pl.Int64())
    rows = frame.lazy().select(
        "candidate_id",
        "student_id",
        "class_id",
        "school_id",
        "district_id",
        "teacher_id",
        subject.alias("subject"),
        pl.when(counted).then((pl.col("score") * SCALE).round().cast(pl.Int64)).alias("v"),
    )
    flagged = rows.with_columns(
        *(
            pl.when(pl.col("subject") == name).then(v).alias(f"tb_{index}")
            for index, name in enumerate(exam.tie_break())
        ),
        *(
            column
            for index, (_name, members) in enumerate(sets)
            for column in (
                (pl.col("subject").is_in(members) & v.is_not_null()).alias(f"sat_{index}"),
                (pl.col("subject").is_in(members) & (v >= pass_marks))
                .fill_null(False)
                .alias(f"pass_{index}"),
            )
        ),
    )
    per_candidate = flagged.group_by("candidate_id").agg(
        pl.col("student_id", "class_id", "school_id", "district_id").first(),
        v.count().alias("sat"),
        v.sum().alias("sum"),
        pl.col("^tb_.*$").max(),
        pl.col("^sat_.*$", "^pass_.*$").sum(),
    )
    chain = pl.col("total_v")
    tie_break = exam.tie_break()
    if tie_break:
        base = max(exam.full.values()) + 2  # a tie-break score in tenths + 1 is < base
        if exam.full[TOTAL] * base ** len(tie_break) >= 2**62:
            raise ReferenceUnsupportedError("tie-break chain too long for one integer key")
        for index in range(len(tie_break)):
            chain = chain * base + pl.col(f"tb_{index}").fill_null(-1) + 1
    candidates = (
        per_candidate.with_columns(
            pl.when(pl.col("sat") == len(exam.names)).then(pl.col("sum")).alias("total_v")
        )
        .with_columns(chain.alias("key"))
        .with_columns(
            pl.col("key").rank("min", descending=True).cast(pl.Int64).alias("total_rank"),
            *(
                flag
                for index, (_name, members) in enumerate(sets)
                for flag in (
                    (pl.col(f"sat_{index}") == len(members)).alias(f"eligible_{index}"),
                    (
                        (pl.col(f"sat_{index}") == len(members))
                        & (pl.col(f"pass_{index}") == len(members))
                    ).alias(f"passed_{index}"),
                    (
                        (pl.col(f"sat_{index}") == len(members)) & (pl.col(f"pass_{index}") == 0)
                    ).alias(f"failed_all_{index}"),
                )
            ),
        )
    )
    total_rows = candidates.select(
        "candidate_id",
        "student_id",
        "class_id",
        "school_id",
        "district_id",
        pl.lit(None, dtype=pl.Int64).alias("teacher_id"),
        pl.lit(TOTAL, dtype=enum).alias("subject"),
        pl.col("total_v").alias("v"),
    )
    long = (
        pl.concat([rows, total_rows])
        .join(candidates.select("candidate_id", "total_v", "key", "total_rank"), on="candidate_id")
        .with_columns(
            pl.when(pl.col("subject") == TOTAL).then(pl.col("key")).otherwise(v).alias("key"),
            _per_subject(exam.full, pl.Int64()).alias("full"),
            *(
                (v >= _per_subject(exam.thresholds[key], pl.Int64())).alias(f"{key}_flag")
                for key in ("excellent", "good", "pass")
            ),
            (v < _per_subject(exam.thresholds["low"], pl.Int64())).alias("low_flag"),
        )
    )
    candidates_frame, long_frame = pl.collect_all([candidates, long])
    return candidates_frame.lazy(), long_frame.lazy()


def _unit_queries(long: pl.LazyFrame, candidates: pl.LazyFrame) -> list[pl.LazyFrame]:
    v = pl.col("v")
    stats = [
        pl.len().cast(pl.Int64).alias("expected"),
        v.count().cast(pl.Int64).alias("sat"),
        v.sum().alias("score_sum"),
        v.mean().alias("mean"),
        v.std(ddof=0).alias("std"),
        v.max().alias("max"),
        v.min().alias("min"),
        v.median().alias("median"),
        v.quantile(0.25, "linear").alias("q1"),
        v.quantile(0.75, "linear").alias("q3"),
        *(pl.col(f"{key}_flag").sum().alias(f"{key}_n") for key in THRESHOLD_KEYS),
        pl.col("full").first(),
        pl.col("school_id").min(),  # a teacher's school: that of their first class
    ]
    districts = candidates.select("school_id", "district_id").unique("school_id")
    queries = []
    for level, key in UNIT_KEYS.items():
        source = long.filter(key.is_not_null()) if level == "teacher" else long
        grouped = source.group_by(key.alias("unit_id"), "subject").agg(stats)
        owned = level in ("school", "class", "teacher")
        if owned:
            grouped = grouped.join(districts, on="school_id", how="left")
        school = pl.col("school_id") if owned else pl.lit(None, dtype=pl.Int64)
        district = pl.col("district_id") if owned else pl.lit(None, dtype=pl.Int64)
        if level == "district":
            district = pl.col("unit_id")
        queries.append(
            grouped.select(
                pl.lit(level, dtype=LEVEL).alias("level"),
                "unit_id",
                "subject",
                school.alias("school_id"),
                district.alias("district_id"),
                (pl.col("full") / SCALE).alias("full_mark"),
                "expected",
                "sat",
                *(
                    (pl.col(name) / SCALE).alias(name)
                    for name in ("score_sum", "mean", "std", "max", "min", "median", "q1", "q3")
                ),
                *(f"{key}_n" for key in THRESHOLD_KEYS),
            )
        )
    return queries


def _student_query(long: pl.LazyFrame, stats: pl.DataFrame, exam: _Exam) -> pl.LazyFrame:
    """Ranks (class, school, exam; 总分 by the tie-break chain), Z, T, percentile rank,
    normalised score and 学科均衡 (Z − Z of the candidate's 总分)."""
    v, key = pl.col("v"), pl.col("key")
    by = {str(row["subject"]): row for row in stats.iter_rows(named=True)}
    mean = {name: row["mean"] for name, row in by.items()}
    std = {name: row["std"] for name, row in by.items()}
    n = {name: row["n"] for name, row in by.items()}
    exam_mean = _per_subject(mean, pl.Float64())
    exam_std = _per_subject(std, pl.Float64())
    total_mean, total_std = mean.get(TOTAL), std.get(TOTAL)

    def z_of(value: pl.Expr, mean_expr: pl.Expr, std_expr: pl.Expr) -> pl.Expr:
        return pl.when(std_expr > 0).then((value - mean_expr) / std_expr)

    total_z = (
        z_of(pl.col("total_v"), pl.lit(total_mean), pl.lit(total_std))
        if total_mean is not None and total_std
        else pl.lit(None, dtype=pl.Float64)
    )
    return (
        long.select(
            "candidate_id",
            "class_id",
            "school_id",
            "subject",
            (v / SCALE).alias("score"),
            key.rank("min", descending=True).over("class_id", "subject").alias("rank_class"),
            key.rank("min", descending=True).over("school_id", "subject").alias("rank_school"),
            key.rank("min", descending=True).over("subject").alias("rank_exam"),
            z_of(v, exam_mean, exam_std).alias("z"),
            (
                100.0 * (v.rank("average").over("subject") - 0.5) / _per_subject(n, pl.Float64())
            ).alias("percentile_rank"),
            pl.when(pl.col("subject") != TOTAL)
            .then(z_of(v, exam_mean, exam_std) - total_z)
            .alias("balance"),
            "total_rank",
        )
        .with_columns(
            (50.0 + 10.0 * pl.col("z")).alias("t"),
            pl.col("percentile_rank")
            .map_batches(
                lambda s: pl.Series(50.0 + 10.0 * ndtri(s.to_numpy() / 100.0), nan_to_null=True),
                return_dtype=pl.Float64,
            )
            .alias("normal_score"),
        )
        .with_columns(pl.col("^rank_.*$").cast(pl.Int64))
        .with_columns(
            pl.when(pl.col("subject") != TOTAL)
            .then(pl.col("total_rank") - pl.col("rank_exam"))
            .alias("balance_rank")
        )
        .drop("total_rank")
    )


def _band_queries(long: pl.LazyFrame, exam: _Exam) -> list[pl.LazyFrame]:
    """Every band of every (unit, subject), empty ones included, counted from the top."""
    v = pl.col("v")
    width = int(exact(exam.spec.band_width) * SCALE)
    count = {label: max(math.ceil(exam.full[label] / width), 1) for label in exam.labels}
    last = _per_subject(count, pl.Int64()) - 1
    grid = pl.LazyFrame(
        {
            "subject": [label for label in exam.labels for _ in range(count[label])],
            "band": [index for label in exam.labels for index in range(count[label])],
        },
        schema={"subject": exam.enum, "band": pl.Int64},
    )
    banded = long.filter(v.is_not_null()).select(
        pl.col("district_id", "school_id", "class_id", "teacher_id"),
        "subject",
        pl.min_horizontal(v // width, last).alias("band"),
    )
    queries = []
    for level, key in UNIT_KEYS.items():
        counts = (
            banded.filter(key.is_not_null())
            .group_by(key.alias("unit_id"), "subject", "band")
            .agg(pl.len().alias("n"))
        )
        groups = (
            long.filter(key.is_not_null())
            .group_by(key.alias("unit_id"), "subject")
            .agg(v.count().alias("sat"))
        )
        cumulative = pl.col("n").cum_sum().over("unit_id", "subject")
        queries.append(
            groups.join(grid, on="subject")
            .join(counts, on=["unit_id", "subject", "band"], how="left")
            .with_columns(pl.col("n").fill_null(0).cast(pl.Int64))
            .sort("unit_id", "subject", "band", descending=[False, False, True])
            .select(
                pl.lit(level, dtype=LEVEL).alias("level"),
                "unit_id",
                "subject",
                (pl.col("band") * width / SCALE).alias("band_low"),
                (
                    pl.when(pl.col("band") == last)
                    .then(_per_subject(exam.full, pl.Int64()))
                    .otherwise((pl.col("band") + 1) * width)
                    / SCALE
                ).alias("band_high"),
                (pl.col("band") == last).alias("closed_high"),
                "n",
                pl.when(pl.col("sat") > 0).then(pl.col("n") / pl.col("sat")).alias("pct"),
                cumulative.alias("cum_n"),
                pl.when(pl.col("sat") > 0).then(cumulative / pl.col("sat")).alias("cum_pct"),
            )
        )
    return queries


def _one_point_query(long: pl.LazyFrame) -> pl.LazyFrame:
    v = pl.col("v")
    return (
        long.filter(v.is_not_null())
        .group_by("subject", "v")
        .agg(pl.len().cast(pl.Int64).alias("n"))
        .sort("subject", "v", descending=[False, True])
        .with_columns(pl.col("n").cum_sum().over("subject").alias("cum_n"))
        .select(
            "subject",
            (v / SCALE).alias("score"),
            "n",
            "cum_n",
            (pl.col("cum_n") - pl.col("n") + 1).alias("rank"),
            (pl.col("cum_n") / pl.col("n").sum().over("subject")).alias("cum_pct"),
        )
    )


def _joint_query(candidates: pl.LazyFrame, level: str) -> pl.LazyFrame:
    return candidates.group_by(UNIT_KEYS[level].alias("unit_id")).agg(
        pl.lit(level, dtype=LEVEL).alias("level"),
        pl.col("^eligible_.*$", "^passed_.*$", "^failed_all_.*$").sum().cast(pl.Int64),
    )


def _joint_table(frames: list[pl.DataFrame], exam: _Exam) -> pl.DataFrame:
    parts = [
        frame.select(
            "level",
            "unit_id",
            pl.lit(name).alias("set_name"),
            pl.lit("+".join(members)).alias("subjects"),
            pl.col(f"eligible_{index}").alias("eligible"),
            pl.col(f"passed_{index}").alias("passed"),
            pl.col(f"failed_all_{index}").alias("failed_all"),
        )
        for frame in frames
        for index, (name, members) in enumerate(exam.sets())
    ]
    eligible = pl.col("eligible")
    return pl.concat(parts).with_columns(
        pl.when(eligible > 0).then(pl.col("passed") / eligible).alias("rate"),
        pl.when(eligible > 0).then(pl.col("failed_all") / eligible).alias("failed_all_rate"),
    )


def _line_tenths(line: Line) -> int:
    return ceil_tenths(exact(line.total))


def _effective_scores(
    candidates: pl.LazyFrame, long: pl.LazyFrame, exam: _Exam
) -> tuple[dict[str, dict[str, int | None]], pl.DataFrame]:
    """有效分 by the ratio method: round_half_up(mean(x_j | total ≥ L) · L / mean(total | total
    ≥ L)), exactly (integer sums, then fractions); per line, the cut-off in tenths per subject."""
    v = pl.col("v")
    lines = exam.spec.lines
    queries = [
        long.filter((pl.col("total_v") >= _line_tenths(line)) & (pl.col("subject") != TOTAL))
        .group_by("subject")
        .agg(v.sum().alias("sum"), v.count().alias("count"))
        for line in lines
    ] + [
        candidates.filter(pl.col("total_v") >= _line_tenths(line)).select(
            pl.len().alias("n"), pl.col("total_v").sum().alias("sum")
        )
        for line in lines
    ]
    collected = pl.collect_all(queries) if queries else []
    cutoffs: dict[str, dict[str, int | None]] = {}
    rows: list[dict[str, object]] = []
    for index, line in enumerate(lines):
        sums = {str(s): (total, count) for s, total, count in collected[index].iter_rows()}
        above, total_sum = collected[len(lines) + index].row(0)
        cutoffs[line.name] = {}
        for name in exam.names:
            score: Fraction | None = None
            subject_sum, subject_count = sums.get(name, (0, 0))
            if above and total_sum and subject_count:
                ratio = Fraction(subject_sum * above, subject_count * total_sum)
                score = Fraction(math.floor(ratio * exact(line.total) + Fraction(1, 2)))
            cutoffs[line.name][name] = None if score is None else math.ceil(score * SCALE)
            rows.append(
                {
                    "line_name": line.name,
                    "subject": name,
                    "effective_score": None if score is None else float(score),
                    "method": exam.spec.effective_score,
                }
            )
    schema = {
        "line_name": pl.String,
        "subject": pl.String,
        "effective_score": pl.Float64,
        "method": pl.String,
    }
    return cutoffs, pl.DataFrame(rows, schema=schema)


def _line_query(candidates: pl.LazyFrame, level: str, spec: CaliberSpec) -> pl.LazyFrame:
    total = pl.col("total_v")
    return candidates.group_by(UNIT_KEYS[level].alias("unit_id")).agg(
        pl.lit(level, dtype=LEVEL).alias("level"),
        total.count().cast(pl.Int64).alias("denominator"),
        *(
            (total >= _line_tenths(line)).sum().cast(pl.Int64).alias(f"n_{index}")
            for index, line in enumerate(spec.lines)
        ),
    )


def _lines_table(frames: list[pl.DataFrame], spec: CaliberSpec) -> pl.DataFrame:
    parts = [
        frame.select(
            "level",
            "unit_id",
            pl.lit(line.name).alias("line_name"),
            pl.lit(line.total).alias("line_total"),
            pl.col(f"n_{index}").alias("n"),
            "denominator",
        )
        for frame in frames
        for index, line in enumerate(spec.lines)
    ]
    if not parts:
        return pl.DataFrame()
    return pl.concat(parts).with_columns(
        pl.when(pl.col("denominator") > 0).then(pl.col("n") / pl.col("denominator")).alias("rate")
    )


def _line_subject_query(
    long: pl.LazyFrame, level: str, cutoffs: dict[str, dict[str, int | None]], spec: CaliberSpec
) -> pl.LazyFrame:
    key = UNIT_KEYS[level]
    v = pl.col("v")
    source = long.filter(pl.col("subject") != TOTAL)
    if level == "teacher":
        source = source.filter(key.is_not_null())
    sums = []
    for index, line in enumerate(spec.lines):
        cutoff = _per_subject(cutoffs[line.name], pl.Int64())
        single = (v >= cutoff).fill_null(False)
        above = (pl.col("total_v") >= _line_tenths(line)).fill_null(False)
        sums += [
            single.alias(f"single_{index}"),
            (single & above).alias(f"double_{index}"),
            above.alias(f"line_{index}"),
        ]
    return (
        source.select(key.alias("unit_id"), "subject", v, *sums)
        .group_by("unit_id", "subject")
        .agg(
            pl.lit(level, dtype=LEVEL).alias("level"),
            v.count().cast(pl.Int64).alias("sat"),
            pl.col("^single_.*$", "^double_.*$", "^line_.*$").sum().cast(pl.Int64),
        )
    )


def _line_subjects_table(
    frames: list[pl.DataFrame], cutoffs: dict[str, dict[str, int | None]], spec: CaliberSpec
) -> pl.DataFrame:
    parts = []
    for frame in frames:
        for index, line in enumerate(spec.lines):
            cutoff = _per_subject(cutoffs[line.name], pl.Int64())
            has = cutoff.is_not_null()
            parts.append(
                frame.select(
                    "level",
                    "unit_id",
                    pl.lit(line.name).alias("line_name"),
                    "subject",
                    (cutoff / SCALE).alias("effective_score"),
                    "sat",
                    pl.when(has).then(pl.col(f"single_{index}")).alias("single_n"),
                    pl.when(has).then(pl.col(f"double_{index}")).alias("double_n"),
                    pl.col(f"line_{index}").alias("line_n"),
                )
            )
    if not parts:
        return pl.DataFrame()
    return pl.concat(parts).with_columns(
        pl.when(pl.col("single_n") > 0)
        .then(pl.col("double_n") / pl.col("single_n"))
        .alias("hit_rate"),
        pl.when(pl.col("single_n").is_not_null() & (pl.col("sat") > 0))
        .then(pl.col("double_n") / pl.col("sat"))
        .alias("hit_rate_sat"),
        pl.when(pl.col("line_n") > 0)
        .then(pl.col("double_n") / pl.col("line_n"))
        .alias("contribution_rate"),
    )


def _critical(candidates: pl.LazyFrame, spec: CaliberSpec) -> pl.DataFrame:
    total = pl.col("total_v")
    queries = [
        candidates.filter(
            (total >= math.ceil((exact(line.total) - exact(spec.critical_width)) * SCALE))
            & (total < _line_tenths(line))
        ).select(
            "candidate_id",
            "student_id",
            "class_id",
            "school_id",
            pl.lit(line.name).alias("line_name"),
            pl.lit(line.total).alias("line_total"),
            (total / SCALE).alias("total"),
            (pl.lit(line.total) - total / SCALE).alias("gap"),
        )
        for line in spec.lines
    ]
    return pl.concat(pl.collect_all(queries)) if queries else pl.DataFrame()


COMPARED: Final = {
    "units": ("level", "unit_id", "subject"),
    "students": ("candidate_id", "subject"),
    "bands": ("level", "unit_id", "subject", "band_low"),
    "one_point": ("subject", "score"),
    "joint": ("level", "unit_id", "set_name"),
    "lines": ("level", "unit_id", "line_name"),
    "effective": ("line_name", "subject"),
    "line_subjects": ("level", "unit_id", "line_name", "subject"),
    "critical": ("line_name", "candidate_id"),
    "top": ("rank", "candidate_id"),
}


def differences(result: ExamResult, tables: Mapping[str, pl.DataFrame]) -> list[str]:
    """Where the reference's tables differ from the engine's: every column of every compared
    table, rows matched by key, integers exactly and floats to 1e-9 (the two sum in different
    orders). Empty when they agree."""
    problems = []
    for name, keys in COMPARED.items():
        engine = _plain(getattr(result, name))
        other = _plain(tables[name])
        if engine.is_empty() and other.is_empty():  # e.g. no 上线 lines in the 口径
            continue
        missing = [column for column in engine.columns if column not in other.columns]
        if missing:
            problems.append(f"{name}: reference lacks {', '.join(missing)}")
            continue
        engine, other = engine.sort(keys), other.select(engine.columns).sort(keys)
        if engine.height != other.height:
            problems.append(f"{name}: {engine.height} rows vs {other.height}")
            continue
        try:
            assert_frame_equal(engine, other, check_dtypes=False, rel_tol=1e-9, abs_tol=1e-9)
        except AssertionError as error:
            problems.append(f"{name}: {str(error).splitlines()[0]}")
    return problems


def _plain(frame: pl.DataFrame) -> pl.DataFrame:
    """Enum and categorical columns as strings, so that tables built apart compare."""
    return frame.with_columns(
        pl.col(name).cast(pl.String)
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Enum | pl.Categorical)
    )
