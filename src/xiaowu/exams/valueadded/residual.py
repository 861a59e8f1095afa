"""Residual gain with empirical-Bayes shrinkage — the default value-added model (analytics.md §3.3).

Per cohort (e.g. subject × grade × year; any columns, or the whole frame):

1. standardise each prior and the current score within the cohort (z, ddof = 0), unless the
   columns already hold standard scores;
2. OLS  z = a + Σ b_k·z⁰_k (+ optional numeric covariates, unstandardised); residual r;
3. per unit u (class, teacher, school — any column): m_u = mean r, n_u = count;
4. σ²_e = Σr² / (N − q) (q = number of OLS coefficients), σ²_u = max(var(m_u) − mean(σ²_e/n_u), ε)
   with var over the units (ddof = 1);
5. λ_u = σ²_u / (σ²_u + σ²_e/n_u), VA_u = λ_u·m_u, SE_u = √(σ²_u·(1 − λ_u));
6. 95% interval VA_u ± 1.96·SE_u; units with n_u < min_n are flagged ``small_n``.

Variance components are estimated per cohort, or pooled over all cohorts
(``pool_components=True``: σ²_e from all residuals, σ²_u from all units).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

COHORT_ALL = "__cohort__"


@dataclass(frozen=True)
class EBSettings:
    min_n: int = 10
    epsilon: float = 1e-6
    z: float = 1.96
    pool_components: bool = False
    standardize: bool = True

    def __post_init__(self) -> None:
        if self.min_n < 1:
            raise ValueError("min_n must be at least 1")
        if self.epsilon <= 0:
            raise ValueError("epsilon must be positive")


@dataclass(frozen=True)
class ResidualGainResult:
    students: pl.DataFrame  # input rows used + z_<prior>…, z_current, expected, residual
    units: pl.DataFrame  # cohort…, group, n, raw_va, lambda, va, se, ci_low, ci_high, small_n
    cohorts: pl.DataFrame  # cohort…, n, units, coefficients, r2, sigma2_e, sigma2_u
    dropped: int  # rows left out for a missing score, prior, covariate or group


def _as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _zscore(column: str, over: list[str]) -> pl.Expr:
    mean = pl.col(column).mean().over(over)
    std = pl.col(column).std(ddof=0).over(over)
    return pl.when(std > 0).then((pl.col(column) - mean) / std).otherwise(0.0)


def _check(frame: pl.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"缺少列：{'、'.join(missing)}")


def residual_gain(
    frame: pl.DataFrame,
    *,
    current: str,
    priors: str | Sequence[str],
    group: str,
    cohort: Sequence[str] = (),
    covariates: Sequence[str] = (),
    settings: EBSettings | None = None,
) -> ResidualGainResult:
    """Residual-gain value-added with EB shrinkage for every unit of ``group`` (see module)."""
    settings = settings or EBSettings()
    prior_columns = _as_list(priors)
    if not prior_columns:
        raise ValueError("at least one prior is needed")
    cohort_columns = list(cohort)
    extra = list(covariates)
    _check(frame, [current, *prior_columns, group, *cohort_columns, *extra])
    needed = [current, *prior_columns, group, *extra]
    data = frame.drop_nulls(needed).filter(
        pl.all_horizontal(pl.col([current, *prior_columns, *extra]).cast(pl.Float64).is_finite())
    )
    dropped = frame.height - data.height
    over = cohort_columns or [COHORT_ALL]
    data = data.with_columns(pl.lit(0).alias(COHORT_ALL)) if not cohort_columns else data
    names = [f"z_{c}" for c in prior_columns]
    if settings.standardize:
        data = data.with_columns(
            *[_zscore(c, over).alias(n) for c, n in zip(prior_columns, names, strict=True)],
            _zscore(current, over).alias("z_current"),
        )
    else:
        data = data.with_columns(
            *[
                pl.col(c).cast(pl.Float64).alias(n)
                for c, n in zip(prior_columns, names, strict=True)
            ],
            pl.col(current).cast(pl.Float64).alias("z_current"),
        )
    data = data.with_row_index("__row__")
    regressors = [*names, *extra]
    q = 1 + len(regressors)
    expected = np.zeros(data.height)
    cohort_rows: list[dict[str, object]] = []
    for key, part in data.group_by(over, maintain_order=True):
        rows = part["__row__"].to_numpy()
        y = part["z_current"].to_numpy().astype(np.float64)
        x = np.column_stack(
            [np.ones(part.height), part.select(regressors).to_numpy().astype(np.float64)]
        )
        if part.height <= q:
            label = dict(zip(over, key, strict=True))
            raise ValueError(f"队列 {label} 只有 {part.height} 人，少于回归所需的 {q + 1} 人")
        coefficients = np.linalg.lstsq(x, y, rcond=None)[0]
        fitted = x @ coefficients
        expected[rows] = fitted
        residual = y - fitted
        total = float(((y - y.mean()) ** 2).sum())
        cohort_rows.append(
            {
                **dict(zip(over, key, strict=True)),
                "n": part.height,
                "intercept": float(coefficients[0]),
                **{
                    f"b_{name}": float(b)
                    for name, b in zip(regressors, coefficients[1:], strict=True)
                },
                "r2": 1.0 - float(residual @ residual) / total if total > 0 else 0.0,
                "sigma2_e": float(residual @ residual) / (part.height - q),
            }
        )
    data = data.with_columns(
        pl.Series("expected", expected),
        (pl.col("z_current") - pl.Series(expected)).alias("residual"),
    )
    cohorts = pl.DataFrame(cohort_rows)
    units = data.group_by([*over, group]).agg(n=pl.len(), raw_va=pl.col("residual").mean())
    component_keys = over if not settings.pool_components else []
    if settings.pool_components:
        sse = float((data["residual"] ** 2).sum())
        sigma2_e = sse / (data.height - q * cohorts.height)
        units = units.with_columns(sigma2_e=pl.lit(sigma2_e))
        cohorts = cohorts.with_columns(sigma2_e=pl.lit(sigma2_e))
    else:
        units = units.join(cohorts.select([*over, "sigma2_e"]), on=over, how="left")
    between = (
        pl.col("raw_va").var(ddof=1).fill_null(0.0) - (pl.col("sigma2_e") / pl.col("n")).mean()
    ).clip(lower_bound=settings.epsilon)
    if component_keys:
        units = units.with_columns(sigma2_u=between.over(component_keys))
    else:
        units = units.with_columns(sigma2_u=between)
    units = (
        units.with_columns(
            **{
                "lambda": pl.col("sigma2_u")
                / (pl.col("sigma2_u") + pl.col("sigma2_e") / pl.col("n"))
            }
        )
        .with_columns(
            va=pl.col("lambda") * pl.col("raw_va"),
            se=(pl.col("sigma2_u") * (1.0 - pl.col("lambda"))).sqrt(),
        )
        .with_columns(
            ci_low=pl.col("va") - settings.z * pl.col("se"),
            ci_high=pl.col("va") + settings.z * pl.col("se"),
            small_n=pl.col("n") < settings.min_n,
        )
    )
    sigma_u = units.group_by(over).agg(sigma2_u=pl.col("sigma2_u").first(), units=pl.len())
    cohorts = cohorts.join(sigma_u, on=over, how="left")
    drop = [COHORT_ALL] if not cohort_columns else []
    return ResidualGainResult(
        students=data.drop(["__row__", *drop]),
        units=units.sort([*over, group]).drop(drop),
        cohorts=cohorts.drop(drop),
        dropped=dropped,
    )
