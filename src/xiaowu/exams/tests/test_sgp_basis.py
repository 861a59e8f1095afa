"""Knots, boundaries and the cubic B-spline basis (R ``bs`` without intercept)."""

from __future__ import annotations

import numpy as np
import pytest

from xiaowu.exams.valueadded.sgp.basis import bspline_basis, design_matrix, knot_vector
from xiaowu.exams.valueadded.sgp.knots import (
    KnotsBoundaries,
    knots_boundaries,
    knots_by_grade,
    merge_kept,
)


def _cox_de_boor(x: float, t: np.ndarray, i: int, k: int) -> float:
    """The textbook recursion, an independent check of scipy's basis."""
    if k == 0:
        last = t[i + 1] == t[-1] and x == t[-1]
        return 1.0 if (t[i] <= x < t[i + 1]) or (last and t[i] < t[i + 1]) else 0.0
    left = (
        0.0 if t[i + k] == t[i] else (x - t[i]) / (t[i + k] - t[i]) * _cox_de_boor(x, t, i, k - 1)
    )
    right = (
        0.0
        if t[i + k + 1] == t[i + 1]
        else (t[i + k + 1] - x) / (t[i + k + 1] - t[i + 1]) * _cox_de_boor(x, t, i + 1, k - 1)
    )
    return left + right


def test_knots_are_type7_quantiles_and_boundaries_extend_the_range():
    kb = knots_boundaries(np.arange(1.0, 11.0))
    # type 7: 1 + p·(n − 1) → 2.8, 4.6, 6.4, 8.2; range 1..10 extended by 0.9 on each side.
    assert kb.knots == (2.8, 4.6, 6.4, 8.2)
    assert kb.boundaries == (0.1, 10.9)
    assert kb.loss_hoss == (1.0, 10.0)


def test_knots_are_rounded_to_three_decimals_and_ignore_missing():
    kb = knots_boundaries([0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0, np.nan])
    assert kb.knots == (0.2, 0.4, 0.6, 0.8)
    kb = knots_boundaries([100.0, 101.0, 103.0, 107.0])
    assert kb.knots == (100.6, 101.4, 102.6, 104.6)
    assert kb.boundaries == (99.3, 107.7)


def test_knots_need_spread():
    with pytest.raises(ValueError, match="at least 2"):
        knots_boundaries([5.0])
    with pytest.raises(ValueError, match="spread"):
        knots_boundaries([5.0, 5.0, 5.0])


def test_knots_by_grade_and_kept_sets():
    grades = np.array([3, 3, 3, 4, 4, 4, np.nan, 5])
    scores = np.array([1, 2, 3, 10, 20, 30, 99, np.nan], dtype=float)
    table = knots_by_grade(grades, scores)
    assert set(table) == {3, 4}  # grade 5 has no score, the missing grade is ignored
    assert table[4].loss_hoss == (10.0, 30.0)
    assert knots_by_grade(grades, scores, only=[4]).keys() == {4}
    kept = {3: KnotsBoundaries((1.0, 2.0, 3.0, 4.0), (0.0, 5.0), (0.0, 5.0))}
    merged = merge_kept(kept, table)
    assert merged[3] is kept[3]
    assert merged[4] == table[4]


def test_basis_equals_the_recursion_without_its_first_column():
    kb = KnotsBoundaries(
        knots=(510.0, 548.0, 580.0, 617.0), boundaries=(85.5, 859.5), loss_hoss=(150.0, 795.0)
    )
    t = knot_vector(kb)
    x = np.array([85.5, 150.0, 509.0, 510.0, 530.5, 600.0, 795.0, 859.5])
    basis = bspline_basis(x, kb)
    assert basis.shape == (x.size, 7)
    full = np.array([[_cox_de_boor(v, t, i, 3) for i in range(8)] for v in x])
    assert np.allclose(basis, full[:, 1:], atol=1e-12)
    # The dropped first column completes the partition of unity.
    assert np.allclose(basis.sum(axis=1) + full[:, 0], 1.0)


def test_basis_extrapolates_outside_the_boundaries_with_the_end_polynomials():
    kb = KnotsBoundaries(knots=(2.0, 4.0, 6.0, 8.0), boundaries=(0.0, 10.0), loss_hoss=(0, 10))
    inside = np.linspace(9.0, 10.0, 5)
    outside = np.array([10.5, 11.0])
    values = bspline_basis(np.concatenate([inside, outside]), kb)
    # Each column is one cubic on [8, 10]: fit it on the inside points, evaluate outside.
    for column in range(values.shape[1]):
        poly = np.polyfit(inside, values[:5, column], 3)
        assert np.allclose(np.polyval(poly, outside), values[5:, column], atol=1e-9)


def test_design_matrix_has_an_intercept_and_seven_columns_per_prior():
    kb = knots_boundaries(np.arange(100.0, 200.0))
    a = np.linspace(110, 190, 9)
    x = design_matrix([a, a[::-1]], [kb, kb])
    assert x.shape == (9, 15)
    assert np.all(x[:, 0] == 1.0)
    with pytest.raises(ValueError, match="one knots set"):
        design_matrix([a], [kb, kb])
    with pytest.raises(ValueError, match="missing"):
        bspline_basis(np.array([np.nan]), kb)
