"""Write layouts to .xlsx with xlsxwriter in constant-memory mode (security.md INP-05, INP-06).

Every cell is written with ``write_string``: identifiers keep all 18 characters and a trailing
``X``, and nothing the user typed can become a formula. A cell beginning with ``= + - @`` (or a
tab or line break) also carries the ``quote_prefix`` format, so that a spreadsheet never runs
it when the cell is edited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import BinaryIO

import xlsxwriter

from xiaowu.core.tabular import Column, strip_control

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def _header_footer_text(text: str) -> str:
    # ``&`` starts a control code in Excel headers and footers.
    return text.replace("&", "&&")


def workbook_write(
    handle: BinaryIO,
    *,
    sheet_name: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[str]],
    properties: Mapping[str, str] | None = None,
    footer: str = "",
) -> int:
    """Write a header row of ``columns`` and then ``rows``; return the number of data rows."""
    workbook = xlsxwriter.Workbook(
        handle,
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    if properties:
        workbook.set_properties(dict(properties))
    header = workbook.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1})
    required = workbook.add_format(
        {"bold": True, "bg_color": "#D9E1F2", "border": 1, "font_color": "#C00000"}
    )
    text = workbook.add_format({"num_format": "@"})
    quoted = workbook.add_format({"num_format": "@", "quote_prefix": True})
    sheet = workbook.add_worksheet(sheet_name)
    for index, column in enumerate(columns):
        sheet.set_column(index, index, column.width, text if column.text else None)
    sheet.freeze_panes(1, 0)
    if footer:
        sheet.set_footer("&L" + _header_footer_text(footer) + "&R&P / &N")
    for index, column in enumerate(columns):
        sheet.write_string(0, index, column.header, required if column.required else header)
    count = 0
    for count, cells in enumerate(rows, start=1):
        for index, value in enumerate(cells):
            if not value:
                continue
            cell = strip_control(value)
            if cell.startswith(FORMULA_TRIGGERS):
                sheet.write_string(count, index, cell, quoted)
            else:
                sheet.write_string(count, index, cell, text if columns[index].text else None)
    workbook.close()
    return count
