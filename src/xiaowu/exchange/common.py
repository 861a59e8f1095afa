"""Pieces shared by the student and staff import engines."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from xiaowu.core.pinyin import pinyin_keys
from xiaowu.core.tabular import CellError, Column, Reader, is_blank
from xiaowu.exchange.reader import RowError, Table

CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"
ACTION_LABELS = {CREATE: "新增", UPDATE: "更新", UNCHANGED: "未变化", ERROR: "有错误"}
PREVIEW_ROWS = 20
# ``IN (…)`` lists stay below SQLite's historical 999-parameter limit.
QUERY_CHUNK = 900

MEMO_LIMIT = 2048
_BLANK: tuple[bool, Any] = (False, None)

_T = TypeVar("_T")


def chunked(items: Sequence[_T], size: int = QUERY_CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class PinyinCache:
    """Pinyin search keys per distinct name: names repeat in a large roster."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, str]] = {}

    def __call__(self, text: str) -> tuple[str, str]:
        keys = self.keys.get(text)
        if keys is None:
            keys = self.keys[text] = pinyin_keys(text)
        return keys


@dataclass
class ParsedRow:
    """One data row read through the layout: values of the non-blank cells, and errors."""

    row: int
    values: dict[str, Any]
    errors: list[RowError] = field(default_factory=list)
    # Values filled in from the ID number (birth date, gender) rather than read from the file.
    derived: set[str] = field(default_factory=set)

    def error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.row, column, message))


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def parse_rows(table: Table, columns: Sequence[Column]) -> list[ParsedRow]:
    """Read every cell of every row with its column's reader; blank cells are left out.

    Results are memoised per column while the column has few distinct values (性别, 民族,
    班级 …), which is where most of the cells of a large roster are.
    """
    by_key = {column.key: column for column in columns}
    readers: list[tuple[str, int, str, Reader, dict[tuple[type, object], tuple[bool, Any]]]] = [
        (key, index, table.headers.headers[key], by_key[key].read, {})
        for key, index in table.headers.columns.items()
    ]
    parsed: list[ParsedRow] = []
    for number, cells in table.rows:
        row = ParsedRow(row=number, values={})
        width = len(cells)
        for key, index, header, read, memo in readers:
            cell = cells[index] if index < width else None
            if cell is None or cell == "":
                continue
            memo_key = (type(cell), cell)
            result = memo.get(memo_key)
            if result is None:
                if is_blank(cell):
                    result = _BLANK
                else:
                    try:
                        result = (True, read(cell))
                    except CellError as exc:
                        result = (False, exc.message)
                if len(memo) < MEMO_LIMIT:
                    memo[memo_key] = result
            if result is _BLANK:
                continue
            if result[0]:
                row.values[key] = result[1]
            else:
                row.error(header, result[1])
        parsed.append(row)
    return parsed


def keep_stored_over_derived(row: ParsedRow, stored: object) -> None:
    """For a person already on file, a value derived from the ID number only fills a blank:
    it never overwrites what is stored (the file did not state it)."""
    for key in row.derived:
        if getattr(stored, key) not in (None, ""):
            row.values.pop(key, None)


def header_of(table: Table, columns: Sequence[Column], key: str) -> str:
    """Return the header text of ``key`` as the file writes it (or the layout's own)."""
    if key in table.headers.headers:
        return table.headers.headers[key]
    return next(column.header for column in columns if column.key == key)
