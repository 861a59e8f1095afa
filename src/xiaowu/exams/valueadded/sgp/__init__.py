"""Student Growth Percentiles: knots, B-spline bases, exact quantile regression, the driver.

Names are imported lazily (see the parent package).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xiaowu.exams.valueadded.sgp.sgp import (
        SGPResult,
        SGPSettings,
        parse_progressions,
        student_growth_percentiles,
        summarize_sgp,
    )
    from xiaowu.exams.valueadded.sgp.wide import Panel, PanelError, panel_from_long, read_wide

_EXPORTS = {
    "SGPResult": "sgp",
    "SGPSettings": "sgp",
    "parse_progressions": "sgp",
    "student_growth_percentiles": "sgp",
    "summarize_sgp": "sgp",
    "Panel": "wide",
    "PanelError": "wide",
    "panel_from_long": "wide",
    "read_wide": "wide",
}

__all__ = [
    "Panel",
    "PanelError",
    "SGPResult",
    "SGPSettings",
    "panel_from_long",
    "parse_progressions",
    "read_wide",
    "student_growth_percentiles",
    "summarize_sgp",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
