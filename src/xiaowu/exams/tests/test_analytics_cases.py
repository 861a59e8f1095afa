"""Hand-checked cases for the exam engine: every number below was worked out on paper."""

from __future__ import annotations

import math
import statistics
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from xiaowu.core.rates import Rate
from xiaowu.exams.analytics import TOTAL, CaliberSpec, ExamResult, FrameError, analyze


def make_frame(rows: list[dict[str, Any]], full: dict[str, float]) -> pl.DataFrame:
    """Rows need candidate_id, subject and score; the rest has defaults."""
    records = []
    for row in rows:
        candidate = row["candidate_id"]
        records.append(
            {
                "student_id": 10_000 + candidate,
                "candidate_id": candidate,
                "class_id": row.get("class_id", 1),
                "school_id": row.get("school_id", 10),
                "district_id": row.get("district_id", 100),
                "teacher_id": row.get("teacher_id"),
                "subject": row["subject"],
                "full_mark": full[row["subject"]],
                "score": row["score"],
                "status": row.get("status", ""),
                "is_visiting": row.get("is_visiting", False),
                "gender": "male",
            }
        )
    return pl.DataFrame(
        records,
        schema_overrides={"district_id": pl.Int64, "teacher_id": pl.Int64, "score": pl.Float64},
    )


def one_subject(scores: list[float | None], full: float = 100, **extra: Any) -> pl.DataFrame:
    return make_frame(
        [
            {"candidate_id": i + 1, "subject": "数学", "score": s, **extra}
            for i, s in enumerate(scores)
        ],
        {"数学": full},
    )


def unit(result: ExamResult, level: str, unit_id: int, subject: str = "数学") -> dict[str, Any]:
    rows = result.units.filter(
        (pl.col("level") == level) & (pl.col("unit_id") == unit_id) & (pl.col("subject") == subject)
    )
    assert rows.height == 1
    return rows.row(0, named=True)


def student(result: ExamResult, candidate: int, subject: str = "数学") -> dict[str, Any]:
    rows = result.students.filter(
        (pl.col("candidate_id") == candidate) & (pl.col("subject") == subject)
    )
    assert rows.height == 1
    return rows.row(0, named=True)


# --------------------------------------------------------------------------- ranks


def test_competition_and_dense_ranks() -> None:
    scores = [95, 90, 95, 80, 80, 70, 80]
    result = analyze(one_subject(scores), CaliberSpec.from_config({"ranking": "dense"}))
    competition = {1: 1, 3: 1, 2: 3, 4: 4, 5: 4, 7: 4, 6: 7}
    dense = {1: 1, 3: 1, 2: 2, 4: 3, 5: 3, 7: 3, 6: 4}
    for candidate in competition:
        row = student(result, candidate)
        assert row["rank_class"] == row["rank_school"] == row["rank_exam"] == competition[candidate]
        assert row["dense_rank_class"] == row["dense_rank_exam"] == dense[candidate]
    plain = analyze(one_subject(scores))
    assert "dense_rank_exam" not in plain.students.columns
    assert plain.rank_columns == ("rank_class", "rank_school", "rank_exam")


def test_ranks_per_level_use_the_whole_frame() -> None:
    rows = [
        {"candidate_id": 1, "subject": "数学", "score": 90, "class_id": 1, "school_id": 10},
        {"candidate_id": 2, "subject": "数学", "score": 80, "class_id": 1, "school_id": 10},
        {"candidate_id": 3, "subject": "数学", "score": 85, "class_id": 2, "school_id": 10},
        {"candidate_id": 4, "subject": "数学", "score": 99, "class_id": 3, "school_id": 20},
        {"candidate_id": 5, "subject": "数学", "score": None, "status": "absent", "class_id": 1},
    ]
    result = analyze(make_frame(rows, {"数学": 100}))
    assert [student(result, 2)[k] for k in ("rank_class", "rank_school", "rank_exam")] == [2, 3, 4]
    assert [student(result, 3)[k] for k in ("rank_class", "rank_school", "rank_exam")] == [1, 2, 3]
    absent = student(result, 5)
    assert absent["score"] is None
    assert absent["rank_class"] is None
    assert absent["z"] is None


