"""Match students between two exams (入口 → 出口) — pure polars, no ORM.

Value-added uses only students present at both time points (analytics.md §3.2). A row whose
value is missing counts as absent. :func:`match_students` joins the two long frames on the key
columns (the student id, plus e.g. the subject), suffixes the other columns ``_in`` / ``_out``,
and reports who left (缺考退出: in the first frame only) and who joined (新增: second only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class MatchResult:
    matched: pl.DataFrame  # keys + <column>_in + <column>_out
    dropped: pl.DataFrame  # keys present (with a value) before, not after
    joined: pl.DataFrame  # keys present after, not before
    counts: dict[str, int]  # before, after, matched, dropped, joined


def match_students(
    before: pl.DataFrame,
    after: pl.DataFrame,
    *,
    key: str = "student_id",
    by: Sequence[str] = (),
    value: str = "score",
    suffixes: tuple[str, str] = ("_in", "_out"),
) -> MatchResult:
    """Match ``before`` and ``after`` one-to-one on ``key`` (+ ``by``); see the module."""
    keys = [key, *by]
    for name, frame in (("入口", before), ("出口", after)):
        missing = [c for c in [*keys, value] if c not in frame.columns]
        if missing:
            raise ValueError(f"{name}数据缺少列：{'、'.join(missing)}")
        if frame.select(pl.struct(keys).is_duplicated().any()).item():
            raise ValueError(f"{name}数据中同一学生（{'、'.join(keys)}）有多行，无法一一匹配")
    first = before.filter(pl.col(value).is_not_null() & pl.col(key).is_not_null())
    second = after.filter(pl.col(value).is_not_null() & pl.col(key).is_not_null())
    suffix_in, suffix_out = suffixes
    left = first.rename({c: c + suffix_in for c in first.columns if c not in keys})
    right = second.rename({c: c + suffix_out for c in second.columns if c not in keys})
    matched = left.join(right, on=keys, how="inner").sort(keys)
    dropped = first.select(keys).join(second.select(keys), on=keys, how="anti").sort(keys)
    joined = second.select(keys).join(first.select(keys), on=keys, how="anti").sort(keys)
    counts = {
        "before": first.height,
        "after": second.height,
        "matched": matched.height,
        "dropped": dropped.height,
        "joined": joined.height,
    }
    return MatchResult(matched=matched, dropped=dropped, joined=joined, counts=counts)
