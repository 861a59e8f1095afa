"""Columnar exam-analysis engine (成绩分析): pure functions of a long score frame and a 口径.

No Django models here: ``analyze`` takes the long polars frame of the exams contract and a
``CaliberSpec`` and returns an ``ExamResult`` of polars DataFrames; ``item_analysis``,
``reliability``/``cronbach_alpha`` and ``option_analysis`` analyse item-level scores.
"""

from xiaowu.exams.analytics.caliber import TOTAL, CaliberError, CaliberSpec
from xiaowu.exams.analytics.engine import analyze
from xiaowu.exams.analytics.frame import FrameError
from xiaowu.exams.analytics.items import (
    Reliability,
    cronbach_alpha,
    item_analysis,
    option_analysis,
    reliability,
)
from xiaowu.exams.analytics.result import ExamResult

__all__ = [
    "TOTAL",
    "CaliberError",
    "CaliberSpec",
    "ExamResult",
    "FrameError",
    "Reliability",
    "analyze",
    "cronbach_alpha",
    "item_analysis",
    "option_analysis",
    "reliability",
]
