"""标准分增量 and 百分等级进退 (analytics.md §3.2), and matching students between exams."""

from __future__ import annotations

import math

import polars as pl
import pytest

from xiaowu.exams.valueadded.indices import (
    percentile_rank,
    percentile_rank_change,
    standard_score_gain,
)
from xiaowu.exams.valueadded.matching import match_students


def test_percentile_rank_counts_ties_as_half():
    frame = pl.DataFrame({"x": [10.0, 20.0, 20.0, 30.0]})
    ranked = frame.with_columns(g=pl.lit(1)).select(pr=percentile_rank("x", ["g"]))
    # 100·(#below + ½·#equal)/N: (0 + ½)/4, (1 + 1)/4, (1 + 1)/4, (3 + ½)/4.
    assert ranked["pr"].to_list() == [12.5, 50.0, 50.0, 87.5]


def test_percentile_rank_change_per_unit():
    frame = pl.DataFrame(
        {
            "cls": ["a", "a", "b", "b"],
            "prior": [10.0, 20.0, 30.0, 40.0],
            "current": [40.0, 30.0, 20.0, 10.0],
        }
    )
    table = percentile_rank_change(frame, current="current", prior="prior", group="cls")
    # PR_in: 12.5, 37.5, 62.5, 87.5; PR_out: 87.5, 62.5, 37.5, 12.5.
    rows = {r["cls"]: r for r in table.iter_rows(named=True)}
    assert rows["a"]["mean_pr_in"] == 25.0
    assert rows["a"]["mean_pr_out"] == 75.0
    assert rows["a"]["change"] == 50.0
    assert rows["b"]["change"] == -50.0
    assert rows["a"]["n"] == 2


def test_standard_score_gain_per_unit_and_cohort():
    frame = pl.DataFrame(
        {
            "subject": ["语文"] * 4 + ["数学"] * 2,
            "cls": ["a", "a", "b", "b", "a", "b"],
            "prior": [60.0, 70.0, 80.0, 90.0, 50.0, 50.0],
            "current": [90.0, 80.0, 70.0, 60.0, 40.0, 60.0],
        }
    )
    table = standard_score_gain(
        frame, current="current", prior="prior", group="cls", cohort=["subject"]
    )
    rows = {(r["subject"], r["cls"]): r for r in table.iter_rows(named=True)}
    sd = math.sqrt(125)  # 60, 70, 80, 90 (ddof 0)
    a = rows["语文", "a"]
    assert a["mean_z_in"] == pytest.approx(((60 - 75) + (70 - 75)) / 2 / sd)
    assert a["mean_z_out"] == pytest.approx(((90 - 75) + (80 - 75)) / 2 / sd)
    assert a["gain"] == pytest.approx(20 / sd)
    # A constant prior (σ = 0) standardises to 0.
    assert rows["数学", "a"]["mean_z_in"] == 0.0
    assert rows["数学", "b"]["gain"] == pytest.approx(1.0)
    pre = standard_score_gain(
        frame, current="current", prior="prior", group="cls", standardize=False
    )
    # Class a without standardising: mean(90, 80, 40) − mean(60, 70, 50) = 70 − 60.
    assert pre.filter(pl.col("cls") == "a")["gain"].item() == pytest.approx(10.0)


def test_match_students_reports_dropped_and_joined():
    before = pl.DataFrame(
        {"student_id": [1, 2, 3, 4], "class_id": [10, 10, 11, 11], "score": [80, 70, None, 60]}
    )
    after = pl.DataFrame(
        {"student_id": [1, 2, 3, 5], "class_id": [20, 21, 21, 21], "score": [85, 75, 90, 50]}
    )
    result = match_students(before, after)
    assert result.matched.columns == [
        "student_id",
        "class_id_in",
        "score_in",
        "class_id_out",
        "score_out",
    ]
    assert result.matched["student_id"].to_list() == [1, 2]
    # 3 has no entry score (absent), 4 left, 5 is new.
    assert result.dropped["student_id"].to_list() == [4]
    assert result.joined["student_id"].to_list() == [3, 5]
    assert result.counts == {"before": 3, "after": 4, "matched": 2, "dropped": 1, "joined": 2}


def test_match_students_by_subject_and_duplicates():
    before = pl.DataFrame(
        {"student_id": [1, 1, 2], "subject": ["语文", "数学", "语文"], "score": [1, 2, 3]}
    )
    after = pl.DataFrame({"student_id": [1, 2], "subject": ["语文", "语文"], "score": [4, 5]})
    result = match_students(before, after, by=["subject"])
    assert result.counts["matched"] == 2
    assert result.dropped.rows() == [(1, "数学")]
    with pytest.raises(ValueError, match="入口数据中同一学生"):
        match_students(before, after)
    with pytest.raises(ValueError, match="出口数据缺少列：subject"):
        match_students(before, after.drop("subject"), by=["subject"])
