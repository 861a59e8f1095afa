"""Residual gain + empirical-Bayes shrinkage (analytics.md §3.3)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from xiaowu.exams.valueadded.residual import EBSettings, residual_gain


def test_hand_checked_small_case():
    # Prior ±1 and current ±1 are already standard scores (mean 0, σ = 1), uncorrelated:
    # slope 0, residual = current. Unit A: residuals −1, −1 → m = −1; unit B: +1, +1 → m = 1.
    # σ²_e = Σr²/(N − 2) = 4/2 = 2; var(m) = 2 (ddof 1); mean(σ²_e/n) = 1 → σ²_u = 1;
    # λ = 1/(1 + 2/2) = 0.5; VA = ∓0.5; SE = √(1·0.5); CI = VA ± 1.96·SE.
    frame = pl.DataFrame(
        {
            "unit": ["A", "B", "A", "B"],
            "prior": [-1.0, -1.0, 1.0, 1.0],
            "current": [-1.0, 1.0, -1.0, 1.0],
        }
    )
    result = residual_gain(frame, current="current", priors="prior", group="unit")
    cohort = result.cohorts.row(0, named=True)
    assert cohort["intercept"] == pytest.approx(0.0, abs=1e-12)
    assert cohort["b_z_prior"] == pytest.approx(0.0, abs=1e-12)
    assert cohort["sigma2_e"] == pytest.approx(2.0)
    assert cohort["sigma2_u"] == pytest.approx(1.0)
    assert cohort["units"] == 2
    units = {row["unit"]: row for row in result.units.iter_rows(named=True)}
    se = math.sqrt(0.5)
    for name, sign in (("A", -1), ("B", 1)):
        row = units[name]
        assert row["n"] == 2
        assert row["raw_va"] == pytest.approx(sign * 1.0)
        assert row["lambda"] == pytest.approx(0.5)
        assert row["va"] == pytest.approx(sign * 0.5)
        assert row["se"] == pytest.approx(se)
        assert row["ci_low"] == pytest.approx(sign * 0.5 - 1.96 * se)
        assert row["ci_high"] == pytest.approx(sign * 0.5 + 1.96 * se)
        assert row["small_n"] is True  # 2 < 10
    assert result.students["residual"].to_list() == pytest.approx([-1.0, 1.0, -1.0, 1.0])


def test_standardisation_is_within_cohort_and_population_sd():
    frame = pl.DataFrame(
        {
            "subject": ["语文"] * 4 + ["数学"] * 4,
            "unit": [1, 1, 2, 2] * 2,
            "prior": [60.0, 70.0, 80.0, 90.0, 1.0, 2.0, 3.0, 5.0],
            "current": [65.0, 70.0, 85.0, 95.0, 2.0, 2.0, 4.0, 6.0],
        }
    )
    result = residual_gain(
        frame, current="current", priors="prior", group="unit", cohort=["subject"]
    )
    chinese = result.students.filter(pl.col("subject") == "语文")
    # 60, 70, 80, 90: mean 75, σ (ddof 0) = √125.
    assert chinese["z_prior"].to_list() == pytest.approx(
        [(v - 75) / math.sqrt(125) for v in (60, 70, 80, 90)]
    )
    assert result.cohorts.height == 2
    assert result.units.columns[:2] == ["subject", "unit"]
    for part in result.students.partition_by("subject"):
        assert part["residual"].sum() == pytest.approx(0.0, abs=1e-12)


def test_no_between_unit_variance_shrinks_to_zero():
    # Both units have the same mean residual: σ²_u hits ε and every VA is ~0.
    frame = pl.DataFrame(
        {
            "unit": ["A", "A", "B", "B"],
            "prior": [1.0, 2.0, 1.0, 2.0],
            "current": [1.0, 3.0, 1.0, 3.0],
        }
    )
    result = residual_gain(
        frame, current="current", priors="prior", group="unit", settings=EBSettings(epsilon=1e-9)
    )
    assert result.units["sigma2_u"].to_list() == pytest.approx([1e-9, 1e-9])
    assert float(result.units["va"].abs().max()) < 1e-6


def test_rows_with_missing_values_are_dropped_and_counted():
    frame = pl.DataFrame(
        {
            "unit": [1, 1, 2, 2, None, 2],
            "prior": [1.0, 2.0, 3.0, 4.0, 5.0, None],
            "current": [1.0, 2.5, 2.0, 4.5, 5.0, 1.0],
        }
    )
    result = residual_gain(frame, current="current", priors="prior", group="unit")
    assert result.dropped == 2
    assert result.units["n"].to_list() == [2, 2]
    with pytest.raises(ValueError, match="缺少列：teacher"):
        residual_gain(frame, current="current", priors="prior", group="teacher")


def _simulated(n: int, units: int, seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    unit = rng.integers(0, units, n)
    effect = rng.normal(0, 0.3, units)
    prior = rng.normal(500, 80, n)
    prior2 = 0.6 * prior + rng.normal(200, 50, n)
    girl = rng.integers(0, 2, n).astype(float)
    current = (
        0.6 * (prior - 500) / 80
        + 0.2 * (prior2 - 500) / 60
        + 0.1 * girl
        + effect[unit]
        + rng.normal(0, 0.6, n)
    )
    frame = pl.DataFrame(
        {"unit": unit, "prior": prior, "prior2": prior2, "girl": girl, "current": current}
    )
    return frame, effect


def test_ols_coefficients_equal_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    frame, _ = _simulated(1500, 40, 1)
    result = residual_gain(
        frame, current="current", priors=["prior", "prior2"], group="unit", covariates=["girl"]
    )
    students = result.students
    design = sm.add_constant(students.select("z_prior", "z_prior2", "girl").to_numpy())
    reference = sm.OLS(students["z_current"].to_numpy(), design).fit()
    cohort = result.cohorts.row(0, named=True)
    ours = [cohort["intercept"], cohort["b_z_prior"], cohort["b_z_prior2"], cohort["b_girl"]]
    assert ours == pytest.approx(list(reference.params), abs=1e-10)
    assert cohort["r2"] == pytest.approx(reference.rsquared, abs=1e-10)
    assert cohort["sigma2_e"] == pytest.approx(reference.scale, rel=1e-10)
    assert students["residual"].to_numpy() == pytest.approx(reference.resid, abs=1e-10)


def test_eb_estimates_agree_with_mixedlm_blups():
    sm = pytest.importorskip("statsmodels.api")
    frame, effect = _simulated(2000, 60, 2)
    result = residual_gain(frame, current="current", priors="prior", group="unit")
    students = result.students
    model = sm.MixedLM(
        students["z_current"].to_numpy(),
        sm.add_constant(students["z_prior"].to_numpy()),
        groups=students["unit"].to_numpy(),
    ).fit(reml=True)
    blup = {int(k): float(v.iloc[0]) for k, v in model.random_effects.items()}
    units = result.units.sort("unit")
    ours = units["va"].to_numpy()
    theirs = np.array([blup[int(u)] for u in units["unit"]])
    assert np.corrcoef(ours, theirs)[0, 1] > 0.99
    # Shrinkage pulls toward 0: the EB spread is below the raw spread.
    assert ours.std() < units["raw_va"].to_numpy().std()
    # And both recover the simulated effects.
    assert np.corrcoef(ours, effect[units["unit"].to_numpy()])[0, 1] > 0.8


def test_pooled_components_and_prestandardised_scores():
    frame, _ = _simulated(900, 30, 3)
    frame = frame.with_columns(grade=pl.Series([7, 8, 9] * 300))
    pooled = residual_gain(
        frame,
        current="current",
        priors="prior",
        group="unit",
        cohort=["grade"],
        settings=EBSettings(pool_components=True, min_n=12),
    )
    assert pooled.units["sigma2_u"].n_unique() == 1
    assert pooled.units["sigma2_e"].n_unique() == 1
    assert (pooled.units["small_n"] == (pooled.units["n"] < 12)).all()
    separate = residual_gain(
        frame, current="current", priors="prior", group="unit", cohort=["grade"]
    )
    assert separate.units["sigma2_u"].n_unique() == 3
    raw = residual_gain(
        frame,
        current="current",
        priors="prior",
        group="unit",
        settings=EBSettings(standardize=False),
    )
    assert raw.students["z_prior"].to_list() == frame["prior"].to_list()
