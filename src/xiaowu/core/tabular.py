"""Tolerant readers for values that people type into spreadsheets (imports, security.md INP-01).

A cell arrives as whatever the reader produced: ``str`` (CSV, text cells), ``float`` or ``int``
(number cells), ``bool``, ``date``/``datetime`` (date-formatted cells). Each reader returns a
clean Python value or raises ``CellError`` with a Chinese message that names the problem, never
a guess: an 18-digit ID stored as a number has already lost digits, so it is refused.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from xiaowu.core.identifiers import id_check_char
from xiaowu.core.models import Gender

Reader = Callable[[object], Any]

# Excel's 1900 date system counts from 1899-12-30 (it treats 1900 as a leap year).
EXCEL_EPOCH = date(1899, 12, 30)
# Serials of 1900-01-01 … 9999-12-31.
EXCEL_SERIAL_MIN, EXCEL_SERIAL_MAX = 1, 2_958_465
# Every integer up to 2**53 is exact in a float: beyond it, digits were lost when stored.
FLOAT_EXACT_LIMIT = 2**53

_DATE_SEPARATED = re.compile(r"^(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DATE_TIME_SUFFIX = re.compile(r"^(\S+?)[\sT]+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_MONTH_SEPARATED = re.compile(r"^(\d{4})\s*[-./年]\s*(\d{1,2})\s*月?$")
_MONTH_COMPACT = re.compile(r"^(\d{4})(\d{2})$")
_MONTH_FLOAT = re.compile(r"^(\d{4})\.(\d{1,2})$")
_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$")
_INTEGER_TEXT = re.compile(r"^\d+$")
# Marks that templates put on header cells: ★ mandatory, * required, (必填) / (选填) notes.
_HEADER_MARKS = re.compile(r"[★☆*※:：]|\((必填|选填|可选|必选)\)")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

TRUE_WORDS = frozenset({"是", "1", "y", "yes", "true", "t", "有", "√", "✓", "对"})
FALSE_WORDS = frozenset({"否", "0", "n", "no", "false", "f", "无", "×", "✗", "不是", "非"})


class CellError(ValueError):
    """A cell value that cannot be read; ``message`` is shown to the user as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_blank(value: object) -> bool:
    """Return True for an empty cell: None, or text that is only white space."""
    if value is None:
        return True
    return isinstance(value, str) and not value.strip()


def fold(value: str) -> str:
    """Return ``value`` NFKC-folded (full-width forms to ASCII) and stripped at both ends."""
    if not value.isascii() and not unicodedata.is_normalized("NFKC", value):
        value = unicodedata.normalize("NFKC", value)
    if _CONTROL_CHARS.search(value):
        value = _CONTROL_CHARS.sub("", value)
    return value.strip()


def _number_text(value: float | int, *, label: str) -> str:
    if isinstance(value, float):
        if not value.is_integer():
            return repr(value)
        if abs(value) >= FLOAT_EXACT_LIMIT:
            raise CellError(
                f"{label}以数字格式保存，末几位已经丢失；"
                "请把该列设置为“文本”格式后重新填写（或在数字前加英文单引号）。"
            )
        return str(int(value))
    if abs(value) >= FLOAT_EXACT_LIMIT:
        raise CellError(
            f"{label}以数字格式保存，末几位可能已经丢失；请把该列设置为“文本”格式后重新填写。"
        )
    return str(value)


