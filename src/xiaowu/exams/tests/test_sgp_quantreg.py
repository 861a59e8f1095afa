"""Exact quantile regression: the fast certified solver against the plain HiGHS dual LP."""

from __future__ import annotations

import numpy as np
import pytest

from xiaowu.exams.valueadded.sgp import quantreg
from xiaowu.exams.valueadded.sgp.basis import SplineProblem, design_matrix
from xiaowu.exams.valueadded.sgp.knots import knots_boundaries
from xiaowu.exams.valueadded.sgp.quantreg import (
    certify,
    coefficient_matrices,
    exact_chain,
    exact_tau,
    fast_chain,
    interior_point,
    merge_duplicates,
    objective,
    sgp_taus,
)


def _scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer scale scores with many ties, like real data."""
    rng = np.random.default_rng(seed)
    ability = rng.normal(0, 1, n)
    prior = np.round(500 + 50 * (ability + rng.normal(0, 0.4, n)))
    current = np.round(540 + 55 * (ability + rng.normal(0, 0.45, n)))
    return prior, current


def _design(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    prior, current = _scores(n, seed)
    return design_matrix([prior], [knots_boundaries(prior)]), current


def test_taus_are_the_sgp_grid():
    taus = sgp_taus()
    assert taus.size == 100
    assert taus[0] == pytest.approx(0.005)
    assert taus[-1] == pytest.approx(0.995)
    assert np.allclose(np.diff(taus), 0.01)


def test_exact_tau_is_a_quantile_for_an_intercept_only_model():
    y = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 9.0, 7.0])
    x = np.ones((y.size, 1))
    # τ = 0.5 on 7 points: the median, 4; τ = 0.2: the 2nd smallest (1.4 → ceil), 2.
    assert exact_tau(x, y, 0.5)[0] == pytest.approx(4.0)
    assert exact_tau(x, y, 0.2)[0] == pytest.approx(2.0)


def test_fast_equals_exact_on_a_small_problem_all_taus():
    x, y = _design(400, 1)
    taus = sgp_taus()
    fast, stats = fast_chain(x, y, taus.tolist(), None)
    exact = exact_chain(x, y, taus.tolist())
    assert stats.taus == 100
    assert np.abs(fast - exact).max() < 1e-7


def test_fast_uses_the_band_and_matches_exact_on_a_larger_problem():
    x, y = _design(4000, 2)
    taus = [0.105, 0.115, 0.125, 0.505, 0.515, 0.895]
    fast, stats = fast_chain(x, y, taus, None)
    assert stats.fits >= len(taus)
    for j, tau in enumerate(taus):
        reference = exact_tau(x, y, tau)
        assert np.abs(fast[:, j] - reference).max() < 1e-7
        assert objective(x, y, tau, fast[:, j]) == pytest.approx(
            objective(x, y, tau, reference), rel=1e-12
        )


def test_non_unique_optimum_falls_back_to_the_exact_lp():
    # Median of 1, 2, 3, 4: every β in [2, 3] is optimal; the certificate cannot prove
    # uniqueness, so the fast path must return exactly what the exact LP returns.
    y = np.array([1.0, 2.0, 3.0, 4.0])
    x = np.ones((4, 1))
    fast, stats = fast_chain(x, y, [0.5], None)
    assert stats.fallbacks == 1
    assert fast[0, 0] == exact_tau(x, y, 0.5)[0]


def test_certificate_accepts_the_optimum_and_rejects_other_points():
    x, y = _design(300, 3)
    xm, ym, wm = merge_duplicates(x, y)
    tau = 0.3
    beta = exact_tau(x, y, tau)
    good = certify(xm, ym, wm, tau, beta)
    assert good.optimal
    assert good.unique
    assert good.basis.size == x.shape[1]
    # Another vertex (interpolating the p smallest y) is not optimal.
    rows = np.argsort(ym)[: x.shape[1]]
    other = np.linalg.lstsq(xm[rows], ym[rows], rcond=None)[0]
    assert not certify(xm, ym, wm, tau, other).optimal
    # A point that is not a vertex (too few interpolated observations) is not certified.
    assert not certify(xm, ym, wm, tau, beta + 1e-3).optimal


def test_merging_duplicates_keeps_the_objective():
    x, y = _design(500, 4)
    xm, ym, wm = merge_duplicates(x, y)
    assert xm.shape[0] < x.shape[0]
    assert wm.sum() == x.shape[0]
    beta = exact_tau(x, y, 0.7)
    assert objective(xm, ym, 0.7, beta, wm) == pytest.approx(objective(x, y, 0.7, beta))


def test_interior_point_reaches_the_optimal_objective():
    x, y = _design(600, 5)
    tau = 0.25
    w = np.ones(y.size)
    fit = interior_point(x, y, w, (1 - tau) * x.sum(axis=0), tau)
    assert fit is not None
    beta, duals = fit
    assert np.all(duals >= 0)
    assert np.all(duals <= 1)
    exact = objective(x, y, tau, exact_tau(x, y, tau))
    assert objective(x, y, tau, beta) == pytest.approx(exact, rel=1e-8)


def test_coefficient_matrices_in_processes_equal_serial(monkeypatch):
    problems = [_design(300, 6), _design(250, 7)]
    taus = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    serial, _ = coefficient_matrices(problems, taus=taus, solver="fast", workers=1)
    monkeypatch.setattr(quantreg, "PARALLEL_WORK", 0)
    parallel, stats = coefficient_matrices(problems, taus=taus, solver="fast", workers=2)
    exact, _ = coefficient_matrices(problems, taus=taus, solver="exact", workers=1)
    assert stats.taus == 2 * taus.size
    for a, b, c in zip(serial, parallel, exact, strict=True):
        assert a.shape == (problems[0][0].shape[1], taus.size)
        assert np.array_equal(a, b)
        assert np.abs(a - c).max() < 1e-7


def test_spline_problems_are_built_where_they_are_solved():
    prior, current = _scores(300, 12)
    kb = knots_boundaries(prior)
    problem = SplineProblem(priors=(prior,), knots=(kb,), y=current)
    assert (problem.n, problem.p) == (300, 8)
    taus = np.array([0.2, 0.5, 0.8])
    lazy, _ = coefficient_matrices([problem], taus=taus, workers=1)
    eager, _ = coefficient_matrices([(problem.design(), current)], taus=taus, workers=1)
    assert np.array_equal(lazy[0], eager[0])


def test_coefficient_matrices_rejects_bad_input():
    x, y = _design(50, 8)
    with pytest.raises(ValueError, match="solver"):
        coefficient_matrices([(x, y)], solver="simplex")
    with pytest.raises(ValueError, match="increasing"):
        coefficient_matrices([(x, y)], taus=np.array([0.5, 0.2]))
    with pytest.raises(ValueError, match="n > p"):
        coefficient_matrices([(x[:5], y[:5])])