def test_total_rank_with_tie_break_chain() -> None:
    full = {"语文": 100, "数学": 100}
    scores = {1: (90, 80), 2: (80, 90), 3: (85, 85), 4: (70, 60)}
    rows = [
        {"candidate_id": c, "subject": s, "score": v}
        for c, pair in scores.items()
        for s, v in zip(("语文", "数学"), pair, strict=True)
    ]
    plain = analyze(make_frame(rows, full))
    assert [student(plain, c, TOTAL)["rank_exam"] for c in (1, 2, 3, 4)] == [1, 1, 1, 4]
    chained = analyze(make_frame(rows, full), CaliberSpec.from_config({"tie_break": ["数学"]}))
    assert [student(chained, c, TOTAL)["rank_exam"] for c in (1, 2, 3, 4)] == [3, 1, 2, 4]
    # the percentile rank still sees the three equal totals as one tie
    assert student(chained, 1, TOTAL)["percentile_rank"] == pytest.approx(100 * (1 + 1.5) / 4)
    top = analyze(
        make_frame(rows, full), CaliberSpec.from_config({"tie_break": ["数学"], "top_n": 2})
    )
    assert top.top["candidate_id"].to_list() == [2, 3]


# --------------------------------------------------------------------------- denominators


def test_absent_cheated_zero_and_denominators() -> None:
    rows = [
        {"candidate_id": 1, "subject": "数学", "score": 0},  # a real 0
        {"candidate_id": 2, "subject": "数学", "score": 60},
        {"candidate_id": 3, "subject": "数学", "score": 90},
        {"candidate_id": 4, "subject": "数学", "score": None, "status": "absent"},
        {"candidate_id": 5, "subject": "数学", "score": 100, "status": "cheated"},
        {"candidate_id": 6, "subject": "数学", "score": 80, "is_visiting": True},
    ]
    frame = make_frame(rows, {"数学": 100})
    base = unit(analyze(frame), "class", 1)
    assert (base["expected"], base["sat"]) == (6, 4)
    assert base["sat_rate"] == pytest.approx(4 / 6)
    assert base["mean"] == pytest.approx(57.5)
    assert (base["pass_n"], base["rate_denominator"]) == (3, 4)
    assert base["pass_rate"] == pytest.approx(0.75)
    assert base["low_n"] == 1  # the real 0
    assert base["std"] == pytest.approx(statistics.pstdev([0, 60, 90, 80]))

    zero = unit(analyze(frame, CaliberSpec.from_config({"cheated": "zero"})), "class", 1)
    assert (zero["sat"], zero["mean"], zero["low_n"]) == (5, 46.0, 2)

    expected = unit(
        analyze(frame, CaliberSpec.from_config({"denominator": "expected"})), "class", 1
    )
    assert expected["rate_denominator"] == 6
    assert expected["pass_rate"] == pytest.approx(3 / 6)

    visiting = unit(analyze(frame, CaliberSpec.from_config({"exclude_visiting": True})), "class", 1)
    assert (visiting["expected"], visiting["sat"]) == (5, 3)

    kept = CaliberSpec.from_config({"excluded_statuses": ["exempt"]})
    absent_kept = unit(analyze(frame, kept), "class", 1)
    assert absent_kept["sat"] == 4  # the absent row still has no score


def test_thresholds_are_ratios_of_full_marks() -> None:
    full = {"语文": 150, "数学": 100}
    rows = [
        {"candidate_id": 1, "subject": "语文", "score": 90},  # 90 = 0.6 × 150: passes
        {"candidate_id": 1, "subject": "数学", "score": 59.5},
        {"candidate_id": 2, "subject": "语文", "score": 89.5},
        {"candidate_id": 2, "subject": "数学", "score": 85},
        {"candidate_id": 3, "subject": "语文", "score": 127.5},  # 0.85 × 150 = 127.5
        {"candidate_id": 3, "subject": "数学", "score": 40},  # 40 is not < 0.4 × 100
    ]
    spec = CaliberSpec.from_config(
        {"subject_thresholds": {"语文": {"excellent": 0.85}}, "thresholds": {"low": 0.4}}
    )
    result = analyze(make_frame(rows, full), spec)
    chinese = unit(result, "exam", 0, "语文")
    assert (chinese["pass_n"], chinese["excellent_n"], chinese["low_n"]) == (2, 1, 0)
    maths = unit(result, "exam", 0, "数学")
    assert (maths["pass_n"], maths["excellent_n"], maths["low_n"]) == (1, 1, 0)
    total = unit(result, "exam", 0, TOTAL)
    assert total["full_mark"] == 250
    # totals 149.5, 174.5, 167.5 against 150 (pass) and 200 (excellent) of 250
    assert (total["pass_n"], total["excellent_n"]) == (2, 0)
    assert total["score_rate"] == pytest.approx((149.5 + 174.5 + 167.5) / 3 / 250)


