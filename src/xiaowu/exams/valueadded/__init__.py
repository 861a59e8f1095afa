"""Value-added evaluation (增值评价) as pure numerical functions (no ORM).

- :mod:`.residual` — residual gain + empirical-Bayes shrinkage (the default model);
- :mod:`.indices` — 标准分增量 and 百分等级进退;
- :mod:`.matching` — matching students between two exams;
- :mod:`.fit` — one entry point for the pages (``fit(method, matched, params)``);
- :mod:`.sgp` — Student Growth Percentiles reproducing the R SGP package;
- :mod:`.bench` — the SGP benchmark.

Names are imported lazily, so that the SGP worker processes (which import only
:mod:`.sgp.quantreg`) start without polars and the rest.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xiaowu.exams.valueadded.fit import METHODS, ValueAddedInputError, fit
    from xiaowu.exams.valueadded.indices import percentile_rank_change, standard_score_gain
    from xiaowu.exams.valueadded.matching import MatchResult, match_students
    from xiaowu.exams.valueadded.residual import EBSettings, ResidualGainResult, residual_gain

_EXPORTS = {
    "METHODS": "fit",
    "ValueAddedInputError": "fit",
    "fit": "fit",
    "percentile_rank_change": "indices",
    "standard_score_gain": "indices",
    "MatchResult": "matching",
    "match_students": "matching",
    "EBSettings": "residual",
    "ResidualGainResult": "residual",
    "residual_gain": "residual",
}

__all__ = [
    "METHODS",
    "EBSettings",
    "MatchResult",
    "ResidualGainResult",
    "ValueAddedInputError",
    "fit",
    "match_students",
    "percentile_rank_change",
    "residual_gain",
    "standard_score_gain",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
