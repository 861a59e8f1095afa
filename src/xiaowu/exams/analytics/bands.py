"""分数段 and 一分一段表 (``analytics.md`` §2.7).

Bands of width h over [0, W]: [0, h), [h, 2h), …, and a top band closed at both ends, [a, W],
where a is the largest multiple of h below W. Every band of every (unit, subject) is listed,
empty ones included, with its count, % of 实考, and cumulative count and % from the top.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from xiaowu.exams.analytics.caliber import CaliberSpec
from xiaowu.exams.analytics.frame import SCALE, IntArray, Prepared, exact
from xiaowu.exams.analytics.indicators import LEVEL, LEVELS
from xiaowu.exams.analytics.levels import HistogramLevel, Level


def band_edges(spec: CaliberSpec, prep: Prepared) -> list[IntArray]:
    """Per subject code, the lower edges of its bands in tenths (exact for any decimal h)."""
    edges = []
    for label, full in zip(prep.subjects.labels, prep.subjects.full_marks, strict=True):
        width = exact(spec.band_width_for(label)) * SCALE
        count = max(math.ceil(full / width), 1)
        edges.append(np.array([math.ceil(index * width) for index in range(count)], dtype=np.int64))
    return edges


def level_bands(
    level: Level, unit_ids: IntArray, prep: Prepared, edges: list[IntArray]
) -> pl.DataFrame:
    group, band, count = level.band_counts()
    subject = level.subjects[group]
    per_subject = np.array([edge.size for edge in edges], dtype=np.int64)
    last = band == per_subject[subject] - 1
    flat = np.concatenate(edges)
    start = np.concatenate([[0], np.cumsum(per_subject)[:-1]])
    low = flat[start[subject] + band]
    high = np.where(
        last,
        np.array(prep.subjects.full_marks, dtype=np.int64)[subject],
        flat[np.minimum(start[subject] + band + 1, flat.size - 1)],
    )
    # cumulative from the top = 实考 − the counts of the lower bands of the group
    exclusive = np.cumsum(count) - count
    first = band == 0
    cumulative = level.sat[group] - (
        exclusive - np.maximum.accumulate(np.where(first, exclusive, 0))
    )
    sat = level.sat[group].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(sat > 0, count / sat, np.nan)
        cum_pct = np.where(sat > 0, cumulative / sat, np.nan)
    return pl.DataFrame(
        {
            "level": pl.Series(
                np.full(group.size, LEVELS.index(level.name), dtype=np.uint32)
            ).cat.to(LEVEL),
            "unit_id": unit_ids[group],
            "subject": prep.subjects.series(subject),
            "band_low": low / SCALE,
            "band_high": high / SCALE,
            "closed_high": last,
            "n": count,
            "pct": pct,
            "cum_n": cumulative,
            "cum_pct": cum_pct,
        },
        nan_to_null=True,
    )


def one_point(exam: HistogramLevel, prep: Prepared) -> pl.DataFrame:
    """一分一段表 per subject at exam level: every score reached, descending, with its count,
    the cumulative count (#x ≥ s), the competition rank of s (1 + #x > s) and cumulative %."""
    group, score, count = exam.scores()
    cumulative = np.cumsum(count)
    first = np.ones(group.size, dtype=np.bool_)
    first[1:] = group[1:] != group[:-1]
    before_group = np.maximum.accumulate(np.where(first, cumulative - count, 0))
    at_least = cumulative - before_group
    return pl.DataFrame(
        {
            "subject": prep.subjects.series(exam.subjects[group]),
            "score": score / SCALE,
            "n": count,
            "cum_n": at_least,
            "rank": at_least - count + 1,
            "cum_pct": at_least / exam.sat[group],
        }
    )
