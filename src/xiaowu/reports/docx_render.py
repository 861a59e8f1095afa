"""Render a ``SummaryDocument`` as a .docx in 公文 layout (GB/T 9704-2012).

Two ways out:

* :func:`render_docx` lays the document out itself: A4, 版心 156 mm × 225 mm, 22 lines of
  28 characters, 2号 方正小标宋简体 title, 3号 仿宋_GB2312 body, literal ordinals
  (一、 / （一） / 1.) as ordinary paragraphs in the body flow, 落款 and 成文日期, and
  "— 1 —" page numbers alternating right/left on odd/even pages.
* :func:`render_with_template` fills a school's own .docx (uploaded once, validated by
  :func:`validate_template`) with docxtpl; :func:`template_context` documents what the
  template can use.

Fonts. The names the standard prescribes are written as they are (Word, WPS and LibreOffice
substitute when a font is missing); ``w:rFonts`` carries the name for ascii, hAnsi, eastAsia
and cs so that digits and Latin letters use the same face, and the font table lists each face
with an ``w:altName`` (仿宋_GB2312 → 仿宋, 楷体_GB2312 → 楷体, 黑体 → SimHei, 宋体 → SimSun,
方正小标宋简体 → 宋体), charset 86 (GB2312) and family/pitch, which Word uses to pick a
replacement on machines without the GB2312-era fonts (Windows 10+ ships 仿宋 and 楷体 but not
仿宋_GB2312 / 楷体_GB2312). LibreOffice on a Linux server ignores ``w:altName`` and asks
fontconfig; :mod:`xiaowu.reports.pdf` gives it a private fontconfig file so that, with only
``fonts-noto-cjk`` installed, 仿宋_GB2312 / 楷体_GB2312 / 宋体 come out in Noto Serif CJK SC,
方正小标宋简体 in Noto Serif CJK SC Bold and 黑体 in Noto Sans CJK SC (real 仿宋/楷体/黑体/
小标宋 faces win when they are installed).

Page grid (GB/T 9704-2012 §5.2.1, §5.2.2): the text block is 210 − 28 − 26 = 156 mm wide and
297 − 37 − 35 = 225 mm high, and must hold 22 lines of 28 characters of 3号 (16 pt) type.

* Lines: 225 mm = 637.8 pt; a fixed line pitch of 28.95 pt (579 twips) gives
  22 × 28.95 = 636.9 pt ≤ 637.8 pt < 23 × 28.95 = 665.9 pt, i.e. exactly 22 lines.
* Characters: 156 mm = 442.2 pt; 28 × 16 pt = 448 pt does not fit, so body text gets a
  character spacing of −0.25 pt (−5 twentieths of a point): 28 × 15.75 = 441.0 pt ≤ 442.2 pt
  < 29 × 15.75 = 456.75 pt, i.e. exactly 28 characters; justification spreads the 1.2 pt left
  over. −0.2 pt (15.8 pt × 28 = 442.4 pt) would be 0.2 pt too wide and break at 27.
* Automatic spacing between CJK and Latin/digits (autoSpaceDE/DN) is off, so a line's count of
  characters does not depend on where the numbers fall; widow control is off so that every
  full page has 22 lines, as the standard's grid assumes.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import logging
import math
import os
import re
import signal
import subprocess
import sys
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import PurePosixPath
from typing import Any, Final

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_ALIGN_VERTICAL
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.oxml import serialize_part_xml
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, Twips
from docxtpl import DocxTemplate
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from xiaowu.reports.document import (
    Figure,
    FigureRef,
    HeadingLevel,
    Paragraph,
    Section,
    SummaryDocument,
    Table,
    TableColumn,
)

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- layout constants

PAGE_WIDTH: Final = Mm(210)
PAGE_HEIGHT: Final = Mm(297)
MARGIN_TOP: Final = Mm(37)  # 天头
MARGIN_BOTTOM: Final = Mm(35)
MARGIN_LEFT: Final = Mm(28)  # 订口
MARGIN_RIGHT: Final = Mm(26)
HEADER_DISTANCE: Final = Mm(15)  # there is no header; Word wants a value anyway
# Page numbers: "一字线上距版心下边缘7 mm", i.e. the dashes sit 7 mm below the text block (28 mm
# above the paper's bottom edge). Word/LibreOffice put the *bottom* of the footer paragraph at
# the footer distance and the dash is ≈ 3 mm above that; measured in LibreOffice's PDF with
# 25 mm: dash 7.2 mm below the text block.
FOOTER_DISTANCE: Final = Mm(25)

TEXT_WIDTH_PT: Final = (210 - 28 - 26) / 25.4 * 72  # 442.2 pt
CHARS_PER_LINE: Final = 28
LINES_PER_PAGE: Final = 22  # follows from LINE_PITCH, see the module docstring
CHAR_PITCH_PT: Final = TEXT_WIDTH_PT / CHARS_PER_LINE  # 15.79 pt: one "字" on the grid
LINE_PITCH: Final = Twips(579)  # 28.95 pt, see the module docstring
BODY_CHAR_SPACING_TWIPS: Final = -5  # −0.25 pt → 15.75 pt per 3号 character
FIRST_LINE_INDENT: Final = Pt(round(2 * CHAR_PITCH_PT, 1))  # 首行缩进 2 字 = 31.6 pt

TITLE_SIZE: Final = Pt(22)  # 2号
BODY_SIZE: Final = Pt(16)  # 3号
PAGE_NUMBER_SIZE: Final = Pt(14)  # 4号
TITLE_LINE_SPACING: Final = LINE_PITCH  # one grid line per title line, as in Word grid templates
SIGNATURE_GAP: Final = Twips(2 * 579)  # two empty lines between the text and 落款 (seal space)
DATE_RIGHT_INDENT_CHARS: Final = 4  # 成文日期右空四字 (§7.3.5.1, documents that get a seal)

FONT_TITLE: Final = "方正小标宋简体"
FONT_BODY: Final = "仿宋_GB2312"
FONT_KAI: Final = "楷体_GB2312"
FONT_HEI: Final = "黑体"
FONT_SONG: Final = "宋体"

# (name, altName, w:family, w:pitch) for the font table; charset 86 = GB2312.
_FONT_TABLE: Final = (
    (FONT_TITLE, FONT_SONG, "script", "variable"),
    (FONT_BODY, "仿宋", "modern", "fixed"),
    (FONT_KAI, "楷体", "modern", "fixed"),
    (FONT_HEI, "SimHei", "modern", "fixed"),
    (FONT_SONG, "SimSun", "auto", "variable"),
)

# Style ids (ASCII, stable) and the names Word/WPS show in the style gallery.
STYLE_BODY: Final = "Normal"
STYLE_TITLE: Final = ("GongwenTitle", "公文标题")
STYLE_SUBTITLE: Final = ("GongwenSubtitle", "公文副标题")
STYLE_HEADINGS: Final = {
    HeadingLevel.SECTION: ("GongwenHeading1", "公文一级标题（一、）"),
    HeadingLevel.SUBSECTION: ("GongwenHeading2", "公文二级标题（（一））"),
    HeadingLevel.ITEM: ("GongwenHeading3", "公文三级标题（1.）"),
}
STYLE_SIGNATURE: Final = ("GongwenSignature", "公文落款")
STYLE_PAGE_NUMBER: Final = ("GongwenPageNumber", "公文页码")
STYLE_TABLE_TITLE: Final = ("GongwenTableTitle", "公文表题")
STYLE_TABLE_HEADER: Final = ("GongwenTableHeader", "公文表头")
STYLE_TABLE_CELL: Final = ("GongwenTableCell", "公文表格")
STYLE_TABLE_NOTE: Final = ("GongwenTableNote", "公文表注")

# Tables: the largest of 4号 / 小四 / 五号 at which the columns fit the 156 mm text width.
TABLE_FONT_SIZES: Final = (Pt(14), Pt(12), Pt(10.5))
TABLE_WIDTH: Final = Twips(round(TEXT_WIDTH_PT * 20))  # 156 mm = 8844 twips
TABLE_CELL_MARGIN: Final = Twips(57)  # ≈ 1 mm left and right in every cell
TABLE_TEXT_WRAP_CHARS: Final = 10  # a text column wider than this wraps instead
TABLE_BORDER_OUTER: Final = "8"  # eighths of a point: 1 pt outside, ½ pt inside
TABLE_BORDER_INNER: Final = "4"

_HEADING_FONTS: Final = {
    HeadingLevel.SECTION: (FONT_HEI, False),
    HeadingLevel.SUBSECTION: (FONT_KAI, False),
    HeadingLevel.ITEM: (FONT_BODY, True),
}
_OUTLINE_LEVEL: Final = {HeadingLevel.SECTION: 0, HeadingLevel.SUBSECTION: 1, HeadingLevel.ITEM: 2}

# A title that already carries its ordinal keeps it; otherwise the renderer numbers it.
_ORDINAL_RE: Final = re.compile(
    r"^\s*(?:[一二三四五六七八九十百]+、|[（(][一二三四五六七八九十百]+[）)]|\d+[.．、])"
)
# Characters XML 1.0 cannot hold (and \a / \f, which docxtpl would turn into breaks).
_XML_INVALID_RE: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_DIGITS: Final = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 99 → 九十九 (1 ≤ n ≤ 99; larger n: Arabic)."""
    if not 1 <= n <= 99:
        return str(n)
    tens, units = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")
    return head + (_DIGITS[units] if units else "")


