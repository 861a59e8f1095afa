"""Exact linear quantile regression: coefficient matrices for SGP (analytics.md §3.4 step 5).

The problem at quantile τ is ``min_β Σ wᵢ ρ_τ(yᵢ − xᵢβ)``. Its LP dual is

    max yᵀa   subject to   Xᵀa = (1 − τ)·Xᵀw,   0 ≤ a ≤ w,

whose equality duals are β. Two solvers give the same optimal vertex:

``exact``
    the dual LP over all observations with ``scipy.optimize.linprog(method="highs")``;
    β = −``res.eqlin.marginals``. This is the reference (it reproduces R SGP).

``fast``
    identical duplicate observations are merged into weights; each τ is solved on a band of
    observations around the previous τ's fit (Portnoy–Koenker preprocessing: the observations
    below the band are fixed at a = 0, those above at a = w), by a Frisch–Newton primal–dual
    interior-point method. The vertex is then recovered from the p interpolated observations and
    **certified on the full problem**: every residual sign is checked, the basic duals are solved
    from the equality constraints and must lie strictly inside (0, w). Strict complementarity on
    p independent observations proves that the vertex is optimal *and the unique optimum*, so
    any exact solver (HiGHS, R's simplex) returns the same coefficients. When the certificate
    fails or cannot prove uniqueness (degenerate data), that τ is solved by the ``exact`` path
    on the original, unmerged problem, so the result is identical to ``exact`` in every case.

τ values are solved in two warm-started chains (upwards from the median, downwards below it);
:func:`coefficient_matrices` runs several matrices' chains in worker processes.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from numpy.linalg import LinAlgError
from scipy.linalg import lu_factor, lu_solve
from scipy.optimize import linprog

from xiaowu.exams.valueadded.sgp.basis import SplineProblem

Array = npt.NDArray[np.float64]
Solver = Literal["exact", "fast"]
SOLVERS: tuple[Solver, ...] = ("exact", "fast")

# Residuals with |r| ≤ ZERO_RESIDUAL·scale count as interpolated (scale = max(1, max |y|)).
ZERO_RESIDUAL = 1e-9
# Basic duals must lie in [DUAL_MARGIN, w − DUAL_MARGIN] for the vertex to be certified unique.
DUAL_MARGIN = 1e-7
# Below this many (merged) observations a τ is solved on all of them, without a band.
FULL_PROBLEM_BELOW = 1500
# Parallel processes are used only when a job list is at least this heavy (n·p²·τ summed);
# below, the start-up of the processes costs more than it saves.
PARALLEL_WORK = 200_000_000


def sgp_taus() -> Array:
    """τ_m = (m − 0.5)/100, m = 1 … 100."""
    return (np.arange(1, 101, dtype=np.float64) - 0.5) / 100


def check_pinball(x: Array, y: Array, tau: float) -> None:
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError("X must be (n, p) and y (n,)")
    if not 0.0 < tau < 1.0:
        raise ValueError("tau must lie in (0, 1)")


def objective(x: Array, y: Array, tau: float, beta: Array, weights: Array | None = None) -> float:
    """Σ wᵢ ρ_τ(yᵢ − xᵢβ), the quantile-regression loss."""
    r = y - x @ beta
    loss = np.where(r >= 0, tau * r, (tau - 1.0) * r)
    return float(loss.sum() if weights is None else loss @ weights)


# --------------------------------------------------------------------------- exact


def exact_tau(x: Array, y: Array, tau: float) -> Array:
    """β at τ from the dual LP over all observations (HiGHS via scipy)."""
    check_pinball(x, y, tau)
    res = linprog(
        -y,
        A_eq=x.T,
        b_eq=(1.0 - tau) * x.sum(axis=0),
        bounds=(0.0, 1.0),
        method="highs",
    )
    if res.status != 0:
        raise ArithmeticError(f"HiGHS failed at tau={tau}: {res.message}")
    return np.asarray(-res.eqlin.marginals, dtype=np.float64)


# --------------------------------------------------------------------------- certificate


@dataclass(frozen=True)
class Certificate:
    """Outcome of checking β against the full (merged) problem."""

    optimal: bool
    unique: bool
    basis: npt.NDArray[np.intp] = field(default_factory=lambda: np.empty(0, dtype=np.intp))


def _scale(y: Array) -> float:
    return max(1.0, float(np.abs(y).max())) if y.size else 1.0


def certify(x: Array, y: Array, weights: Array, tau: float, beta: Array) -> Certificate:
    """Prove that β is the optimal vertex (and the only optimum) of the weighted problem.

    The complementary duals are a = w where r > 0 and a = 0 where r < 0; the duals of the
    interpolated observations Z are solved from Xᵀa = (1 − τ)Xᵀw. β is optimal iff they lie in
    [0, w] and unique if they lie strictly inside on p independent rows. With more than p
    interpolated rows a small LP looks for interior duals on all of them.
    """
    p = x.shape[1]
    r = y - x @ beta
    zero_tol = ZERO_RESIDUAL * _scale(y)
    positive = r > zero_tol
    zero = np.flatnonzero(np.abs(r) <= zero_tol)
    if zero.size < p:
        return Certificate(optimal=False, unique=False)
    # (1 − τ)·Xᵀw − Σ_{r>0} wᵢxᵢ as one product, without copying the positive rows.
    target = x.T @ (weights * ((1.0 - tau) - positive))
    xz, wz = x[zero], weights[zero]
    if zero.size == p:
        try:
            lu = lu_factor(xz.T, check_finite=False)
        except (LinAlgError, ValueError):
            return Certificate(optimal=False, unique=False)
        duals = lu_solve(lu, target, check_finite=False)
        # One step of iterative refinement: the right-hand side sums n rows.
        duals += lu_solve(lu, target - xz.T @ duals, check_finite=False)
        if not np.all(np.isfinite(duals)) or np.linalg.cond(xz) > 1e10:
            return Certificate(optimal=False, unique=False)
        optimal = bool(np.all(duals >= -DUAL_MARGIN) and np.all(duals <= wz + DUAL_MARGIN))
        unique = bool(np.all(duals >= DUAL_MARGIN) and np.all(duals <= wz - DUAL_MARGIN))
        return Certificate(optimal=optimal, unique=optimal and unique, basis=zero)
    # Degenerate vertex: maximise the smallest margin t of the duals of Z from their bounds.
    if np.linalg.matrix_rank(xz) < p:
        return Certificate(optimal=False, unique=False)
    k = zero.size
    cost = np.zeros(k + 1)
    cost[-1] = -1.0  # maximise t
    a_eq = np.hstack([xz.T, np.zeros((p, 1))])
    # a_i − t ≥ 0 and a_i + t ≤ w_i  →  −a_i + t ≤ 0 and a_i + t ≤ w_i
    eye = np.eye(k)
    a_ub = np.vstack([np.hstack([-eye, np.ones((k, 1))]), np.hstack([eye, np.ones((k, 1))])])
    b_ub = np.concatenate([np.zeros(k), wz])
    bounds = [(0.0, float(wi)) for wi in wz] + [(None, 1.0)]
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=target, bounds=bounds, method="highs")
    if res.status != 0:
        return Certificate(optimal=False, unique=False)
    margin = float(res.x[-1])
    return Certificate(optimal=margin >= -DUAL_MARGIN, unique=margin >= DUAL_MARGIN, basis=zero)


# --------------------------------------------------------------------------- interior point


def _max_step(value: Array, delta: Array) -> float:
    """Largest α ≤ 1 with value + α·delta ≥ 0 (value > 0)."""
    ratio = np.divide(-value, delta, out=np.full(value.shape, np.inf), where=delta < 0)
    return min(1.0, float(ratio.min()))


def interior_point(
    x: Array,
    y: Array,
    weights: Array,
    target: Array,
    tau: float,
    *,
    beta0: Array | None = None,
    tol: float = 1e-10,
    maxit: int = 120,
) -> tuple[Array, Array] | None:
    """Frisch–Newton primal–dual interior point (Mehrotra predictor–corrector) on

        max yᵀa   subject to   Xᵀa = target,   0 ≤ a ≤ w,

    with dual variables β (free), v ≥ 0 (a ≤ w) and z ≥ 0 (a ≥ 0): Xβ + v − z = y.
    The start is a = (1 − τ)·w and β = ``beta0`` (or least squares). Returns (β, a) near the
    optimum, or None when it does not converge (e.g. an infeasible band).
    """
    n = x.shape[0]
    scale = _scale(y)
    a = (1.0 - tau) * weights
    s = weights - a
    if beta0 is None:
        root = np.sqrt(weights)
        beta: Array = np.asarray(
            np.linalg.lstsq(x * root[:, None], y * root, rcond=None)[0], dtype=np.float64
        )
    else:
        beta = beta0.astype(np.float64, copy=True)
    r = y - x @ beta
    shift = max(float(np.abs(r).mean()), 1e-3 * scale)
    v = np.maximum(r, 0.0) + shift
    z = np.maximum(-r, 0.0) + shift
    tnorm = 1.0 + float(np.abs(target).max())
    xt = x.T
    for _ in range(maxit):
        r1 = target - xt @ a
        r2 = weights - a - s
        r3 = y - x @ beta - v + z
        gap = float(a @ z + s @ v)
        if (
            gap <= tol * (1.0 + abs(float(y @ a)))
            and float(np.abs(r1).max()) <= 1e-9 * tnorm
            and float(np.abs(r3).max()) <= 1e-9 * scale
        ):
            return beta, a
        mu = gap / (2 * n)
        v_s = v / s
        z_a = z / a
        theta = 1.0 / (v_s + z_a)
        normal = (xt * theta) @ x
        if not np.all(np.isfinite(normal)):
            return None
        base = r3 + v_s * r2
        # Predictor (affine scaling): r4 = −a∘z, r5 = −s∘v.
        q = base + v - z  # r3 − (r5 − v∘r2)/s + r4/a with r5/s = −v, r4/a = −z
        try:
            dbeta = np.linalg.solve(normal, xt @ (theta * q) - r1)
        except LinAlgError:
            return None
        da = theta * (q - x @ dbeta)
        dz = -z - z_a * da
        ds = r2 - da
        dv = -v - v_s * ds
        ap = min(_max_step(a, da), _max_step(s, ds))
        ad = min(_max_step(z, dz), _max_step(v, dv))
        mu_aff = float((a + ap * da) @ (z + ad * dz) + (s + ap * ds) @ (v + ad * dv)) / (2 * n)
        sigma_mu = (mu_aff / mu) ** 3 * mu if mu > 0 else 0.0
        # Corrector: r4 = σμ − a∘z − Δa∘Δz, r5 = σμ − s∘v − Δs∘Δv.
        r4 = sigma_mu - a * z - da * dz
        r5 = sigma_mu - s * v - ds * dv
        q = base - r5 / s + r4 / a
        dbeta = np.linalg.solve(normal, xt @ (theta * q) - r1)
        da = theta * (q - x @ dbeta)
        dz = (r4 - z * da) / a
        ds = r2 - da
        dv = (r5 - v * ds) / s
        ap = 0.99995 * min(_max_step(a, da), _max_step(s, ds))
        ad = 0.99995 * min(_max_step(z, dz), _max_step(v, dv))
        a = a + ap * da
        s = s + ap * ds
        beta = beta + ad * dbeta
        z = z + ad * dz
        v = v + ad * dv
        if not np.all(np.isfinite(beta)):
            return None
    return None


def vertex_from(x: Array, y: Array, beta: Array, candidates: npt.NDArray[np.intp]) -> Array | None:
    """The vertex through p independent candidates closest to the fit β (smallest |r| first)."""
    p = x.shape[1]
    r = np.abs(y[candidates] - x[candidates] @ beta)
    ordered = candidates[np.argsort(r, kind="stable")]
    pool = ordered[: min(ordered.size, 3 * p)]
    # Greedy independent subset in order of closeness: Gram–Schmidt against the rows chosen.
    chosen: list[int] = []
    ortho = np.empty((0, p))
    for index in pool:
        row = x[index]
        rest = row - ortho.T @ (ortho @ row)
        norm = float(np.linalg.norm(rest))
        if norm > 1e-8 * max(1.0, float(np.linalg.norm(row))):
            chosen.append(int(index))
            ortho = np.vstack([ortho, rest / norm])
            if len(chosen) == p:
                break
    if len(chosen) < p:
        return None
    try:
        return np.asarray(np.linalg.solve(x[chosen], y[chosen]), dtype=np.float64)
    except LinAlgError:
        return None


def band_vertex(x: Array, y: Array, weights: Array, target: Array) -> Array | None:
    """An optimal vertex of the band problem by the HiGHS simplex (β = −equality marginals)."""
    res = linprog(
        -y,
        A_eq=x.T,
        b_eq=target,
        bounds=np.column_stack([np.zeros_like(weights), weights]),
        method="highs-ds",
    )
    if res.status != 0:
        return None
    return np.asarray(-res.eqlin.marginals, dtype=np.float64)


# --------------------------------------------------------------------------- fast chain


@dataclass
class ChainStats:
    """Counters of one fast run (for the benchmark and tests)."""

    taus: int = 0
    fits: int = 0  # reduced interior-point solves
    enlarged: int = 0  # band enlargements after sign violations
    repairs: int = 0  # vertices taken from the band's simplex solution
    fallbacks: int = 0  # τ values solved by the exact LP

    def add(self, other: ChainStats) -> None:
        self.taus += other.taus
        self.fits += other.fits
        self.enlarged += other.enlarged
        self.repairs += other.repairs
        self.fallbacks += other.fallbacks


def merge_duplicates(x: Array, y: Array) -> tuple[Array, Array, Array]:
    """Identical (x, y) rows merged into one row with weight = count (same optimum, fewer ties)."""
    rows = np.column_stack([x, y])
    order = np.lexsort(rows.T[::-1])
    ordered = rows[order]
    starts = np.concatenate([[True], np.any(ordered[1:] != ordered[:-1], axis=1)])
    first = np.flatnonzero(starts)
    counts = np.diff(np.append(first, rows.shape[0])).astype(np.float64)
    unique = ordered[first]
    return np.ascontiguousarray(unique[:, :-1]), np.ascontiguousarray(unique[:, -1]), counts


def band_size(n: int, p: int) -> int:
    return int(min(n, max(20 * p, math.sqrt(p) * n ** (2.0 / 3.0))))


def _solve_banded(
    x: Array, y: Array, w: Array, tau: float, beta_prev: Array, stats: ChainStats
) -> Array | None:
    """A certified unique optimal vertex at τ, or None (then the caller uses the exact LP)."""
    n, p = x.shape
    full_target = (1.0 - tau) * (x.T @ w)
    if n <= FULL_PROBLEM_BELOW:
        order = np.arange(n)
        m = n
    else:
        order = np.argsort(y - x @ beta_prev)
        m = band_size(n, p)
    # Cumulative weights locate the τ-quantile of the residual ranking under beta_prev.
    cum = np.cumsum(w[order])
    centre = int(np.searchsorted(cum, tau * cum[-1]))
    side = np.zeros(n, dtype=np.int8)  # −1: fixed at a = 0, +1: fixed at a = w, 0: in the band

    def band(size: int) -> None:
        lo = max(0, centre - size // 2)
        hi = min(n, lo + size)
        lo = max(0, hi - size)
        side[:] = 0
        side[order[:lo]] = -1
        side[order[hi:]] = 1

    band(m)
    beta0 = beta_prev
    zero_tol = ZERO_RESIDUAL * _scale(y)
    for _ in range(12):
        mid = np.flatnonzero(side == 0)
        target = full_target - x.T @ (w * (side == 1))
        stats.fits += 1
        fit = interior_point(x[mid], y[mid], w[mid], target, tau, beta0=beta0)
        if fit is None:
            if m >= n:
                return None
            m = min(n, 2 * m)
            stats.enlarged += 1
            band(m)
            continue
        beta_ip, _ = fit
        r = y - x @ beta_ip
        bad = ((side == -1) & (r > zero_tol)) | ((side == 1) & (r < -zero_tol))
        if bad.any():
            stats.enlarged += 1
            if bad.sum() > 0.1 * m:
                m = min(n, 2 * m)
                band(m)
            side[bad] = 0
            beta0 = beta_ip
            continue
        beta = vertex_from(x, y, beta_ip, mid)
        if beta is not None and certify(x, y, w, tau, beta).unique:
            return beta
        # The interior point stopped nearer another (nearly tied) vertex: take the band's
        # optimal vertex from the simplex instead and certify that one.
        stats.repairs += 1
        beta = band_vertex(x[mid], y[mid], w[mid], target)
        if beta is not None and certify(x, y, w, tau, beta).unique:
            return beta
        return None
    return None


def fast_chain(
    x: Array, y: Array, taus: Sequence[float], beta_start: Array | None
) -> tuple[Array, ChainStats]:
    """Solve τ values in order, each warm-started from the previous one."""
    stats = ChainStats()
    xm, ym, wm = merge_duplicates(x, y)
    p = x.shape[1]
    out = np.empty((p, len(taus)))
    if beta_start is None:
        root = np.sqrt(wm)
        beta_prev: Array = np.asarray(
            np.linalg.lstsq(xm * root[:, None], ym * root, rcond=None)[0], dtype=np.float64
        )
    else:
        beta_prev = np.asarray(beta_start, dtype=np.float64)
    for j, tau in enumerate(taus):
        stats.taus += 1
        beta = _solve_banded(xm, ym, wm, float(tau), beta_prev, stats)
        if beta is None:
            stats.fallbacks += 1
            beta = exact_tau(x, y, float(tau))
        out[:, j] = beta
        beta_prev = beta
    return out, stats


def exact_chain(x: Array, y: Array, taus: Sequence[float]) -> Array:
    out = np.empty((x.shape[1], len(taus)))
    for j, tau in enumerate(taus):
        out[:, j] = exact_tau(x, y, float(tau))
    return out


# --------------------------------------------------------------------------- matrices


Problem = tuple[Array, Array] | SplineProblem


def _shape(problem: Problem) -> tuple[int, int]:
    if isinstance(problem, SplineProblem):
        return problem.n, problem.p
    x, _ = problem
    return int(x.shape[0]), int(x.shape[1])


def _materialise(problem: Problem) -> tuple[Array, Array]:
    if isinstance(problem, SplineProblem):
        return problem.design(), problem.y
    return problem


@dataclass(frozen=True)
class Job:
    """One chain of τ values of one coefficient matrix."""

    matrix: int
    columns: tuple[int, ...]
    problem: Problem
    taus: tuple[float, ...]
    solver: Solver

    @property
    def work(self) -> int:
        n, p = _shape(self.problem)
        return n * p * p * len(self.taus)


Result = tuple[int, tuple[int, ...], Array, ChainStats]


def _run_job(job: Job) -> Result:
    x, y = _materialise(job.problem)
    if job.solver == "exact":
        return job.matrix, job.columns, exact_chain(x, y, job.taus), ChainStats(taus=len(job.taus))
    coefficients, stats = fast_chain(x, y, job.taus, None)
    return job.matrix, job.columns, coefficients, stats


def _jobs(problems: Sequence[Problem], taus: Array, solver: Solver) -> list[Job]:
    jobs: list[Job] = []
    # Two chains per matrix: from the median upwards and from just below it downwards.
    median = int(np.searchsorted(taus, 0.5))
    up = tuple(range(median, taus.size))
    down = tuple(range(median - 1, -1, -1))
    for index, problem in enumerate(problems):
        for columns in (up, down):
            if columns:
                chain = tuple(float(taus[c]) for c in columns)
                jobs.append(Job(index, columns, problem, chain, solver))
    return jobs


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


# Tiny BLAS calls (p ≤ 22 columns) only lose time to threads; workers run single-threaded.
_SINGLE_THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def _in_processes(jobs: list[Job], count: int) -> list[Result]:
    """Run jobs in ``count`` fresh (spawned) processes with single-threaded BLAS.

    At most ``count`` jobs are in flight, so only their data is pickled and held at a time.
    """
    saved = {key: os.environ.get(key) for key in _SINGLE_THREAD_ENV}
    os.environ.update(_SINGLE_THREAD_ENV)
    results: list[Result] = []
    try:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
            pending: set[Future[Result]] = set()
            for job in jobs:
                if len(pending) >= count:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    results.extend(future.result() for future in done)
                pending.add(pool.submit(_run_job, job))
            results.extend(future.result() for future in pending)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return results


def coefficient_matrices(
    problems: Sequence[Problem],
    *,
    taus: Array | None = None,
    solver: Solver = "fast",
    workers: int | None = None,
) -> tuple[list[Array], ChainStats]:
    """Coefficient matrices (p × len(τ)) of several problems, chains run in parallel.

    A problem is (X, y), or a :class:`SplineProblem` whose design matrix is built where it is
    solved (worker processes receive the priors, not X).
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}")
    grid = sgp_taus() if taus is None else np.asarray(taus, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0 or np.any(np.diff(grid) <= 0):
        raise ValueError("taus must be increasing")
    for problem in problems:
        n, p = _shape(problem)
        y = problem.y if isinstance(problem, SplineProblem) else problem[1]
        if y.shape != (n,) or n <= p:
            raise ValueError("each problem needs X (n, p) with n > p and y (n,)")
    out = [np.empty((_shape(problem)[1], grid.size)) for problem in problems]
    stats = ChainStats()
    jobs = _jobs(problems, grid, solver)
    count = default_workers() if workers is None else max(1, workers)
    if count > 1 and len(jobs) > 1 and sum(job.work for job in jobs) >= PARALLEL_WORK:
        # Largest first so that the processes finish together.
        jobs.sort(key=lambda job: -job.work)
        results = _in_processes(jobs, min(count, len(jobs)))
    else:
        results = [_run_job(job) for job in jobs]
    for matrix, columns, coefficients, chain_stats in results:
        out[matrix][:, list(columns)] = coefficients
        stats.add(chain_stats)
    return out, stats
