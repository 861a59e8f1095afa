"""SGP benchmark: the production exact solver against statsmodels ``QuantReg``.

``sgp_benchmark`` builds a synthetic, vertically scaled cohort (seeded numpy; grades 3 … 3 +
priors over consecutive years, integer scale scores with ties, a few students missing the
oldest year), runs SGP at every order (100 τ each) with the production ``fast`` solver, times
``statsmodels`` ``QuantReg`` on a sample of τ values of the same fits (extrapolated to 100 τ,
and said so), and checks optimality: on a few τ values the objective of the production
coefficients must equal the one of the plain HiGHS dual LP. ``xiaowu bench exams`` calls it.
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from typing import Any, Protocol

import numpy as np
import polars as pl

from xiaowu.exams.valueadded.sgp.basis import design_matrix
from xiaowu.exams.valueadded.sgp.quantreg import exact_tau, objective, sgp_taus
from xiaowu.exams.valueadded.sgp.sgp import SGPSettings, student_growth_percentiles
from xiaowu.exams.valueadded.sgp.wide import Panel

TARGET_SECONDS = 60.0
TARGET_RATIO = 5.0
FIRST_GRADE = 3
FIRST_YEAR = 2021
# τ indices (0-based into the 100-point grid) timed with statsmodels and checked against HiGHS.
SAMPLED_TAUS = (4, 24, 49, 74, 94)
CHECKED_TAUS = (4, 49, 94)  # a subset of SAMPLED_TAUS


class Writer(Protocol):
    """Where the report goes: a text stream or Django's ``OutputWrapper``."""

    def write(self, text: str, /) -> object: ...


def synthetic_panel(students: int, priors: int, *, seed: int = 20240601) -> Panel:
    """A cohort followed over priors + 1 consecutive years and grades, vertically scaled."""
    rng = np.random.default_rng(seed)
    years = priors + 1
    ability = rng.normal(0.0, 1.0, students)
    growth = rng.normal(0.0, 0.35, students)
    scores = np.empty((students, years))
    for year in range(years):
        noise = rng.normal(0.0, 0.4, students)
        spread = 48.0 + 4.0 * year  # the scale fans out with grade
        level = 480.0 + 38.0 * year
        scores[:, year] = np.round(level + spread * (ability + growth * year + noise))
    grades = np.tile(np.arange(FIRST_GRADE, FIRST_GRADE + years, dtype=np.float64), (students, 1))
    # 3% have no score in the oldest year (moved in later).
    missing = rng.random(students) < 0.03
    scores[missing, 0] = np.nan
    grades[missing, 0] = np.nan
    return Panel(
        ids=pl.Series("ID", np.arange(1, students + 1, dtype=np.int64)),
        years=tuple(range(FIRST_YEAR, FIRST_YEAR + years)),
        grades=grades,
        scores=scores,
    )


def _statsmodels_available() -> bool:
    return importlib.util.find_spec("statsmodels") is not None