def text_value(value: object) -> str:
    """Return a cell as text: NFKC, stripped, numbers without a trailing ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        if isinstance(value, float) and value.is_integer() and abs(value) < FLOAT_EXACT_LIMIT:
            return str(int(value))
        return str(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return fold(str(value))


def free_text(value: object) -> str:
    """Return a free-text cell (address, employer) as typed: runs of white space become one
    space, control characters go, but full-width punctuation such as （） is kept."""
    if isinstance(value, str):
        return " ".join(_CONTROL_CHARS.sub("", value).split())
    return text_value(value)


def compact_text(value: object) -> str:
    """Return a cell as text with every white-space character removed (names, codes).

    Normalised again after removing spaces: NFKC turns a spacing accent such as "´" into a space
    plus a combining mark, which composes with the letter once the space is gone.
    """
    return unicodedata.normalize("NFKC", "".join(text_value(value).split()))


def code_text(value: object, *, label: str) -> str:
    """Return a cell holding digits or an identifier as exact text (never via a lossy float).

    Raises ``CellError`` when the number cannot be exact any more (≥ 2**53, e.g. an 18-digit
    ID typed into a number cell) or when CSV text shows Excel's scientific notation.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        raise CellError(f"{label}不能是逻辑值。")
    if isinstance(value, int | float):
        return _number_text(value, label=label)
    text = compact_text(value).upper()
    if "*" in text:
        raise CellError(f"{label}已脱敏（含 *），不能导入；请使用未脱敏的导出文件。")
    if _SCIENTIFIC.match(text):
        raise CellError(
            f"{label}被显示为科学计数法（{text}），末几位已经丢失；"
            "请把该列设置为“文本”格式后重新填写。"
        )
    return text


def id_number_text(value: object, *, label: str = "身份证件号") -> str:
    """Return a resident ID as 18 upper-case characters; a 15-digit legacy number is
    converted (``19`` inserted before the year, check character computed)."""
    text = code_text(value, label=label)
    if len(text) == 15 and _INTEGER_TEXT.match(text):
        first17 = text[:6] + "19" + text[6:]
        return first17 + id_check_char(first17)
    return text


