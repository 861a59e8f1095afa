"""The rendered shape of a work summary (工作总结), independent of output format.

The generator produces a ``SummaryDocument``; renderers turn it into HTML (with links to the
records behind every number), JSON, or a .docx in 公文 layout. A paragraph is a list of text
runs and figure references, so a renderer can link or highlight each number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class HeadingLevel(StrEnum):
    """公文 heading levels: 一、 (黑体), （一） (楷体), 1. (仿宋 bold)."""

    SECTION = "section"  # 一、
    SUBSECTION = "subsection"  # （一）
    ITEM = "item"  # 1.


@dataclass(frozen=True)
class Figure:
    """A number in the summary, with what it means and how it was obtained.

    ``key`` is stable across regenerations (e.g. ``students.enrolled.female``); ``query``
    holds the parameters that produced it; ``url`` lists the records it counts (scoped by
    the viewer's permissions when followed). Rates keep their numerator and denominator keys.
    """

    key: str
    label: str
    value: int | Decimal
    unit: str = ""
    definition: str = ""
    query: Mapping[str, str | int | None] = field(default_factory=dict)
    url: str = ""
    parts: tuple[str, ...] = ()  # keys of figures that must add up to this one
    numerator: str = ""  # for rates: key of the numerator figure
    denominator: str = ""  # for rates: key of the denominator figure
    aliases: tuple[str, ...] = ()  # other ways the texts name it (在校生 for 在校学生)

    def display(self) -> str:
        return f"{self.value}{self.unit}"


@dataclass(frozen=True)
class FigureRef:
    """A reference to a figure inside a paragraph; rendered as the figure's value and unit."""

    key: str


Run = str | FigureRef


@dataclass
class Paragraph:
    runs: list[Run]
    key: str = ""  # stable id of a generated paragraph, or the id of a manual one
    manual: bool = False  # written by a user; regeneration never replaces it

    def text(self, figures: dict[str, Figure]) -> str:
        return "".join(
            run if isinstance(run, str) else figures[run.key].display() for run in self.runs
        )


@dataclass
class Section:
    title: str
    level: HeadingLevel = HeadingLevel.SECTION
    paragraphs: list[Paragraph] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)
    key: str = ""


@dataclass
class SummaryDocument:
    """标题, 导语, sections (一、基本情况 … 五、下一步打算), 落款 and date."""

    title: str
    subtitle: str = ""
    lead: list[Paragraph] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    closing: list[Paragraph] = field(default_factory=list)
    signatory: str = ""  # 落款: the issuing unit
    issued_on: date | None = None
    figures: dict[str, Figure] = field(default_factory=dict)
