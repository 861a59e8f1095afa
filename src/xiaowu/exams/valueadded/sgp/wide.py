"""Wide score panels for SGP: one row per student, a grade and a scale score per year.

The file layout is the one of ``sgpData``: ``ID, GRADE_<year>…, SS_<year>…`` (missing = empty).
:func:`read_wide` reads csv / csv.gz with polars and reports bad input in Chinese, naming the
row and the column; :func:`panel_from_long` builds the same panel from a long frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

Array = npt.NDArray[np.float64]

ID_COLUMN = "ID"
_GRADE = re.compile(r"^GRADE_(\d{4})$")
_SCORE = re.compile(r"^SS_(\d{4})$")
# Rows named in an error message (the rest are counted).
MAX_NAMED = 5


class PanelError(ValueError):
    """Malformed panel data; the message is Chinese and names the row and the column."""


@dataclass(frozen=True)
class Panel:
    """Aligned arrays: ``grades[i, j]`` and ``scores[i, j]`` of student ``ids[i]`` in ``years[j]``.

    Years ascend; a missing grade or score is NaN.
    """

    ids: pl.Series
    years: tuple[int, ...]
    grades: Array
    scores: Array

    def __post_init__(self) -> None:
        n, t = len(self.ids), len(self.years)
        if self.grades.shape != (n, t) or self.scores.shape != (n, t):
            raise ValueError("grades and scores must be (students, years)")
        if list(self.years) != sorted(set(self.years)):
            raise ValueError("years must ascend without repeats")

    @property
    def size(self) -> int:
        return len(self.ids)

    def column(self, year: int) -> int:
        try:
            return self.years.index(year)
        except ValueError:
            raise PanelError(f"数据中没有 {year} 年的成绩列") from None


def _rows_text(rows: list[int]) -> str:
    named = "、".join(str(row) for row in rows[:MAX_NAMED])
    return named + (f" 等 {len(rows)}" if len(rows) > MAX_NAMED else "")


def _numeric(frame: pl.DataFrame, column: str, *, integer: bool) -> Array:
    """Cast a text column to float; non-numeric cells raise naming the file row and column."""
    text = frame[column].str.strip_chars()
    values = text.cast(pl.Float64, strict=False)
    bad = (text.is_not_null() & (text != "") & values.is_null()) | values.is_nan().fill_null(False)
    if bad.any():
        rows = [index + 2 for index in bad.arg_true().to_list()]  # +1 header, +1 one-based
        first = text.filter(bad)[0]
        raise PanelError(f"第 {_rows_text(rows)} 行的“{column}”不是数字（如“{first}”）")
    out = values.to_numpy().astype(np.float64, copy=True)
    if np.any(np.isinf(out)):
        rows = [int(i) + 2 for i in np.flatnonzero(np.isinf(out))]
        raise PanelError(f"第 {_rows_text(rows)} 行的“{column}”不是有限数字")
    if integer:
        fractional = np.isfinite(out) & (out != np.round(out))
        if fractional.any():
            rows = [int(i) + 2 for i in np.flatnonzero(fractional)]
            raise PanelError(f"第 {_rows_text(rows)} 行的“{column}”不是整数年级")
    return out


def panel_from_text(frame: pl.DataFrame) -> Panel:
    """Validate a wide frame of text columns (as read from a file) and build the panel."""
    # Spreadsheet exports may start with a byte-order mark or pad the header.
    frame = frame.rename({c: c.lstrip("\ufeff").strip() for c in frame.columns})
    columns = frame.columns
    if ID_COLUMN not in columns:
        raise PanelError(f"缺少学生编号列“{ID_COLUMN}”（宽表格式：ID, GRADE_年份…, SS_年份…）")
    grade_years = {int(m.group(1)) for c in columns if (m := _GRADE.match(c))}
    score_years = {int(m.group(1)) for c in columns if (m := _SCORE.match(c))}
    if not grade_years and not score_years:
        raise PanelError("没有找到 GRADE_年份 与 SS_年份 列（如 GRADE_2024、SS_2024）")
    for year in sorted(grade_years - score_years):
        raise PanelError(f"缺少成绩列“SS_{year}”（已有年级列“GRADE_{year}”）")
    for year in sorted(score_years - grade_years):
        raise PanelError(f"缺少年级列“GRADE_{year}”（已有成绩列“SS_{year}”）")
    years = tuple(sorted(grade_years))
    if len(years) < 2:
        raise PanelError("至少需要两个年份的成绩才能计算增长百分位")
    ids = frame[ID_COLUMN].str.strip_chars()
    missing = (ids.is_null() | (ids == "")).arg_true().to_list()
    if missing:
        raise PanelError(f"第 {_rows_text([i + 2 for i in missing])} 行缺少“{ID_COLUMN}”")
    duplicated = ids.is_duplicated()
    if duplicated.any():
        rows = [i + 2 for i in duplicated.arg_true().to_list()]
        raise PanelError(
            f"第 {_rows_text(rows)} 行的“{ID_COLUMN}”重复（如“{ids.filter(duplicated)[0]}”）"
        )
    numeric_ids = ids.cast(pl.Int64, strict=False)
    grades = np.column_stack([_numeric(frame, f"GRADE_{y}", integer=True) for y in years])
    scores = np.column_stack([_numeric(frame, f"SS_{y}", integer=False) for y in years])
    half = np.isfinite(scores) & ~np.isfinite(grades)
    if half.any():
        row, col = (int(v) for v in np.argwhere(half)[0])
        raise PanelError(f"第 {row + 2} 行有“SS_{years[col]}”成绩但缺少“GRADE_{years[col]}”")
    return Panel(
        ids=(numeric_ids if numeric_ids.null_count() == 0 else ids).alias(ID_COLUMN),
        years=years,
        grades=grades,
        scores=scores,
    )


def read_wide(path: str | Path) -> Panel:
    """Read a wide csv or csv.gz file (UTF-8, header row) into a :class:`Panel`."""
    source = Path(path)
    if not source.is_file():
        raise PanelError(f"文件不存在：{source}")
    try:
        frame = pl.read_csv(source, infer_schema=False, encoding="utf8-lossy")
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, OSError) as error:
        raise PanelError(f"无法读取 CSV 文件 {source.name}：{error}") from error
    if frame.height == 0:
        raise PanelError(f"文件 {source.name} 没有数据行")
    return panel_from_text(frame)


def panel_from_long(
    frame: pl.DataFrame,
    *,
    student: str = "student_id",
    year: str = "year",
    grade: str = "grade",
    score: str = "score",
) -> Panel:
    """Build a panel from a long frame with one row per (student, year)."""
    for column in (student, year, grade, score):
        if column not in frame.columns:
            raise PanelError(f"缺少列“{column}”")
    keyed = frame.select(
        pl.col(student).alias("_id"),
        pl.col(year).cast(pl.Int64).alias("_year"),
        pl.col(grade).cast(pl.Float64).alias("_grade"),
        pl.col(score).cast(pl.Float64).alias("_score"),
    )
    if keyed["_id"].null_count():
        raise PanelError(f"有 {keyed['_id'].null_count()} 行缺少“{student}”")
    if keyed.select(pl.struct("_id", "_year").is_duplicated().any()).item():
        raise PanelError(f"同一学生同一年份有多行（“{student}” × “{year}”）")
    years = tuple(int(v) for v in keyed["_year"].drop_nulls().unique().sort().to_list())
    ids = keyed["_id"].unique(maintain_order=True)
    index = pl.DataFrame({"_id": ids, "_row": np.arange(len(ids), dtype=np.int64)})
    placed = keyed.filter(pl.col("_year").is_not_null()).join(index, on="_id", how="left")
    rows = placed["_row"].to_numpy()
    cols = np.searchsorted(np.array(years, dtype=np.int64), placed["_year"].to_numpy())
    grades = np.full((len(ids), len(years)), np.nan)
    scores = np.full((len(ids), len(years)), np.nan)
    grades[rows, cols] = placed["_grade"].fill_null(np.nan).to_numpy()
    scores[rows, cols] = placed["_score"].fill_null(np.nan).to_numpy()
    return Panel(ids=ids.alias(ID_COLUMN), years=years, grades=grades, scores=scores)
