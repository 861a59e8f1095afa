"""The long score frame the engine consumes: schema, validation and preparation.

One row per candidate × subject (exams contract). ``prepare`` validates the frame, applies the
口径's membership rules and turns it into the integer arrays the engine works on:

- scores become exact integers in tenths of a point (``Score.value`` has one decimal place), so
  totals, ties and thresholds are exact; a row outside 实考 gets ``v = -1``;
- ``subject`` becomes a small integer code (``subject_order``, else order of first appearance;
  the total 总分 takes the last code). A ``pl.Enum`` subject column is used as is, which saves
  the one string pass of the whole engine;
- rows are grouped by candidate (a frame already ordered by ``candidate_id`` — the loader should
  produce that — is not copied), and one ``reduceat`` per quantity gives the per-candidate table:
  总分, joint-pass counts, tie-break scores;
- classes, schools and districts get dense codes (classes ordered by school, so that a class
  order is also a school order), and one 总分 row per candidate is appended to the long arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from xiaowu.exams.analytics.caliber import STATUSES, TOTAL, CaliberError, CaliberSpec

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

SCALE: Final = 10  # scores are handled in integer tenths of a point

REQUIRED: Final[dict[str, str]] = {
    "student_id": "整数",
    "candidate_id": "整数",
    "class_id": "整数",
    "school_id": "整数",
    "subject": "文本",
    "full_mark": "数值",
    "score": "数值",
    "status": "文本",
}
OPTIONAL: Final[dict[str, pl.DataType]] = {
    "district_id": pl.Int64(),
    "teacher_id": pl.Int64(),
    "is_visiting": pl.Boolean(),
    "gender": pl.String(),
}
ID_COLUMNS: Final = ("student_id", "candidate_id", "class_id", "school_id")


class FrameError(ValueError):
    """The score frame does not follow the contract; the message is Chinese and names the row."""


def exact(value: float) -> Fraction:
    """The decimal a float was written as (0.7 → 7/10, not its binary approximation)."""
    return Fraction(repr(float(value)))


def ceil_tenths(points: Fraction) -> int:
    """The smallest score in tenths that is ≥ ``points``."""
    return math.ceil(points * SCALE)


@dataclass(frozen=True)
class Subjects:
    names: tuple[str, ...]  # exam subjects; 总分 has code len(names)
    full_marks: tuple[int, ...]  # tenths, per subject code (总分 last)
    total_codes: tuple[int, ...]  # subject codes summed into 总分

    @property
    def total_code(self) -> int:
        return len(self.names)

    @property
    def labels(self) -> tuple[str, ...]:
        return (*self.names, TOTAL)

    def code(self, name: str) -> int | None:
        if name == TOTAL:
            return self.total_code
        return self.names.index(name) if name in self.names else None

    def enum(self) -> pl.Enum:
        return pl.Enum(self.labels)

    def series(self, codes: IntArray) -> pl.Series:
        """Subject codes as an Enum series."""
        return pl.Series("subject", codes.astype(np.uint32)).cat.to(self.enum())


@dataclass(frozen=True)
class Prepared:
    """The frame as integer arrays. "Long" arrays hold the subject rows (candidate order), then
    one 总分 row per candidate with a row in a total subject (``candidates.has_total``)."""

    subjects: Subjects
    candidates: pl.DataFrame  # one row per candidate, see ``_candidate_table``
    rows: int  # number of subject rows
    cand: IntArray  # candidate code (row of ``candidates``) per long row
    subj: IntArray  # subject code per long row
    v: IntArray  # score in tenths per long row; -1 outside 实考
    class_code: IntArray  # dense class code per long row
    teacher_id: IntArray  # raw teacher id per long row, -1 for none and on 总分 rows
    class_ids: IntArray  # id per class code (classes ordered by school code, then id)
    class_school: IntArray  # school code per class code
    school_ids: IntArray  # id per school code
    school_district: IntArray  # district code per school code (len(district_ids) = none)
    district_ids: IntArray  # id per district code
    vmax: int  # largest score in tenths over all long rows
    warnings: tuple[str, ...]


def _check_columns(frame: pl.DataFrame) -> pl.DataFrame:
    missing = [name for name in REQUIRED if name not in frame.columns]
    if missing:
        raise FrameError(f"成绩数据缺少列：{'、'.join(missing)}")
    casts: list[pl.Expr] = []
    for name, kind in REQUIRED.items():
        dtype = frame.schema[name]
        text = dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)
        if (
            (kind == "整数" and not dtype.is_integer())
            or (kind == "数值" and not (dtype.is_numeric() or dtype == pl.Null))
            or (kind == "文本" and not text and dtype != pl.Null)
        ):
            raise FrameError(f"成绩数据的列 {name} 应为{kind}，实际为 {dtype}")
    for name in ID_COLUMNS:
        if frame[name].null_count():
            raise FrameError(f"成绩数据的列 {name} 不能为空")
        if frame.schema[name] != pl.Int64:
            casts.append(pl.col(name).cast(pl.Int64))
    for name in ("full_mark", "score"):
        if frame.schema[name] != pl.Float64:
            casts.append(pl.col(name).cast(pl.Float64))
    if frame["subject"].null_count() or frame["full_mark"].null_count():
        raise FrameError("成绩数据的列 subject 和 full_mark 不能为空")
    for name, dtype in OPTIONAL.items():
        if name not in frame.columns:
            casts.append(pl.lit(False if name == "is_visiting" else None, dtype=dtype).alias(name))
        elif name != "gender" and frame.schema[name] != dtype:
            casts.append(pl.col(name).cast(dtype))
    return frame.with_columns(casts) if casts else frame


def _subject_names(frame: pl.DataFrame, subject_order: Sequence[str] | None) -> list[str]:
    dtype = frame.schema["subject"]
    if isinstance(dtype, pl.Enum):
        present = set(frame["subject"].unique().cast(pl.String).to_list())
        names = [name for name in dtype.categories.to_list() if name in present]
    else:
        names = frame["subject"].cast(pl.String).unique(maintain_order=True).to_list()
    if TOTAL in names:
        raise FrameError(f"科目名称不能是「{TOTAL}」（总分由系统计算）")
    if subject_order is not None:
        names = [name for name in subject_order if name in names] + [
            name for name in names if name not in subject_order
        ]
    return names


def _subject_codes(frame: pl.DataFrame, names: list[str]) -> pl.Expr:
    dtype = frame.schema["subject"]
    if isinstance(dtype, pl.Enum):
        categories = dtype.categories.to_list()
        remap = {index: names.index(name) for index, name in enumerate(categories) if name in names}
        return (
            pl.col("subject")
            .to_physical()
            .cast(pl.Int64)
            .replace_strict(remap, return_dtype=pl.Int64)
        )
    return pl.col("subject").cast(pl.String).cast(pl.Enum(names)).to_physical().cast(pl.Int64)


def _raise_bad_row(frame: pl.DataFrame) -> None:
    score, full_mark = pl.col("score"), pl.col("full_mark")
    bad = (
        (full_mark <= 0)
        | full_mark.is_nan()
        | ((full_mark * SCALE).round() - full_mark * SCALE).abs().gt(1e-6)
        | (score < 0).fill_null(False)
        | (score > full_mark).fill_null(False)
        | score.is_nan().fill_null(False)
        | ((score * SCALE).round() - score * SCALE).abs().gt(1e-6).fill_null(False)
    )
    row = frame.filter(bad).row(0, named=True)
    where = f"考生 {row['candidate_id']} 的「{row['subject']}」"
    score, full = row["score"], row["full_mark"]
    if full is None or full <= 0 or math.isnan(full):
        raise FrameError(f"{where}满分 {full} 应大于 0")
    if score is not None and (math.isnan(score) or not 0 <= score <= full):
        raise FrameError(f"{where}成绩 {score} 不在 0 到满分 {full} 之间")
    raise FrameError(f"{where}的成绩和满分最多保留一位小数")


def prepare(
    frame: pl.DataFrame, spec: CaliberSpec, *, subject_order: Sequence[str] | None = None
) -> Prepared:
    """Validate the frame against the contract and apply the 口径's membership rules."""
    frame = _check_columns(frame)
    if spec.exclude_visiting:
        frame = frame.filter(~pl.col("is_visiting").fill_null(False))
    if frame.height == 0:
        raise FrameError("没有可分析的成绩数据")
    names = _subject_names(frame, subject_order)
    if not frame["candidate_id"].is_sorted():
        frame = frame.sort("candidate_id", maintain_order=True)
    score, full_mark = pl.col("score"), pl.col("full_mark")
    scaled = score * SCALE
    checks = frame.select(
        ((score.min() < 0) | score.is_nan().any()).fill_null(False).alias("range"),
        ((scaled.round() - scaled).abs().max() > 1e-6).fill_null(False).alias("grid"),
    ).row(0)
    columns = frame.select(
        pl.col("candidate_id", "class_id", "school_id"),
        pl.col("district_id", "teacher_id").fill_null(-1),
        _subject_codes(frame, names).alias("subj"),
        scaled.round().cast(pl.Int64).fill_null(-1).alias("v"),
        (full_mark * SCALE).round().cast(pl.Int64).alias("full"),
        (pl.col("status").cast(pl.String).str.len_bytes() > 0).fill_null(False).alias("special"),
    )
    array = {name: columns[name].to_numpy() for name in columns.columns}
    subj: IntArray = array["subj"]
    v: IntArray = columns["v"].to_numpy(writable=True)
    full_rows: IntArray = array["full"]
    first = columns["subj"].arg_unique().to_numpy()
    full_marks = np.zeros(len(names), dtype=np.int64)
    full_marks[subj[first]] = full_rows[first]
    full_values = frame["full_mark"].gather(first).to_numpy()
    if (
        any(checks)
        or not (full_values > 0).all()
        or not np.allclose(full_values * SCALE, np.round(full_values * SCALE), rtol=0, atol=1e-6)
        or (v > full_marks[subj]).any()
    ):
        _raise_bad_row(frame)
    uneven = np.flatnonzero(full_rows != full_marks[subj])
    if uneven.size:
        code = int(subj[uneven[0]])
        raise FrameError(
            f"科目「{names[code]}」的满分不一致（{full_marks[code] / SCALE:g} 与 "
            f"{full_rows[uneven[0]] / SCALE:g}）"
        )
    _apply_statuses(frame, spec, np.flatnonzero(array["special"]), v)

    warnings: list[str] = []
    subjects = _subjects(spec, names, full_marks, warnings)
    candidate_id: IntArray = array["candidate_id"]
    new = np.empty(candidate_id.size, dtype=np.bool_)
    new[:1] = True
    np.not_equal(candidate_id[1:], candidate_id[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, candidate_id.size))
    cand = np.cumsum(new) - 1
    klass = array["class_id"]
    moved = (klass[1:] != klass[:-1]) & ~new[1:]  # a class change inside a candidate's rows
    if moved.any():
        bad = int(np.argmax(moved)) + 1
        raise FrameError(f"考生 {candidate_id[bad]} 的各科班级不一致")
    candidates = _candidate_table(frame, array, spec, subjects, starts, v, warnings)
    codes = _unit_codes(candidates)

    has_total = candidates["has_total"].to_numpy()
    total_cand = np.flatnonzero(has_total)
    total_v = candidates["total_v"].fill_null(-1).to_numpy()[total_cand]
    class_code = codes.pop("class_code")
    long_v = np.concatenate([v, total_v])
    return Prepared(
        subjects=subjects,
        candidates=candidates,
        rows=int(v.size),
        cand=np.concatenate([cand, total_cand]),
        subj=np.concatenate([subj, np.full(total_cand.size, subjects.total_code, dtype=np.int64)]),
        v=long_v,
        class_code=np.concatenate([np.repeat(class_code, sizes), class_code[total_cand]]),
        teacher_id=np.concatenate([array["teacher_id"], np.full(total_cand.size, -1)]),
        class_ids=codes["class_ids"],
        class_school=codes["class_school"],
        school_ids=codes["school_ids"],
        school_district=codes["school_district"],
        district_ids=codes["district_ids"],
        vmax=max(int(long_v.max()), 0),
        warnings=tuple(warnings),
    )