def test_total_absent_rule() -> None:
    full = {"语文": 100, "数学": 100}
    rows = [
        {"candidate_id": 1, "subject": "语文", "score": 80},
        {"candidate_id": 1, "subject": "数学", "score": None, "status": "absent"},
        {"candidate_id": 2, "subject": "语文", "score": 70},
        {"candidate_id": 2, "subject": "数学", "score": 60},
    ]
    excluded = unit(analyze(make_frame(rows, full)), "exam", 0, TOTAL)
    assert (excluded["expected"], excluded["sat"], excluded["mean"]) == (2, 1, 130)
    zero = analyze(make_frame(rows, full), CaliberSpec.from_config({"total_absent": "zero"}))
    assert unit(zero, "exam", 0, TOTAL)["mean"] == 105


def test_statistics_quartiles_and_comparisons() -> None:
    rows = [
        {"candidate_id": i + 1, "subject": "数学", "score": s, "class_id": c}
        for i, (s, c) in enumerate([(10, 1), (20, 1), (30, 1), (40, 1), (50, 2), (100, 2)])
    ]
    result = analyze(make_frame(rows, {"数学": 100}))
    first = unit(result, "class", 1)
    assert (first["max"], first["min"], first["median"]) == (40, 10, 25)
    assert (first["q1"], first["q3"]) == (17.5, 32.5)  # linear interpolation
    assert first["std"] == pytest.approx(math.sqrt(125))
    exam_mean = 250 / 6
    assert first["mean_diff"] == pytest.approx(25 - exam_mean)
    assert first["above_mean_rate"] == pytest.approx((25 - exam_mean) / exam_mean)
    assert first["mean_ratio"] == pytest.approx(25 / exam_mean)
    assert first["small_n"] is True


# --------------------------------------------------------------------------- bands, 一分一段


def test_bands_top_band_closed_and_cumulative_from_top() -> None:
    result = analyze(one_subject([100, 90, 89.5, 0, None], full=100))
    exam = (pl.col("level") == "exam") & (pl.col("subject") == "数学")
    bands = result.bands.filter(exam).sort("band_low", descending=True)
    top = bands.row(0, named=True)
    assert (top["band_low"], top["band_high"], top["closed_high"]) == (90, 100, True)
    assert (top["n"], top["cum_n"], top["pct"]) == (2, 2, 0.5)
    second = bands.row(1, named=True)
    assert (second["band_low"], second["band_high"], second["n"], second["cum_n"]) == (80, 90, 1, 3)
    assert bands.height == 10
    assert bands["n"].sum() == 4
    assert bands.row(9, named=True)["cum_pct"] == 1.0
    narrow = analyze(one_subject([150, 140], full=150), CaliberSpec.from_config({"band_width": 20}))
    edges = narrow.bands.filter(exam)["band_low"].to_list()
    assert edges == [0, 20, 40, 60, 80, 100, 120, 140]  # top band [140, 150]


def test_one_point_table() -> None:
    result = analyze(one_subject([100, 100, 99, 98, 98]))
    table = result.one_point.filter(pl.col("subject") == "数学")
    assert table.select("score", "n", "cum_n", "rank").rows() == [
        (100, 2, 2, 1),
        (99, 1, 3, 3),
        (98, 2, 5, 4),
    ]
    assert table["cum_pct"].to_list() == [0.4, 0.6, 1.0]


# --------------------------------------------------------------------------- joint rates


