"""Read an inspected upload into rows of cells: python-calamine for .xlsx/.xls, csv for .csv.

Rows keep their spreadsheet numbering (row 1 is the first row of the sheet), so that errors
name the row the user sees. The header row is the first of the top rows that names the
layout's key columns; a title row above it ("学生基本信息表") is allowed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from xiaowu.core.tabular import Column, HeaderMap, header_map, is_blank
from xiaowu.exchange.models import FileFormat
from xiaowu.exchange.safety import UploadRejectedError

MAX_ROWS = 200_000
HEADER_SEARCH_ROWS = 10
MAX_SHEETS = 10


@dataclass(frozen=True)
class RowError:
    """One problem, named as the user sees it: spreadsheet row, header text, reason."""

    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class Table:
    """The data rows of one sheet under a recognised header row."""

    sheet: str
    header_row: int
    headers: HeaderMap
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)  # (row number, cells)


def max_rows() -> int:
    limit: int = getattr(settings, "XIAOWU_IMPORT_MAX_ROWS", MAX_ROWS)
    return limit


def _sheets(data: bytes, file_format: str, encoding: str) -> Iterator[tuple[str, list[list[Any]]]]:
    limit = max_rows() + HEADER_SEARCH_ROWS + 1
    if file_format == FileFormat.CSV:
        text = data.decode(encoding)
        sample = text[:4096]
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",\t;")
        except csv.Error:
            dialect = csv.excel
        rows: list[list[Any]] = []
        try:
            for record in csv.reader(io.StringIO(text, newline=""), dialect):
                rows.append(list(record))
                if len(rows) > limit:
                    break
        except csv.Error as exc:
            raise UploadRejectedError("CSV 文件格式有误，无法读取。") from exc
        yield "CSV", rows
        return
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        for metadata in workbook.sheets_metadata[:MAX_SHEETS]:
            # Hidden sheets of national templates hold the drop-down code lists.
            if (
                metadata.typ != SheetTypeEnum.WorkSheet
                or metadata.visible != SheetVisibleEnum.Visible
            ):
                continue
            sheet = workbook.get_sheet_by_name(metadata.name)
            yield metadata.name, sheet.to_python(skip_empty_area=False, nrows=limit)
    except (CalamineError, ValueError) as exc:
        raise UploadRejectedError("无法读取该工作簿，文件可能已损坏或设置了密码。") from exc


def read_table(
    data: bytes,
    file_format: str,
    *,
    columns: Sequence[Column],
    key_columns: Sequence[str],
    encoding: str = "",
) -> Table | None:
    """Return the first sheet whose top rows hold a header naming ``key_columns`` (all of
    them), or None when no sheet has one. Blank rows are dropped; the row cap is enforced."""
    for name, rows in _sheets(data, file_format, encoding):
        for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
            mapping = header_map(row, columns)
            if not all(key in mapping.columns for key in key_columns):
                continue
            data_rows = [
                (number, cells)
                for number, cells in enumerate(rows[index + 1 :], start=index + 2)
                if any(not is_blank(cell) for cell in cells)
            ]
            if len(data_rows) > max_rows():
                raise UploadRejectedError(f"数据超过 {max_rows()} 行的上限，请拆分后分批导入。")
            return Table(sheet=name, header_row=index + 1, headers=mapping, rows=data_rows)
    return None