def _checked_date(year: int, month: int, day: int, raw: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError(f"日期“{raw}”不存在。") from None


def _serial_date(serial: float) -> date:
    if not EXCEL_SERIAL_MIN <= serial <= EXCEL_SERIAL_MAX:
        raise CellError(f"无法识别的日期“{serial:g}”。")
    return EXCEL_EPOCH + timedelta(days=int(serial))


def date_value(value: object) -> date:
    """Return a date from a date cell, an Excel serial, ``20100901``, ``2010-09-01``,
    ``2010/9/1``, ``2010.9.1`` or ``2010年9月1日`` (a time part is ignored)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool) or value is None:
        raise CellError("请填写日期。")
    if isinstance(value, int | float):
        if float(value).is_integer() and 10_000_101 <= value <= 99_991_231:
            return date_value(str(int(value)))
        return _serial_date(float(value))
    raw = fold(str(value))
    text = raw.replace(" ", "")
    suffix = _DATE_TIME_SUFFIX.match(raw)
    if suffix:
        text = suffix.group(1)
    for pattern in (_DATE_SEPARATED, _DATE_COMPACT):
        match = pattern.match(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            return _checked_date(year, month, day, raw)
    if _INTEGER_TEXT.match(text) and len(text) == 5:
        return _serial_date(float(text))
    raise CellError(f"无法识别的日期“{raw}”，请写成 2010-09-01 或 20100901。")


def year_month_value(value: object) -> date:
    """Return the first day of a month from ``201009``, ``2010.09``, ``2010-9``, ``2010年9月``
    or anything ``date_value`` reads."""
    if isinstance(value, date):
        return date_value(value).replace(day=1)
    if isinstance(value, bool) or value is None:
        raise CellError("请填写年月。")
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer():
            # A number cell holding 2010.09: its decimal digits are the month.
            match = _MONTH_FLOAT.match(repr(value))
            if match:
                return _month(int(match.group(1)), int(match.group(2)), repr(value))
            return date_value(value).replace(day=1)
        number = int(value)
        if 190_001 <= number <= 999_912:
            return _month(number // 100, number % 100, str(number))
        if 1900 <= number <= 9999:
            raise CellError(f"入学年月“{number}”缺少月份，请写成 201009。")
        return date_value(value).replace(day=1)
    raw = fold(str(value))
    text = raw.replace(" ", "")
    for pattern in (_MONTH_COMPACT, _MONTH_SEPARATED):
        match = pattern.match(text)
        if match:
            return _month(int(match.group(1)), int(match.group(2)), raw)
    try:
        return date_value(raw).replace(day=1)
    except CellError:
        raise CellError(f"无法识别的年月“{raw}”，请写成 201009 或 2010-09。") from None


def _month(year: int, month: int, raw: str) -> date:
    if not 1 <= month <= 12 or year < 1900:
        raise CellError(f"年月“{raw}”不存在。")
    return date(year, month, 1)


def bool_value(value: object) -> bool:
    """Return a yes/no cell: 是/否, 1/0, Y/N, true/false, 有/无 (case-insensitive)."""
    if isinstance(value, bool):
        return value
    text = compact_text(value).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise CellError(f"“{text}”不是是/否，请填写 是 或 否（也可填 1 或 0）。")


def choice_reader(lookup: Mapping[str, str], *, label: str, hint: str) -> Callable[[object], str]:
    """Return a reader mapping a code or a name (after NFKC and upper-casing) to a stored value.

    ``lookup`` keys must be compact upper-case text, e.g. ``{"1": "male", "男": "male"}``.
    """

    def read(value: object) -> str:
        text = compact_text(value).upper()
        if text in lookup:
            return lookup[text]
        raise CellError(f"无法识别的{label}“{compact_text(value)}”，{hint}")

    return read


def normalise_header(text: object) -> str:
    """Return the comparable form of a header cell: NFKC, no marks (★ * 必填), no spaces."""
    folded = fold(text_value(text))
    return "".join(_HEADER_MARKS.sub("", folded).split()).upper()


def strip_control(text: str) -> str:
    """Remove control characters that XML (xlsx) cannot hold."""
    return _CONTROL_CHARS.sub("", text)


read_gender = choice_reader(
    {
        "1": Gender.MALE,
        "2": Gender.FEMALE,
        "男": Gender.MALE,
        "女": Gender.FEMALE,
        "男性": Gender.MALE,
        "女性": Gender.FEMALE,
        "M": Gender.MALE,
        "F": Gender.FEMALE,
        "MALE": Gender.MALE,
        "FEMALE": Gender.FEMALE,
    },
    label="性别",
    hint="请填写 男/女 或 1/2。",
)


def read_id_number(value: object) -> str:
    """Return a 身份证件号 cell as text (15-digit legacy numbers converted to 18)."""
    return id_number_text(value, label="身份证件号")


# --------------------------------------------------------------------------- layouts
@dataclass(frozen=True)
class Column:
    """One column of an import/export layout. ``key`` names what the column feeds (a model
    field or a pseudo-field); ``read`` turns a cell into the stored value."""

    key: str
    header: str
    read: Reader
    aliases: tuple[str, ...] = ()
    required: bool = False  # ★ in the national template
    text: bool = False  # holds digits that must stay text (IDs, codes, phone numbers)
    width: int = 12


@dataclass(frozen=True)
class HeaderMap:
    """Which file column feeds which layout column."""

    columns: dict[str, int]  # key → column index
    headers: dict[str, str]  # key → header text as written in the file
    ignored: list[str]  # header texts that name no layout column


def _alias_table(columns: Sequence[Column]) -> dict[str, tuple[str, bool]]:
    table: dict[str, tuple[str, bool]] = {}
    for column in columns:
        for alias in column.aliases:
            table.setdefault(normalise_header(alias), (column.key, False))
    for column in columns:
        table[normalise_header(column.header)] = (column.key, True)
    return table


def header_map(headers: Sequence[object], columns: Sequence[Column]) -> HeaderMap:
    """Match header cells to ``columns`` by header or alias (NFKC; ★, * and spaces ignored).

    When two cells name the same column, the canonical header beats an alias and then the
    leftmost wins; the others are reported as ignored.
    """
    table = _alias_table(columns)
    found: dict[str, tuple[int, bool]] = {}
    texts: dict[int, str] = {}
    ignored: list[str] = []
    for index, cell in enumerate(headers):
        text = text_value(cell)
        if not text:
            continue
        texts[index] = text
        match = table.get(normalise_header(cell))
        if match is None:
            ignored.append(text)
            continue
        key, canonical = match
        previous = found.get(key)
        if previous is None or (canonical and not previous[1]):
            if previous is not None:
                ignored.append(texts[previous[0]])
            found[key] = (index, canonical)
        else:
            ignored.append(text)
    return HeaderMap(
        columns={key: index for key, (index, _c) in found.items()},
        headers={key: texts[index] for key, (index, _c) in found.items()},
        ignored=ignored,
    )
