"""Build test spreadsheets in ``tmp_path`` (no binary fixtures are committed)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import xlsxwriter
import xlwt

from xiaowu.core.identifiers import make_id_number

Cell = object


class AsNumber:
    """A cell to be written as an Excel number (e.g. an ID typed into a number cell)."""

    def __init__(self, value: float) -> None:
        self.value = value


def write_xlsx(path: Path, rows: Sequence[Sequence[Cell]]) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("学生")
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, AsNumber):
                sheet.write_number(r, c, value.value)
            elif isinstance(value, bool):
                sheet.write_boolean(r, c, value)
            elif isinstance(value, int | float):
                sheet.write_number(r, c, value)
            elif isinstance(value, datetime | date):
                sheet.write_datetime(r, c, value, date_format)
            else:
                sheet.write_string(r, c, str(value))
    workbook.close()
    return path


def write_xls(path: Path, rows: Sequence[Sequence[Cell]]) -> Path:
    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("学生")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, AsNumber):
                sheet.write(r, c, value.value)
            elif isinstance(value, datetime | date):
                sheet.write(r, c, value, date_style)
            else:
                sheet.write(r, c, value)
    workbook.save(str(path))
    return path


def write_csv(path: Path, rows: Sequence[Sequence[Cell]], *, encoding: str = "utf-8-sig") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def xlsx_from_parts(
    path: Path, parts: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED
) -> Path:
    """Write a zip with the given members (for hand-built hostile workbooks)."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return path


CONTENT_TYPES = (
    ("xml", "application/xml"),
    ("rels", "application/vnd.openxmlformats-package.relationships+xml"),
)
SPREADSHEET_ML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
PACKAGE_NS = "http://schemas.openxmlformats.org/package/2006"
RELATIONSHIP = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _relationships(target_type: str, target: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<Relationships xmlns="{PACKAGE_NS}/relationships">'
        f'<Relationship Id="rId1" Type="{RELATIONSHIP}/{target_type}" Target="{target}"/>'
        "</Relationships>"
    ).encode()


def minimal_parts(sheet_xml: bytes) -> dict[str, bytes]:
    """The members of a one-sheet workbook with ``sheet_xml`` as its worksheet."""
    defaults = "".join(
        f'<Default Extension="{ext}" ContentType="{kind}"/>' for ext, kind in CONTENT_TYPES
    )
    overrides = (
        f'<Override PartName="/xl/workbook.xml" ContentType="{SPREADSHEET_ML}.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        f'ContentType="{SPREADSHEET_ML}.worksheet+xml"/>'
    )
    return {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<Types xmlns="{PACKAGE_NS}/content-types">{defaults}{overrides}</Types>'
        ).encode(),
        "_rels/.rels": _relationships("officeDocument", "xl/workbook.xml"),
        "xl/workbook.xml": (
            b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            b'<sheets><sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": _relationships("worksheet", "worksheets/sheet1.xml"),
        "xl/worksheets/sheet1.xml": sheet_xml,
    }


def sheet_xml(cells: Sequence[str], *, prolog: bytes = b"") -> bytes:
    """A worksheet whose first row holds ``cells`` as inline strings."""
    row = "".join(
        f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{text}</t></is></c>'
        for i, text in enumerate(cells)
    )
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        + prolog
        + b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + f'<sheetData><row r="1">{row}</row></sheetData>'.encode()
        + b"</worksheet>"
    )


def pupil_id(day: date, *, male: bool, county: str = "01", sequence: int = 0) -> str:
    """A checksum-valid synthetic ID under the non-existent prefecture 6213."""
    return make_id_number(f"6213{county}", day, sequence * 2 + (1 if male else 0))
