"""Item analysis: difficulty, 27 % discrimination, item–rest correlation, α / KR-20, SEM,
option (distractor) rates — on matrices small enough to check by hand."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from xiaowu.exams.analytics import (
    FrameError,
    cronbach_alpha,
    item_analysis,
    option_analysis,
    reliability,
)

# 4 candidates × 3 dichotomous items; totals 3, 2, 1, 0
DICHOTOMOUS = [[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0]]


def long_frame(
    matrix: list[list[float]], full: list[float], kind: str = "objective"
) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "candidate_id": candidate + 1,
                "subject": "数学",
                "item": f"{item + 1}",
                "kind": kind,
                "full_mark": full[item],
                "score": float(score),
            }
            for candidate, row in enumerate(matrix)
            for item, score in enumerate(row)
        ]
    )


def test_kr20_and_sem_by_hand() -> None:
    result = cronbach_alpha(DICHOTOMOUS)
    # p = .75 .5 .25 → Σpq = .625; total variance 1.25; KR-20 = 3/2·(1 − .625/1.25) = .75
    assert result.method == "KR-20"
    assert result.alpha == pytest.approx(0.75)
    assert result.sem == pytest.approx(math.sqrt(1.25) * math.sqrt(0.25))
    assert (result.items, result.candidates) == (3, 4)


def test_alpha_for_polytomous_items() -> None:
    matrix = [[2, 3, 1], [4, 4, 3], [1, 2, 2], [3, 3, 4], [0, 1, 0]]
    scores = np.array(matrix, dtype=float)
    sum_item_var = scores.var(axis=0).sum()
    total_var = scores.sum(axis=1).var()
    result = cronbach_alpha(matrix)
    assert result.method == "alpha"
    assert result.alpha == pytest.approx(1.5 * (1 - sum_item_var / total_var))
    r = np.corrcoef(scores, rowvar=False)
    mean_r = (r.sum() - 3) / 6
    assert result.standardized_alpha == pytest.approx(3 * mean_r / (1 + 2 * mean_r))


def test_degenerate_reliability() -> None:
    assert cronbach_alpha([[1, 1], [1, 1]]).alpha is None  # no variance in the total
    assert cronbach_alpha([[1, 0, 1]]).alpha is None  # one candidate
    with pytest.raises(ValueError, match="二维"):
        cronbach_alpha([1, 0, 1])


def test_item_statistics_by_hand() -> None:
    table = item_analysis(long_frame(DICHOTOMOUS, [1, 1, 1])).sort("item")
    assert table["difficulty"].to_list() == pytest.approx([0.75, 0.5, 0.25])
    # 27 % of 4 → 1 candidate per group: the top (total 3) and the bottom (total 0)
    assert table["discrimination"].to_list() == pytest.approx([1.0, 1.0, 1.0])
    # item 1 = (1, 1, 1, 0) against the rest (2, 1, 0, 0)
    expected = np.corrcoef([1, 1, 1, 0], [2, 1, 0, 0])[0, 1]
    assert table["item_rest"][0] == pytest.approx(expected)
    assert table["item_total"][0] == pytest.approx(np.corrcoef([1, 1, 1, 0], [3, 2, 1, 0])[0, 1])
    # alpha without item 3: items 1, 2 → KR-20 = 2·(1 − (.1875 + .25)/var(2, 2, 1, 0))
    var_rest = np.var([2, 2, 1, 0])
    assert table["alpha_if_deleted"][2] == pytest.approx(2 * (1 - 0.4375 / var_rest))
    stats = reliability(long_frame(DICHOTOMOUS, [1, 1, 1])).row(0, named=True)
    assert stats["alpha"] == pytest.approx(0.75)
    assert stats["method"] == "KR-20"


def test_subjective_discrimination_uses_full_marks() -> None:
    # 10 candidates → 27 % = 3 per group; item 1 (full 10) top group 9, 8, 10; bottom 2, 0, 1
    matrix = [[9, 5], [8, 5], [10, 5], [6, 4], [5, 4], [5, 3], [4, 3], [2, 2], [0, 2], [1, 1]]
    table = item_analysis(long_frame(matrix, [10, 5], kind="subjective")).sort("item")
    assert table["discrimination"][0] == pytest.approx(((9 + 8 + 10) / 3 - (2 + 0 + 1) / 3) / 10)
    assert table["difficulty"][0] == pytest.approx(np.mean([r[0] for r in matrix]) / 10)
    assert table["n"][0] == 10


def test_incomplete_candidates_are_left_out() -> None:
    frame = long_frame(DICHOTOMOUS, [1, 1, 1]).with_columns(
        pl.when((pl.col("candidate_id") == 4) & (pl.col("item") == "2"))
        .then(None)
        .otherwise(pl.col("score"))
        .alias("score")
    )
    assert item_analysis(frame)["n"].to_list() == [3, 3, 3]


def test_option_rates_and_key() -> None:
    answers = {1: "A", 2: "A", 3: "B", 4: "C"}
    frame = long_frame(DICHOTOMOUS, [1, 1, 1]).with_columns(
        pl.when(pl.col("item") == "1")
        .then(pl.col("candidate_id").replace_strict(answers))
        .otherwise(pl.lit("D"))
        .alias("answer")
    )
    options = option_analysis(frame).filter(pl.col("item") == "1")
    by_option = {row["option"]: row for row in options.iter_rows(named=True)}
    assert by_option["A"]["rate"] == pytest.approx(0.5)
    assert by_option["A"]["high_rate"] == 1.0  # the top candidate chose A
    assert by_option["C"]["low_rate"] == 1.0  # the bottom candidate chose C
    assert by_option["A"]["is_key"]
    assert not by_option["C"]["is_key"]


def test_missing_columns() -> None:
    with pytest.raises(FrameError, match="小题得分数据缺少列：score"):
        item_analysis(pl.DataFrame({"candidate_id": [1], "item": ["1"], "full_mark": [1.0]}))