def _apply_statuses(frame: pl.DataFrame, spec: CaliberSpec, special: IntArray, v: IntArray) -> None:
    """Rows with a status (rare): validate it, drop excluded rows from 实考, apply 作弊."""
    if not special.size:
        return
    status = frame["status"].gather(special).cast(pl.String)
    unknown = ~status.is_in(STATUSES).to_numpy()
    if unknown.any():
        row = frame.row(int(special[np.argmax(unknown)]), named=True)
        raise FrameError(
            f"考生 {row['candidate_id']} 的「{row['subject']}」状态「{row['status']}」无法识别"
        )
    excluded = status.is_in(spec.excluded_statuses).to_numpy()
    cheated = (status == "cheated").to_numpy()
    if spec.cheated == "zero":
        v[special[cheated]] = 0
    else:
        excluded |= cheated
    v[special[excluded]] = -1


def _subjects(
    spec: CaliberSpec, names: list[str], full_marks: IntArray, warnings: list[str]
) -> Subjects:
    if spec.total_subjects is None:
        total_codes = tuple(range(len(names)))
    else:
        total_codes = tuple(names.index(name) for name in spec.total_subjects if name in names)
        missing = [name for name in spec.total_subjects if name not in names]
        if missing:
            warnings.append(f"口径的总分科目中「{'、'.join(missing)}」不在本次考试中，已忽略")
        if not total_codes:
            raise CaliberError("total_subjects", "中的科目都不在本次考试中")
    marks = [int(mark) for mark in full_marks]
    marks.append(sum(marks[code] for code in total_codes))
    return Subjects(tuple(names), tuple(marks), total_codes)