def ordinal(level: HeadingLevel, n: int) -> str:
    """The literal 公文 ordinal for the n-th heading of a level: 一、 / （一） / 1."""
    if level is HeadingLevel.SECTION:
        return f"{chinese_numeral(n)}、"
    if level is HeadingLevel.SUBSECTION:
        return f"（{chinese_numeral(n)}）"
    return f"{n}."


def format_issued_on(day: date | None) -> str:
    """成文日期 per GB/T 9704-2012 §7.3.5.1: Arabic numerals, no zero padding (2025年1月20日)."""
    return "" if day is None else f"{day.year}年{day.month}月{day.day}日"


def _clean(text: str) -> str:
    return _XML_INVALID_RE.sub("", text)


def paragraph_text(paragraph: Paragraph, figures: Mapping[str, Figure]) -> str:
    """A paragraph as plain text, figures shown as value + unit."""
    parts: list[str] = []
    for run in paragraph.runs:
        if isinstance(run, FigureRef):
            figure = figures.get(run.key)
            if figure is None:
                raise ValueError(f"段落引用了不存在的数据项：{run.key}")
            parts.append(figure.display())
        else:
            parts.append(run)
    return _clean("".join(parts))


def _numbered_sections(sections: Iterable[Section]) -> Iterator[tuple[Section, str]]:
    """Each section with its ordinal; counters restart in every sibling list, per level."""
    counters: dict[HeadingLevel, int] = {}
    for section in sections:
        counters[section.level] = counters.get(section.level, 0) + 1
        number = (
            ""
            if _ORDINAL_RE.match(section.title)
            else ordinal(section.level, counters[section.level])
        )
        yield section, number


def _display_width_chars(text: str) -> float:
    """Width in 字 (full-width characters): ASCII counts as half a character."""
    return sum(0.5 if ord(ch) < 0x2E80 else 1.0 for ch in text)


# --------------------------------------------------------------------------- title lines

