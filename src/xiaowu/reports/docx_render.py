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

import io
import logging
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import PurePosixPath
from typing import Any, Final

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
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


def _add_paragraph(document: Any, text: str, style: Any) -> Any:
    paragraph = document.add_paragraph(style=style)
    paragraph.add_run(text)
    return paragraph


def _add_page_number(footer: Any, style: Any, *, odd: bool) -> None:
    """— 1 — with a PAGE field; odd pages right-aligned, even pages left, one 字 from the edge."""
    paragraph = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
    paragraph.style = style
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
        added.extend(_add_sections(document, section.children, figures))
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
        title_block.append(_add_paragraph(document, title, document.styles[STYLE_TITLE[1]]))
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
        result.append(
            {
                "title": title,
                "number": number,
                "heading": heading,
                "level": str(section.level),
                "paragraphs": paragraphs,
                "children": _section_context(section.children, figures, body),
            }
        )
    return result


def template_context(doc: SummaryDocument) -> dict[str, Any]:
    """What a school template can use (all text is plain ``str``; docxtpl escapes it).

    ========== ====================================================================
    title      标题
    subtitle   副标题 (as written, e.g. "——在2025年秋季开学工作会议上的报告"; may be "")
    lead       导语: list of paragraphs (str)
    sections   list of dicts, recursively: ``title`` (as written), ``number`` ("一、",
               "（一）", "1." or "" when the title already has one), ``heading``
               (number + title), ``level`` ("section" | "subsection" | "item"),
               ``paragraphs`` (list of str), ``children`` (list of the same dicts)
    body       the same content flattened in reading order, for templates that cannot
               recurse: dicts with ``kind`` ("section" | "subsection" | "item" |
               "paragraph") and ``text``
    closing    结束语: list of str
    signatory  落款 (issuing unit)
    issued_on  成文日期, formatted "2025年1月20日" (or "")
    figures    dict: figure key → displayed value, e.g. ``figures["students.total"]``
    ========== ====================================================================

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
        "closing": closing,
        "signatory": _clean(doc.signatory.strip()),
        "issued_on": format_issued_on(doc.issued_on),
        "figures": {key: _clean(figure.display()) for key, figure in figures.items()},
    }


def render_with_template(doc: SummaryDocument, template: bytes) -> bytes:
    """Fill a school's .docx template (docxtpl, sandboxed Jinja) with :func:`template_context`.

    Raises ``ValueError`` with a message for the user when the file is unsafe or not a .docx,
    or when the template has a syntax error, uses an unknown name or otherwise fails to render.
    """
    validate_template(template)
    context = template_context(doc)
    try:
        tpl = DocxTemplate(io.BytesIO(template))
        tpl.init_docx()
    except Exception as exc:
        raise ValueError("无法打开模板：请上传用 Word 或 WPS 保存的 .docx 文件。") from exc
    environment = _TemplateEnvironment(autoescape=True, undefined=StrictUndefined)
    try:
        tpl.render(context, jinja_env=environment, autoescape=True)
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
    except Exception as exc:
        logger.warning("docx template rendering failed", exc_info=True)
        raise ValueError(
            "模板渲染失败：请检查占位符是否完整、{% %} 标签是否成对并各占一个段落。"
        ) from exc
    return buffer.getvalue()
