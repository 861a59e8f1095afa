"""Cubic B-spline bases and the SGP design matrix.

``bspline_basis`` equals R's ``splines::bs(x, knots, Boundary.knots, intercept = FALSE)``: the
full cubic basis on the clamped knot vector (lower boundary ×4, interior knots, upper boundary
×4) without its first column. Outside the boundaries the boundary polynomial pieces are
extended, which is what ``bs`` does (its Taylor expansion at the boundary is exact for a cubic).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.interpolate import BSpline

from xiaowu.exams.valueadded.sgp.knots import KnotsBoundaries

DEGREE = 3


def knot_vector(kb: KnotsBoundaries) -> npt.NDArray[np.float64]:
    low, high = kb.boundaries
    return np.array([low] * (DEGREE + 1) + list(kb.knots) + [high] * (DEGREE + 1), dtype=np.float64)


def bspline_basis(x: npt.ArrayLike, kb: KnotsBoundaries) -> npt.NDArray[np.float64]:
    """The (n, len(knots) + 3) basis of ``x`` (no intercept column)."""
    values = np.ascontiguousarray(x, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError("x must be 1-d")
    if not np.all(np.isfinite(values)):
        raise ValueError("x has missing values")
    t = knot_vector(kb)
    low, high = kb.boundaries
    inside = (values >= low) & (values <= high)
    width = t.size - DEGREE - 1
    out = np.empty((values.size, width - 1), dtype=np.float64)
    if inside.all():
        out[:] = BSpline.design_matrix(values, t, DEGREE).toarray()[:, 1:]
        return out
    if inside.any():
        out[inside] = BSpline.design_matrix(values[inside], t, DEGREE).toarray()[:, 1:]
    outside = ~inside
    out[outside] = BSpline.design_matrix(values[outside], t, DEGREE, extrapolate=True).toarray()[
        :, 1:
    ]
    return out


def design_matrix(
    priors: Sequence[npt.ArrayLike], bases: Sequence[KnotsBoundaries]
) -> npt.NDArray[np.float64]:
    """X = [1, bs(prior₁), …, bs(prior_k)] with each prior's grade knots; shape (n, 1 + 7k)."""
    if len(priors) != len(bases) or not priors:
        raise ValueError("one knots set per prior is needed")
    blocks = [bspline_basis(prior, kb) for prior, kb in zip(priors, bases, strict=True)]
    n = blocks[0].shape[0]
    return np.hstack([np.ones((n, 1)), *blocks])


@dataclass(frozen=True)
class SplineProblem:
    """A quantile-regression problem given by its priors: X is built where it is solved."""

    priors: tuple[npt.NDArray[np.float64], ...]
    knots: tuple[KnotsBoundaries, ...]
    y: npt.NDArray[np.float64]

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def p(self) -> int:
        return 1 + sum(len(kb.knots) + DEGREE for kb in self.knots)

    def design(self) -> npt.NDArray[np.float64]:
        return design_matrix(self.priors, self.knots)
