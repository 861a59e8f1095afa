"""新高考 等级赋分 (模拟赋分): grade bands and the within-band linear transform (``analytics.md``
§2.11). Pure and columnar: ``assign_scores`` takes one row per (candidate, subject, raw score) of
the valid candidates (实考) of the reference population — the whole 联考, never a single class —
and returns the same rows with the band and the assigned score.

Algorithm, per subject independently:

1. Rank the candidates by raw score, descending. The 转换基数 N is the number of rows of the
   subject (实考 candidates with a valid score) [web: 转换基数为实际参加该科目选择考取得有效成绩的
   考生数, m.dangshu.com/html/195/195313.html; www.fudaoke.com/exam/3264352.html].
2. Cut the 一分一段表 into bands by cumulative proportion: with cum(s) = #{x ≥ s} / N for every
   raw score s reached and P_k = the scheme's cumulative share of bands 1..k, band k ends at a
   cut score c_k, and holds the scores c_k ≤ s < c_{k−1}. A cut always falls between two
   distinct scores, so equal raw scores are always in the same band. The last cut is the lowest
   score (P = 100%), so every candidate gets a band. ``boundary`` chooses c_k — the three
   approximations of pyexam/stm (``pyex_stm.py``, ``PltScore.get_seg_from_map_table``, which
   scans the table from the top for the first score whose cumulative % reaches the target):
   - ``"upper"`` (pyexam ``upper_min``): the highest score with cum(s) ≥ P_k — the first score
     that reaches the target; bands 1..k hold at least P_k of the candidates;
   - ``"lower"`` (pyexam ``lower_max``): the lowest score with cum(s) ≤ P_k — the score just
     above the one that passes the target (the same score when it hits P_k exactly); bands 1..k
     hold at most P_k. If the top score alone holds more than P_k, bands 1..k are empty;
   - ``"near"`` (default; pyexam ``near``): of those two candidates the one whose cum(s) is
     nearest P_k; on an exact tie the ``"upper"`` one (pyexam takes the current, i.e. the
     larger, row). When the top score alone passes P_k it is the only candidate.
   Targets are the scheme's absolute cumulative shares (pyexam ``mode_ratio_cumu='no'``), the
   provincial rule "前 15% 为 A 等、前 50% 为 A、B 等 …". All comparisons are exact integer
   comparisons of 100·#{x ≥ s} with percent·N.
3. Within band k, whose raw scores run from Y₁ (the lowest raw score in the band) to Y₂ (the
   highest), T = T₁ + (T₂ − T₁)·(Y − Y₁)/(Y₂ − Y₁), where [T₁, T₂] is the band's assigned range
   (等比例转换, (Y₂ − Y)/(Y − Y₁) = (T₂ − T)/(T − T₁)). T is rounded half up to an integer
   ("转换分均保留整数，在小数点后一位进行四舍五入" [web: Chongqing Q&A,
   http://198.44.248.91:8089/q/2021nzqsptgxzstyksjlqsmszhfxzkzxkmcjsrhzhd_6454]; rounding the
   exact value half up is the same as deciding on its first decimal). The arithmetic is exact:
   raw scores are integers in tenths of a point and T is one integer division per row.
4. A band whose raw scores are all equal (Y₁ = Y₂) gets T₂ (``equal_band="top"``; pyexam
   ``get_plt_score_from_formula3``: "x1 == x2 then return max(y1, y2)") or the midpoint
   (T₁ + T₂)/2 rounded half up (``equal_band="mid"``). Province-specific, so configurable.

Schemes (``SCHEMES``):

- ``"3+1+2"`` (Guangdong, Jiangsu, Hebei, Liaoning, Fujian, Hubei, Hunan, Chongqing …, the 再选
  科目 化学/生物/政治/地理): A/B/C/D/E = 15/35/35/13/2 %, ranges 100–86, 85–71, 70–56, 55–41,
  40–30 [web: the pages above; pyexam/stm ``CONST_M7_RATIO``/``CONST_M7_SEGMENT``];
- ``"shandong"``: A, B+, B, C+, C, D+, D, E = 3/7/16/24/24/16/7/3 %, ranges 100–91 … 30–21
  [code: pyexam/stm ``CONST_SHANDONG_RATIO``, ``CONST_SHANDONG_SEGMENT``];
- one score per level, no interpolation [code: pyexam/stm ``CONST_ZHEJIANG_RATIO``,
  ``CONST_BEIJING_RATIO``, ``CONST_TIANJIN_RATIO``, ``CONST_SHANGHAI_RATIO`` and the
  ``(100 − 3i, 100 − 3i)`` segments]: ``"zhejiang"``, ``"beijing"``, ``"tianjin"`` (21 levels,
  100 … 40 step 3) and ``"shanghai"`` (11 levels, 70 … 40 step 3). A secondary source: verify
  against the provincial 考试院 rules before shipping. Level labels are display conventions
  (1–21 for Zhejiang, A1–A5 … D1–D5, E for Beijing/Tianjin, A+ … E for Shanghai).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate
from typing import Final

import numpy as np
import polars as pl

from xiaowu.exams.analytics.caliber import (
    BOUNDARIES,
    EQUAL_BANDS,
    Boundary,
    CaliberSpec,
    EqualBand,
)
from xiaowu.exams.analytics.frame import SCALE, FrameError, IntArray, Prepared

COLUMNS: Final = ("candidate_id", "subject", "score")
_BIAS: Final = 1 << 31  # key = subject << 32 | (_BIAS − tenths): ascending key = score descending


@dataclass(frozen=True)
class Band:
    """One grade band: its label, its share of the 实考 candidates in percent, and its assigned
    range [low, high] (T₁, T₂; equal for one-score-per-level schemes)."""

    label: str
    percent: int
    high: int
    low: int


@dataclass(frozen=True)
class Scheme:
    name: str
    title: str
    bands: tuple[Band, ...]  # from the top band down

    def __post_init__(self) -> None:
        if sum(band.percent for band in self.bands) != 100:
            raise ValueError(f"赋分方案 {self.name} 的各等级比例之和不是 100%")
        if any(band.low > band.high for band in self.bands):
            raise ValueError(f"赋分方案 {self.name} 的赋分区间上下限颠倒")

    @property
    def labels(self) -> list[str]:
        return [band.label for band in self.bands]

    @property
    def cumulative(self) -> list[int]:
        """Cumulative share of bands 1..k in percent (the last is 100)."""
        return list(accumulate(band.percent for band in self.bands))


def _linear(
    name: str, title: str, labels: str, percents: tuple[int, ...], ranges: tuple[int, ...]
) -> Scheme:
    """Bands of assigned ranges [ranges[k + 1] + 1, ranges[k]] (the last: [ranges[-1], …])."""
    highs = ranges[:-1]
    lows = (*(value + 1 for value in ranges[1:-1]), ranges[-1])
    return Scheme(
        name,
        title,
        tuple(
            Band(label, percent, high, low)
            for label, percent, high, low in zip(labels.split(), percents, highs, lows, strict=True)
        ),
    )


def _levels(
    name: str, title: str, labels: list[str], percents: tuple[int, ...], top: int
) -> Scheme:
    """One assigned score per level: top, top − 3, top − 6, …"""
    return Scheme(
        name,
        title,
        tuple(
            Band(label, percent, top - 3 * index, top - 3 * index)
            for index, (label, percent) in enumerate(zip(labels, percents, strict=True))
        ),
    )


_LETTERS_21: Final = [f"{letter}{number}" for letter in "ABCD" for number in range(1, 6)] + ["E"]

SCHEMES: Final[dict[str, Scheme]] = {
    scheme.name: scheme
    for scheme in (
        # 100–86, 85–71, 70–56, 55–41, 40–30
        _linear(
            "3+1+2",
            "3+1+2 再选科目（A/B/C/D/E）",
            "A B C D E",
            (15, 35, 35, 13, 2),
            (100, 85, 70, 55, 40, 30),
        ),
        # 100–91, 90–81, …, 30–21
        _linear(
            "shandong",
            "山东（8 等级）",
            "A B+ B C+ C D+ D E",
            (3, 7, 16, 24, 24, 16, 7, 3),
            (100, 90, 80, 70, 60, 50, 40, 30, 21),
        ),
        _levels(
            "zhejiang",
            "浙江（21 级，一级一分）",
            [str(n) for n in range(1, 22)],
            (1, 2, 3, 4, 5, 6, 7, 8, 7, 7, 7, 7, 7, 7, 6, 5, 4, 3, 2, 1, 1),
            100,
        ),
        _levels(
            "beijing",
            "北京（21 级，一级一分）",
            _LETTERS_21,
            (1, 2, 3, 4, 5, 7, 8, 9, 8, 8, 7, 6, 6, 6, 5, 4, 4, 3, 2, 1, 1),
            100,
        ),
        _levels(
            "tianjin",
            "天津（21 级，一级一分）",
            _LETTERS_21,
            (2, 3, 4, 5, 6, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 5, 4, 3, 1, 1, 1),
            100,
        ),
        _levels(
            "shanghai",
            "上海（11 级，一级一分）",
            ["A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D", "E"],
            (5, 10, 10, 10, 10, 10, 10, 10, 10, 10, 5),
            70,
        ),
    )
}  # the keys are ``caliber.ASSIGNED_SCHEMES``, which the 口径 validates against


def scheme_for(scheme: str | Scheme) -> Scheme:
    if isinstance(scheme, Scheme):
        return scheme
    if scheme not in SCHEMES:
        raise ValueError(f"未知的赋分方案「{scheme}」（可用 {'/'.join(SCHEMES)}）")
    return SCHEMES[scheme]


# --------------------------------------------------------------------------- cuts


def band_cuts(
    at_least: IntArray, total: int, cumulative: list[int], boundary: Boundary
) -> IntArray:
    """For one subject: ``at_least[i]`` = #{x ≥ s_i} for its distinct raw scores s_0 > s_1 > …;
    returns, per band k, the index of its cut score c_k (the lowest score of bands 1..k), −1 if
    bands 1..k are empty. Non-decreasing, last = the lowest score. Exact integer comparisons."""
    reached = 100 * at_least  # 100·#{x ≥ s}, compared with percent·N
    target = np.asarray(cumulative, dtype=np.int64) * total
    upper = np.searchsorted(reached, target, side="left")  # first score with cum ≥ P
    if boundary == "upper":
        return upper.astype(np.int64)
    lower = np.searchsorted(reached, target, side="right") - 1  # last score with cum ≤ P
    if boundary == "lower":
        return lower.astype(np.int64)
    above = reached[upper] - target  # ≥ 0; 0 when the target is hit exactly (lower = upper)
    below = target - reached[np.maximum(lower, 0)]
    take_lower = (lower >= 0) & (below < above)
    return np.where(take_lower, lower, upper).astype(np.int64)


def _round_half_up(numerator: IntArray, denominator: IntArray) -> IntArray:
    """⌊n/d + 1/2⌋ for n ≥ 0, d > 0, in integers."""
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True)
class _Plan:
    """Per distinct (subject, raw score): band and assigned score; per (subject, band): the
    cut table. ``inverse`` maps each input row to its distinct (subject, score)."""

    inverse: IntArray
    band: IntArray
    assigned: IntArray
    table: pl.DataFrame


def _tenths(scores: pl.DataFrame) -> IntArray:
    missing = [column for column in COLUMNS if column not in scores.columns]
    if missing:
        raise FrameError(f"赋分数据缺少列：{'、'.join(missing)}")
    score = scores.get_column("score")
    if not score.dtype.is_numeric():
        raise FrameError("赋分数据的 score 列应为数值")
    scaled = score.cast(pl.Float64) * SCALE
    rounded = scaled.round()
    bad = scaled.is_null() | scaled.is_nan() | ((rounded - scaled).abs() > 1e-6)
    if bad.any():
        row = int(bad.arg_max() or 0)
        raise FrameError(
            f"赋分数据第 {row + 1} 行的分数“{score[row]}”无效（只接受实考成绩，至多一位小数）"
        )
    tenths: IntArray = rounded.cast(pl.Int64).to_numpy()
    if tenths.size and (tenths.min() <= -_BIAS or tenths.max() >= _BIAS):
        raise FrameError("赋分数据的分数超出范围")
    return tenths


def _plan(scores: pl.DataFrame, scheme: Scheme, boundary: Boundary, equal_band: EqualBand) -> _Plan:
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary 应为 {'/'.join(BOUNDARIES)} 之一")
    if equal_band not in EQUAL_BANDS:
        raise ValueError(f"equal_band 应为 {'/'.join(EQUAL_BANDS)} 之一")
    tenths = _tenths(scores)
    subject = scores.get_column("subject").cast(pl.String)
    if subject.is_null().any():
        raise FrameError("赋分数据的 subject 列有空值")
    names = subject.unique(maintain_order=True).to_list()
    sizes = scores.group_by("subject").agg(pl.col("candidate_id").n_unique(), pl.len())
    if sizes.filter(pl.col("candidate_id") != pl.col("len")).height:
        raise FrameError("赋分数据中同一考生同一科目有多行")
    codes = subject.cast(pl.Enum(names)).to_physical().cast(pl.Int64).to_numpy()
    unique_subject, unique_score, counts, inverse = _distinct(codes, tenths, len(names))
    starts = np.searchsorted(unique_subject, np.arange(len(names) + 1))
    band = np.empty(counts.size, dtype=np.int64)
    assigned = np.empty(counts.size, dtype=np.int64)
    highs = np.array([b.high for b in scheme.bands], dtype=np.int64)
    lows = np.array([b.low for b in scheme.bands], dtype=np.int64)
    width = len(scheme.bands)
    table: dict[str, list[IntArray]] = {
        key: [] for key in ("n", "cum_n", "total", "y_low", "y_high", "cut")
    }
    for code in range(len(names)):
        first, stop = int(starts[code]), int(starts[code + 1])
        score = unique_score[first:stop]
        at_least = np.cumsum(counts[first:stop])
        total = int(at_least[-1])
        cuts = band_cuts(at_least, total, scheme.cumulative, boundary)
        previous = np.concatenate([[-1], cuts[:-1]])
        # band of each distinct score: the first band whose cut is at or below it
        sub_band = np.searchsorted(cuts, np.arange(score.size), side="left")
        y_low = score[cuts]  # Y₁ = the cut score (meaningless for an empty band)
        y_high = score[np.minimum(previous + 1, score.size - 1)]  # Y₂ = the band's top score
        k = sub_band
        span = y_high[k] - y_low[k]
        t_low, t_high = lows[k], highs[k]
        flat = t_high if equal_band == "top" else (t_low + t_high + 1) // 2
        linear = _round_half_up(
            t_low * np.maximum(span, 1) + (t_high - t_low) * (score - y_low[k]),
            np.maximum(span, 1),
        )
        band[first:stop] = sub_band
        assigned[first:stop] = np.where(span > 0, linear, flat)
        cum_n = np.where(cuts >= 0, at_least[np.maximum(cuts, 0)], 0)
        empty = cuts == previous
        table["n"].append(np.diff(np.concatenate([[0], cum_n])))
        table["cum_n"].append(cum_n)
        table["total"].append(np.full(width, total, dtype=np.int64))
        table["y_low"].append(np.where(empty, -_BIAS, y_low))
        table["y_high"].append(np.where(empty, -_BIAS, y_high))
        table["cut"].append(cuts)
    frame = _band_table(names, scheme, table)
    return _Plan(inverse, band, assigned, frame)


def _distinct(
    codes: IntArray, tenths: IntArray, subjects: int
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """The distinct (subject, score) pairs ordered by subject, then score descending: their
    subject, score and count, and the index of each row's pair. A histogram when the scores
    span a modest range (the usual case: one bin per tenth of a point), else a sort."""
    high = int(tenths.max())
    width = high - int(tenths.min()) + 1
    if width * subjects <= 1 << 24:
        bins = codes * width + (high - tenths)  # ascending bin = subject, then score descending
        hist = np.bincount(bins, minlength=width * subjects)
        occupied = np.flatnonzero(hist)
        position = np.cumsum(hist > 0) - 1
        return occupied // width, high - occupied % width, hist[occupied], position[bins]
    keys = (codes << 32) | (_BIAS - tenths)
    unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return (
        unique >> 32,
        _BIAS - (unique & ((1 << 32) - 1)),
        counts,
        inverse.reshape(-1).astype(np.int64),
    )


def _band_table(names: list[str], scheme: Scheme, table: dict[str, list[IntArray]]) -> pl.DataFrame:
    width = len(scheme.bands)
    subjects = len(names)

    def column(key: str) -> IntArray:
        parts = table.get(key)
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    n, cum_n, total = column("n"), column("cum_n"), column("total")
    empty = n == 0
    band_index = np.tile(np.arange(width, dtype=np.int64), subjects)
    return pl.DataFrame(
        {
            "subject": pl.Series(np.repeat(names, width) if subjects else [], dtype=pl.String),
            "band": pl.Series(band_index.astype(np.uint32)).cat.to(pl.Enum(scheme.labels)),
            "band_index": band_index.astype(np.int32),
            "target_pct": np.tile(np.array([b.percent for b in scheme.bands]) / 100, subjects),
            "n": n,
            "pct": n / np.maximum(total, 1),
            "cum_n": cum_n,
            "cum_pct": cum_n / np.maximum(total, 1),
            "raw_high": np.where(empty, np.nan, column("y_high") / SCALE),
            "raw_low": np.where(empty, np.nan, column("y_low") / SCALE),
            "assigned_high": np.tile([b.high for b in scheme.bands], subjects).astype(np.int64),
            "assigned_low": np.tile([b.low for b in scheme.bands], subjects).astype(np.int64),
        },
        nan_to_null=True,
    )


# --------------------------------------------------------------------------- public API


def assign_scores(
    scores: pl.DataFrame,
    scheme: str | Scheme,
    *,
    boundary: Boundary = "near",
    equal_band: EqualBand = "top",
) -> pl.DataFrame:
    """赋分 of every row of ``scores`` (columns ``candidate_id``, ``subject``, ``score``: one row
    per candidate and subject, the 实考 candidates of the whole reference population; other
    columns are kept). Adds ``band`` (label, ``pl.Enum`` of the scheme's labels, top first),
    ``band_index`` (0 = top band) and ``assigned`` (the integer assigned score); row order is
    kept. Each subject is scaled on its own rows. Raises ``FrameError`` on a missing column, a
    null/NaN score or one with more than one decimal, or a repeated (candidate, subject)."""
    chosen = scheme_for(scheme)
    if scores.height == 0:
        return scores.with_columns(
            pl.lit(None, dtype=pl.Enum(chosen.labels)).alias("band"),
            pl.lit(None, dtype=pl.Int32).alias("band_index"),
            pl.lit(None, dtype=pl.Int64).alias("assigned"),
        )
    return _with_bands(scores, _plan(scores, chosen, boundary, equal_band), chosen)


def _with_bands(scores: pl.DataFrame, plan: _Plan, scheme: Scheme) -> pl.DataFrame:
    """``scores`` with each row's band label, band index and assigned score from ``plan``."""
    band = plan.band[plan.inverse]
    return scores.with_columns(
        pl.Series("band", band.astype(np.uint32)).cat.to(pl.Enum(scheme.labels)),
        pl.Series("band_index", band.astype(np.int32)),
        pl.Series("assigned", plan.assigned[plan.inverse]),
    )


def assignment_bands(
    scores: pl.DataFrame,
    scheme: str | Scheme,
    *,
    boundary: Boundary = "near",
    equal_band: EqualBand = "top",
) -> pl.DataFrame:
    """The 赋分 conversion table of the same input: per subject × band (every band listed, empty
    ones too) the target share, the number and share of candidates, the cumulative number and
    share from the top, the raw-score range [raw_low, raw_high] (null when empty) and the
    assigned range [assigned_low, assigned_high]."""
    chosen = scheme_for(scheme)
    if scores.height == 0:
        return _band_table([], chosen, {})
    return _plan(scores, chosen, boundary, equal_band).table


def exam_assigned(
    prep: Prepared, spec: CaliberSpec
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """The 口径's 赋分 for one prepared exam: per (candidate, subject) of the configured subjects
    in 实考 — candidate_id, class_id, school_id, subject, score, band, band_index, assigned — the
    conversion table (``assignment_bands``) and warnings for configured subjects the exam
    lacks. The population is the whole exam (``analyze``'s frame), never a filtered view."""
    settings = spec.assigned_scores
    chosen = scheme_for("3+1+2" if settings is None else settings.scheme)
    codes = [] if settings is None else [prep.subjects.code(name) for name in settings.subjects]
    warnings = []
    if settings is not None:
        missing = [
            name for name, code in zip(settings.subjects, codes, strict=True) if code is None
        ]
        if missing:
            warnings.append(f"口径的赋分科目中「{'、'.join(missing)}」不在本次考试中，已忽略")
    wanted = np.zeros(prep.subjects.total_code + 1, dtype=np.bool_)
    wanted[[code for code in codes if code is not None]] = True
    rows = np.flatnonzero(wanted[prep.subj] & (prep.v >= 0))
    cand = prep.cand[rows]
    table = prep.candidates
    scores = pl.DataFrame(
        {
            "candidate_id": table["candidate_id"].gather(cand),
            "class_id": table["class_id"].gather(cand),
            "school_id": table["school_id"].gather(cand),
            "subject": pl.Series(
                np.array(prep.subjects.labels, dtype=object)[prep.subj[rows]], dtype=pl.String
            ),
            "score": prep.v[rows] / SCALE,
        }
    )
    if settings is None or scores.is_empty():
        return assign_scores(scores, chosen), _band_table([], chosen, {}), warnings
    plan = _plan(scores, chosen, settings.boundary, settings.equal_band)
    return _with_bands(scores, plan, chosen), plan.table, warnings
