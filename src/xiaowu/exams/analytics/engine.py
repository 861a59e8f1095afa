"""``analyze(frame, spec)``: every score-analysis indicator of one exam, at every level.

The pipeline (columnar throughout; no loop over units or students):

1. ``frame.prepare``: validation, the 口径's membership rules, per-candidate 总分 and counts
   (one ``reduceat`` each over the candidate-ordered rows), one 总分 row per candidate.
2. ``levels``: one packed-key sort for the class level; school, district and exam as score
   histograms (one ``bincount`` each) and the teacher level as one more sort, everything
   additive rolled up from the class groups.
3. From the levels: unit statistics (``indicators``), bands (``bands``), 上线 (``lines``);
   student ranks — class by one scan of the class order, school and exam by lookups in the
   histograms' per-score rank tables; Z, T, percentile ranks and normalised scores are
   per-score tables of the exam histogram, looked up per student.
4. Small tables: rates and comparisons, composite (``composite``), joint rates (``joint``),
   and the 口径's 等级赋分 when it has one (``assigned``).

``students`` comes out in class order (class, subject, score descending), which keeps every
lookup local in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import polars as pl
from scipy.special import ndtri

from xiaowu.exams.analytics.assigned import exam_assigned
from xiaowu.exams.analytics.bands import band_edges, level_bands, one_point
from xiaowu.exams.analytics.caliber import TOTAL, CaliberSpec
from xiaowu.exams.analytics.composite import add_composite
from xiaowu.exams.analytics.frame import (
    SCALE,
    BoolArray,
    FrameError,
    IntArray,
    Prepared,
    prepare,
)
from xiaowu.exams.analytics.indicators import LEVELS, finish, level_stats, threshold_tenths
from xiaowu.exams.analytics.joint import joint_rates
from xiaowu.exams.analytics.levels import (
    BinLayout,
    ClassLevel,
    HistogramLevel,
    Level,
    RollupLevel,
    TeacherLevel,
)
from xiaowu.exams.analytics.lines import Rows, line_results
from xiaowu.exams.analytics.ranks import chain_codes, lexicographic_ranks
from xiaowu.exams.analytics.result import ExamResult

T = TypeVar("T")


@dataclass(frozen=True)
class _Levels:
    """The five levels, the unit id of each group and, where a unit has one, the school code
    of each group."""

    klass: ClassLevel
    rollups: dict[str, RollupLevel]  # exam, district, school, teacher
    unit_ids: dict[str, IntArray]
    school_codes: dict[str, IntArray | None]

    def __getitem__(self, name: str) -> Level:
        return self.klass if name == "class" else self.rollups[name]

    def histogram(self, name: str) -> HistogramLevel:
        level = self.rollups[name]
        if not isinstance(level, HistogramLevel):
            raise TypeError(name)
        return level

    def group_sums(self, mask: BoolArray) -> dict[str, IntArray]:
        """Per level and group, the rows where ``mask`` holds (one pass, then roll-ups)."""
        counts = self.klass.sum_rows(mask)
        return {"class": counts} | {
            name: level.rollup(counts) for name, level in self.rollups.items()
        }


class _Clock:
    """Optional per-stage timings (``analyze(..., timings={})``): wall and CPU seconds."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter()
        self.last_cpu = time.process_time()

    def lap(self, stage: str) -> None:
        if self.timings is None:
            return
        now, cpu = time.perf_counter(), time.process_time()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - self.last
        cpu_stage = f"{stage} (cpu)"
        self.timings[cpu_stage] = self.timings.get(cpu_stage, 0.0) + cpu - self.last_cpu
        self.last, self.last_cpu = now, cpu


