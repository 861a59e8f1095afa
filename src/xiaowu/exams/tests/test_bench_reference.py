"""The benchmark's reference (bare polars) computes exactly the engine's tables, so the 2×
comparison of ``xiaowu bench exams`` is like for like — and the engine gets a second,
independently written check on the benchmark's synthetic exams."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest

from xiaowu.exams.analytics import CaliberSpec, analyze
from xiaowu.exams.bench import BENCH_CALIBER, generate
from xiaowu.exams.bench_reference import (
    COMPARED,
    ReferenceUnsupportedError,
    differences,
    reference,
)


@pytest.mark.parametrize(("students", "subjects", "seed"), [(3_000, 9, 1), (4_500, 5, 2)])
def test_reference_tables_equal_the_engine(students: int, subjects: int, seed: int) -> None:
    frame = generate(students, subjects, seed)
    spec = CaliberSpec.from_config(BENCH_CALIBER)
    result = analyze(frame, spec)
    tables = reference(frame, spec)
    assert differences(result, tables) == []
    assert set(COMPARED) <= set(tables)
    assert tables["students"].height == frame.height + students  # a 总分 row per candidate
    assert tables["top"].height >= 1


def test_reference_without_lines_or_tie_break() -> None:
    frame = generate(3_000, 4, 3)
    spec = CaliberSpec.from_config({"subject_sets": {"双合": ["语文", "数学"]}})
    assert differences(analyze(frame, spec), reference(frame, spec)) == []


def test_a_changed_cell_is_reported() -> None:
    frame = generate(3_000, 9, 4)
    spec = CaliberSpec.from_config(BENCH_CALIBER)
    tables = reference(frame, spec)
    result = analyze(frame, spec)
    tables["students"] = tables["students"].with_columns(
        pl.when(pl.col("candidate_id") == 1)
        .then(pl.col("rank_school") + 1)
        .otherwise(pl.col("rank_school"))
        .alias("rank_school")
    )
    tables["units"] = tables["units"].drop("q3")
    problems = differences(result, tables)
    assert any(problem.startswith("students:") for problem in problems)
    assert "units: reference lacks q3" in problems


def test_unsupported_caliber_is_refused() -> None:
    frame = generate(3_000, 4, 5)
    spec = dataclasses.replace(CaliberSpec.from_config(BENCH_CALIBER), ranking="dense")
    with pytest.raises(ReferenceUnsupportedError, match="ranking"):
        reference(frame, spec)
