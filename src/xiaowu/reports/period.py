"""Reporting periods: 学期, 学年, 自然年 or custom dates (domain.md §3.8: summaries mix them)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from django.core.exceptions import ValidationError

from xiaowu.org.models import SchoolYear, Term


class PeriodKind(StrEnum):
    TERM = "term"
    SCHOOL_YEAR = "school_year"
    CALENDAR_YEAR = "calendar_year"
    CUSTOM = "custom"


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start_on: date
    end_on: date
    label: str  # as it appears in a title: "2024—2025学年第一学期", "2024年", …

    def as_of(self, today: date) -> date:
        """The day stock figures (headcounts) are taken: the period's end, or today if earlier."""
        return min(self.end_on, today)


def _year_bounds(name: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{4})\s*[-—–]\s*(\d{4})", name.strip())
    if not match or int(match.group(2)) != int(match.group(1)) + 1:
        raise ValidationError({"period": "学年格式应为“2024-2025”。"})
    return int(match.group(1)), int(match.group(2))


def school_year_period(name: str, term: int | None = None) -> Period:
    """Return the period of 学年 ``name`` (e.g. "2024-2025"), or of its first/second term.

    Dates come from the calendar when it has the year; otherwise the conventional
    1 September – 31 August (terms split on 1 February) is used.
    """
    first, second = _year_bounds(name)
    label = f"{first}—{second}学年"
    year = SchoolYear.objects.filter(name=f"{first}-{second}").first()
    if term is None:
        if year is not None:
            return Period(PeriodKind.SCHOOL_YEAR, year.start_on, year.end_on, label)
        return Period(PeriodKind.SCHOOL_YEAR, date(first, 9, 1), date(second, 8, 31), label)
    if term not in (1, 2):
        raise ValidationError({"term": "学期只能是 1 或 2。"})
    term_label = f"{label}{'第一学期' if term == 1 else '第二学期'}"
    found = Term.objects.filter(school_year=year, number=term).first() if year else None
    if found is not None:
        return Period(PeriodKind.TERM, found.start_on, found.end_on, term_label)
    if term == 1:
        return Period(PeriodKind.TERM, date(first, 9, 1), date(second, 1, 31), term_label)
    return Period(PeriodKind.TERM, date(second, 2, 1), date(second, 8, 31), term_label)


def calendar_year_period(year: int) -> Period:
    return Period(PeriodKind.CALENDAR_YEAR, date(year, 1, 1), date(year, 12, 31), f"{year}年")


def custom_period(start_on: date, end_on: date, label: str = "") -> Period:
    if end_on < start_on:
        raise ValidationError({"end_on": "结束日期不能早于开始日期。"})
    return Period(
        PeriodKind.CUSTOM,
        start_on,
        end_on,
        label or f"{start_on:%Y年%-m月%-d日}至{end_on:%Y年%-m月%-d日}",
    )