# 标题 (GB/T 9704-2012 §7.3.1): 2号 (22 pt) type on the 156 mm text width holds
# 442.2 / 22 = 20.1, i.e. 20 characters a line (the body's 28 are 3号). A longer title is broken
# by hand, with explicit line breaks, "词意完整，排列对称，长短适宜" (梯形或菱形): at a natural
# point — before or after the period (2025—2026学年第一学期) or between its 学年 and 学期,
# before the kind of document (工作总结) — when that gives lines of reasonable balance, else
# as evenly as possible; never inside a number, next to a bracket or a dash, or with 1–2
# characters alone on a line.
TITLE_CHARS_PER_LINE: Final = int(TEXT_WIDTH_PT // TITLE_SIZE.pt)  # 20
TITLE_MIN_LINE_CHARS: Final = 3
# Widths in 字 of the title face. Latin letters and digits are proportional: 0.59 em in Noto
# Serif CJK SC Bold (the fallback for 方正小标宋简体, measured in LibreOffice's PDF; about 0.5 in
# the real face), and LibreOffice puts 0.2 em between a Chinese character and a Latin one. So
# "青石学区2025—2026学年第一学期工作总结" is 20.2 wide: LibreOffice leaves "结" alone on a
# second line (443.1 pt on a 442.2 pt line).
_TITLE_LATIN_WIDTH: Final = 0.6
_TITLE_LATIN_GAP: Final = 0.2
# Penalties of a break, against the squared deviation of each line from the mean width: a
# natural break is taken unless its lines differ by more than about 11 characters.
_TITLE_BREAK_NATURAL: Final = 0.0
_TITLE_BREAK_TERM: Final = 16.0  # between 学年 and 第一学期: keeps both words whole
_TITLE_BREAK_WORD: Final = 64.0  # between two characters elsewhere (may split a word)
_TITLE_BREAK_INSIDE: Final = 400.0  # inside the period or the kind of document: last resort
_TITLE_PERIOD_RE: Final = re.compile(
    r"\d{4}\s*(?:[—–\-－~～]+|至)\s*\d{4}\s*学年度?(?P<term>第[一二]学期|[上下]学期)?"
    r"|\d{4}年\d{1,2}月(?:\d{1,2}日)?"  # each end of a custom period: 2025年9月1日至…
    r"|\d{4}年度?(?:[上下]半年|第[一二三四]季度|[春秋]季学期)?"
)
_TITLE_KIND_RE: Final = re.compile(
    r"(?:目标责任书考核汇报材料|考核汇报材料|工作总结|工作报告|汇报材料|自查报告|述职报告)$"
)
_NO_BREAK_AFTER: Final = frozenset("（(《〈「『“‘【〔[—")
_NO_BREAK_BEFORE: Final = frozenset("）)》〉」』”’】〕]，、。；：？！,.;:?!—…·")


def _title_char_width(ch: str) -> float:
    return _TITLE_LATIN_WIDTH if ch.isascii() else 1.0


def _title_gap(left: str, right: str) -> bool:
    """Whether LibreOffice spaces out the boundary between two characters: a Chinese character
    (not punctuation) next to a Latin letter or digit."""

    def latin(ch: str) -> bool:
        return ch.isascii() and ch.isalnum()

    def han(ch: str) -> bool:
        return unicodedata.category(ch) == "Lo"

    return (latin(left) and han(right)) or (han(left) and latin(right))


class _TitleMeasure:
    """Widths of the stripped slices of one title in O(1), from prefix sums."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.chars = list(itertools.accumulate((_title_char_width(c) for c in text), initial=0.0))
        gaps = [0, *(int(_title_gap(a, b)) for a, b in itertools.pairwise(text))]
        self.gaps = list(itertools.accumulate(gaps, initial=0))  # gaps[i]: boundaries before i

    def bounds(self, start: int, end: int) -> tuple[int, int]:
        while start < end and self.text[start].isspace():
            start += 1
        while end > start and self.text[end - 1].isspace():
            end -= 1
        return start, end

    def width(self, start: int, end: int) -> float:
        start, end = self.bounds(start, end)
        if start >= end:
            return 0.0
        gaps = self.gaps[end] - self.gaps[start + 1]  # boundaries strictly inside the slice
        return self.chars[end] - self.chars[start] + gaps * _TITLE_LATIN_GAP


def title_width(text: str) -> float:
    """Width of ``text`` in 2号 title characters (see :data:`TITLE_CHARS_PER_LINE`)."""
    return _TitleMeasure(text).width(0, len(text))


def _title_break_penalties(text: str) -> dict[int, float]:
    """Where ``text`` may break (the index of the first character of the next line) and at
    what cost; positions not listed never break."""
    natural: set[int] = set()
    inside: set[int] = set()
    terms: set[int] = set()
    for match in [*_TITLE_PERIOD_RE.finditer(text), *_TITLE_KIND_RE.finditer(text)]:
        natural |= {match.start(), match.end()}
        inside |= set(range(match.start() + 1, match.end()))
        if "term" in match.groupdict() and match.group("term"):
            terms.add(match.start("term"))
    penalties: dict[int, float] = {}
    for index in range(1, len(text)):
        left, right = text[index - 1], text[index]
        if left in _NO_BREAK_AFTER or right in _NO_BREAK_BEFORE:
            continue
        if left.isascii() and left.isalnum() and right.isascii() and right.isalnum():
            continue  # inside a number or a Latin word
        if index in terms:
            penalties[index] = _TITLE_BREAK_TERM
        elif index in inside:
            penalties[index] = _TITLE_BREAK_INSIDE
        elif index in natural:
            penalties[index] = _TITLE_BREAK_NATURAL
        else:
            penalties[index] = _TITLE_BREAK_WORD
    return penalties


def _title_breaks(
    measure: _TitleMeasure, lines: int, penalties: Mapping[int, float], capacity: float
) -> list[int] | None:
    """The break positions splitting the title into ``lines`` lines at the least cost (squared
    deviation of each line from the mean width, plus the penalties), or None if no split fits."""
    size = len(measure.text)
    mean = measure.width(0, size) / lines

    def line_cost(start: int, end: int) -> float | None:
        first, last = measure.bounds(start, end)
        width = measure.width(start, end)
        if width > capacity or last - first < TITLE_MIN_LINE_CHARS:
            return None
        return (width - mean) ** 2

    # Dynamic programming over the allowed breaks: the cheapest first ``count`` lines ending at
    # each position, as (cost, breaks).
    layer: dict[int, tuple[float, list[int]]] = {0: (0.0, [])}
    for count in range(1, lines + 1):
        ends = [size] if count == lines else sorted(penalties)
        following: dict[int, tuple[float, list[int]]] = {}
        for end in ends:
            for start, (cost, breaks) in layer.items():
                here = line_cost(start, end) if start < end else None
                if here is None:
                    continue
                total = cost + here + (penalties[end] if end < size else 0.0)
                if end not in following or total < following[end][0]:
                    following[end] = (total, breaks if end == size else [*breaks, end])
        layer = following
    found = layer.get(size)
    return found[1] if found is not None else None


def title_lines(title: str, *, capacity: float = TITLE_CHARS_PER_LINE) -> list[str]:
    """The lines of a 2号 title: one when it fits, else the fewest balanced lines (see above).
    A title that cannot be broken well (a long Latin word) stays one line for Word to wrap."""
    text = title.strip()
    if not text:
        return []
    if title_width(text) <= capacity:
        return [text]
    measure = _TitleMeasure(text)
    penalties = _title_break_penalties(text)
    fewest = math.ceil(measure.width(0, len(text)) / capacity)
    for lines in range(fewest, fewest + 2):
        breaks = _title_breaks(measure, lines, penalties, capacity)
        if breaks is not None:
            bounds = [0, *breaks, len(text)]
            return [text[a:b].strip() for a, b in itertools.pairwise(bounds)]
    return [text]


# --------------------------------------------------------------------------- low-level XML

# Child order of w:pPr and w:rPr (ECMA-376 CT_PPrBase / CT_RPr); Word rejects other orders.
_PPR_SEQUENCE: Final = (
    "w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr",
    "w:widowControl", "w:numPr", "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs",
    "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct",
    "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
    "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap",
    "w:jc", "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl",
    "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)  # fmt: skip
_RPR_SEQUENCE: Final = (
    "w:rStyle", "w:rFonts", "w:b", "w:bCs", "w:i", "w:iCs", "w:caps", "w:smallCaps",
    "w:strike", "w:dstrike", "w:outline", "w:shadow", "w:emboss", "w:imprint", "w:noProof",
    "w:snapToGrid", "w:vanish", "w:webHidden", "w:color", "w:spacing", "w:w", "w:kern",
    "w:position", "w:sz", "w:szCs", "w:highlight", "w:u", "w:effect", "w:bdr", "w:shd",
    "w:fitText", "w:vertAlign", "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout",
    "w:specVanish", "w:oMath",
)  # fmt: skip


def _child(parent: Any, tag: str, **attrs: str) -> Any:
    """Get or create ``tag`` under a python-docx pPr/rPr in schema order and set attributes."""
    element = parent.find(qn(tag))
    if element is None:
        element = OxmlElement(tag)
        sequence = _PPR_SEQUENCE if parent.tag == qn("w:pPr") else _RPR_SEQUENCE
        parent.insert_element_before(element, *sequence[sequence.index(tag) + 1 :])
    for name, value in attrs.items():
        element.set(qn(f"w:{name}"), value)
    return element


def _set_fonts(rpr: Any, name: str) -> None:
    """One face for ascii/hAnsi/eastAsia/cs; theme references would override it, so drop them."""
    fonts = _child(rpr, "w:rFonts")
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


def _set_run_props(
    rpr: Any, *, font: str, size: Any, bold: bool | None = None, spacing: int | None = None
) -> None:
    _set_fonts(rpr, font)
    if bold is not None:
        _child(rpr, "w:b", val="1" if bold else "0")
        _child(rpr, "w:bCs", val="1" if bold else "0")
    if spacing is not None:
        _child(rpr, "w:spacing", val=str(spacing))
    half_points = str(round(size.pt * 2))
    _child(rpr, "w:sz", val=half_points)
    _child(rpr, "w:szCs", val=half_points)


def _set_indent(ppr: Any, *, first_line: Any = None, left: Any = None, right: Any = None) -> None:
    """Indents in twips; ``firstLineChars`` is zeroed because Word lets it override firstLine."""
    attrs: dict[str, str] = {}
    if first_line is not None:
        attrs["firstLine"] = str(first_line.twips)
        attrs["firstLineChars"] = "200" if first_line.twips else "0"
    if left is not None:
        attrs["left"] = str(left.twips)
        attrs["leftChars"] = "0"
    if right is not None:
        attrs["right"] = str(right.twips)
        attrs["rightChars"] = "0"
    _child(ppr, "w:ind", **attrs)


# --------------------------------------------------------------------------- document set-up


def _setup_document() -> Any:
    document = Document()
    _drop_template_leftovers(document)
    _setup_section(document)
    _setup_defaults(document)
    _setup_styles(document)
    _setup_font_table(document)
    _setup_settings(document)
    return document


def _drop_template_leftovers(document: Any) -> None:
    # python-docx's default template carries a thumbnail of an empty English page.
    package_rels = document.part.package.rels
    for rel_id, rel in list(package_rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            package_rels.pop(rel_id)
    body = document.element.body
    for paragraph in body.findall(qn("w:p")):
        body.remove(paragraph)


def _setup_section(document: Any) -> None:
    section = document.sections[0]
    section.page_width = PAGE_WIDTH
    section.page_height = PAGE_HEIGHT
    section.top_margin = MARGIN_TOP
    section.bottom_margin = MARGIN_BOTTOM
    section.left_margin = MARGIN_LEFT
    section.right_margin = MARGIN_RIGHT
    section.header_distance = HEADER_DISTANCE
    section.footer_distance = FOOTER_DISTANCE
    section.gutter = 0
    # No document grid: the grid is produced by fixed line pitch and character spacing, which
    # Word, WPS and LibreOffice all honour the same way (grid snapping differs between them).
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is not None:
        grid.attrib.clear()
        grid.set(qn("w:type"), "default")
        grid.set(qn("w:linePitch"), str(LINE_PITCH.twips))


def _setup_defaults(document: Any) -> None:
    defaults = document.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_run_props(rpr, font=FONT_BODY, size=BODY_SIZE)
    _child(rpr, "w:lang", val="zh-CN", eastAsia="zh-CN", bidi="ar-SA")
    ppr = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr"))
    _child(ppr, "w:spacing", before="0", after="0", line="240", lineRule="auto")


def _paragraph_style(document: Any, ident: tuple[str, str], *, next_body: bool = True) -> Any:
    style = document.styles.add_style(ident[1], WD_STYLE_TYPE.PARAGRAPH)
    style.style_id = ident[0]
    style.base_style = document.styles[STYLE_BODY]
    style.quick_style = True
    if next_body:
        style.next_paragraph_style = document.styles[STYLE_BODY]
    return style


def _setup_styles(document: Any) -> None:
    styles = document.styles

    # 正文: 3号仿宋, justified, 2-character first-line indent, fixed 28.95 pt, no gaps.
    body = styles[STYLE_BODY]
    body.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    body.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    body.paragraph_format.line_spacing = LINE_PITCH
    body.paragraph_format.space_before = Pt(0)
    body.paragraph_format.space_after = Pt(0)
    body.paragraph_format.widow_control = False
    ppr = body.element.get_or_add_pPr()
    _set_indent(ppr, first_line=FIRST_LINE_INDENT)
    _child(ppr, "w:autoSpaceDE", val="0")
    _child(ppr, "w:autoSpaceDN", val="0")
    _child(ppr, "w:adjustRightInd", val="0")
    _child(ppr, "w:snapToGrid", val="0")
    _set_run_props(
        body.element.get_or_add_rPr(),
        font=FONT_BODY,
        size=BODY_SIZE,
        spacing=BODY_CHAR_SPACING_TWIPS,
    )

    # 标题: 2号方正小标宋简体, centred, no indent; one empty line below the title block is
    # added as space after on its last paragraph (no empty paragraphs).
    title = _paragraph_style(document, STYLE_TITLE)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.line_spacing = TITLE_LINE_SPACING
    title.paragraph_format.keep_with_next = True
    _set_indent(title.element.get_or_add_pPr(), first_line=Pt(0))
    _set_run_props(title.element.get_or_add_rPr(), font=FONT_TITLE, size=TITLE_SIZE, spacing=0)

    subtitle = _paragraph_style(document, STYLE_SUBTITLE)
    subtitle.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    subtitle.paragraph_format.keep_with_next = True
    _set_indent(subtitle.element.get_or_add_pPr(), first_line=Pt(0))
    _set_run_props(subtitle.element.get_or_add_rPr(), font=FONT_KAI, size=BODY_SIZE)

    # 层次序数: ordinary body paragraphs (indented 2 characters) in 黑体 / 楷体 / 仿宋加粗.
    # An outline level (no numbering) lets Word's navigation pane and PDF bookmarks see them.
    for level, ident in STYLE_HEADINGS.items():
        heading = _paragraph_style(document, ident)
        heading.paragraph_format.keep_with_next = True
        font, bold = _HEADING_FONTS[level]
        _child(heading.element.get_or_add_pPr(), "w:outlineLvl", val=str(_OUTLINE_LEVEL[level]))
        _set_run_props(heading.element.get_or_add_rPr(), font=font, size=BODY_SIZE, bold=bold)

    signature = _paragraph_style(document, STYLE_SIGNATURE)
    signature.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    signature.paragraph_format.keep_with_next = True
    _set_indent(signature.element.get_or_add_pPr(), first_line=Pt(0))

    # 页码: 4号半角宋体阿拉伯数字.
    page_number = _paragraph_style(document, STYLE_PAGE_NUMBER, next_body=False)
    page_number.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    _set_indent(page_number.element.get_or_add_pPr(), first_line=Pt(0))
    _set_run_props(
        page_number.element.get_or_add_rPr(), font=FONT_SONG, size=PAGE_NUMBER_SIZE, spacing=0
    )

    # 表题: 黑体, centred above the table; 表头 黑体; 表格 仿宋; 表注 仿宋 below the table. The
    # size of table text is set per table (see _table_layout); paragraphs inside cells have
    # no indent, no character squeeze and a line pitch that follows the size.
    table_title = _paragraph_style(document, STYLE_TABLE_TITLE)
    table_title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    table_title.paragraph_format.keep_with_next = True
    _set_indent(table_title.element.get_or_add_pPr(), first_line=Pt(0))
    _set_run_props(table_title.element.get_or_add_rPr(), font=FONT_HEI, size=BODY_SIZE, spacing=0)
    for ident, font in ((STYLE_TABLE_HEADER, FONT_HEI), (STYLE_TABLE_CELL, FONT_BODY)):
        cell = _paragraph_style(document, ident, next_body=False)
        cell.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        _set_indent(cell.element.get_or_add_pPr(), first_line=Pt(0))
        _set_run_props(
            cell.element.get_or_add_rPr(), font=font, size=TABLE_FONT_SIZES[0], spacing=0
        )
    note = _paragraph_style(document, STYLE_TABLE_NOTE)
    note.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    note.paragraph_format.space_before = Pt(3)
    note.paragraph_format.space_after = Pt(6)
    _set_indent(note.element.get_or_add_pPr(), first_line=Pt(0))
    _set_run_props(
        note.element.get_or_add_rPr(), font=FONT_BODY, size=TABLE_FONT_SIZES[1], spacing=0
    )


def _setup_font_table(document: Any) -> None:
    font_part = None
    for rel in document.part.rels.values():
        if rel.reltype == RT.FONT_TABLE:
            font_part = rel.target_part
    if font_part is None:  # pragma: no cover - the default template has one
        return
    root = parse_xml(font_part.blob)
    existing = {font.get(qn("w:name")) for font in root.findall(qn("w:font"))}
    for name, alt_name, family, pitch in _FONT_TABLE:
        if name in existing:
            continue
        font = OxmlElement("w:font")
        font.set(qn("w:name"), name)
        for tag, value in (
            ("w:altName", alt_name),
            ("w:charset", "86"),
            ("w:family", family),
            ("w:pitch", pitch),
        ):
            child = OxmlElement(tag)
            child.set(qn("w:val"), value)
            font.append(child)
        root.append(font)
    font_part._blob = serialize_part_xml(root)


def _setup_settings(document: Any) -> None:
    settings = document.settings
    settings.odd_and_even_pages_header_footer = True
    theme_lang = settings.element.find(qn("w:themeFontLang"))
    if theme_lang is not None:
        theme_lang.set(qn("w:eastAsia"), "zh-CN")


# --------------------------------------------------------------------------- content


def _set_style(paragraph: Any, style: Any) -> None:
    """Apply a paragraph style by its id. python-docx's ``paragraph.style = style`` looks the
    style up again through the styles part on every call, which was most of the Word layout
    time of a long summary; the style objects here all come from this document."""
    paragraph._p.style = style.style_id


def _add_paragraph(document: Any, text: str, style: Any) -> Any:
    paragraph = document.add_paragraph()
    _set_style(paragraph, style)
    paragraph.add_run(text)
    return paragraph


def _add_title(document: Any, lines: list[str]) -> Any:
    """The title paragraph, its lines separated by explicit line breaks (see title_lines)."""
    paragraph = document.add_paragraph()
    _set_style(paragraph, document.styles[STYLE_TITLE[1]])
    run = paragraph.add_run()
    for index, line in enumerate(lines):
        if index:
            run.add_break()
        run.add_text(line)
    return paragraph


def _add_page_number(footer: Any, style: Any, *, odd: bool) -> None:
    """— 1 — with a PAGE field; odd pages right-aligned, even pages left, one 字 from the edge."""
    paragraph = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
    _set_style(paragraph, style)
    one_char = PAGE_NUMBER_SIZE
    if odd:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _set_indent(paragraph._p.get_or_add_pPr(), right=one_char)
    else:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT
        _set_indent(paragraph._p.get_or_add_pPr(), left=one_char)
    paragraph.add_run("— ")
    _add_field(paragraph, "PAGE", "1")
    paragraph.add_run(" —")


def _add_field(paragraph: Any, instruction: str, placeholder: str) -> None:
    begin = paragraph.add_run()
    begin._r.append(_fld_char("begin"))
    instr = paragraph.add_run()
    instr_text = OxmlElement("w:instrText")
    instr_text.set(qn("xml:space"), "preserve")
    instr_text.text = f" {instruction} "
    instr._r.append(instr_text)
    separate = paragraph.add_run()
    separate._r.append(_fld_char("separate"))
    paragraph.add_run(placeholder)
    end = paragraph.add_run()
    end._r.append(_fld_char("end"))


def _fld_char(kind: str) -> Any:
    element = OxmlElement("w:fldChar")
    element.set(qn("w:fldCharType"), kind)
    return element


def _add_sections(
    document: Any, sections: Iterable[Section], figures: Mapping[str, Figure]
) -> list[Any]:
    added: list[Any] = []
    for section, number in _numbered_sections(sections):
        heading = _clean(section.title.strip())
        if heading:
            style = document.styles[STYLE_HEADINGS[section.level][1]]
            added.append(_add_paragraph(document, number + heading, style))
        for paragraph in section.paragraphs:
            text = paragraph_text(paragraph, figures).strip()
            if text:
                added.append(_add_paragraph(document, text, document.styles[STYLE_BODY]))
        for table in section.tables:
            added.extend(_add_table(document, table, figures))
        added.extend(_add_sections(document, section.children, figures))
    return added


def table_texts(table: Table, figures: Mapping[str, Figure]) -> list[list[str]]:
    """The table's body as text, one list per row (the header is ``column.header``)."""
    return [
        [_clean(table.cell_text(row, column, figures)) for column in table.columns]
        for row in table.rows
    ]


_CJK_RE: Final = re.compile("[\u2e80-\uffef]")


def _table_layout(columns: list[TableColumn], rows: list[list[str]]) -> tuple[Any, list[int]]:
    """The font size and the column widths (twips) of a table that spans the text width.

    Per column, in characters: the *minimum* is its header (up to four characters on one
    line, longer headers on two) and its widest cell without Chinese characters (numbers
    never wrap); the *wish* adds its widest cell, text capped at ``TABLE_TEXT_WRAP_CHARS``.
    The largest size at which the wishes fit is taken and the space left over is shared in
    proportion to the wishes. When even 五号 is too small for the wishes, every column gets
    its minimum and the rest goes to the columns with the longest text.
    """
    margins = 2 * TABLE_CELL_MARGIN.pt
    minimums: list[float] = []
    wishes: list[float] = []
    fulls: list[float] = []
    for index, column in enumerate(columns):
        cells = [row[index] for row in rows]
        header = _display_width_chars(column.header)
        unbreakable = [_display_width_chars(c) for c in cells if not _CJK_RE.search(c)]
        widest = max((_display_width_chars(c) for c in cells), default=1.0)
        minimum = max(header if header <= 4 else -(-header // 2), *unbreakable, 1.0) + 0.5
        cap = widest if column.numeric else min(widest, TABLE_TEXT_WRAP_CHARS)
        minimums.append(minimum)
        wishes.append(max(minimum, cap + 0.5))
        fulls.append(max(minimum, widest + 0.5))
    total_twips = TABLE_WIDTH.twips
    for size in TABLE_FONT_SIZES:
        if sum(w * size.pt + margins for w in wishes) <= TEXT_WIDTH_PT:
            weights = [w * size.pt + margins for w in wishes]
            widths = [int(total_twips * w / sum(weights)) for w in weights]
            widths[-1] += total_twips - sum(widths)  # the columns add up to 156 mm exactly
            return size, widths
    size = TABLE_FONT_SIZES[-1]
    base = [m * size.pt + margins for m in minimums]
    spare = TEXT_WIDTH_PT - sum(base)
    if spare > 0:
        growth = [f - m for f, m in zip(fulls, minimums, strict=True)]
        if sum(growth) > 0:
            base = [b + spare * g / sum(growth) for b, g in zip(base, growth, strict=True)]
    widths = [int(total_twips * b / sum(base)) for b in base]
    widths[-1] += total_twips - sum(widths)
    return size, widths


def _border(edge: str, size: str) -> Any:
    element = OxmlElement(f"w:{edge}")
    element.set(qn("w:val"), "single")
    element.set(qn("w:sz"), size)
    element.set(qn("w:space"), "0")
    element.set(qn("w:color"), "000000")
    return element


def _set_table_properties(word_table: Any, widths: list[int]) -> None:
    tbl = word_table._tbl
    tbl_pr = tbl.tblPr
    for tag in ("w:tblStyle", "w:tblW", "w:jc", "w:tblBorders", "w:tblLayout", "w:tblCellMar"):
        for old in tbl_pr.findall(qn(tag)):
            tbl_pr.remove(old)
    width = OxmlElement("w:tblW")
    width.set(qn("w:w"), str(sum(widths)))
    width.set(qn("w:type"), "dxa")
    jc = OxmlElement("w:jc")
    jc.set(qn("w:val"), "center")
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right"):
        borders.append(_border(edge, TABLE_BORDER_OUTER))
    for edge in ("insideH", "insideV"):
        borders.append(_border(edge, TABLE_BORDER_INNER))
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        margin = OxmlElement(f"w:{edge}")
        margin.set(qn("w:w"), str(TABLE_CELL_MARGIN.twips))
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    # CT_TblPr order: tblStyle, …, tblW, jc, …, tblBorders, shd, tblLayout, tblCellMar, tblLook
    look = tbl_pr.find(qn("w:tblLook"))
    for element in (width, jc, borders, layout, margins):
        if look is not None:
            look.addprevious(element)
        else:
            tbl_pr.append(element)
    grid = tbl.tblGrid
    for col, twips in zip(grid.findall(qn("w:gridCol")), widths, strict=True):
        col.set(qn("w:w"), str(twips))


def _fill_cell(cell: Any, text: str, *, style: Any, size: Any, align: Any, bold: bool) -> Any:
    cell.vertical_alignment = WD_ALIGN_VERTICAL.CENTER
    paragraph = cell.paragraphs[0]
    _set_style(paragraph, style)
    paragraph.alignment = align
    paragraph.paragraph_format.line_spacing = Pt(round(size.pt * 1.3, 1))
    paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    run = paragraph.add_run(text)
    run.font.size = size
    if bold:
        run.font.bold = True
    return paragraph


def _add_table(document: Any, table: Table, figures: Mapping[str, Figure]) -> list[Any]:
    """表N title above, a real Word table (repeating 黑体 header row, 仿宋 cells, numbers
    right-aligned, rows kept whole, exactly the 156 mm text width), and 注 below."""
    if not table.columns or not table.rows:
        return []
    added = [_add_paragraph(document, _clean(table.caption), document.styles[STYLE_TABLE_TITLE[1]])]
    texts = table_texts(table, figures)
    size, widths = _table_layout(table.columns, texts)
    word_table = document.add_table(rows=len(texts) + 1, cols=len(table.columns))
    _set_table_properties(word_table, widths)
    header_style = document.styles[STYLE_TABLE_HEADER[1]]
    cell_style = document.styles[STYLE_TABLE_CELL[1]]
    for row_index, row in enumerate(word_table.rows):
        tr_pr = row._tr.get_or_add_trPr()
        tr_pr.append(OxmlElement("w:cantSplit"))
        if row_index == 0:
            tr_pr.append(OxmlElement("w:tblHeader"))
        for col_index, cell in enumerate(row.cells):
            cell.width = Twips(widths[col_index])
            column = table.columns[col_index]
            if row_index == 0:
                _fill_cell(
                    cell,
                    _clean(column.header),
                    style=header_style,
                    size=size,
                    align=WD_ALIGN_PARAGRAPH.CENTER,
                    bold=False,
                )
                continue
            source = table.rows[row_index - 1]
            text = texts[row_index - 1][col_index]
            align = (
                WD_ALIGN_PARAGRAPH.RIGHT
                if column.numeric and text not in ("—", "")
                else WD_ALIGN_PARAGRAPH.CENTER
                if column.numeric or source.total
                else WD_ALIGN_PARAGRAPH.LEFT
            )
            paragraph = _fill_cell(
                cell, text, style=cell_style, size=size, align=align, bold=source.total
            )
            if row_index == len(texts) and table.note:
                paragraph.paragraph_format.keep_with_next = True  # the 注 stays with the table
    if table.note:
        added.append(
            _add_paragraph(document, _clean(table.note), document.styles[STYLE_TABLE_NOTE[1]])
        )
    return added


def _add_signature(document: Any, signatory: str, issued_on: str) -> None:
    """落款 for a document that gets a seal (§7.3.5.1): 成文日期右空四字, the issuing unit
    centred over the date, two empty lines above (room for the seal's upper half)."""
    style = document.styles[STYLE_SIGNATURE[1]]
    date_width = _display_width_chars(issued_on) if issued_on else 0.0
    date_indent = DATE_RIGHT_INDENT_CHARS
    paragraphs: list[tuple[str, float]] = []
    if signatory:
        sig_indent = float(date_indent)
        if issued_on:
            sig_indent += (date_width - _display_width_chars(signatory)) / 2
        # A unit name much longer than the date still keeps 二字 from the right edge.
        paragraphs.append((signatory, max(sig_indent, 2.0)))
    if issued_on:
        paragraphs.append((issued_on, float(date_indent)))
    for index, (text, indent_chars) in enumerate(paragraphs):
        paragraph = _add_paragraph(document, text, style)
        _set_indent(paragraph._p.get_or_add_pPr(), right=Pt(round(indent_chars * CHAR_PITCH_PT, 1)))
        if index == 0:
            paragraph.paragraph_format.space_before = SIGNATURE_GAP
        if index == len(paragraphs) - 1:
            paragraph.paragraph_format.keep_with_next = False


def build_docx(doc: SummaryDocument) -> Any:
    """The python-docx ``Document`` for ``doc`` (see :func:`render_docx`)."""
    document = _setup_document()
    figures = doc.figures

    title = _clean(doc.title.strip())
    subtitle = _clean(doc.subtitle.strip())
    if subtitle and not subtitle.startswith("—"):
        subtitle = "——" + subtitle
    title_block: list[Any] = []
    if title:
        title_block.append(_add_title(document, title_lines(title)))
    if subtitle:
        title_block.append(_add_paragraph(document, subtitle, document.styles[STYLE_SUBTITLE[1]]))
    if title_block:
        title_block[-1].paragraph_format.space_after = LINE_PITCH  # 标题下空一行

    body: list[Any] = []
    for paragraph in doc.lead:
        text = paragraph_text(paragraph, figures).strip()
        if text:
            body.append(_add_paragraph(document, text, document.styles[STYLE_BODY]))
    body.extend(_add_sections(document, doc.sections, figures))
    for paragraph in doc.closing:
        text = paragraph_text(paragraph, figures).strip()
        if text:
            body.append(_add_paragraph(document, text, document.styles[STYLE_BODY]))

    signatory = _clean(doc.signatory.strip())
    issued_on = format_issued_on(doc.issued_on)
    if signatory or issued_on:
        if body:  # never leave 落款 alone on the last page
            body[-1].paragraph_format.keep_with_next = True
        _add_signature(document, signatory, issued_on)

    page_style = document.styles[STYLE_PAGE_NUMBER[1]]
    section = document.sections[0]
    section.footer.is_linked_to_previous = False
    section.even_page_footer.is_linked_to_previous = False
    _add_page_number(section.footer, page_style, odd=True)
    _add_page_number(section.even_page_footer, page_style, odd=False)

    properties = document.core_properties
    properties.title = title
    properties.subject = subtitle.lstrip("—")
    properties.author = signatory
    properties.last_modified_by = signatory
    properties.language = "zh-CN"
    properties.created = properties.modified = datetime.now(tz=UTC)
    properties.revision = 1
    properties.comments = ""
    properties.keywords = ""
    return document


def render_docx(doc: SummaryDocument) -> bytes:
    """Lay ``doc`` out in 公文 format (GB/T 9704-2012) and return the .docx bytes."""
    buffer = io.BytesIO()
    build_docx(doc).save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- school templates

MAX_TEMPLATE_BYTES: Final = 10 * 1024 * 1024
MAX_TEMPLATE_MEMBERS: Final = 500
MAX_TEMPLATE_UNCOMPRESSED: Final = 50 * 1024 * 1024
MAX_RENDERED_STRING: Final = 100_000  # longest string a template may build with * or **

_MAIN_CONTENT_TYPE: Final = (
    b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
)
_FORBIDDEN_CONTENT: Final = (b"macroenabled", b"vbaproject", b"activex", b"oleobject")
_FORBIDDEN_SUFFIXES: Final = (".bin", ".docm", ".dotm", ".xlsm", ".pptm", ".exe", ".dll")
_HYPERLINK_REL: Final = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"
)
# Fields that make Word or LibreOffice fetch or run something when the file is opened.
_FORBIDDEN_FIELD_RE: Final = re.compile(
    rb"(?:instrText[^>]*>|w:instr=\")\s*(?:INCLUDEPICTURE|INCLUDETEXT|IMPORT|LINK|DDE|DDEAUTO)\b",
    re.IGNORECASE,
)


def validate_template(template: bytes) -> None:
    """Reject anything but a plain, reasonably small .docx; raise ``ValueError`` (in Chinese).

    Checks: size; a readable zip without encryption, duplicate or path-escaping names; at most
    ``MAX_TEMPLATE_MEMBERS`` members and ``MAX_TEMPLATE_UNCOMPRESSED`` bytes unpacked (zip
    bombs); a Word document main part (not .docm/.dotx/.dotm); no macros (vbaProject.bin),
    ActiveX or OLE objects; no DTDs/entities in XML parts; no external relationships except
    hyperlinks (linked images or an attached remote template would make LibreOffice fetch URLs
    from the server); no INCLUDEPICTURE/INCLUDETEXT/LINK/DDE fields.
    """
    if len(template) > MAX_TEMPLATE_BYTES:
        raise ValueError(f"模板文件过大（上限 {MAX_TEMPLATE_BYTES // 1024 // 1024} MB）。")
    try:
        archive = zipfile.ZipFile(io.BytesIO(template))
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError("模板不是有效的 .docx 文件。") from exc
    with archive:
        members = archive.infolist()
        if len(members) > MAX_TEMPLATE_MEMBERS:
            raise ValueError("模板文件包含的部件过多，不是常规的 Word 文档。")
        if sum(member.file_size for member in members) > MAX_TEMPLATE_UNCOMPRESSED:
            raise ValueError("模板文件解压后过大，不是常规的 Word 文档。")
        names = [member.filename for member in members]
        if len(set(names)) != len(names):
            raise ValueError("模板文件结构异常（重复的部件）。")
        for member in members:
            _check_member(member)
        if "[Content_Types].xml" not in names:
            raise ValueError("模板不是有效的 .docx 文件。")
        try:
            for member in members:
                if member.is_dir():
                    continue
                data = archive.read(member)
                _check_member_data(member.filename, data)
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
            raise ValueError("模板文件已损坏，无法读取。") from exc


def _check_member(member: zipfile.ZipInfo) -> None:
    name = member.filename
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or "\\" in name or ".." in path.parts:
        raise ValueError("模板文件结构异常（非法的部件路径）。")
    if member.flag_bits & 0x1:
        raise ValueError("模板文件已加密，请上传未加密的 .docx 文件。")
    lower = name.lower()
    if lower.endswith(_FORBIDDEN_SUFFIXES) or any(
        marker.decode() in lower for marker in _FORBIDDEN_CONTENT
    ):
        raise ValueError("模板包含宏、ActiveX 控件或嵌入对象，请另存为不含宏的 .docx 后上传。")


def _check_member_data(name: str, data: bytes) -> None:
    lower = data.lower()
    if name == "[Content_Types].xml":
        if any(marker in lower for marker in _FORBIDDEN_CONTENT):
            raise ValueError("模板包含宏或嵌入对象，请另存为不含宏的 .docx 后上传。")
        if _MAIN_CONTENT_TYPE not in data:
            raise ValueError("模板不是 Word 文档（.docx）；请勿上传 .docm、.dotx 或其他格式。")
    if not name.endswith((".xml", ".rels")):
        return
    if b"<!doctype" in lower or b"<!entity" in lower:
        raise ValueError("模板文件结构异常（XML 中含有 DTD 声明）。")
    if name.endswith(".rels"):
        _check_relationships(data)
    elif _FORBIDDEN_FIELD_RE.search(data):
        raise ValueError("模板包含引用外部文件或链接的域代码，请删除后重新上传。")


def _check_relationships(data: bytes) -> None:
    # DTDs were rejected before this point, and python-docx's parser resolves no entities.
    try:
        root = parse_xml(data)
    except Exception as exc:  # lxml's XMLSyntaxError
        raise ValueError("模板文件结构异常（关系部件无法解析）。") from exc
    for rel in root:
        if rel.get("TargetMode") == "External" and rel.get("Type") != _HYPERLINK_REL:
            raise ValueError("模板引用了外部文件或网络资源，请删除后重新上传。")


# "'nope' is undefined" / "'dict object' has no attribute 'nope'" → nope
_UNDEFINED_NAME_RE: Final = re.compile(r"(?:has no attribute '([^']+)'|^'([^']+)' is undefined)")


class _TemplateEnvironment(SandboxedEnvironment):
    """Jinja sandbox for uploaded templates: no attribute tricks, strict names, bounded * and **."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int) and (
                abs(right) > 64 or (isinstance(left, int) and left.bit_length() * right > 4096)
            ):
                raise SecurityError("power too large")
            return left**right
        size = 0
        if isinstance(left, str | list | tuple) and isinstance(right, int):
            size = len(left) * right
        elif isinstance(right, str | list | tuple) and isinstance(left, int):
            size = len(right) * left
        if size > MAX_RENDERED_STRING:
            raise SecurityError("sequence too long")
        return left * right


@dataclass(frozen=True)
class Placeholder:
    """One name a school template can use, as the upload page documents it."""

    name: str
    description: str
    example: str = ""


# What template_context() provides; a test keeps these lists and the context in step, and the
# template upload page shows them (so the documentation is generated from here, not by hand).
TEMPLATE_PLACEHOLDERS: Final = (
    Placeholder("title", "标题", "{{ title }}"),
    Placeholder("subtitle", "副标题（可能为空）", "{{ subtitle }}"),
    Placeholder("lead", "导语：段落文字列表", "{%p for p in lead %} / {{ p }} / {%p endfor %}"),
    Placeholder(
        "sections",
        "正文各部分（一、二、三……），每项的字段见“sections 的字段”，可逐层嵌套",
        "{%p for s in sections %} / {{ s.heading }} / … / {%p endfor %}",
    ),
    Placeholder(
        "body",
        "按阅读顺序展开的全部正文：每项有 kind（section、subsection、item、"
        "paragraph、table）和 text",
        "{%p for b in body %} / {{ b.text }} / {%p endfor %}",
    ),
    Placeholder(
        "tables",
        "全部表格（表1、表2……），每项的字段见“tables 的字段”",
        "{%p for t in tables %} / {{ t.caption }} / … / {%p endfor %}",
    ),
    Placeholder(
        "closing", "结束语：段落文字列表", "{%p for p in closing %} / {{ p }} / {%p endfor %}"
    ),
    Placeholder("signatory", "落款（发文单位）", "{{ signatory }}"),
    Placeholder("issued_on", "成文日期，如“2026年1月20日”", "{{ issued_on }}"),
    Placeholder(
        "figures",
        "全部数字：数据项代码 → 带单位的数值，代码见下方“数据项”",
        "{{ figures['students.total'] }}",
    ),
)
SECTION_PLACEHOLDERS: Final = (
    Placeholder("title", "标题文字（不含序号）"),
    Placeholder("number", "序号：“一、”“（一）”“1.”，标题自带序号时为空"),
    Placeholder("heading", "序号 + 标题"),
    Placeholder("level", "层级：section（一、）、subsection（（一））、item（1.）"),
    Placeholder("paragraphs", "本部分的段落文字列表"),
    Placeholder("tables", "本部分的表格（字段同 tables）"),
    Placeholder("children", "下一级各部分（字段相同）"),
)
TABLE_PLACEHOLDERS: Final = (
    Placeholder("number", "表序号，如 1"),
    Placeholder("title", "表题，如“各校基本情况对比”"),
    Placeholder("caption", "带序号的表题，如“表1　各校基本情况对比”"),
    Placeholder("columns", "表头文字列表，如“在校生（人）”"),
    Placeholder("rows", "表体：每行是单元格文字列表（末行为合计）"),
    Placeholder("note", "表注，如“注：在校生为……”（可能为空）"),
)


def _table_context(table: Table, figures: Mapping[str, Figure]) -> dict[str, Any]:
    return {
        "number": str(table.number),
        "title": _clean(table.title),
        "caption": _clean(table.caption),
        "columns": [_clean(c.header) for c in table.columns],
        "rows": table_texts(table, figures),
        "note": _clean(table.note),
    }


def _section_context(
    sections: Iterable[Section], figures: Mapping[str, Figure], body: list[dict[str, str]]
) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for section, number in _numbered_sections(sections):
        title = _clean(section.title.strip())
        heading = number + title
        paragraphs = [
            text
            for text in (paragraph_text(p, figures).strip() for p in section.paragraphs)
            if text
        ]
        if title:
            body.append({"kind": str(section.level), "text": heading})
        body.extend({"kind": "paragraph", "text": text} for text in paragraphs)
        tables = [_table_context(t, figures) for t in section.tables]
        body.extend({"kind": "table", "text": t["caption"]} for t in tables)
        result.append(
            {
                "title": title,
                "number": number,
                "heading": heading,
                "level": str(section.level),
                "paragraphs": paragraphs,
                "tables": tables,
                "children": _section_context(section.children, figures, body),
            }
        )
    return result


def template_context(doc: SummaryDocument) -> dict[str, Any]:
    """What a school template can use (all text is plain ``str``; docxtpl escapes it).

    The names are listed, with a description each, in :data:`TEMPLATE_PLACEHOLDERS`,
    :data:`SECTION_PLACEHOLDERS` (the dicts of ``sections``) and :data:`TABLE_PLACEHOLDERS`
    (the dicts of ``tables``); ``body`` items have ``kind`` and ``text``.

    Example (docxtpl paragraph tags, each on its own paragraph)::

        {{ title }}
        {%p for s in sections %}
        {{ s.heading }}
        {%p for p in s.paragraphs %}
        {{ p }}
        {%p endfor %}
        {%p endfor %}
    """
    figures = doc.figures
    body: list[dict[str, str]] = []
    lead = [t for t in (paragraph_text(p, figures).strip() for p in doc.lead) if t]
    body.extend({"kind": "paragraph", "text": text} for text in lead)
    sections = _section_context(doc.sections, figures, body)
    closing = [t for t in (paragraph_text(p, figures).strip() for p in doc.closing) if t]
    body.extend({"kind": "paragraph", "text": text} for text in closing)
    return {
        "title": _clean(doc.title.strip()),
        "subtitle": _clean(doc.subtitle.strip()),
        "lead": lead,
        "sections": sections,
        "body": body,
        "tables": [_table_context(t, figures) for t in doc.tables()],
        "closing": closing,
        "signatory": _clean(doc.signatory.strip()),
        "issued_on": format_issued_on(doc.issued_on),
        "figures": {key: _clean(figure.display()) for key, figure in figures.items()},
    }


TEMPLATE_RENDER_SECONDS: Final = 10  # CPU seconds one template rendering may take
TEMPLATE_RENDER_MEMORY: Final = 1536 * 1024 * 1024  # address space of the rendering process


def render_with_template(doc: SummaryDocument, template: bytes) -> bytes:
    """Fill a school's .docx template (docxtpl, sandboxed Jinja) with :func:`template_context`.

    The file is validated here (:func:`validate_template`); the rendering itself runs in a
    separate process (``python -m xiaowu.reports.template_worker``) with a CPU-time and memory
    limit and a wall-clock timeout: the Jinja sandbox stops attribute tricks and huge strings,
    but not a template that loops for ever (``{% for a in range(99999) %}{% for b in
    range(99999) %}…``), which would otherwise hold a web worker.

    Raises ``ValueError`` with a message for the user when the file is unsafe or not a .docx,
    or when the template has a syntax error, uses an unknown name, fails to render or exceeds
    its limits.
    """
    validate_template(template)
    payload = json.dumps(
        {
            "template": base64.b64encode(template).decode("ascii"),
            "context": template_context(doc),
            "cpu_seconds": TEMPLATE_RENDER_SECONDS,
            "memory_bytes": TEMPLATE_RENDER_MEMORY,
        },
        ensure_ascii=False,
    ).encode("utf-8")
    source_root = str(PurePosixPath(__file__).parents[2])  # the directory holding xiaowu/
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": source_root,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "xiaowu.reports.template_worker"],
            input=payload,
            capture_output=True,
            env=env,
            timeout=TEMPLATE_RENDER_SECONDS + 20,  # start-up and imports on a busy machine
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ValueError("模板渲染超时：请检查模板中的循环是否过多。") from exc
    if completed.returncode == 0:
        return completed.stdout
    if completed.returncode == WORKER_USER_ERROR:
        raise ValueError(completed.stderr.decode("utf-8", "replace").strip())
    if completed.returncode in (-signal.SIGXCPU, -signal.SIGKILL, WORKER_RESOURCE_ERROR):
        raise ValueError("模板渲染超时或占用资源过多：请检查模板中的循环是否过多。")
    logger.warning(
        "template worker failed (%s): %s",
        completed.returncode,
        completed.stderr.decode("utf-8", "replace")[-2000:],
    )
    raise ValueError("模板渲染失败：请检查占位符是否完整、{% %} 标签是否成对并各占一个段落。")


WORKER_USER_ERROR: Final = 3  # the worker's exit code for a message meant for the user
WORKER_RESOURCE_ERROR: Final = 4  # MemoryError or RecursionError


def render_context_with_template(context: Mapping[str, Any], template: bytes) -> bytes:
    """Fill ``template`` with ``context`` in this process (the template worker's job).

    Raises ``ValueError`` with a message for the user on any template error.
    """
    try:
        tpl = DocxTemplate(io.BytesIO(template))
        tpl.init_docx()
    except Exception as exc:
        raise ValueError("无法打开模板：请上传用 Word 或 WPS 保存的 .docx 文件。") from exc
    environment = _TemplateEnvironment(autoescape=True, undefined=StrictUndefined)
    try:
        tpl.render(dict(context), jinja_env=environment, autoescape=True)
        buffer = io.BytesIO()
        tpl.save(buffer)
    except TemplateSyntaxError as exc:
        near = "".join(getattr(exc, "docx_context", []) or []).strip()
        where = f"（出错位置附近：{near[:60]}）" if near else ""
        raise ValueError(f"模板语法错误：{exc.message}{where}") from exc
    except UndefinedError as exc:
        match = _UNDEFINED_NAME_RE.search(exc.message or "")
        name = (match.group(1) or match.group(2)) if match else (exc.message or "")
        raise ValueError(f"模板使用了未定义的占位符：{name}") from exc
    except SecurityError as exc:
        raise ValueError("模板包含不允许的操作。") from exc
    except TemplateError as exc:
        raise ValueError(f"模板渲染失败：{exc.message}") from exc
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:
        logger.warning("docx template rendering failed", exc_info=True)
        raise ValueError(
            "模板渲染失败：请检查占位符是否完整、{% %} 标签是否成对并各占一个段落。"
        ) from exc
    return buffer.getvalue()
