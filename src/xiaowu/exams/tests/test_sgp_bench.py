"""The SGP benchmark at a small size: timings, optimality check, statsmodels comparison."""

from __future__ import annotations

import io

import numpy as np
from django.core.management.base import OutputWrapper

from xiaowu.exams.valueadded import bench
from xiaowu.exams.valueadded.bench import sgp_benchmark, synthetic_panel


def test_synthetic_panel_is_a_vertically_scaled_cohort():
    panel = synthetic_panel(1000, 2)
    assert panel.years == (2021, 2022, 2023)
    assert np.nanmean(panel.scores[:, 2]) > np.nanmean(panel.scores[:, 0]) + 50
    assert 0 < np.isnan(panel.scores[:, 0]).sum() < 100
    assert np.array_equal(panel.scores, synthetic_panel(1000, 2).scores, equal_nan=True)


def test_benchmark_reports_optimality_and_the_statsmodels_ratio():
    out = io.StringIO()
    report = sgp_benchmark(students=600, priors=1, stdout=out)
    text = out.getvalue()
    assert report["fits"] == 100
    assert report["optimal"] is True
    assert all(check["equal"] for check in report["objective_checks"])
    assert report["statsmodels"]["extrapolated"] is True
    assert report["statsmodels"]["timed_fits"] == len(bench.SAMPLED_TAUS)
    assert report["statsmodels"]["ratio"] > 0
    # statsmodels is only approximately optimal: never better than the exact optimum.
    assert report["statsmodels"]["max_objective_gap"] >= -1e-6
    assert "外推" in text
    assert "速度比" in text


def test_benchmark_without_statsmodels_says_the_comparison_was_skipped(monkeypatch):
    monkeypatch.setattr(bench, "_statsmodels_available", lambda: False)
    out = io.StringIO()
    # Django's OutputWrapper (what ``xiaowu bench`` passes) adds no second newline.
    report = sgp_benchmark(students=300, priors=1, stdout=OutputWrapper(out))
    assert report["statsmodels"] is None
    lines = out.getvalue().splitlines()
    assert "跳过" in lines[-1]
    assert "" not in lines