def joint_frame(
    counts: list[tuple[int, tuple[bool, ...]]], subjects: tuple[str, ...]
) -> pl.DataFrame:
    """``counts``: (number of students, pass flags per subject)."""
    rows = []
    candidate = 0
    for number, flags in counts:
        for _ in range(number):
            candidate += 1
            for subject, passed in zip(subjects, flags, strict=True):
                rows.append(
                    {"candidate_id": candidate, "subject": subject, "score": 75 if passed else 45}
                )
    return make_frame(rows, dict.fromkeys(subjects, 100))


def exam_joint(result: ExamResult, name: str) -> dict[str, Any]:
    rows = result.joint.filter((pl.col("level") == "exam") & (pl.col("set_name") == name))
    return rows.row(0, named=True)


def test_seed_seven_subject_rate_14_of_131() -> None:
    seven = ("语文", "数学", "英语", "物理", "化学", "道德与法治", "历史")
    counts = [
        (14, (True,) * 7),
        (100, (True,) * 6 + (False,)),
        (15, (False,) * 7),
        (2, (False, True, True, True, True, True, True)),
    ]
    spec = CaliberSpec.from_config({"subject_sets": {"七合": "*"}})
    row = exam_joint(analyze(joint_frame(counts, seven), spec), "七合")
    assert (row["passed"], row["eligible"]) == (14, 131)
    assert Rate(row["passed"], row["eligible"]).percent == Decimal("10.69")
    assert row["failed_all"] == 15  # 全科不及格
    assert row["failed_all_rate"] == pytest.approx(15 / 131)


def test_seed_three_and_two_subject_rates() -> None:
    three = ("语文", "数学", "英语")
    counts = [
        (55, (True, True, True)),
        (1, (True, True, False)),  # passes 双合 but not 三合
        (20, (True, False, True)),
        (14, (False, False, False)),
    ]
    spec = CaliberSpec.from_config(
        {"subject_sets": {"双合": ["语文", "数学"], "三合": ["语文", "数学", "英语"]}}
    )
    result = analyze(joint_frame(counts, three), spec)
    triple = exam_joint(result, "三合")
    assert (triple["passed"], triple["eligible"]) == (55, 90)
    assert Rate(55, 90, decimals=1).percent == Decimal("61.1")
    double = exam_joint(result, "双合")
    assert (double["passed"], double["eligible"]) == (56, 90)
    assert Rate(double["passed"], double["eligible"]).percent == Decimal("62.22")
    assert double["subjects"] == "语文+数学"


def test_joint_absent_exclude_or_fail() -> None:
    rows = [
        {"candidate_id": 1, "subject": "语文", "score": 80},
        {"candidate_id": 1, "subject": "数学", "score": 90},
        {"candidate_id": 2, "subject": "语文", "score": 80},
        {"candidate_id": 2, "subject": "数学", "score": None, "status": "absent"},
        {"candidate_id": 3, "subject": "语文", "score": None, "status": "absent"},
        {"candidate_id": 3, "subject": "数学", "score": None, "status": "absent"},
    ]
    frame = make_frame(rows, {"语文": 100, "数学": 100})
    excluded = exam_joint(analyze(frame), "全科")
    assert (excluded["passed"], excluded["eligible"]) == (1, 1)
    failed = exam_joint(analyze(frame, CaliberSpec.from_config({"joint_absent": "fail"})), "全科")
    assert (failed["passed"], failed["eligible"]) == (1, 2)
    expected = CaliberSpec.from_config({"joint_absent": "fail", "denominator": "expected"})
    assert exam_joint(analyze(frame, expected), "全科")["eligible"] == 3


# --------------------------------------------------------------------------- composite families

COMPOSITE_SCORES = {1: [90, 80, 70, 30], 2: [60, 60, 50, 50], 3: [100, 85, 40, 35]}


def composite(config: dict[str, Any]) -> dict[int, tuple[float, int]]:
    rows = [
        {"candidate_id": klass * 10 + i, "subject": "数学", "score": s, "class_id": klass}
        for klass, scores in COMPOSITE_SCORES.items()
        for i, s in enumerate(scores)
    ]
    spec = CaliberSpec.from_config({"composite": config})
    result = analyze(make_frame(rows, {"数学": 100}), spec)
    return {
        klass: (
            unit(result, "class", klass)["composite"],
            unit(result, "class", klass)["composite_rank"],
        )
        for klass in COMPOSITE_SCORES
    }