class _Inline(Executor):
    """An executor that runs each task at once, in the caller's thread (``parallel=False``)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # re-raised by future.result(), like a real executor
            future.set_exception(error)
        return future


def analyze(
    frame: pl.DataFrame,
    spec: CaliberSpec | None = None,
    *,
    subject_order: Sequence[str] | None = None,
    timings: dict[str, float] | None = None,
    parallel: bool = True,
) -> ExamResult:
    """Analyse one exam. ``frame`` is the long score frame of the exams contract and must be
    the whole reference population: ranks and standard scores are relative to it, never to a
    filtered view. ``subject_order`` orders the subject Enum (default: first appearance).

    With ``parallel`` (default) two independent halves run on two threads — numpy and polars
    release the GIL in their kernels: the teacher order beside the histograms, and the student
    table beside the unit, band, line and joint tables."""
    spec = CaliberSpec.default() if spec is None else spec
    clock = _Clock(timings)
    prep = prepare(frame, spec, subject_order=subject_order)
    clock.lap("prepare")
    edges = band_edges(spec, prep)
    with ThreadPoolExecutor(max_workers=2) if parallel else _Inline() as pool:
        levels = _levels(prep, edges, pool)
        clock.lap("levels")
        klass = levels.klass
        rows = Rows(prep.cand[klass.order], klass.subjects[klass.position_groups], klass.values)
        students_job = pool.submit(_timed, _students, prep, spec, levels, rows)
        unit_ids = levels.unit_ids
        thresholds = threshold_tenths(spec, prep.subjects)
        stats = pl.concat(
            [
                level_stats(
                    levels[name], unit_ids[name], levels.school_codes[name], prep, thresholds
                )
                for name in LEVELS
            ]
        )
        units = add_composite(finish(stats, spec), spec)
        clock.lap("units")
        bands = pl.concat(
            [level_bands(levels[name], unit_ids[name], prep, edges) for name in LEVELS]
        )
        one_point_table = one_point(levels.histogram("exam"), prep)
        clock.lap("bands")
        lines = line_results(
            prep,
            spec,
            {name: (levels[name], unit_ids[name]) for name in LEVELS},
            rows,
            levels.group_sums,
        )
        joint = joint_rates(prep, spec)
        assigned, assigned_bands, assigned_warnings = exam_assigned(prep, spec)
        clock.lap("lines, joint, assigned")
        students_seconds, students = students_job.result()
        clock.lap("wait: students")
    if timings is not None:
        timings["students [2nd thread]"] = students_seconds
    top = (
        students.filter((pl.col("subject") == TOTAL) & (pl.col("rank_exam") <= spec.top_n))
        .select("candidate_id", "class_id", "school_id", "score", "rank_exam")
        .rename({"score": "total", "rank_exam": "rank"})
        .sort("rank", "candidate_id")
    )
    candidates = prep.candidates.select(
        "candidate_id",
        "student_id",
        "class_id",
        "school_id",
        "district_id",
        "gender",
        "row_count",
        (pl.col("total_v") / SCALE).alias("total"),
    )
    clock.lap("finish")
    return ExamResult(
        spec=spec,
        subjects=prep.subjects.names,
        units=units,
        students=students,
        candidates=candidates,
        bands=bands,
        one_point=one_point_table,
        joint=joint,
        lines=lines.lines,
        effective=lines.effective,
        line_subjects=lines.line_subjects,
        critical=lines.critical,
        top=top,
        assigned=assigned,
        assigned_bands=assigned_bands,
        warnings=(*prep.warnings, *assigned_warnings),
    )


def _timed(function: Callable[..., T], *args: Any) -> tuple[float, T]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def _levels(prep: Prepared, edges: list[IntArray], pool: Executor) -> _Levels:
    layout = BinLayout(np.array(prep.subjects.full_marks, dtype=np.int64))
    local = layout.local(prep.subj, prep.v)
    klass = ClassLevel(prep.class_code, prep.subj, prep.v, prep.vmax, layout, local, edges)
    teacher_job = pool.submit(_teacher_level, prep, klass)
    school = HistogramLevel.from_rows("school", klass, prep.class_school, prep.school_ids.size)
    district = school.coarsen("district", prep.school_district, prep.district_ids.size)
    exam = school.coarsen("exam", np.zeros(prep.school_ids.size, dtype=np.int64), 1)
    teacher, teacher_ids = teacher_job.result()
    return _Levels(
        klass=klass,
        rollups={"exam": exam, "district": district, "school": school, "teacher": teacher},
        unit_ids={
            "exam": np.zeros(exam.units.size, dtype=np.int64),
            "district": prep.district_ids[district.units],
            "school": prep.school_ids[school.units],
            "class": prep.class_ids[klass.units],
            "teacher": teacher_ids[teacher.units],
        },
        school_codes={
            "exam": None,
            "district": None,
            "school": school.units,
            "class": prep.class_school[klass.units],
            "teacher": prep.class_school[klass.units[teacher.first_class_group]],
        },
    )


def _teacher_level(prep: Prepared, klass: ClassLevel) -> tuple[TeacherLevel, IntArray]:
    teacher_of_group, teacher_ids = _teacher_codes(prep, klass)
    return TeacherLevel(klass, teacher_of_group, teacher_ids.size), teacher_ids


def _teacher_codes(prep: Prepared, klass: ClassLevel) -> tuple[IntArray, IntArray]:
    """Teacher code of each class group (``len(ids)`` = none) and the id of each code. The
    teacher is recorded per class × subject (``ExamClassTeacher``), so all rows of a class
    group must name the same teacher."""
    in_order = prep.teacher_id[klass.order]
    group_teacher = in_order[klass.starts]
    differs = in_order != group_teacher[klass.position_groups]
    if differs.any():
        group = int(klass.position_groups[int(np.argmax(differs))])
        subject = prep.subjects.labels[int(klass.subjects[group])]
        raise FrameError(
            f"班级 {prep.class_ids[klass.units[group]]} 的「{subject}」有不止一位任课教师"
        )
    ids, code = np.unique(group_teacher, return_inverse=True)
    none = int((ids < 0).sum())
    real_ids = ids[none:].astype(np.int64)
    return np.where(ids[code] >= 0, code - none, real_ids.size).astype(np.int64), real_ids


def _exam_tables(exam: HistogramLevel, spec: CaliberSpec) -> dict[str, pl.Series]:
    """Per bin of the exam histogram (null on the bins outside 实考): rank, dense rank, Z, T,
    percentile rank and normalised score. Z uses the exam mean and population SD of the
    subject; the percentile rank is PR = 100·(#below + ½·#equal)/N, and the normalised score
    is Φ⁻¹(PR/100) — the same as Φ⁻¹((R − ½)/N) with R the ascending mid-rank — as T
    (50 + 10z) or 500 + 100z (clipped to [100, 900])."""
    layout = exam.layout
    competition, dense_rank = exam.rank_tables(spec.ranking == "dense")
    tie = exam.hist
    subject = np.repeat(np.arange(layout.full.size), layout.width)
    local = np.arange(layout.size) - layout.offset[subject]
    score = (layout.full[subject] - local).astype(np.float64)
    inside = local <= layout.full[subject]
    sat = np.zeros(layout.full.size, dtype=np.float64)
    mean = np.full(layout.full.size, np.nan)
    std = np.full(layout.full.size, np.nan)
    sat[exam.subjects] = exam.sat
    with np.errstate(invalid="ignore", divide="ignore"):
        mean[exam.subjects] = exam.sums / np.maximum(exam.sat, 1)
        std[exam.subjects] = np.sqrt(
            np.maximum(exam.squares / np.maximum(exam.sat, 1) - mean[exam.subjects] ** 2, 0.0)
        )
        n = sat[subject]
        z = np.where(inside & (std[subject] > 0), (score - mean[subject]) / std[subject], np.nan)
        below = n - competition + 1 - tie
        percentile = np.where(inside & (tie > 0), 100.0 * (below + 0.5 * tie) / n, np.nan)
    normal_z = ndtri(percentile / 100.0)
    if spec.standard_score == "T":
        normal_score = 50.0 + 10.0 * normal_z
    else:
        normal_score = np.clip(500.0 + 100.0 * normal_z, 100.0, 900.0)
    outside = np.flatnonzero(~inside)
    tables = {"rank_exam": _ranks_table(competition, outside)}
    if dense_rank is not None:
        tables["dense_rank_exam"] = _ranks_table(dense_rank, outside)
    floats = {"z": z, "t": 50.0 + 10.0 * z, "normal_score": normal_score}
    floats["percentile_rank"] = percentile
    return tables | {
        name: pl.Series(name, values, nan_to_null=True) for name, values in floats.items()
    }


def _ranks_table(values: IntArray, outside: IntArray) -> pl.Series:
    """A per-bin rank table with nulls on the bins outside 实考."""
    return pl.Series(values).scatter(outside, None)


def _students(prep: Prepared, spec: CaliberSpec, levels: _Levels, rows: Rows) -> pl.DataFrame:
    """One row per (candidate, subject incl. 总分), in class order (class, subject, score
    descending). Competition ranks always; dense ranks too when the 口径 ranks densely.
    Every column is a gather from a small per-score or per-group table, all in one parallel
    polars ``select``; rows outside 实考 come out null through the tables."""
    klass = levels.klass
    school = levels.histogram("school")
    exam = levels.histogram("exam")
    dense = spec.ranking == "dense"
    school_rank, school_dense = school.rank_tables(dense)
    # the last bin of every (school, subject) block holds the rows outside 实考
    layout = school.layout
    units = school.hist.size // layout.size
    school_outside = (
        np.arange(units, dtype=np.int64)[:, None] * layout.size
        + (layout.offset + layout.full + 1)[None, :]
    ).ravel()
    rank_class, dense_class = klass.ranks(dense=dense)
    total_code = prep.subjects.total_code
    index = pl.DataFrame(
        {
            "cand": rows.cand,
            "subj": rows.subj,
            "group": klass.position_groups,
            "local": klass.local,
            "bin": school.bins,
            "value": klass.values,
            "rank_class": rank_class,
        }
        | ({"dense_rank_class": dense_class} if dense_class is not None else {})
    )
    inside = pl.col("value") >= 0

    def lookup(table: pl.Series | np.ndarray, by: str) -> pl.Expr:
        return pl.lit(table if isinstance(table, pl.Series) else pl.Series(table)).gather(
            pl.col(by)
        )

    group_subject = prep.subjects.series(klass.subjects)
    columns = [
        lookup(prep.candidates["candidate_id"], "cand").alias("candidate_id"),
        lookup(prep.class_ids[klass.units], "group").alias("class_id"),
        lookup(prep.school_ids[prep.class_school[klass.units]], "group").alias("school_id"),
        lookup(group_subject, "group").alias("subject"),
        pl.when(inside).then(pl.col("value") / SCALE).alias("score"),
        pl.when(inside).then(pl.col("rank_class")).alias("rank_class"),
        lookup(_ranks_table(school_rank, school_outside), "bin").alias("rank_school"),
    ]
    if dense_class is not None and school_dense is not None:
        columns += [
            pl.when(inside).then(pl.col("dense_rank_class")).alias("dense_rank_class"),
            lookup(_ranks_table(school_dense, school_outside), "bin").alias("dense_rank_school"),
        ]
    tables = _exam_tables(exam, spec)
    columns += [lookup(table, "local").alias(name) for name, table in tables.items()]
    # 学科均衡: Z of the subject minus Z of the student's 总分 (looked up per candidate)
    total_z = np.full(prep.candidates.height, np.nan)
    totals = prep.candidates["has_total"].to_numpy()
    total_v = prep.candidates["total_v"].fill_null(-1).to_numpy()[totals]
    total_local = exam.layout.local(np.full(total_v.size, total_code), total_v)
    total_z[totals] = tables["z"].fill_null(np.nan).to_numpy()[total_local]
    subject_z = lookup(tables["z"], "local")
    columns.append(
        pl.when(pl.col("subj") != total_code)
        .then(subject_z - lookup(pl.Series(total_z, nan_to_null=True), "cand"))
        .alias("balance")
    )
    frame = index.select(columns)
    if any(name.startswith("tb_") for name in prep.candidates.columns):
        frame = _tie_break(prep, frame, klass, dense=dense)
    frame = frame.with_columns(
        pl.col(name).cast(pl.Int64)
        for name in frame.columns
        if "rank_" in name and name != "percentile_rank"
    )
    return frame.with_columns(_balance_rank(frame, rows, prep.candidates.height, total_code))


def _balance_rank(frame: pl.DataFrame, rows: Rows, candidates: int, total_code: int) -> pl.Series:
    """学科均衡 by rank: rank_exam(总分) − rank_exam(subject) on subject rows (positive = the
    subject ranks better than the total), null on 总分 rows and where either rank is null.
    Competition ranks, the 总分's after the tie-break chain: a per-candidate table of the total
    rank (one scatter), gathered back per row."""
    rank = frame["rank_exam"]
    totals = np.flatnonzero(rows.subj == total_code)
    total_rank = pl.repeat(None, candidates, dtype=pl.Int64, eager=True).scatter(
        rows.cand[totals], rank.gather(totals)
    )
    difference = total_rank.gather(rows.cand) - rank
    return difference.scatter(totals, None).alias("balance_rank")


def _tie_break(
    prep: Prepared, frame: pl.DataFrame, klass: ClassLevel, *, dense: bool
) -> pl.DataFrame:
    """Re-rank the 总分 rows with the 口径's tie-break chain (总分, then 语文, then 数学 …)."""
    positions = np.flatnonzero(klass.subjects[klass.position_groups] == prep.subjects.total_code)
    table = prep.candidates
    total_cand = prep.cand[klass.order[positions]]
    total = table["total_v"].fill_null(-1).to_numpy()[total_cand]
    chain = [total] + [
        table[name].fill_null(-1).to_numpy()[total_cand]
        for name in table.columns
        if name.startswith("tb_")
    ]
    valid = total >= 0
    codes = chain_codes(chain, valid)
    units = {
        "exam": np.zeros(total_cand.size, dtype=np.int64),
        "school": table["school_id"].to_numpy()[total_cand],
        "class": table["class_id"].to_numpy()[total_cand],
    }
    replaced = []
    for level, level_units in units.items():
        ranks = lexicographic_ranks(level_units, codes, valid, dense=dense)
        names = (f"rank_{level}", f"dense_rank_{level}")
        for name, values in zip(names, ranks, strict=True):
            if values is not None:
                column = frame[name].cast(pl.Int64)
                replaced.append(column.scatter(positions[valid], values[valid]).alias(name))
    return frame.with_columns(replaced)
