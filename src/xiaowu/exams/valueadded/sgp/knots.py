"""Knots, boundaries and LOSS/HOSS of the B-spline bases, one set per (content area, grade).

Rules (analytics.md §3.4 step 2): the knots are the 20th, 40th, 60th and 80th percentiles of the
grade's scale scores (quantile type 7, i.e. linear interpolation, rounded to 3 decimals); the
boundaries are the range extended by 10% on each side (``extendrange(f = 0.1)``), rounded to 3
decimals; LOSS/HOSS are the range itself, rounded to 3 decimals. A grade's set is computed once
from the stacked prior panels of the first analysis that needs it and then kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

KNOT_PROBABILITIES = (0.2, 0.4, 0.6, 0.8)
EXTEND_FRACTION = 0.1


@dataclass(frozen=True)
class KnotsBoundaries:
    """The spline parameters of one grade: 4 interior knots, 2 boundaries, LOSS/HOSS."""

    knots: tuple[float, ...]
    boundaries: tuple[float, float]
    loss_hoss: tuple[float, float]

    def to_dict(self) -> dict[str, list[float]]:
        return {
            "knots": list(self.knots),
            "boundaries": list(self.boundaries),
            "loss_hoss": list(self.loss_hoss),
        }


def knots_boundaries(scores: npt.ArrayLike) -> KnotsBoundaries:
    """Knots, boundaries and LOSS/HOSS of one grade's scores (missing values ignored)."""
    values = np.asarray(scores, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size < 2:
        raise ValueError("computing knots needs at least 2 scores")
    knots = np.round(np.quantile(values, KNOT_PROBABILITIES, method="linear"), 3)
    low, high = float(values.min()), float(values.max())
    spread = high - low
    boundaries = np.round([low - EXTEND_FRACTION * spread, high + EXTEND_FRACTION * spread], 3)
    if not (boundaries[0] < knots[0] and knots[-1] < boundaries[1]):
        raise ValueError("scores have no spread: the knots do not lie inside the boundaries")
    return KnotsBoundaries(
        knots=tuple(float(k) for k in knots),
        boundaries=(float(boundaries[0]), float(boundaries[1])),
        loss_hoss=(round(low, 3), round(high, 3)),
    )


def knots_by_grade(
    grades: npt.ArrayLike, scores: npt.ArrayLike, *, only: Iterable[int] | None = None
) -> dict[int, KnotsBoundaries]:
    """One :class:`KnotsBoundaries` per grade of the stacked (grade, score) pairs.

    ``grades`` and ``scores`` are aligned 1-d arrays (NaN = missing); ``only`` restricts the
    grades computed.
    """
    grade_values = np.asarray(grades, dtype=np.float64)
    score_values = np.asarray(scores, dtype=np.float64)
    present = np.isfinite(grade_values) & np.isfinite(score_values)
    grade_values, score_values = grade_values[present], score_values[present]
    wanted = None if only is None else {int(g) for g in only}
    result: dict[int, KnotsBoundaries] = {}
    for grade in np.unique(grade_values):
        key = int(grade)
        if wanted is not None and key not in wanted:
            continue
        chosen = score_values[grade_values == grade]
        if chosen.size >= 2 and np.ptp(chosen) > 0:
            result[key] = knots_boundaries(chosen)
    return result


def merge_kept(
    kept: Mapping[int, KnotsBoundaries], new: Mapping[int, KnotsBoundaries]
) -> dict[int, KnotsBoundaries]:
    """Grades already in ``kept`` keep their set; the others are taken from ``new``."""
    return {**new, **kept}