def sgp_benchmark(
    students: int = 50000, priors: int = 2, stdout: Writer | None = None
) -> dict[str, Any]:
    """Time SGP (orders 1 … priors, 100 τ each) and compare with statsmodels; print a report."""
    if students < 100 or priors < 1:
        raise ValueError("the benchmark needs at least 100 students and 1 prior")

    def say(text: str) -> None:
        if stdout is not None:
            stdout.write(text + "\n")
            flush = getattr(stdout, "flush", None)
            if callable(flush):
                flush()

    panel = synthetic_panel(students, priors)
    progression = tuple(range(FIRST_GRADE, FIRST_GRADE + priors + 1))
    settings = SGPSettings(progressions=(progression,), max_order=priors, solver="fast")
    say(f"SGP 基准：{students} 名学生，{priors} 个前测，阶数 1–{priors}，每阶 100 个分位点")
    started = time.perf_counter()
    result = student_growth_percentiles(panel, settings)
    sgp_seconds = time.perf_counter() - started
    fitted = [m for m in result.matrices if m.coefficients is not None]
    fits = 100 * len(fitted)
    say(
        f"  本系统（精确顶点求解器）：{sgp_seconds:.1f} 秒，{fits} 次分位回归"
        f"（目标 ≤ {TARGET_SECONDS:.0f} 秒）；"
        f"带宽扩大 {result.stats.enlarged} 次，修复 {result.stats.repairs} 次，"
        f"回退到完整线性规划 {result.stats.fallbacks} 次"
    )

    # Rebuild the design matrices of the fits (same cohorts, same knots) for the comparisons.
    taus = sgp_taus()
    current = len(panel.years) - 1
    problems = []
    for matrix in fitted:
        order = matrix.order
        mask = np.ones(panel.size, dtype=np.bool_)
        for back in range(order + 1):
            mask &= np.isfinite(panel.scores[:, current - back])
        rows = np.flatnonzero(mask)
        priors_used = [panel.scores[rows, current - back] for back in range(order, 0, -1)]
        x = design_matrix(priors_used, [result.knots[g] for g in matrix.progression[:-1]])
        problems.append((matrix, x, panel.scores[rows, current]))

    checks = []
    exact_objectives: dict[tuple[int, int], float] = {}
    for matrix, x, y in problems:
        if matrix.coefficients is None:
            continue
        for index in CHECKED_TAUS:
            tau = float(taus[index])
            ours = objective(x, y, tau, matrix.coefficients[:, index])
            exact = objective(x, y, tau, exact_tau(x, y, tau))
            exact_objectives[matrix.order, index] = exact
            checks.append(
                {
                    "order": matrix.order,
                    "tau": tau,
                    "objective": ours,
                    "exact_objective": exact,
                    "equal": abs(ours - exact) <= 1e-9 * max(1.0, abs(exact)),
                }
            )
    optimal = all(check["equal"] for check in checks)
    say(
        f"  最优性核验：{len(checks)} 个分位点的目标函数值与 HiGHS 完整对偶线性规划"
        f"{'完全一致' if optimal else '不一致'}"
    )

    report: dict[str, Any] = {
        "students": students,
        "priors": priors,
        "fits": fits,
        "sgp_seconds": round(sgp_seconds, 3),
        "target_seconds": TARGET_SECONDS,
        "within_target": sgp_seconds <= TARGET_SECONDS,
        "optimal": optimal,
        "objective_checks": checks,
        "solver_stats": {
            "fits": result.stats.fits,
            "enlarged": result.stats.enlarged,
            "repairs": result.stats.repairs,
            "fallbacks": result.stats.fallbacks,
        },
        "statsmodels": None,
    }
    if not _statsmodels_available():
        say("  未安装 statsmodels：跳过与 statsmodels QuantReg 的对比")
        return report
    from statsmodels.regression.quantile_regression import (  # noqa: PLC0415 — optional dev dependency
        QuantReg,
    )

    timed = 0.0
    gaps = []
    for matrix, x, y in problems:
        model = QuantReg(y, x)
        for index in SAMPLED_TAUS:
            tau = float(taus[index])
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                params = model.fit(q=tau).params
            timed += time.perf_counter() - started
            reference = exact_objectives.get((matrix.order, index))
            if reference is not None:
                gaps.append(objective(x, y, tau, np.asarray(params)) - reference)
    estimate = timed * 100 / len(SAMPLED_TAUS)
    ratio = estimate / sgp_seconds if sgp_seconds > 0 else float("inf")
    say(
        f"  statsmodels QuantReg：实测 {len(SAMPLED_TAUS) * len(problems)} 次拟合"
        f"（每阶 {len(SAMPLED_TAUS)} 个分位点）共 {timed:.1f} 秒，按 100 个分位点外推约"
        f" {estimate:.1f} 秒（外推值，非实测）"
    )
    say(f"  速度比：statsmodels / 本系统 = {ratio:.1f} 倍（目标 ≥ {TARGET_RATIO:.0f} 倍）")
    if gaps:
        say(f"  statsmodels 目标函数值比精确最优解高 {max(gaps):.3g}（近似解）")
    report["statsmodels"] = {
        "timed_fits": len(SAMPLED_TAUS) * len(problems),
        "timed_seconds": round(timed, 3),
        "extrapolated_seconds": round(estimate, 3),
        "extrapolated": True,
        "ratio": round(ratio, 2),
        "target_ratio": TARGET_RATIO,
        "within_target": ratio >= TARGET_RATIO,
        "max_objective_gap": max(gaps) if gaps else None,
    }
    return report