# class 1: mean 67.5, pass 75 %, excellent 50 %, low 25 %
# class 2: mean 55,   pass 50 %, excellent 0 %,  low 0 %
# class 3: mean 65,   pass 50 %, excellent 50 %, low 25 %
# exam:    mean 62.5, pass 7/12, excellent 4/12, low 2/12


def test_composite_weighted() -> None:
    result = composite(
        {"family": "weighted", "weights": {"mean": 0.4, "pass": 0.3, "excellent": 0.3}}
    )
    assert result == {1: (64.5, 1), 2: (37.0, 3), 3: (56.0, 2)}
    with_low = composite(
        {"family": "weighted", "weights": {"mean": 0.4, "pass": 0.3, "excellent": 0.3, "low": 0.1}}
    )
    assert with_low == {1: (62.0, 1), 2: (37.0, 3), 3: (53.5, 2)}


def test_composite_relative_to_the_best() -> None:
    result = composite(
        {"family": "relative_best", "weights": {"mean": 60, "excellent": 70, "pass": 70}}
    )
    assert result[1] == (200.0, 1)
    assert result[2][0] == pytest.approx(60 * 55 / 67.5 + 70 * 50 / 75, abs=1e-8)
    assert result[3][0] == pytest.approx(60 * 65 / 67.5 + 70 + 70 * 50 / 75, abs=1e-8)
    assert (result[2][1], result[3][1]) == (3, 2)


def test_composite_relative_to_the_mean() -> None:
    result = composite(
        {"family": "relative_mean", "weights": {"mean": 60, "excellent": 70, "pass": 70}}
    )
    assert result[1][0] == pytest.approx(64.8 + 105 + 90)
    assert result[2][0] == pytest.approx(52.8 + 0 + 60)
    assert result[3][0] == pytest.approx(62.4 + 105 + 60)
    assert [result[k][1] for k in (1, 2, 3)] == [1, 3, 2]


def test_composite_rank_points() -> None:
    result = composite({"family": "rank_points", "weights": {"mean": 1, "pass": 1, "excellent": 1}})
    # mean ranks 1/3/2 → 3/1/2 points; pass 75/50/50 → 3/2/2; excellent 50/0/50 → 3/1/3
    assert result == {1: (9.0, 1), 2: (4.0, 3), 3: (7.0, 2)}


def test_composite_standard_score_and_ties() -> None:
    everyone = [s for scores in COMPOSITE_SCORES.values() for s in scores]
    sigma = statistics.pstdev(everyone)
    result = composite({"family": "standard_score"})
    assert result[1][0] == pytest.approx(50 + 10 * (67.5 - 62.5) / sigma, abs=1e-8)
    assert result[2][0] == pytest.approx(50 + 10 * (55 - 62.5) / sigma, abs=1e-8)
    tied = composite({"family": "weighted", "weights": {"excellent": 1}})
    assert tied == {1: (50.0, 1), 2: (0.0, 3), 3: (50.0, 1)}  # competition ranking: 1, 1, 3


# --------------------------------------------------------------------------- lines


LINE_SCORES = {1: (90, 95), 2: (80, 85), 3: (70, 60), 4: (60, 75), 5: (50, 40), 6: (95, 50)}


def line_result(config: dict[str, Any]) -> ExamResult:
    rows = [
        {"candidate_id": c, "subject": s, "score": v, "class_id": 1 if c <= 3 else 2}
        for c, pair in LINE_SCORES.items()
        for s, v in zip(("数学", "语文"), pair, strict=True)
    ]
    spec = CaliberSpec.from_config({"lines": [{"name": "本科", "total": 140}], **config})
    return analyze(make_frame(rows, {"数学": 100, "语文": 100}), spec)


