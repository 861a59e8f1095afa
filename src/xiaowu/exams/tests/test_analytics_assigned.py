"""新高考 等级赋分 (``analytics.assigned``): hand-computed golden cases for 3+1+2 and Shandong
(band edges, ties across a boundary, Y₁ = Y₂, half-up rounding, each boundary mode), a
one-score-per-level case, and properties on a large random population (``analytics.md`` §2.11,
§7 item 4(b))."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from xiaowu.exams.analytics import CaliberSpec, analyze
from xiaowu.exams.analytics.assigned import (
    SCHEMES,
    assign_scores,
    assignment_bands,
    scheme_for,
)
from xiaowu.exams.analytics.caliber import ASSIGNED_SCHEMES, Boundary, EqualBand
from xiaowu.exams.analytics.frame import FrameError


def _frame(scores: list[float], subject: str = "化学") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "candidate_id": list(range(1, len(scores) + 1)),
            "subject": pl.Series([subject] * len(scores), dtype=pl.String),
            "score": pl.Series(scores, dtype=pl.Float64),
        }
    )


def _by_score(out: pl.DataFrame) -> dict[float, tuple[str, int]]:
    """raw score → (band, assigned), asserting that equal raw scores get the same result."""
    pairs = out.select("score", pl.col("band").cast(pl.String), "assigned").unique()
    assert pairs.height == out["score"].n_unique()
    return {row[0]: (row[1], row[2]) for row in pairs.iter_rows()}


# --------------------------------------------------------------------------- schemes


def test_scheme_table() -> None:
    assert tuple(SCHEMES) == ASSIGNED_SCHEMES
    for scheme in SCHEMES.values():
        assert sum(band.percent for band in scheme.bands) == 100, scheme.name
        assert scheme.cumulative[-1] == 100
    gd = SCHEMES["3+1+2"]
    assert [(b.label, b.percent, b.high, b.low) for b in gd.bands] == [
        ("A", 15, 100, 86),
        ("B", 35, 85, 71),
        ("C", 35, 70, 56),
        ("D", 13, 55, 41),
        ("E", 2, 40, 30),
    ]
    sd = SCHEMES["shandong"]
    assert [b.percent for b in sd.bands] == [3, 7, 16, 24, 24, 16, 7, 3]
    assert [(b.high, b.low) for b in sd.bands] == [(100 - 10 * i, 91 - 10 * i) for i in range(8)]
    assert sd.labels == ["A", "B+", "B", "C+", "C", "D+", "D", "E"]
    for name in ("zhejiang", "beijing", "tianjin"):
        bands = SCHEMES[name].bands
        assert len(bands) == 21
        assert [(b.high, b.low) for b in bands] == [(100 - 3 * i, 100 - 3 * i) for i in range(21)]
    assert [b.percent for b in SCHEMES["zhejiang"].bands] == [
        1, 2, 3, 4, 5, 6, 7, 8, 7, 7, 7, 7, 7, 7, 6, 5, 4, 3, 2, 1, 1
    ]  # fmt: skip
    assert [b.percent for b in SCHEMES["beijing"].bands] == [
        1, 2, 3, 4, 5, 7, 8, 9, 8, 8, 7, 6, 6, 6, 5, 4, 4, 3, 2, 1, 1
    ]  # fmt: skip
    assert [b.percent for b in SCHEMES["tianjin"].bands] == [
        2, 3, 4, 5, 6, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 5, 4, 3, 1, 1, 1
    ]  # fmt: skip
    shanghai = SCHEMES["shanghai"].bands
    assert [b.percent for b in shanghai] == [5, *[10] * 9, 5]
    assert [b.high for b in shanghai] == list(range(70, 39, -3))


# --------------------------------------------------------------------------- 3+1+2

# 20 distinct scores; A, B, C hit 15 / 50 / 85 % exactly; 98 % falls between 30 (95 %) and 20.
DISTINCT = [100, 95, 90, 88, 85, 80, 78, 75, 72, 70, 68, 65, 60, 58, 55, 50, 45, 40, 30, 20]
DISTINCT_COMMON = {
    100: ("A", 100), 95: ("A", 93), 90: ("A", 86),
    88: ("B", 85), 85: ("B", 83), 80: ("B", 79), 78: ("B", 77), 75: ("B", 75), 72: ("B", 73),
    70: ("B", 71),
    68: ("C", 70), 65: ("C", 68), 60: ("C", 65), 58: ("C", 64), 55: ("C", 62), 50: ("C", 59),
    45: ("C", 56),
}  # fmt: skip


@pytest.mark.parametrize(
    ("boundary", "equal_band", "tail"),
    [
        # near: |95 − 98| > |100 − 98| → cut at 20, D = {40, 30, 20} and E is empty
        ("near", "top", {40: ("D", 55), 30: ("D", 48), 20: ("D", 41)}),
        ("upper", "top", {40: ("D", 55), 30: ("D", 48), 20: ("D", 41)}),
        # lower: D = {40, 30}; E = {20} alone, Y₁ = Y₂ → T₂ = 40 or the midpoint 35
        ("lower", "top", {40: ("D", 55), 30: ("D", 41), 20: ("E", 40)}),
        ("lower", "mid", {40: ("D", 55), 30: ("D", 41), 20: ("E", 35)}),
    ],
)
def test_312_band_edges(
    boundary: Boundary, equal_band: EqualBand, tail: dict[int, tuple[str, int]]
) -> None:
    out = assign_scores(_frame(DISTINCT), "3+1+2", boundary=boundary, equal_band=equal_band)
    assert _by_score(out) == DISTINCT_COMMON | tail


# A target of 15 % = 3 candidates falls inside the tie at 90 (cum 10 % at 95, 25 % at 90);
# B (50 %) and C (85 %) are hit exactly at 77 and 70; 98 % lies between 50 (95 %) and 40.
TIES = [100, 95, 90, 90, 90, 85, 80, 79, 78, 77, 76, 75, 74, 73, 72, 71, 70, 60, 50, 40]
TIES_C = {76: ("C", 70), 75: ("C", 68), 74: ("C", 65), 73: ("C", 63), 72: ("C", 61),
          71: ("C", 58), 70: ("C", 56)}  # fmt: skip


@pytest.mark.parametrize(
    ("boundary", "expected"),
    [
        (
            # near: 10 % is nearer 15 % than 25 %, so A = {100, 95} and the tie opens B
            "near",
            {100: ("A", 100), 95: ("A", 86), 90: ("B", 85), 85: ("B", 80), 80: ("B", 74),
             79: ("B", 73), 78: ("B", 72), 77: ("B", 71),
             60: ("D", 55), 50: ("D", 48), 40: ("D", 41)},
        ),
        (
            # upper: the tie goes into A (25 %); in B 79 → 71 + 14·2/8 = 74.5 → 75 (half up)
            "upper",
            {100: ("A", 100), 95: ("A", 93), 90: ("A", 86), 85: ("B", 85), 80: ("B", 76),
             79: ("B", 75), 78: ("B", 73), 77: ("B", 71),
             60: ("D", 55), 50: ("D", 48), 40: ("D", 41)},
        ),
        (
            "lower",
            {100: ("A", 100), 95: ("A", 86), 90: ("B", 85), 85: ("B", 80), 80: ("B", 74),
             79: ("B", 73), 78: ("B", 72), 77: ("B", 71),
             60: ("D", 55), 50: ("D", 41), 40: ("E", 40)},
        ),
    ],
)  # fmt: skip
def test_312_ties_across_a_boundary(
    boundary: Boundary, expected: dict[int, tuple[str, int]]
) -> None:
    out = assign_scores(_frame(TIES), "3+1+2", boundary=boundary)
    assert _by_score(out) == expected | TIES_C


def test_312_exact_tenths_round_half_up() -> None:
    # B = {70.4 … 70.0}: 70.3 → 71 + 14·0.3/0.4 = 81.5 → 82 and 70.1 → 74.5 → 75; binary
    # floats give 10.4999… and 3.4999… there and would round down.
    scores = [99, 98, 97, 70.4, 70.3, 70.3, 70.2, 70.1, 70.0, 70.0,
              60, 59, 58, 57, 56, 55, 54, 40, 30, 20]  # fmt: skip
    got = _by_score(assign_scores(_frame(scores), "3+1+2"))
    assert {score: got[score] for score in (70.4, 70.3, 70.2, 70.1, 70.0)} == {
        70.4: ("B", 85),
        70.3: ("B", 82),
        70.2: ("B", 78),
        70.1: ("B", 75),
        70.0: ("B", 71),
    }
    assert got[98] == ("A", 93)  # 86 + 14·1/2 = 93


# --------------------------------------------------------------------------- Shandong

SHANDONG_COUNTS = [(98, 1), (96, 1), (95, 2), (90, 6), (85, 8), (84, 8), (80, 10), (75, 10),
                   (70, 6), (65, 10), (60, 10), (58, 4), (50, 10), (45, 3), (44, 3), (40, 5),
                   (30, 2), (10, 1)]  # fmt: skip
SHANDONG_E = {30: ("E", 30), 10: ("E", 21)}


@pytest.mark.parametrize(
    ("boundary", "equal_band", "expected"),
    [
        (
            # 3 % between 2 % (96) and 4 % (95): a tie of distances → the upper cut 95;
            # B+ = {90} alone (Y₁ = Y₂ → 90); 75 → 61 + 9·5/10 = 65.5 → 66; 90 % nearer 89 %
            "near",
            "top",
            {98: ("A", 100), 96: ("A", 94), 95: ("A", 91), 90: ("B+", 90), 85: ("B", 80),
             84: ("B", 71), 80: ("C+", 70), 75: ("C+", 66), 70: ("C+", 61), 65: ("C", 60),
             60: ("C", 54), 58: ("C", 51), 50: ("D+", 50), 45: ("D+", 41), 44: ("D", 40),
             40: ("D", 31)},
        ),
        (
            "near",
            "mid",  # B+ = {90} → (81 + 90)/2 = 85.5 → 86
            {98: ("A", 100), 96: ("A", 94), 95: ("A", 91), 90: ("B+", 86), 85: ("B", 80),
             84: ("B", 71), 80: ("C+", 70), 75: ("C+", 66), 70: ("C+", 61), 65: ("C", 60),
             60: ("C", 54), 58: ("C", 51), 50: ("D+", 50), 45: ("D+", 41), 44: ("D", 40),
             40: ("D", 31)},
        ),
        (
            # D+ takes 44 (92 %); 45 → 41 + 9·1/6 = 42.5 → 43; D = {40} alone → 40
            "upper",
            "top",
            {98: ("A", 100), 96: ("A", 94), 95: ("A", 91), 90: ("B+", 90), 85: ("B", 80),
             84: ("B", 71), 80: ("C+", 70), 75: ("C+", 66), 70: ("C+", 61), 65: ("C", 60),
             60: ("C", 54), 58: ("C", 51), 50: ("D+", 50), 45: ("D+", 43), 44: ("D+", 41),
             40: ("D", 40)},
        ),
        (
            # every cut at or above its target: A = {98, 96}, C+ ends at 75 (46 %), …
            "lower",
            "top",
            {98: ("A", 100), 96: ("A", 91), 95: ("B+", 90), 90: ("B+", 81), 85: ("B", 80),
             84: ("B", 71), 80: ("C+", 70), 75: ("C+", 61), 70: ("C", 60), 65: ("C", 56),
             60: ("C", 51), 58: ("D+", 50), 50: ("D+", 44), 45: ("D+", 41), 44: ("D", 40),
             40: ("D", 31)},
        ),
    ],
)  # fmt: skip
def test_shandong(
    boundary: Boundary, equal_band: EqualBand, expected: dict[int, tuple[str, int]]
) -> None:
    scores = [float(score) for score, count in SHANDONG_COUNTS for _ in range(count)]
    assert len(scores) == 100
    out = assign_scores(_frame(scores), "shandong", boundary=boundary, equal_band=equal_band)
    assert _by_score(out) == expected | SHANDONG_E


def test_shandong_band_table() -> None:
    scores = [float(score) for score, count in SHANDONG_COUNTS for _ in range(count)]
    table = assignment_bands(_frame(scores), "shandong", boundary="lower")
    assert table.select(
        pl.col("band").cast(pl.String), "n", "cum_n", "raw_high", "raw_low", "assigned_high"
    ).rows() == [
        ("A", 2, 2, 98.0, 96.0, 100),
        ("B+", 8, 10, 95.0, 90.0, 90),
        ("B", 16, 26, 85.0, 84.0, 80),
        ("C+", 20, 46, 80.0, 75.0, 70),
        ("C", 26, 72, 70.0, 60.0, 60),
        ("D+", 17, 89, 58.0, 45.0, 50),
        ("D", 8, 97, 44.0, 40.0, 40),
        ("E", 3, 100, 30.0, 10.0, 30),
    ]
    # an empty band (3+1+2 E under "near") is listed with no raw range
    empty = assignment_bands(_frame(DISTINCT), "3+1+2").row(4, named=True)
    assert (empty["band"], empty["n"], empty["cum_n"], empty["raw_high"]) == ("E", 0, 20, None)


# --------------------------------------------------------------------------- one score per level


def test_shanghai_one_score_per_level() -> None:
    # 20 distinct scores: every cumulative target (5, 15, …, 95, 100 %) is hit exactly
    out = assign_scores(_frame([float(score) for score in range(20, 0, -1)]), "shanghai")
    ranked = out.sort("score", descending=True)
    assert ranked["band"].cast(pl.String).to_list() == [
        "A+", "A", "A", "A-", "A-", "B+", "B+", "B", "B", "B-", "B-",
        "C+", "C+", "C", "C", "C-", "C-", "D", "D", "E",
    ]  # fmt: skip
    assert ranked["assigned"].to_list() == [
        70, 67, 67, 64, 64, 61, 61, 58, 58, 55, 55, 52, 52, 49, 49, 46, 46, 43, 43, 40
    ]  # fmt: skip


def test_zhejiang_level_scores_are_the_table() -> None:
    scores = [float(x) for x in range(1000)]
    out = assign_scores(_frame(scores), "zhejiang").sort("score", descending=True)
    counts = out.group_by("assigned").len().sort("assigned", descending=True)
    assert counts["assigned"].to_list() == list(range(100, 39, -3))
    assert counts["len"].to_list() == [10 * b.percent for b in SCHEMES["zhejiang"].bands]


# --------------------------------------------------------------------------- contract


def test_subjects_are_independent_and_rows_keep_their_order() -> None:
    chem = _frame(TIES, "化学")
    bio = _frame([s / 2 for s in DISTINCT], "生物").with_columns(pl.col("candidate_id") + 100)
    mixed = pl.concat([chem, bio]).sample(fraction=1.0, shuffle=True, seed=3)
    mixed = mixed.with_columns(pl.lit("x").alias("extra"))
    out = assign_scores(mixed, "3+1+2")
    assert out.columns == ["candidate_id", "subject", "score", "extra", "band", "band_index",
                           "assigned"]  # fmt: skip
    assert out.select("candidate_id", "subject", "score").equals(
        mixed.select("candidate_id", "subject", "score")
    )
    for alone in (chem, bio):
        expected = assign_scores(alone, "3+1+2").select("candidate_id", "assigned")
        got = out.join(alone.select("candidate_id"), on="candidate_id").select(
            "candidate_id", "assigned"
        )
        assert got.sort("candidate_id").equals(expected.sort("candidate_id"))
    assert out["band_index"].to_list() == [
        SCHEMES["3+1+2"].labels.index(label) for label in out["band"].cast(pl.String)
    ]


def test_empty_frame() -> None:
    out = assign_scores(_frame([]), "shandong")
    assert out.height == 0
    assert {"band", "band_index", "assigned"} <= set(out.columns)
    assert assignment_bands(_frame([]), "shandong").height == 0


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (_frame([90.0, None]), "第 2 行的分数"),  # type: ignore[list-item]
        (_frame([90.0, 80.25]), "至多一位小数"),
        (_frame([90.0, 80.0]).drop("subject"), "缺少列：subject"),
        (
            pl.DataFrame({"candidate_id": [1, 1], "subject": ["化学"] * 2, "score": [1.0, 2.0]}),
            "同一考生同一科目有多行",
        ),
    ],
)
def test_bad_frames(frame: pl.DataFrame, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        assign_scores(frame, "3+1+2")


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="未知的赋分方案"):
        scheme_for("hainan")
    with pytest.raises(ValueError, match="boundary"):
        assign_scores(_frame([1.0]), "3+1+2", boundary="middle")
    with pytest.raises(ValueError, match="equal_band"):
        assign_scores(_frame([1.0]), "3+1+2", equal_band="low")


# --------------------------------------------------------------------------- properties


@pytest.mark.parametrize("scheme", ["3+1+2", "shandong", "beijing"])
@pytest.mark.parametrize("boundary", ["near", "upper", "lower"])
def test_large_population_properties(scheme: str, boundary: Boundary) -> None:
    rng = np.random.default_rng(20240611)
    n = 40_000
    frames = []
    for index, subject in enumerate(("化学", "生物")):
        raw = np.clip(np.round(rng.normal(60 + 8 * index, 15, n), 1), 0, 100)
        frames.append(
            pl.DataFrame({"candidate_id": np.arange(n), "subject": subject, "score": raw})
        )
    scores = pl.concat(frames)
    out = assign_scores(scores, scheme, boundary=boundary)
    chosen = SCHEMES[scheme]
    for subject, part in out.partition_by("subject", as_dict=True).items():
        ranked = part.sort("score", descending=True)
        # monotone: higher raw → assigned ≥ and band index ≤; same raw → same result
        assert (ranked["assigned"].diff().drop_nulls() <= 0).all(), subject
        assert (ranked["band_index"].diff().drop_nulls() >= 0).all(), subject
        per_score = ranked.group_by("score").agg(
            pl.col("assigned").n_unique(), pl.col("band_index").n_unique()
        )
        assert per_score["assigned"].max() == 1
        assert per_score["band_index"].max() == 1
        # assigned scores stay inside the band's range
        bounds = pl.DataFrame(
            {
                "band_index": np.arange(len(chosen.bands), dtype=np.int32),
                "high": [b.high for b in chosen.bands],
                "low": [b.low for b in chosen.bands],
            }
        )
        joined = ranked.join(bounds, on="band_index")
        assert joined.filter(
            (pl.col("assigned") > pl.col("high")) | (pl.col("assigned") < pl.col("low"))
        ).is_empty()
        # cumulative shares are within one score's share of the targets (half of it for near)
        largest = float(np.unique(ranked["score"].to_numpy(), return_counts=True)[1].max()) / n
        shares = ranked.group_by("band_index").len().sort("band_index")
        cumulative = dict(
            zip(shares["band_index"].to_list(), (shares["len"].cum_sum() / n).to_list(),
                strict=True)
        )  # fmt: skip
        for k, target in enumerate(chosen.cumulative[:-1]):
            if k not in cumulative:
                continue
            got, goal = cumulative[k], target / 100
            if boundary == "upper":
                assert goal <= got + 1e-12 < goal + largest + 1e-12
            elif boundary == "lower":
                assert goal - largest - 1e-12 < got <= goal + 1e-12
            else:
                assert abs(got - goal) <= largest / 2 + 1e-12
        # the top and bottom of a linear band reach its ends
        if chosen.name != "beijing":
            top = ranked.row(0, named=True)
            assert (top["band_index"], top["assigned"]) == (0, chosen.bands[0].high)
            assert ranked["assigned"].min() == chosen.bands[-1].low


# --------------------------------------------------------------------------- in analyze()


def _exam_frame() -> pl.DataFrame:
    """Ten candidates in two classes of two schools; 化学 with an absence, a 作弊 and ties."""
    chemistry = [98.0, 91.0, 91.0, 80.5, 77.0, 70.0, None, 64.0, 52.0, 40.0]
    status = ["", "", "", "", "", "", "absent", "", "cheated", ""]
    rows = []
    for index, score in enumerate(chemistry):
        candidate = index + 1
        base = {
            "student_id": 100 + candidate,
            "candidate_id": candidate,
            "class_id": 11 if candidate <= 5 else 21,
            "school_id": 1 if candidate <= 5 else 2,
        }
        rows.append(base | {"subject": "语文", "full_mark": 150.0, "score": 90.0, "status": ""})
        rows.append(
            base | {"subject": "化学", "full_mark": 100.0, "score": score, "status": status[index]}
        )
    return pl.DataFrame(rows)


def test_analyze_scales_the_configured_subjects_on_the_whole_exam() -> None:
    frame = _exam_frame()
    spec = CaliberSpec.from_config(
        {"assigned_scores": {"scheme": "3+1+2", "subjects": ["化学", "生物"]}}
    )
    result = analyze(frame, spec)
    assert result.warnings == ("口径的赋分科目中「生物」不在本次考试中，已忽略",)
    table = result.assigned.sort("candidate_id")
    # 实考 only: the absent (7) and the cheated (9, excluded by the default 口径) are left out
    assert table["candidate_id"].to_list() == [1, 2, 3, 4, 5, 6, 8, 10]
    assert set(table["subject"]) == {"化学"}
    assert table["class_id"].to_list() == [11] * 5 + [21] * 3
    # the same as scaling the 8 valid scores directly
    valid = frame.filter((pl.col("subject") == "化学") & (pl.col("status") == ""))
    direct = assign_scores(valid.select("candidate_id", "subject", "score"), "3+1+2")
    assert table["assigned"].to_list() == direct.sort("candidate_id")["assigned"].to_list()
    assert table.filter(pl.col("candidate_id").is_in([2, 3]))["assigned"].n_unique() == 1
    bands = result.assigned_bands
    assert bands["n"].sum() == 8
    assert bands["band"].cast(pl.String).to_list() == ["A", "B", "C", "D", "E"]


def test_analyze_without_assigned_scores_has_empty_tables() -> None:
    result = analyze(_exam_frame())
    assert result.assigned.is_empty()
    assert result.assigned_bands.is_empty()
    assert {"candidate_id", "subject", "assigned"} <= set(result.assigned.columns)