def set_codes(
    spec: CaliberSpec, subjects: Subjects, warnings: list[str]
) -> list[tuple[str, tuple[int, ...]]]:
    """The configured subject sets whose subjects are all in the exam, as subject codes."""
    result = []
    for name, members in spec.subject_sets:
        if members is None:
            result.append((name, tuple(range(len(subjects.names)))))
            continue
        missing = [subject for subject in members if subject not in subjects.names]
        if missing:
            warnings.append(f"科目组合「{name}」中的「{'、'.join(missing)}」不在本次考试中，未计算")
            continue
        result.append((name, tuple(subjects.names.index(subject) for subject in members)))
    return result


def pass_marks(spec: CaliberSpec, subjects: Subjects) -> IntArray:
    """Per subject code (总分 last): the smallest passing score in tenths."""
    return np.array(
        [
            ceil_tenths(exact(spec.thresholds_for(label).passing) * Fraction(full, SCALE))
            for label, full in zip(subjects.labels, subjects.full_marks, strict=True)
        ],
        dtype=np.int64,
    )


def _candidate_table(
    frame: pl.DataFrame,
    array: dict[str, np.ndarray],
    spec: CaliberSpec,
    subjects: Subjects,
    starts: IntArray,
    v: IntArray,
    warnings: list[str],
) -> pl.DataFrame:
    """One row per candidate: ids; 总分 in tenths (``total_v``, null outside the 总分 实考);
    per subject set k the rows, 实考 and passes in the set (``rows_k``, ``sat_k``, ``pass_k``);
    tie-break scores ``tb_k`` (null when not sat)."""
    subj: IntArray = array["subj"]
    count = len(subjects.names)
    sat = v >= 0

    def per_candidate(values: np.ndarray) -> IntArray:
        return np.add.reduceat(values, starts, dtype=np.int64)

    row_count: IntArray = np.diff(np.append(starts, subj.size)).astype(np.int64)
    sat_count = per_candidate(sat)
    if len(subjects.total_codes) == count:  # 总分 of every subject (the usual case)
        total_rows, total_sat = row_count, sat_count
        total_sum: IntArray = per_candidate(v) + (row_count - sat_count)  # outside 实考: −1
    else:
        in_total = np.zeros(count, dtype=np.bool_)
        in_total[list(subjects.total_codes)] = True
        total_row = in_total[subj]
        total_row_sat = total_row & sat
        total_rows = per_candidate(total_row)
        total_sat = per_candidate(total_row_sat)
        total_sum = per_candidate(np.where(total_row_sat, v, 0))
    table: dict[str, object] = {
        "candidate_id": array["candidate_id"][starts],
        "student_id": frame["student_id"].gather(starts),
        "class_id": array["class_id"][starts],
        "school_id": array["school_id"][starts],
        "district_id": pl.Series(array["district_id"][starts]).replace(-1, None),
        "gender": frame["gender"].gather(starts),
        "row_count": row_count,
        "total_rows": total_rows,
        "total_sat": total_sat,
        "total_sum": total_sum,
    }
    if count <= 62:
        bits = np.left_shift(1, subj)
        duplicate = per_candidate(bits) != np.bitwise_or.reduceat(bits, starts)
        if duplicate.any():
            bad = table["candidate_id"][np.argmax(duplicate)]  # type: ignore[index]
            raise FrameError(f"考生 {bad} 的同一科目有多行成绩")
    passed = sat & (v >= pass_marks(spec, subjects)[subj])
    pass_count = per_candidate(passed)
    for index, (_name, codes) in enumerate(set_codes(spec, subjects, warnings)):
        if len(codes) == count:  # every subject: no masking needed
            table |= {f"rows_{index}": row_count, f"sat_{index}": sat_count}
            table[f"pass_{index}"] = pass_count
            continue
        member = np.zeros(count, dtype=np.bool_)
        member[list(codes)] = True
        in_set = member[subj]
        table[f"rows_{index}"] = per_candidate(in_set)
        table[f"sat_{index}"] = per_candidate(in_set & sat)
        table[f"pass_{index}"] = per_candidate(in_set & passed)
    for index, name in enumerate(spec.tie_break):
        code = subjects.code(name)
        if code is None:
            warnings.append(f"口径的同分比较科目「{name}」不在本次考试中，已忽略")
            continue
        best = np.maximum.reduceat(np.where((subj == code) & sat, v, -1), starts)
        table[f"tb_{index}"] = pl.Series(best).replace(-1, None)
    need = len(subjects.total_codes)
    result = pl.DataFrame(table)
    counted = (
        pl.col("total_sat") == need if spec.total_absent == "exclude" else pl.col("total_sat") > 0
    )
    return result.with_columns(
        (pl.col("total_rows") > 0).alias("has_total"),
        pl.when(counted).then(pl.col("total_sum")).alias("total_v"),
    ).drop("total_sum")


