"""Consistency checks for the numbers of a work summary (domain.md §3.9 lists the seed errors).

Three kinds of check:
- generated figures: a total equals the sum of its parts; a rate equals numerator ÷
  denominator rounded as stated (× 100 for a percentage, × 1 for a ratio such as 生师比);
- tables: in every summable column the 合计 row equals the sum of the other rows;
- text typed by people: a percentage must agree with the counts it is computed from (in the
  same sentence, or a known figure named after 占), a "共N…其中a、b、c" enumeration must add up,
  and a number written next to a figure's label must equal the data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from xiaowu.reports.document import (
    Figure,
    FigureRef,
    Paragraph,
    Section,
    SummaryDocument,
    Table,
)

UNITS = "人次|万元|人|名|所|个|件|次|篇|处|元|节|项|场|班|户"
NUMBER = r"(\d+(?:\.\d+)?)"
_PERCENT = re.compile(NUMBER + r"\s*[%％]")
_COUNT = re.compile(NUMBER + r"\s*(" + UNITS + ")")
_SENTENCE = re.compile(r"[^。；;！!？?\n]+")
_PARENTHETICAL = re.compile(r"[（(][^（）()]*[）)]")


@dataclass(frozen=True)
class Finding:
    kind: str  # figure_sum | figure_rate | table_sum | text_percent | text_sum | text_value
    message: str
    snippet: str = ""
    figure_key: str = ""
    expected: str = ""
    found: str = ""


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _percent(numerator: Decimal, denominator: Decimal, decimals: int, scale: int = 100) -> Decimal:
    exact = numerator * scale / denominator
    return exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def _matches(stated: str, numerator: Decimal, denominator: Decimal, scale: int = 100) -> bool:
    if denominator == 0:
        return False
    return _percent(numerator, denominator, _decimals(stated), scale) == Decimal(stated)


def check_figures(figures: dict[str, Figure]) -> list[Finding]:
    """Check every generated total against its parts and every rate against its terms."""
    findings: list[Finding] = []
    for figure in figures.values():
        if figure.parts and all(key in figures for key in figure.parts):
            total = sum(Decimal(figures[key].value) for key in figure.parts)
            if total != Decimal(figure.value):
                findings.append(
                    Finding(
                        kind="figure_sum",
                        message=f"“{figure.label}”为{figure.display()}，但各分项之和为{total}{figure.unit}。",
                        figure_key=figure.key,
                        expected=str(total),
                        found=str(figure.value),
                    )
                )
        if figure.numerator and figure.denominator:
            top, bottom = figures.get(figure.numerator), figures.get(figure.denominator)
            if top is None or bottom is None or Decimal(bottom.value) == 0:
                continue
            stated = str(figure.value)
            scale = figure.scale
            if not _matches(stated, Decimal(top.value), Decimal(bottom.value), scale):
                expected = _percent(
                    Decimal(top.value), Decimal(bottom.value), _decimals(stated), scale
                )
                findings.append(
                    Finding(
                        kind="figure_rate",
                        message=f"“{figure.label}”为{stated}{figure.unit}，按{top.value}÷{bottom.value}应为{expected}{figure.unit}。",
                        figure_key=figure.key,
                        expected=f"{expected}{figure.unit}",
                        found=f"{stated}{figure.unit}",
                    )
                )
    return findings


def check_tables(tables: Iterable[Table], figures: dict[str, Figure]) -> list[Finding]:
    """In every summable column, the 合计 row must equal the sum of the other rows."""
    findings: list[Finding] = []
    for table in tables:
        totals = [row for row in table.rows if row.total]
        body = [row for row in table.rows if not row.total]
        for column in table.columns:
            if not (column.numeric and column.summable):
                continue
            for total_row in totals:
                cell = total_row.cells.get(column.key)
                if not isinstance(cell, FigureRef) or cell.key not in figures:
                    continue
                stated = Decimal(figures[cell.key].value)
                parts = [row.cells.get(column.key) for row in body]
                summed = sum(
                    (
                        Decimal(figures[p.key].value)
                        for p in parts
                        if isinstance(p, FigureRef) and p.key in figures
                    ),
                    Decimal(0),
                )
                if summed != stated:
                    findings.append(
                        Finding(
                            kind="table_sum",
                            message=(
                                f"{table.caption}“{column.label}”列合计为{stated}{column.unit}，"
                                f"但各行之和为{summed}{column.unit}。"
                            ),
                            figure_key=cell.key,
                            expected=f"{summed}{column.unit}",
                            found=f"{stated}{column.unit}",
                        )
                    )
    return findings


def _label_figure(text: str, figures: dict[str, Figure]) -> Figure | None:
    """Return the figure whose label (or alias) ``text`` starts with, longest label first."""
    candidates = sorted(
        ((alias, f) for f in figures.values() for alias in (f.label, *f.aliases) if alias),
        key=lambda pair: -len(pair[0]),
    )
    for alias, figure in candidates:
        if text.startswith(alias):
            return figure
    return None


def _check_percentages(sentence: str, figures: dict[str, Figure]) -> list[Finding]:
    findings: list[Finding] = []
    plain = _PARENTHETICAL.sub("", sentence)
    for match in _PERCENT.finditer(plain):
        stated = match.group(1)
        before = plain[: match.start()]
        counts = [Decimal(m.group(1)) for m in _COUNT.finditer(before)]
        # "N人，占在校生的P%": the denominator is a known figure named after 占.
        share = re.search(r"占(?:全体|全部)?([^，,。\d%％]{1,12}?)(?:总数|人数)?的?\s*$", before)
        if share and counts:
            figure = _label_figure(share.group(1), figures)
            if figure is not None and Decimal(figure.value) != 0:
                if not _matches(stated, counts[-1], Decimal(figure.value)):
                    expected = _percent(counts[-1], Decimal(figure.value), _decimals(stated))
                    findings.append(
                        Finding(
                            kind="text_percent",
                            message=f"{counts[-1]}÷{figure.value}（{figure.label}）应为{expected}%，文中写作{stated}%。",
                            snippet=sentence.strip(),
                            figure_key=figure.key,
                            expected=f"{expected}%",
                            found=f"{stated}%",
                        )
                    )
                continue
        if len(counts) < 2:
            continue
        # Two counts before the rate: either may be the base ("6734人…6320人…89.80%" or
        # "305人…436人…69.95%"); flag only when neither reading gives the stated value.
        a, b = counts[-2], counts[-1]
        if _matches(stated, b, a) or _matches(stated, a, b):
            continue
        smaller, larger = min(a, b), max(a, b)
        expected = _percent(smaller, larger, _decimals(stated)) if larger else Decimal(0)
        findings.append(
            Finding(
                kind="text_percent",
                message=f"按{smaller}÷{larger}计算应为{expected}%，文中写作{stated}%。",
                snippet=sentence.strip(),
                expected=f"{expected}%",
                found=f"{stated}%",
            )
        )
    return findings


def _check_enumeration(sentence: str) -> list[Finding]:
    plain = _PARENTHETICAL.sub("", sentence)
    match = re.search(
        r"(?:共有?|合计|总计|共计)[^，,其]*?" + NUMBER + r"\s*(" + UNITS + r")[^其]*?其中(.*)",
        plain,
    )
    if not match:
        return []
    total, unit, rest = Decimal(match.group(1)), match.group(2), match.group(3)
    parts = [Decimal(m.group(1)) for m in _COUNT.finditer(rest) if m.group(2) == unit]
    if len(parts) < 2 or sum(parts) == total:
        return []
    return [
        Finding(
            kind="text_sum",
            message=f"合计为{total}{unit}，但其中各项之和为{sum(parts)}{unit}。",
            snippet=sentence.strip(),
            expected=f"{sum(parts)}{unit}",
            found=f"{total}{unit}",
        )
    ]


def _check_values(sentence: str, figures: dict[str, Figure]) -> list[Finding]:
    findings: list[Finding] = []
    for figure in figures.values():
        if figure.numerator or not figure.unit:
            continue
        for alias in (figure.label, *figure.aliases):
            if not alias:
                continue
            pattern = (
                re.escape(alias)
                + r"[^，。；\d（(]{0,3}?"
                + NUMBER
                + r"\s*"
                + re.escape(figure.unit)
            )
            for match in re.finditer(pattern, sentence):
                if Decimal(match.group(1)) != Decimal(figure.value):
                    findings.append(
                        Finding(
                            kind="text_value",
                            message=f"文中“{alias}{match.group(1)}{figure.unit}”与数据（{figure.display()}）不符。",
                            snippet=sentence.strip(),
                            figure_key=figure.key,
                            expected=figure.display(),
                            found=f"{match.group(1)}{figure.unit}",
                        )
                    )
    return findings


def check_text(text: str, figures: dict[str, Figure] | None = None) -> list[Finding]:
    """Check the numbers in a piece of text written by a person."""
    figures = figures or {}
    findings: list[Finding] = []
    for sentence in _SENTENCE.findall(text):
        findings += _check_percentages(sentence, figures)
        findings += _check_enumeration(sentence)
        findings += _check_values(sentence, figures)
    return findings


def _paragraphs(sections: Iterable[Section]) -> Iterable[Paragraph]:
    for section in sections:
        yield from section.paragraphs
        yield from _paragraphs(section.children)


def check_document(document: SummaryDocument) -> list[Finding]:
    """Check the generated figures, the tables and every paragraph written by a person."""
    findings = check_figures(document.figures)
    findings += check_tables(document.tables(), document.figures)
    manual = [
        p for p in (*document.lead, *_paragraphs(document.sections), *document.closing) if p.manual
    ]
    for paragraph in manual:
        findings += check_text(paragraph.text(document.figures), document.figures)
    return findings
