"""``valueadded.fit``: the one entry point the pages call, for every method."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from xiaowu.exams import valueadded
from xiaowu.exams.valueadded.fit import UNIT_COLUMNS, ValueAddedInputError, fit
from xiaowu.exams.valueadded.residual import EBSettings, residual_gain


def _matched(n: int = 400, seed: int = 9) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    cls = rng.integers(0, 8, n)
    prior = np.round(rng.normal(80, 12, n))
    score = np.round(0.8 * prior + rng.normal(0, 8, n) + 2.0 * (cls % 3))
    return pl.DataFrame(
        {
            "student_id": np.arange(1, n + 1),
            "candidate_id": np.arange(101, n + 101),
            "prior": prior,
            "score": score,
            "class_id": cls + 100,
            "school_id": (cls // 4) + 10,
            "teacher_id": pl.Series([None] * n, dtype=pl.Int64),
        }
    )


@pytest.mark.parametrize("method", valueadded.METHODS)
def test_every_method_returns_units_students_summary(method):
    matched = _matched()
    out = fit(method, matched, {"min_n": 60})
    units = out["units"]
    assert units.columns[: len(UNIT_COLUMNS)] == UNIT_COLUMNS
    # The teacher column is all null: no teacher rows.
    assert sorted(set(units["level"])) == ["class", "school"]
    assert units.filter(pl.col("level") == "class").height == 8
    assert units.filter(pl.col("level") == "school")["n"].sum() == 400
    assert (units["small_n"] == (units["n"] < 60)).all()
    assert (units["ci_low"] <= units["va"]).all()
    assert (units["va"] <= units["ci_high"]).all()
    assert out["students"].height == 400
    assert out["summary"]["model"] == method


def test_residual_eb_units_equal_the_library():
    matched = _matched()
    out = fit("residual_eb", matched, {})
    direct = residual_gain(
        matched, current="score", priors="prior", group="class_id", settings=EBSettings()
    ).units
    classes = out["units"].filter(pl.col("level") == "class").sort("unit_id")
    assert classes["va"].to_list() == pytest.approx(direct.sort("class_id")["va"].to_list())
    assert out["summary"]["slope"] > 0.5
    # Classes with a higher simulated effect (cls % 3 == 2) have higher value-added.
    top = classes.filter((pl.col("unit_id") - 100) % 3 == 2)["va"].mean()
    low = classes.filter((pl.col("unit_id") - 100) % 3 == 0)["va"].mean()
    assert top > low


def test_gain_methods_use_means_of_student_gains():
    matched = _matched()
    z = fit("z_gain", matched, {})
    students = z["students"]
    assert students["gain"].to_list() == pytest.approx(
        (students["z_out"] - students["z_in"]).to_list()
    )
    schools = z["units"].filter(pl.col("level") == "school").sort("unit_id")
    joined = matched.join(students, on="student_id")
    expected = joined.group_by("school_id").agg(pl.col("gain").mean()).sort("school_id")
    assert schools["va"].to_list() == pytest.approx(expected["gain"].to_list())
    pr = fit("percentile_gain", matched, {})
    assert pr["students"]["pr_in"].min() > 0
    assert pr["students"]["pr_out"].max() < 100


def test_sgp_method_gives_median_growth_percentiles():
    out = fit("sgp", _matched(), {})
    students = out["students"]
    assert students["sgp"].is_between(1, 99).all()
    assert 35 <= out["summary"]["median_sgp"] <= 65
    classes = out["units"].filter(pl.col("level") == "class")
    assert (classes["va"] == classes["median_sgp"]).all()
    with pytest.raises(ValueAddedInputError, match="少于计算学生成长百分位所需"):
        fit("sgp", _matched(20), {"min_cohort": 30})


def test_fit_rejects_bad_input():
    with pytest.raises(ValueAddedInputError, match="未知的增值模型"):
        fit("evaas", _matched(), {})
    with pytest.raises(ValueAddedInputError, match="缺少列：prior"):
        fit("z_gain", _matched().drop("prior"), {})
    with pytest.raises(ValueAddedInputError, match="无法评价"):
        fit("z_gain", _matched(2), {})
