"""How a domain contributes to a work summary (工作总结).

A provider reads through its domain's selectors and returns sections (with their paragraphs
and tables), the figures they cite, data signals (candidate 存在问题) and highlights (candidate
特色亮点). Each domain app implements its provider in ``<domain>/summary.py``;
``reports.registry`` lists them explicitly. A provider may also declare ``metrics``: figures
that a 目标责任书 item can be assessed against (see :class:`Metric`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from xiaowu.reports.document import Figure, Paragraph, Section

if TYPE_CHECKING:
    from xiaowu.accounts.models import User
    from xiaowu.org.models import OrgUnit
    from xiaowu.reports.period import Period


class Slot(StrEnum):
    """Where in the skeleton (domain.md §4.2) a contribution goes."""

    BASIC = "basic"  # 一、基本情况
    MAIN = "main"  # 二、主要工作及成效 — one subsection per domain
    HIGHLIGHT = "highlight"  # 三、特色亮点


@dataclass(frozen=True)
class SummaryContext:
    actor: User
    unit: OrgUnit
    period: Period
    today: date

    @property
    def is_school(self) -> bool:
        return self.unit.kind == "school"

    @property
    def we(self) -> str:
        """How the text names its own unit: 我校 / 全学区 / 全县(区)."""
        if self.unit.kind == "school":
            return "我校"
        if self.unit.kind == "school_district":
            return "全学区"
        return "全区域"


@dataclass(frozen=True)
class Signal:
    """A data signal a domain raises for 存在问题 (overdue items, unmet quotas, weak indicators)."""

    key: str
    problem: str  # the problem, phrased for the summary
    measure: str  # the proposed measure for 下一步打算
    severity: int = 1  # higher first
    figure_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Highlight:
    """A 特色亮点 the data shows (honours at 市级 and above, an indicator that improved, a unit
    that stands out). ``weight`` orders the highlights of all providers, highest first."""

    paragraph: Paragraph
    weight: int = 1


class Better(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


@dataclass(frozen=True)
class Metric:
    """A figure a 目标责任书 item can be measured by: its key in the generated summary, the
    label the item form shows, and which direction is better (for the default comparison)."""

    key: str
    label: str
    unit: str
    better: Better = Better.HIGHER
    category: str = ""  # the agreement category it usually belongs to (AgreementCategory)


@dataclass
class Contribution:
    slot: Slot
    sections: list[Section] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    highlights: list[Highlight] = field(default_factory=list)


class SectionProvider(Protocol):
    code: str
    order: int

    def contribute(self, ctx: SummaryContext) -> list[Contribution]: ...
