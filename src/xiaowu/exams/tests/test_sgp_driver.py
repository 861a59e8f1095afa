"""The SGP driver: cohorts by exact grade progression, orders, knots kept, scoring, levels."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from xiaowu.exams.valueadded.sgp.basis import SplineProblem
from xiaowu.exams.valueadded.sgp.knots import KnotsBoundaries
from xiaowu.exams.valueadded.sgp.sgp import (
    SGPSettings,
    default_progressions,
    parse_progressions,
    progression_text,
    score_problem,
    score_sgp,
    student_growth_percentiles,
    summarize_sgp,
)
from xiaowu.exams.valueadded.sgp.wide import Panel, PanelError


def _panel(n: int = 600, seed: int = 11) -> Panel:
    """Three years: grade 3 → 4 → 5, plus a few students on other paths."""
    rng = np.random.default_rng(seed)
    ability = rng.normal(0, 1, n)
    scores = np.column_stack(
        [np.round(480 + 40 * j + 45 * (ability + rng.normal(0, 0.45, n))) for j in range(3)]
    )
    grades = np.tile([3.0, 4.0, 5.0], (n, 1))
    grades[:20, 0] = 4.0  # retained: grade 4 in both of the first two years
    scores[20:40, 0] = np.nan  # no first-year score
    grades[20:40, 0] = np.nan
    return Panel(pl.Series("ID", np.arange(n) + 1000), (2022, 2023, 2024), grades, scores)


def test_parse_progressions_uses_r_notation():
    assert parse_progressions("3:4, 3:5,4:8") == ((3, 4), (3, 4, 5), (4, 5, 6, 7, 8))
    with pytest.raises(PanelError, match="格式不对"):
        parse_progressions("3-4")
    with pytest.raises(PanelError, match="必须大于"):
        parse_progressions("5:4")
    with pytest.raises(PanelError, match="没有给出"):
        parse_progressions(" , ")
    assert progression_text((3, 4, 5)) == "3:5"
    assert progression_text((7, 7)) == "7-7"


def test_score_sgp_counts_strictly_lower_rounded_quantiles():
    coefficients = np.arange(1.0, 101.0)[np.random.default_rng(0).permutation(100)][None, :]
    x = np.ones((6, 1))
    y = np.array([50.5, 50.0, 0.0, 1000.0, 1.0, 99.5])
    # 50.5 → 50 below; 50 → 49 (strict); 0 → 0 → 1; 1000 → 100 → 99; 1 → 0 → 1; 99.5 → 99.
    assert score_sgp(x, y, coefficients).tolist() == [50, 49, 1, 99, 1, 99]
    # Predictions are rounded to 5 decimals before the comparison: 49.9999999 counts as 50.
    near = np.arange(1.0, 101.0)[None, :].copy()
    near[0, 49] = 50.0 - 1e-7
    assert score_sgp(np.ones((1, 1)), np.array([50.0]), near).tolist() == [49]
    near[0, 49] = 50.0 - 1e-4
    assert score_sgp(np.ones((1, 1)), np.array([50.0]), near).tolist() == [50]


def test_orders_cohorts_and_final_sgp():
    panel = _panel()
    result = student_growth_percentiles(
        panel, SGPSettings(progressions=((3, 4, 5),), max_order=2, min_cohort=50)
    )
    students = result.students
    assert [(m.order, m.n) for m in result.matrices] == [(1, 600), (2, 560)]
    assert students.height == 600
    order2 = students.filter(pl.col("SGP_ORDER") == 2)
    assert order2.height == 560
    # The retained and the new students have only an order-1 SGP.
    ids = set(students.filter(pl.col("SGP_ORDER") == 1)["ID"].to_list())
    assert ids == set(range(1000, 1040))
    assert (order2["SGP"] == order2["SGP_ORDER_2"]).all()
    first = students.filter(pl.col("SGP_ORDER") == 1)
    assert (first["SGP"] == first["SGP_ORDER_1"]).all()
    assert first["SGP_ORDER_2"].null_count() == first.height
    assert (
        students["SCALE_SCORE_PRIOR"].to_list()
        == panel.scores[np.argsort(panel.ids.to_numpy()), 1].tolist()
    )
    assert students["SGP"].is_between(1, 99).all()
    # Growth percentiles of a cohort are roughly uniform.
    assert 40 <= float(students["SGP"].median()) <= 60
    levels = students.select(
        ok=pl.col("SGP_LEVEL")
        == 1
        + (pl.col("SGP") >= 20).cast(pl.Int8)
        + (pl.col("SGP") >= 40).cast(pl.Int8)
        + (pl.col("SGP") >= 61).cast(pl.Int8)
        + (pl.col("SGP") >= 81).cast(pl.Int8)
    )
    assert levels["ok"].all()
    summary = result.summary()
    assert summary["n"] == 600
    assert summary["order_counts"] == {"1": 40, "2": 560}
    assert sum(summary["level_counts"].values()) == 600
    assert summary["grades"][0]["grade"] == 5


def test_max_order_truncates_the_progression_and_knots_are_kept():
    panel = _panel()
    fixed = KnotsBoundaries((500.0, 520.0, 540.0, 560.0), (300.0, 800.0), (350.0, 750.0))
    result = student_growth_percentiles(
        panel, SGPSettings(progressions=((3, 4, 5),), max_order=1), knots={4: fixed}
    )
    assert [m.progression for m in result.matrices] == [(4, 5)]
    assert result.knots[4] is fixed
    assert result.students.columns.count("SGP_ORDER_1") == 1
    assert "SGP_ORDER_2" not in result.students.columns
    # Other knots would change the fit: the kept set is really used.
    fresh = student_growth_percentiles(panel, SGPSettings(progressions=((3, 4, 5),), max_order=1))
    assert fresh.knots[4] != fixed
    assert not np.array_equal(fresh.matrices[0].coefficients, result.matrices[0].coefficients)


def test_insufficient_n_is_reported_and_skipped():
    panel = _panel()
    result = student_growth_percentiles(
        panel, SGPSettings(progressions=((3, 4, 5),), max_order=2, min_cohort=580)
    )
    assert result.matrices[1].skipped == "人数不足"
    assert result.matrices[1].coefficients is None
    assert result.students["SGP_ORDER"].max() == 1


def test_default_progressions_follow_the_most_common_prior_grade():
    panel = _panel()
    settings = SGPSettings(max_order=3, min_cohort=30)
    assert default_progressions(panel, 2, settings) == [(3, 4, 5)]
    # The 20 retained students (grade 4 twice) are too few to form their own path.
    assert default_progressions(panel, 1, settings) == [(3, 4)]


def test_exact_and_fast_solvers_give_the_same_sgps():
    panel = _panel(300, 5)
    settings = {"progressions": ((3, 4, 5),), "max_order": 2, "min_cohort": 50}
    fast = student_growth_percentiles(panel, SGPSettings(solver="fast", **settings))
    exact = student_growth_percentiles(panel, SGPSettings(solver="exact", **settings))
    assert fast.students.equals(exact.students)


def test_driver_errors():
    panel = _panel(100)
    with pytest.raises(PanelError, match="当前年级相同"):
        student_growth_percentiles(panel, SGPSettings(progressions=((3, 5), (4, 5))))
    with pytest.raises(PanelError, match="之前没有成绩"):
        student_growth_percentiles(panel, SGPSettings(year=2022))
    with pytest.raises(PanelError, match="没有 2030 年"):
        student_growth_percentiles(panel, SGPSettings(year=2030))
    with pytest.raises(PanelError, match="最高阶数"):
        SGPSettings(max_order=0)
    with pytest.raises(PanelError, match="求解器"):
        SGPSettings(solver="br")
    with pytest.raises(PanelError, match="分界"):
        SGPSettings(level_cuts=(40, 20))


def test_summarize_sgp_by_group():
    students = pl.DataFrame({"SCHOOL": ["a", "a", "a", "b"], "SGP": [10, 50, 60, 99]})
    table = summarize_sgp(students, "SCHOOL")
    assert table.rows() == [("a", 3, 50.0, 40.0), ("b", 1, 99.0, 99.0)]


def test_scoring_in_chunks_equals_scoring_at_once():
    panel = _panel(300, 8)
    result = student_growth_percentiles(
        panel, SGPSettings(progressions=((4, 5),), max_order=1, min_cohort=50)
    )
    matrix = result.matrices[0]
    assert matrix.coefficients is not None
    rows = np.arange(panel.size)
    problem = SplineProblem(
        priors=(panel.scores[rows, 1],), knots=(result.knots[4],), y=panel.scores[rows, 2]
    )
    whole = score_sgp(problem.design(), problem.y, matrix.coefficients)
    assert np.array_equal(score_problem(problem, matrix.coefficients, chunk=7), whole)
    by_id = dict(zip(result.students["ID"], result.students["SGP"], strict=True))
    assert [by_id[i] for i in panel.ids.to_list()] == whole.tolist()
