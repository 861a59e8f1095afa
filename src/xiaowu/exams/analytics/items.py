"""Item and test analysis (试题分析), ``analytics.md`` §2.10.

Input: a long frame of item scores, one row per candidate × item, with columns
``candidate_id`` (i64), ``item`` (str, e.g. the 题号), ``full_mark`` (f64), ``score`` (f64) and
optionally ``subject`` (str; each subject is analysed on its own), ``kind``
("objective"/"subjective") and ``answer`` (str, the option chosen on an objective item).
A candidate enters a subject's analysis only with a score on every item of that subject
(complete cases): reliability and item–rest correlations need one total per candidate.

Per item (``item_analysis``):

- 难度 P = x̄ / W (larger = easier);
- 区分度 D = (x̄_H − x̄_L) / W over the top and bottom 27 % by total — for an objective item
  scored 0/W this is P_H − P_L;
- ``item_rest``: the corrected point-biserial (Pearson correlation of the item with the total
  minus the item), and ``item_total`` uncorrected;
- ``alpha_if_deleted``.

Per subject (``reliability``; ``cronbach_alpha`` on a matrix): Cronbach α = k/(k−1)·(1 − Σσ_k²
/ σ_X²) — which is KR-20 when every item is 0/1 — SEM = σ_X·√(1 − α), and the standardised α
= k·r̄ / (1 + (k−1)·r̄). Variances are population variances throughout.

Per option (``option_analysis``): 选择率 overall and in the high and low groups; the option
most chosen by the candidates with full marks on the item is flagged as the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from xiaowu.exams.analytics.frame import FrameError

GROUP_FRACTION: Final = 0.27
FloatMatrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Reliability:
    items: int
    candidates: int
    alpha: float | None
    standardized_alpha: float | None
    sem: float | None
    method: str  # "KR-20" when every item is scored 0/1, else "alpha"


def cronbach_alpha(matrix: npt.ArrayLike) -> Reliability:
    """Reliability of a candidates × items score matrix (complete cases)."""
    scores = np.asarray(matrix, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError("cronbach_alpha 需要 考生 × 小题 的二维分数矩阵")
    n, k = scores.shape
    dichotomous = bool(np.isin(scores, (0.0, 1.0)).all())
    method = "KR-20" if dichotomous else "alpha"
    if n < 2 or k < 2:
        return Reliability(k, n, None, None, None, method)
    item_var = scores.var(axis=0)
    total = scores.sum(axis=1)
    total_var = float(total.var())
    alpha = None if total_var == 0 else k / (k - 1) * (1 - float(item_var.sum()) / total_var)
    sem = None if alpha is None else math.sqrt(total_var) * math.sqrt(max(1 - alpha, 0.0))
    standardized = None
    if (item_var > 0).all():
        correlation = np.corrcoef(scores, rowvar=False)
        mean_r = float((correlation.sum() - k) / (k * (k - 1)))
        standardized = k * mean_r / (1 + (k - 1) * mean_r)
    return Reliability(k, n, alpha, standardized, sem, method)


def _check(items: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in ("candidate_id", "item", "full_mark", "score") if c not in items.columns]
    if missing:
        raise FrameError(f"小题得分数据缺少列：{'、'.join(missing)}")
    extra = [
        pl.lit("").alias(name)
        for name in ("subject", "kind", "answer")
        if name not in items.columns
    ]
    frame = items.with_columns(extra) if extra else items
    return frame.with_columns(
        pl.col("subject", "item", "kind", "answer").cast(pl.String).fill_null(""),
        pl.col("full_mark", "score").cast(pl.Float64),
        pl.col("candidate_id").cast(pl.Int64),
    )


@dataclass(frozen=True)
class _Matrix:
    subject: str
    items: list[str]
    kinds: list[str]
    full: FloatMatrix  # per item
    candidates: npt.NDArray[np.int64]
    scores: FloatMatrix  # candidates × items
    high: npt.NDArray[np.bool_]
    low: npt.NDArray[np.bool_]


def _matrices(items: pl.DataFrame) -> list[_Matrix]:
    """One complete-case matrix per subject, items in order of first appearance, with the
    27 % high and low groups by total (ties broken by candidate id, deterministically)."""
    frame = _check(items)
    result = []
    for subject in frame["subject"].unique(maintain_order=True).to_list():
        part = frame.filter(pl.col("subject") == subject)
        meta = part.group_by("item", maintain_order=True).agg(
            pl.col("full_mark").first(), pl.col("kind").first()
        )
        wide = part.pivot(
            on="item", index="candidate_id", values="score", aggregate_function="first"
        )
        names = meta["item"].to_list()
        wide = wide.select("candidate_id", *names).drop_nulls().sort("candidate_id")
        scores = wide.select(names).to_numpy().astype(np.float64)
        total = scores.sum(axis=1)
        n = scores.shape[0]
        size = max(1, round(GROUP_FRACTION * n)) if n else 0
        order = np.lexsort((np.arange(n), -total))  # total descending, then candidate id
        high = np.zeros(n, dtype=np.bool_)
        low = np.zeros(n, dtype=np.bool_)
        high[order[:size]] = True
        low[order[n - size :]] = True
        result.append(
            _Matrix(
                subject,
                names,
                meta["kind"].to_list(),
                meta["full_mark"].to_numpy(),
                wide["candidate_id"].to_numpy(),
                scores,
                high,
                low,
            )
        )
    return result


def item_analysis(items: pl.DataFrame) -> pl.DataFrame:
    """Per item: difficulty, discrimination (27 % groups), item–rest and item–total
    correlations, alpha if the item is deleted."""
    frames = []
    for m in _matrices(items):
        x = m.scores
        n, k = x.shape
        total = x.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = x.mean(axis=0) if n else np.full(k, np.nan)
            var = x.var(axis=0) if n else np.full(k, np.nan)
            total_var = float(total.var()) if n else math.nan
            cov = ((x - mean) * (total - total.mean())[:, None]).mean(axis=0) if n else var
            rest_var = total_var - 2 * cov + var
            item_rest = (cov - var) / np.sqrt(var * rest_var)
            item_total = cov / np.sqrt(var * total_var)
            high_mean = x[m.high].mean(axis=0) if m.high.any() else np.full(k, np.nan)
            low_mean = x[m.low].mean(axis=0) if m.low.any() else np.full(k, np.nan)
            sum_var = var.sum()
            alpha_deleted = (
                (k - 1) / (k - 2) * (1 - (sum_var - var) / rest_var)
                if k > 2
                else np.full(k, np.nan)
            )
        frames.append(
            pl.DataFrame(
                {
                    "subject": [m.subject] * k,
                    "item": m.items,
                    "kind": m.kinds,
                    "full_mark": m.full,
                    "n": [n] * k,
                    "mean": mean,
                    "std": np.sqrt(var),
                    "difficulty": mean / m.full,
                    "high_mean": high_mean,
                    "low_mean": low_mean,
                    "discrimination": (high_mean - low_mean) / m.full,
                    "item_rest": item_rest,
                    "item_total": item_total,
                    "alpha_if_deleted": alpha_deleted,
                },
                nan_to_null=True,
            )
        )
    return pl.concat(frames) if frames else pl.DataFrame()


def reliability(items: pl.DataFrame) -> pl.DataFrame:
    """Per subject: items, candidates, α (KR-20 for 0/1 items), standardised α, SEM."""
    rows = []
    for m in _matrices(items):
        result = cronbach_alpha(m.scores)
        rows.append(
            {
                "subject": m.subject,
                "items": result.items,
                "candidates": result.candidates,
                "alpha": result.alpha,
                "standardized_alpha": result.standardized_alpha,
                "sem": result.sem,
                "method": result.method,
            }
        )
    return pl.DataFrame(rows)


def option_analysis(items: pl.DataFrame) -> pl.DataFrame:
    """Per (subject, item, option) of the rows with an answer: count and 选择率 overall and in
    the high and low groups; ``is_key`` marks the option most chosen by full-mark answers."""
    frame = _check(items)
    groups = []
    for m in _matrices(frame):
        groups.append(
            pl.DataFrame(
                {
                    "subject": [m.subject] * m.candidates.size,
                    "candidate_id": m.candidates,
                    "group": np.where(m.high, "high", np.where(m.low, "low", "middle")),
                }
            )
        )
    if not groups:
        return pl.DataFrame()
    membership = pl.concat(groups)
    answered = frame.filter(pl.col("kind") == "objective").join(
        membership, on=["subject", "candidate_id"], how="inner"
    )
    per_item = answered.group_by("subject", "item").agg(
        pl.len().alias("item_n"),
        (pl.col("group") == "high").sum().alias("high_n"),
        (pl.col("group") == "low").sum().alias("low_n"),
    )
    options = answered.group_by("subject", "item", "answer").agg(
        pl.len().alias("n"),
        (pl.col("group") == "high").sum().alias("high_chosen"),
        (pl.col("group") == "low").sum().alias("low_chosen"),
        (pl.col("score") >= pl.col("full_mark")).sum().alias("full_chosen"),
    )
    result = options.join(per_item, on=["subject", "item"]).with_columns(
        (pl.col("n") / pl.col("item_n")).alias("rate"),
        pl.when(pl.col("high_n") > 0)
        .then(pl.col("high_chosen") / pl.col("high_n"))
        .alias("high_rate"),
        pl.when(pl.col("low_n") > 0).then(pl.col("low_chosen") / pl.col("low_n")).alias("low_rate"),
    )
    key = (pl.col("full_chosen") == pl.col("full_chosen").max().over("subject", "item")) & (
        pl.col("full_chosen") > 0
    )
    return (
        result.with_columns(key.alias("is_key"))
        .select(
            "subject",
            "item",
            pl.col("answer").alias("option"),
            "n",
            "rate",
            "high_rate",
            "low_rate",
            "is_key",
        )
        .sort("subject", "item", "option")
    )