def test_effective_scores_ratio_method() -> None:
    # above the line: totals 185, 165, 145 (mean 165)
    result = line_result({"critical_width": 10, "top_n": 2})
    effective = dict(result.effective.select("subject", "effective_score").iter_rows())
    assert effective == {"数学": 75.0, "语文": 65.0}  # 88.33·140/165 = 74.9; 76.67·140/165 = 65.1
    exam = result.lines.filter(pl.col("level") == "exam").row(0, named=True)
    assert (exam["n"], exam["denominator"], exam["rate"]) == (3, 6, 0.5)
    subjects = result.line_subjects.filter(pl.col("level") == "exam")
    maths = subjects.filter(pl.col("subject") == "数学").row(0, named=True)
    assert (maths["single_n"], maths["double_n"], maths["line_n"]) == (3, 3, 3)
    assert (maths["hit_rate"], maths["contribution_rate"]) == (1.0, 1.0)
    chinese = subjects.filter(pl.col("subject") == "语文").row(0, named=True)
    assert (chinese["single_n"], chinese["double_n"]) == (3, 2)
    assert chinese["hit_rate"] == pytest.approx(2 / 3)
    assert chinese["contribution_rate"] == pytest.approx(2 / 3)
    # 命中率 over the 参考人数 (实考 of the subject): 3/6 and 2/6
    assert (maths["sat"], maths["hit_rate_sat"]) == (6, 0.5)
    assert (chinese["sat"], chinese["hit_rate_sat"]) == (6, pytest.approx(1 / 3))
    critical = result.critical.sort("candidate_id")
    assert critical.select("candidate_id", "total", "gap").rows() == [
        (3, 130.0, 10.0),
        (4, 135.0, 5.0),
    ]
    assert result.top.select("candidate_id", "rank").rows() == [(1, 1), (2, 2)]
    by_class = result.lines.filter(pl.col("level") == "class").sort("unit_id")
    assert by_class.select("unit_id", "n", "denominator").rows() == [(1, 2, 3), (2, 1, 3)]


def test_hit_rate_over_the_subject_sat() -> None:
    """命中率 = 双上线 / 该科参考人数: the 实考 of the subject in the unit, so an absent student
    is not in the base; null when nobody sat the subject in the unit."""
    rows: list[dict[str, Any]] = [
        {"candidate_id": c, "subject": s, "score": v, "class_id": 1 if c <= 3 else 2}
        for c, pair in LINE_SCORES.items()
        for s, v in zip(("数学", "语文"), pair, strict=True)
    ]
    # candidate 7 alone in class 3: absent in 数学, 30 in 语文 (no total, below every line)
    rows += [
        {"candidate_id": 7, "subject": "数学", "score": None, "status": "absent", "class_id": 3},
        {"candidate_id": 7, "subject": "语文", "score": 30, "class_id": 3},
    ]
    spec = CaliberSpec.from_config({"lines": [{"name": "本科", "total": 140}]})
    result = analyze(make_frame(rows, {"数学": 100, "语文": 100}), spec)
    # above 140: candidates 1 (185), 2 (165), 6 (145); 有效分 数学 75, 语文 65 as above
    # 数学 ≥ 75 and above: 1, 2 (class 1), 6 (class 2); 语文 ≥ 65 and above: 1, 2 (class 1)
    table = {
        (r["level"], r["unit_id"], r["subject"]): (r["sat"], r["double_n"], r["hit_rate_sat"])
        for r in result.line_subjects.iter_rows(named=True)
        if r["level"] in ("exam", "class")
    }
    assert table == {
        ("exam", 0, "数学"): (6, 3, 0.5),
        ("exam", 0, "语文"): (7, 2, 2 / 7),
        ("class", 1, "数学"): (3, 2, 2 / 3),
        ("class", 1, "语文"): (3, 2, 2 / 3),
        ("class", 2, "数学"): (3, 1, 1 / 3),
        ("class", 2, "语文"): (3, 0, 0.0),
        ("class", 3, "数学"): (0, 0, None),
        ("class", 3, "语文"): (1, 0, 0.0),
    }
    exam_chinese = result.line_subjects.filter(
        (pl.col("level") == "exam") & (pl.col("subject") == "语文")
    ).row(0, named=True)
    # the two definitions differ: 单上线 语文 ≥ 65 is 1, 2 and 4 (75, total 135 below the line)
    assert exam_chinese["single_n"] == 3
    assert exam_chinese["hit_rate"] == pytest.approx(2 / 3)
    assert exam_chinese["hit_rate_sat"] == pytest.approx(2 / 7)