def _unit_codes(candidates: pl.DataFrame) -> dict[str, IntArray]:
    """Dense codes: schools and districts by id, classes by (school, id); every class in one
    school and every school in one district."""
    school = candidates["school_id"].to_numpy()
    klass = candidates["class_id"].to_numpy()
    district = candidates["district_id"].fill_null(-1).to_numpy()
    school_ids, school_code = np.unique(school, return_inverse=True)
    class_ids, class_code = np.unique(klass, return_inverse=True)
    class_school = np.zeros(class_ids.size, dtype=np.int64)
    class_school[class_code] = school_code
    if (class_school[class_code] != school_code).any():
        bad = int(np.argmax(class_school[class_code] != school_code))
        raise FrameError(f"班级 {klass[bad]} 出现在不止一所学校中")
    # renumber classes by (school, id) so that class order is school-major
    order = np.lexsort((class_ids, class_school))
    renumber = np.empty_like(order)
    renumber[order] = np.arange(order.size)
    district_values, district_code = np.unique(district, return_inverse=True)
    real = district_values >= 0
    district_ids = district_values[real]
    district_code = np.where(
        district_values[district_code] >= 0, district_code - int((~real).sum()), district_ids.size
    )
    school_district = np.full(school_ids.size, district_ids.size, dtype=np.int64)
    school_district[school_code] = district_code
    if (school_district[school_code] != district_code).any():
        bad = int(np.argmax(school_district[school_code] != district_code))
        raise FrameError(f"学校 {school[bad]} 出现在不止一个学区中")
    return {
        "class_code": renumber[class_code].astype(np.int64),
        "class_ids": class_ids[order].astype(np.int64),
        "class_school": class_school[order].astype(np.int64),
        "school_ids": school_ids.astype(np.int64),
        "school_district": school_district,
        "district_ids": district_ids.astype(np.int64),
    }
