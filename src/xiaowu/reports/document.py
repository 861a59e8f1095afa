"""The rendered shape of a work summary (工作总结), independent of output format.

The generator produces a ``SummaryDocument``; renderers turn it into HTML (with links to the
records behind every number), JSON, or a .docx in 公文 layout. A paragraph is a list of text
runs and figure references, so a renderer can link or highlight each number. A table (the
district roll-up's comparison by school, the 目标责任书 self-assessment) is made of the same
pieces: every number cell is a figure reference, and a total row holds the figures the checker
compares with the sum of the column.
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
    scale: int = 100  # rates: numerator ÷ denominator × scale (100 for %, 1 for 生师比 N:1)

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
    pending: bool = False  # a marked gap a person still has to fill (【待填写】)

    def text(self, figures: dict[str, Figure]) -> str:
        return "".join(
            run if isinstance(run, str) else figures[run.key].display() for run in self.runs
        )


Cell = str | FigureRef | None  # text, a number, or empty ("—")


@dataclass(frozen=True)
class TableColumn:
    """One column. ``summable`` columns are checked: the total row equals the sum of the rows.

    A derived column (``numerator`` and ``denominator`` name two other columns) is filled by
    the generator row by row: numerator ÷ denominator × ``scale``, rounded half-up to
    ``decimals`` (e.g. 生师比 = 在校生 ÷ 专任教师, shown as "15.3:1").
    """

    key: str
    label: str
    unit: str = ""  # shown in the header: 在校生（人）
    numeric: bool = True
    summable: bool = True
    numerator: str = ""
    denominator: str = ""
    scale: int = 1
    decimals: int = 1
    definition: str = ""
    position: int = 0  # where a merged table puts the column (stable for equal positions)

    @property
    def header(self) -> str:
        return f"{self.label}（{self.unit}）" if self.unit and self.unit != ":1" else self.label


@dataclass
class TableRow:
    key: str
    cells: dict[str, Cell] = field(default_factory=dict)  # by column key
    total: bool = False  # the 合计 row


@dataclass
class Table:
    """A table with its title (表N above it) and an optional 注 below it.

    Providers contribute tables inside their sections; tables with the same ``key`` from
    several providers are merged by the generator (columns appended, rows matched by key), so
    the organisation, students and staff providers can each fill their columns of one
    comparison table.
    """

    key: str
    title: str
    columns: list[TableColumn] = field(default_factory=list)
    rows: list[TableRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    number: int = 0  # 表1, 表2 … assigned by the generator in reading order
    wrap_text: bool = False  # text cells hold sentences (the HTML preview lets them wrap)

    @property
    def caption(self) -> str:
        return f"表{self.number}　{self.title}" if self.number else self.title

    @property
    def note(self) -> str:
        return f"注：{'；'.join(n.rstrip('。；') for n in self.notes)}。" if self.notes else ""

    def column(self, key: str) -> TableColumn | None:
        return next((c for c in self.columns if c.key == key), None)

    def cell_text(self, row: TableRow, column: TableColumn, figures: Mapping[str, Figure]) -> str:
        cell = row.cells.get(column.key)
        if cell is None:
            return "—"
        if isinstance(cell, FigureRef):
            figure = figures[cell.key]
            if not column.unit:  # a column of mixed figures: each keeps its unit
                return figure.display()
            # The header names the unit; a cell shows the bare number (a ratio keeps its ":1").
            return f"{figure.value}{':1' if figure.unit == ':1' else ''}"
        return cell


@dataclass
class Section:
    title: str
    level: HeadingLevel = HeadingLevel.SECTION
    paragraphs: list[Paragraph] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)
    key: str = ""
    tables: list[Table] = field(default_factory=list)  # shown after the paragraphs


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

    def tables(self) -> list[Table]:
        """Every table, in reading order."""

        def walk(sections: list[Section]) -> list[Table]:
            found: list[Table] = []
            for section in sections:
                found += section.tables
                found += walk(section.children)
            return found

        return walk(self.sections)