def test_effective_scores_proportion_method() -> None:
    # 3 of 6 reach the line: the 3rd best 数学 (95 90 80 …) and 语文 (95 85 75 …)
    result = line_result({"effective_score": "proportion"})
    effective = dict(result.effective.select("subject", "effective_score").iter_rows())
    assert effective == {"数学": 80.0, "语文": 75.0}


# --------------------------------------------------------------------------- standard scores


def test_z_t_percentile_and_normalised_scores() -> None:
    result = analyze(one_subject([100, 80, 80, 60]))
    best = student(result, 1)
    assert best["z"] == pytest.approx(20 / math.sqrt(200))
    assert best["t"] == pytest.approx(50 + 10 * 20 / math.sqrt(200))
    assert best["percentile_rank"] == pytest.approx(87.5)  # (3 below + ½·1 equal) / 4
    assert student(result, 2)["percentile_rank"] == pytest.approx(50.0)
    assert student(result, 4)["percentile_rank"] == pytest.approx(12.5)
    normal = statistics.NormalDist().inv_cdf(0.875)
    assert best["normal_score"] == pytest.approx(50 + 10 * normal)
    scaled = analyze(
        one_subject([100, 80, 80, 60]), CaliberSpec.from_config({"standard_score": "500"})
    )
    assert student(scaled, 1)["normal_score"] == pytest.approx(500 + 100 * normal)


def test_subject_balance() -> None:
    full = {"语文": 100, "数学": 100}
    rows = [
        {"candidate_id": c, "subject": s, "score": v}
        for c, pair in {1: (90, 60), 2: (70, 80), 3: (50, 70)}.items()
        for s, v in zip(("语文", "数学"), pair, strict=True)
    ]
    result = analyze(make_frame(rows, full))
    balance = result.balance.filter(pl.col("candidate_id") == 1)
    z_chinese = (90 - 70) / statistics.pstdev([90, 70, 50])
    z_total = (150 - 140) / statistics.pstdev([150, 150, 120])
    chinese = balance.filter(pl.col("subject") == "语文").row(0, named=True)
    assert chinese["balance"] == pytest.approx(z_chinese - z_total)


def test_subject_balance_by_rank_after_the_tie_break() -> None:
    """名次差 = 总分名次 − 学科名次 (competition ranks; positive = the subject ranks better).
    语文/数学: 1 → 90/60 (150), 2 → 70/80 (150), 3 → 50/70 (120), 4 → 40/absent (no total).
    语文 ranks 1, 2, 3, 4; 数学 ranks 3, 1, 2, null. 总分 ranks 1, 1, 3 without a tie-break
    and 2, 1, 3 with 数学 as the tie-break (candidate 2 has the better 数学)."""
    full = {"语文": 100, "数学": 100}
    rows = [
        {"candidate_id": c, "subject": s, "score": v}
        for c, pair in {1: (90, 60), 2: (70, 80), 3: (50, 70)}.items()
        for s, v in zip(("语文", "数学"), pair, strict=True)
    ]
    rows += [
        {"candidate_id": 4, "subject": "语文", "score": 40},
        {"candidate_id": 4, "subject": "数学", "score": None, "status": "absent"},
    ]

    def by_rank(config: dict[str, Any]) -> dict[tuple[int, str], int | None]:
        result = analyze(make_frame(rows, full), CaliberSpec.from_config(config))
        assert result.students.filter(pl.col("subject") == TOTAL)["balance_rank"].null_count() == 4
        return {
            (r["candidate_id"], r["subject"]): r["balance_rank"]
            for r in result.balance.iter_rows(named=True)
        }

    assert by_rank({}) == {
        (1, "语文"): 0,
        (1, "数学"): -2,
        (2, "语文"): -1,
        (2, "数学"): 0,
        (3, "语文"): 0,
        (3, "数学"): 1,
        (4, "语文"): None,  # no 总分 rank
        (4, "数学"): None,  # absent: no 数学 rank
    }
    assert by_rank({"tie_break": ["数学"]}) == {
        (1, "语文"): 1,
        (1, "数学"): -1,
        (2, "语文"): -1,
        (2, "数学"): 0,
        (3, "语文"): 0,
        (3, "数学"): 1,
        (4, "语文"): None,
        (4, "数学"): None,
    }


# --------------------------------------------------------------------------- levels and ids


def test_units_at_every_level_with_parents() -> None:
    rows = [
        {
            "candidate_id": 1,
            "subject": "数学",
            "score": 80,
            "class_id": 1,
            "school_id": 10,
            "district_id": 100,
            "teacher_id": 7,
        },
        {
            "candidate_id": 2,
            "subject": "数学",
            "score": 60,
            "class_id": 2,
            "school_id": 10,
            "district_id": 100,
            "teacher_id": 7,
        },
        {
            "candidate_id": 3,
            "subject": "数学",
            "score": 40,
            "class_id": 3,
            "school_id": 20,
            "district_id": None,
            "teacher_id": None,
        },
    ]
    result = analyze(make_frame(rows, {"数学": 100}))
    levels = result.units.filter(pl.col("subject") == "数学").select(
        "level", "unit_id", "school_id", "district_id", "sat"
    )
    assert sorted(levels.rows(), key=lambda r: (str(r[0]), r[1])) == sorted(
        [
            ("exam", 0, None, None, 3),
            ("district", 100, None, 100, 2),
            ("school", 10, 10, 100, 2),
            ("school", 20, 20, None, 1),
            ("class", 1, 10, 100, 1),
            ("class", 2, 10, 100, 1),
            ("class", 3, 20, None, 1),
            ("teacher", 7, 10, 100, 2),
        ],
        key=lambda r: (str(r[0]), r[1]),
    )
    assert unit(result, "teacher", 7)["mean"] == 70


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop("score"), "成绩数据缺少列：score"),
        (
            lambda f: f.with_columns(pl.lit(120.0).alias("score")),
            "成绩 120.0 不在 0 到满分 100.0 之间",
        ),
        (lambda f: f.with_columns(pl.lit(-1.0).alias("score")), "不在 0 到满分"),
        (lambda f: f.with_columns(pl.lit(60.25).alias("score")), "最多保留一位小数"),
        (lambda f: f.with_columns(pl.lit("late").alias("status")), "状态「late」无法识别"),
        (lambda f: f.with_columns(pl.lit(TOTAL).alias("subject")), "科目名称不能是「总分」"),
        (lambda f: pl.concat([f, f]), "同一科目有多行成绩"),
        (
            lambda f: f.with_columns(
                pl.when(pl.col("candidate_id") == 1).then(150.0).otherwise(100.0).alias("full_mark")
            ),
            "科目「数学」的满分不一致",
        ),
        (
            lambda f: f.with_columns(
                pl.when(pl.col("candidate_id") == 1).then(99).otherwise(10).alias("school_id")
            ),
            "班级 1 出现在不止一所学校中",
        ),
        (
            lambda f: f.with_columns(pl.col("candidate_id").alias("teacher_id")),
            "班级 1 的「数学」有不止一位任课教师",
        ),
        (lambda f: f.with_columns(pl.col("class_id").cast(pl.String)), "列 class_id 应为整数"),
    ],
)
def test_bad_frames_are_refused_in_chinese(change: Any, message: str) -> None:
    frame = one_subject([60, 70, 80])
    with pytest.raises(FrameError, match=message):
        analyze(change(frame))


def test_subject_order_and_warnings() -> None:
    rows = [
        {"candidate_id": 1, "subject": "英语", "score": 80},
        {"candidate_id": 1, "subject": "语文", "score": 60},
    ]
    spec = CaliberSpec.from_config(
        {"subject_sets": {"三合": ["语文", "数学", "英语"]}, "tie_break": ["数学"]}
    )
    result = analyze(
        make_frame(rows, {"英语": 100, "语文": 100}), spec, subject_order=["语文", "数学", "英语"]
    )
    assert result.subjects == ("语文", "英语")
    assert result.units["subject"].dtype == pl.Enum(["语文", "英语", TOTAL])
    assert result.joint.is_empty()
    assert any("三合" in warning for warning in result.warnings)
    assert any("同分比较" in warning for warning in result.warnings)


def test_enum_subject_column_is_accepted() -> None:
    frame = one_subject([60, 70]).with_columns(pl.col("subject").cast(pl.Enum(["物理", "数学"])))
    result = analyze(frame)
    assert result.subjects == ("数学",)
    assert unit(result, "exam", 0)["mean"] == 65
