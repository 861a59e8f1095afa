"""Read last year's paper work summary (工作总结) and extract its problems and next steps.

Issue 4, point 8: a school or district uploads last year's summary; the import screen shows the
存在问题 items and the 下一步 items found in it, each with the line of the uploaded file it came
from, and proposes which next step answers which problem (``domain.md`` §4.5), so that this year's
plan can start from them. Everything here is pure text processing: no database, no Django.

The pipeline is ``read_summary_file`` → ``clean_text`` → ``split_documents`` → per document
``extract_outline`` and ``extract_problems_and_plans``.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

import docx
from docx.text.paragraph import Paragraph

from xiaowu.reports.textclean import (
    HEADING_MARKER_RE,
    CleanedText,
    clean_text,
    is_date_line,
    is_document_separator,
    line_number,
    line_starts,
    original_slice,
)

__all__ = [
    "CleanedText",
    "ExtractedItem",
    "Extraction",
    "Heading",
    "ItemKind",
    "Outline",
    "SectionReport",
    "SectionStatus",
    "SourceDocument",
    "SourceRef",
    "SummaryFileError",
    "ZipLimits",
    "clean_text",
    "extract_outline",
    "extract_problems_and_plans",
    "propose_pairs",
    "read_summary_file",
    "split_documents",
]

# ---------------------------------------------------------------------------------- reading

MAX_FILE_BYTES = 10 * 1024 * 1024  # security.md INP-02: 10 MB per upload


@dataclass(frozen=True)
class ZipLimits:
    """Zip-bomb guard for .docx uploads, checked on the zip directory before anything is inflated.

    Defaults follow security.md INP-03. The ratio limit applies to members that expand beyond
    ``ratio_floor`` bytes: small XML parts legitimately compress very well.
    """

    max_members: int = 1_000
    max_total_uncompressed: int = 50 * 1024 * 1024
    max_ratio: int = 100
    ratio_floor: int = 1_000_000


DEFAULT_ZIP_LIMITS = ZipLimits()

_MACRO_SUFFIXES = (".docm", ".dotm", ".xlsm", ".pptm")
_LEGACY_SUFFIXES = (".doc", ".wps", ".rtf", ".pdf")
_DTD_RE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class SummaryFileError(ValueError):
    """The uploaded file cannot or must not be read; the message is shown to the user."""


def read_summary_file(*, data: bytes, filename: str, limits: ZipLimits = DEFAULT_ZIP_LIMITS) -> str:
    """Return the text of an uploaded summary: a .docx (paragraphs and table cells in order) or a
    .txt (UTF-8 with or without BOM, GB18030, or UTF-16 with BOM).

    Raise ``SummaryFileError`` (a ``ValueError``) with a Chinese message for an unsupported,
    macro-enabled, oversized, zip-bomb or otherwise unreadable file.
    """
    name = filename.strip().lower()
    if len(data) > MAX_FILE_BYTES:
        raise SummaryFileError("文件超过 10 MB，无法导入。")
    if not data:
        raise SummaryFileError("文件为空。")
    if name.endswith(_MACRO_SUFFIXES):
        raise SummaryFileError("不接受含宏的文件（如 .docm），请另存为 .docx 后再上传。")
    if name.endswith(".docx"):
        return _read_docx(data, limits)
    if name.endswith(".txt"):
        return _read_txt(data)
    if name.endswith(_LEGACY_SUFFIXES):
        raise SummaryFileError("不支持该格式，请在 Word 中另存为 .docx 或纯文本 .txt 后再上传。")
    raise SummaryFileError("只支持 .docx 和 .txt 文件。")


def _read_txt(data: bytes) -> str:
    # A UTF-16 BOM (FF FE / FE FF) is invalid in both UTF-8 and GB18030, so the order is safe.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return _checked_text(text)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return _checked_text(data.decode("utf-16"))
        except UnicodeDecodeError:
            pass
    raise SummaryFileError("无法识别文件编码，请保存为 UTF-8 编码的 .txt 文件。")


def _checked_text(text: str) -> str:
    if "\x00" in text:
        raise SummaryFileError("文件不是文本文件。")
    if not text.strip():
        raise SummaryFileError("文件中没有文字。")
    return text


def _read_docx(data: bytes, limits: ZipLimits) -> str:
    if not data.startswith(b"PK\x03\x04"):
        raise SummaryFileError("文件不是有效的 .docx 文档。")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_archive(archive, limits)
    except zipfile.BadZipFile as error:
        raise SummaryFileError("文件不是有效的 .docx 文档。") from error
    try:
        document = docx.Document(io.BytesIO(data))
    # python-docx reports a malformed package with assorted errors (KeyError, ValueError, lxml
    # syntax errors, zipfile errors): all of them mean the same thing to the user.
    except Exception as error:
        raise SummaryFileError("无法读取该 Word 文档，文件可能已损坏。") from error
    lines = list(_docx_lines(document))
    return _checked_text("\n".join(lines))


def _check_archive(archive: zipfile.ZipFile, limits: ZipLimits) -> None:
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise SummaryFileError("文档结构异常（压缩包内文件过多），已拒绝。")
    total = 0
    names = set()
    for member in members:
        total += member.file_size
        names.add(member.filename.lower())
        if member.flag_bits & 0x1:
            raise SummaryFileError("不接受加密的文档。")
        if member.file_size > limits.ratio_floor and member.file_size > limits.max_ratio * max(
            member.compress_size, 1
        ):
            raise SummaryFileError("文档压缩比异常（疑似压缩炸弹），已拒绝。")
    if total > limits.max_total_uncompressed:
        raise SummaryFileError("文档解压后过大，已拒绝。")
    if any(n.endswith(("vbaproject.bin", "vbadata.xml")) for n in names):
        raise SummaryFileError("不接受含宏的文件（如 .docm），请另存为 .docx 后再上传。")
    if "[content_types].xml" not in names or "word/document.xml" not in names:
        raise SummaryFileError("文件不是有效的 .docx 文档。")
    content_types = archive.read("[Content_Types].xml")
    if b"macroenabled" in content_types.lower():
        raise SummaryFileError("不接受含宏的文件（如 .docm），请另存为 .docx 后再上传。")
    # zipfile never inflates a member past its declared size, so the checks above bound what
    # is read here. python-docx does not resolve entities; a DTD in an Office part is refused
    # anyway, as nothing legitimate puts one there.
    for member in members:
        is_xml = member.filename.lower().endswith((".xml", ".rels"))
        if is_xml and _DTD_RE.search(archive.read(member)):
            raise SummaryFileError("文档含有不允许的 XML 声明（DTD），已拒绝。")


def _docx_lines(container: Any) -> Iterator[str]:
    """Yield the text of every paragraph in document order, descending into table cells."""
    for block in container.iter_inner_content():
        if isinstance(block, Paragraph):
            yield block.text
            continue
        # Holding the cell elements keeps lxml from handing out new proxies (and reusing ids).
        seen: list[Any] = []
        for row in block.rows:
            for cell in row.cells:
                # A merged cell is returned once per grid column it spans.
                if any(cell._tc is element for element in seen):
                    continue
                seen.append(cell._tc)
                yield from _docx_lines(cell)


# -------------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class SourceDocument:
    """One summary of an uploaded file, which may hold several ("第一篇", "篇1", …).

    ``text`` is the cleaned text of this summary; ``offsets[i]`` is the index in ``source`` (the
    whole original file text) that ``text[i]`` came from. Lines are 1-based lines of the file.
    """

    index: int  # 1-based position in the file
    label: str  # "第一篇", "篇1", or "" for a file that holds one summary
    title: str
    start_line: int
    end_line: int
    text: str = field(repr=False)
    offsets: tuple[int, ...] = field(repr=False)
    source: str = field(repr=False)

    @cached_property
    def _source_line_starts(self) -> tuple[int, ...]:
        return line_starts(self.source)

    def line_of(self, position: int) -> int:
        """Return the file line that ``text[position]`` came from."""
        if not self.offsets:
            return self.start_line
        index = self.offsets[min(max(position, 0), len(self.offsets) - 1)]
        return line_number(self._source_line_starts, index)

    def original_slice(self, start: int, end: int) -> str:
        """Return the original file text behind ``text[start:end]``."""
        return original_slice(self.source, self.offsets, start, end)

    def line_spans(self) -> list[tuple[int, int]]:
        """Return (start, end) of every line of ``text``."""
        spans: list[tuple[int, int]] = []
        start = 0
        for match in re.finditer("\n", self.text):
            spans.append((start, match.start()))
            start = match.end()
        if start < len(self.text):
            spans.append((start, len(self.text)))
        return spans


_SEPARATOR_RE = re.compile(
    r"^(?P<label>第[一二三四五六七八九十百\d]{1,4}篇|篇\d{1,3})\s*[:：]\s*《?(?P<name>[^》]*)》?"
)
_INTRO_LINE_RE = re.compile(r"^(?:引言|序言|导语|前言|结语)[：:]?$")


def split_documents(*, text: str | CleanedText) -> list[SourceDocument]:
    """Split a file into its summaries, on "第一篇:" / "篇1:" separator lines.

    Pass the ``CleanedText`` from ``clean_text`` to keep line numbers and original wording of the
    uploaded file; a plain string is taken as it is. Text before the first separator is a
    document only if it has a 一、 heading (otherwise it is a page title or an intro); a file
    without separators is one document.
    """
    if isinstance(text, CleanedText):
        body, offsets, source = text.text, text.offsets, text.original
    else:
        body, offsets, source = text, tuple(range(len(text))), text
    spans = _line_spans(body)
    separators = [i for i, (s, e) in enumerate(spans) if is_document_separator(body[s:e])]
    if not separators:
        blocks = [(0, len(spans))]
    else:
        blocks = []
        preamble = [body[s:e] for s, e in spans[: separators[0]]]
        if any(re.match(r"^[一二三四五六七八九十]{1,3}、", line) for line in preamble):
            blocks.append((0, separators[0]))
        blocks.extend(zip(separators, [*separators[1:], len(spans)], strict=True))
    starts = line_starts(source)
    documents: list[SourceDocument] = []
    for number, (first, last) in enumerate(blocks, start=1):
        lines = [body[s:e] for s, e in spans[first:last]]
        if not lines:
            continue
        start, end = spans[first][0], spans[last - 1][1]
        label, title = _document_title(lines)
        documents.append(
            SourceDocument(
                index=number,
                label=label,
                title=title,
                start_line=line_number(starts, offsets[start]) if offsets else 1,
                end_line=line_number(starts, offsets[end - 1]) if offsets else 1,
                text=body[start:end],
                offsets=tuple(offsets[start:end]),
                source=source,
            )
        )
    return documents


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    for match in re.finditer("\n", text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _is_title_line(line: str) -> bool:
    return (
        0 < len(line) <= 40
        and "。" not in line
        and not HEADING_MARKER_RE.match(line)
        and not _INTRO_LINE_RE.match(line)
        and not is_document_separator(line)
    )


def _document_title(lines: Sequence[str]) -> tuple[str, str]:
    label = ""
    name = ""
    rest = list(lines)
    separator = _SEPARATOR_RE.match(rest[0]) if rest else None
    if separator:
        label, name = separator.group("label"), separator.group("name").strip()
        rest = rest[1:]
    if rest and _is_title_line(rest[0]):
        title = rest[0]
        if len(rest) > 1 and rest[1].startswith("——"):
            title = f"{title}{rest[1]}"
        return label, title
    return label, name


# ---------------------------------------------------------------------------------- outline

_CHINESE_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}


def _numeral(text: str) -> int | None:
    """Return the value of "3", "十二", "二十" or "一"; None if it is not a numeral."""
    if text.isdigit():
        return int(text)
    if not text or any(c not in _CHINESE_DIGITS and c != "十" for c in text):
        return None
    if "十" not in text:
        return _CHINESE_DIGITS[text[0]] if len(text) == 1 else None
    tens, _, units = text.partition("十")
    return (_CHINESE_DIGITS[tens] if tens else 1) * 10 + (_CHINESE_DIGITS[units] if units else 0)


_MARKER_LEVELS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^([一二三四五六七八九十]{1,3})、"), 1),
    (re.compile(r"^[（(]([一二三四五六七八九十]{1,3})[）)]"), 2),
    (re.compile(r"^(\d{1,2})(?:[.．](?!\d)|、)"), 3),
    (re.compile(r"^[（(](\d{1,2})[）)]|^(\d{1,2})[）)]"), 4),
    (re.compile(r"^([一二三四五六七八九十]{1,3})是(?![，。、；：])"), 5),
)


@dataclass(frozen=True)
class Marker:
    level: int  # 1 一、  2 （一）  3 1. / 1、  4 （1） / 1）  5 一是
    text: str
    number: int | None
    end: int  # index in the line where the marker ends


def heading_marker(line: str) -> Marker | None:
    """Return the enumeration marker a line starts with, if any."""
    for pattern, level in _MARKER_LEVELS:
        match = pattern.match(line)
        if match:
            digits = next(g for g in match.groups() if g is not None)
            return Marker(level=level, text=match.group(), number=_numeral(digits), end=match.end())
    return None


@dataclass(frozen=True)
class Heading:
    """A numbered heading or enumerated paragraph, with the text up to the next one."""

    level: int  # 1 一、  2 （一）  3 1. / 1、  4 （1） / 1）  5 一是
    marker: str
    number: int | None
    title: str  # the heading line, or the first sentence of an enumerated paragraph
    body: str
    line: int  # file line
    start: int = field(repr=False)  # span of the heading and its body in SourceDocument.text
    end: int = field(repr=False)


@dataclass(frozen=True)
class Outline:
    document_index: int
    title: str
    preamble: str  # text between the title and the first heading
    headings: tuple[Heading, ...]


def extract_outline(*, doc: SourceDocument) -> Outline:
    """Return the headings of a summary in text order, each with level, title and body.

    Levels come from the marker (一、 > （一） > 1. > （1） > 一是); ``domain.md`` §5 #13 warns
    that numbering is inconsistent in the sources, so this is a reading aid, not a tree.
    """
    spans = doc.line_spans()
    headings: list[Heading] = []
    preamble: list[str] = []
    starts: list[tuple[int, Marker]] = []
    for number, (start, end) in enumerate(spans):
        marker = heading_marker(doc.text[start:end])
        if marker is not None:
            starts.append((number, marker))
    skip = _title_line_count(doc, spans)
    first_heading = starts[0][0] if starts else len(spans)
    preamble = [doc.text[s:e] for s, e in spans[skip:first_heading]]
    for position, (number, marker) in enumerate(starts):
        start, end = spans[number]
        following = starts[position + 1][0] if position + 1 < len(starts) else len(spans)
        line_text = doc.text[start:end]
        title, inline_body = _split_title(line_text[marker.end :])
        body_lines = [inline_body] if inline_body else []
        body_lines.extend(doc.text[s:e] for s, e in spans[number + 1 : following])
        headings.append(
            Heading(
                level=marker.level,
                marker=marker.text,
                number=marker.number,
                title=title,
                body="\n".join(body_lines),
                line=doc.line_of(start),
                start=start,
                end=spans[following - 1][1],
            )
        )
    return Outline(
        document_index=doc.index,
        title=doc.title,
        preamble="\n".join(preamble),
        headings=tuple(headings),
    )


def _title_line_count(doc: SourceDocument, spans: Sequence[tuple[int, int]]) -> int:
    count = 0
    if spans and is_document_separator(doc.text[spans[0][0] : spans[0][1]]):
        count = 1
    if (
        count < len(spans)
        and doc.title
        and doc.text[spans[count][0] : spans[count][1]] in doc.title
    ):
        count += 1
        if count < len(spans) and doc.text[spans[count][0] : spans[count][1]].startswith("——"):
            count += 1
    return count


def _split_title(rest: str) -> tuple[str, str]:
    rest = rest.lstrip(" .．:：")
    match = re.search(r"[。；：]", rest)
    if match is None:
        return rest, ""
    return rest[: match.start()], rest[match.end() :]


# ------------------------------------------------------------------------ problems and plans


class ItemKind(StrEnum):
    PROBLEM = "problem"  # 存在问题
    PLAN = "plan"  # 下一步打算


class SectionStatus(StrEnum):
    PRESENT = "present"  # section found, items extracted
    EMPTY = "empty"  # heading found, nothing under it (003-1 八、存在的不足)
    MISSING = "missing"  # no such section in the document


@dataclass(frozen=True)
class SourceRef:
    document_index: int  # SourceDocument.index, 1-based
    line: int  # 1-based line of the uploaded file where the item starts
    end_line: int


@dataclass(frozen=True)
class ExtractedItem:
    kind: ItemKind
    ordinal: int  # 1-based, per kind, in text order
    text: str  # cleaned and Simplified
    original: str  # as written in the uploaded file
    source: SourceRef
    section_title: str


@dataclass(frozen=True)
class SectionReport:
    status: SectionStatus
    titles: tuple[str, ...]  # headings the items came from, as in the cleaned text
    lines: tuple[int, ...]  # their file lines


@dataclass(frozen=True)
class Extraction:
    """The 存在问题 and 下一步 items of one summary, and a proposed problem→plan pairing.

    ``pairs`` has one entry per problem: (problem ordinal, plan ordinal or None when no plan
    shares enough content words with it). It is a proposal for a person to confirm.
    """

    document_index: int
    problems: tuple[ExtractedItem, ...]
    plans: tuple[ExtractedItem, ...]
    problem_section: SectionReport
    plan_section: SectionReport
    pairs: list[tuple[int, int | None]]
    closing: str | None  # the "总之，…" sentence, where next steps are often folded in (001)


# Section titles (domain.md §4.1, §4.2 items 6-7). Matched against the heading text only.
_PROBLEM_TITLE_RE = re.compile(
    r"存在.{0,6}(?:问题|不足)|^(?:工作中的)?不足(?:之处)?$|问题(?:与|和)(?:挑战|不足|困难)"
    r"|^(?:主要)?问题$|差距与不足"
)
_PLAN_TITLE_RE = re.compile(
    r"下一步|今后|明年|来年|新学年|新的一年|未来|努力的?方向|设想|改进措施|整改措施"
    r"|改进方向|打算|展望|工作思路"
)
_OTHER_END_TITLE_RE = re.compile(r"^(?:几点|工作|意见)?建议$|^意见和建议$")
_MAX_SECTION_TITLE = 25

# "总〓" is 总之 with its second character lost to mojibake (003-5 L198).
_CLOSING_RE = re.compile(r"^(?:总之|综上|总而言之|总〓|这些问题将|我们坚信|我们相信|相信在)")
# Sentences that introduce a list rather than belong to it.
_LEAD_IN_RE = re.compile(
    r"^(?:尽管|虽然|回顾|在肯定|面对|展望未来|针对|综观|总体来看|同时|但)"
    r"|^在.{0,30}(?:道路|过程|进程)(?:上|中)"
    r"|清醒地(?:认识|看到)|(?:如下|以下)[：:]?$"
)
# A sentence in a problem section that turns to the remedies ("针对这些问题，…加以改进：").
_PLAN_LEAD_IN_RE = re.compile(
    r"^针对.{0,10}(?:问题|情况|不足)|加以改进|改进(?:措施|方向)(?:如下|是)|今后(?:将|要)(?:从以下|重点)"
)
_LIST_INTRO_RE = re.compile(r"(?:如下|以下|主要有|主要是|表现在|包括|加以改进|工作)[：:]$")
_INLINE_SHI_RE = re.compile(
    r"(?:(?<=^)|(?<=[。；，：\n]))([一二三四五六七八九十])是(?![，。、；：])"
)
_SENTENCE_RE = re.compile(r"[^。！？\n]*(?:[。！？]+[”’」』]?|\n|$)")
_ITEM_TRIM = " \n，,；;。：:、"
_ITEM_PREFIX_RE = re.compile(
    r"^(?:例如|比如)[，,：:]?|^(?:如|一方面|另一方面|首先|其次|再次|最后)[，,：:]"
)


@dataclass(frozen=True)
class _Section:
    kind: str  # "problems", "plans" or "end"
    title: str
    line_index: int  # index into the document's line spans
    level: int


@dataclass(frozen=True)
class _Span:
    kind: ItemKind
    start: int
    end: int
    section_title: str


def extract_problems_and_plans(*, doc: SourceDocument) -> Extraction:
    """Return the 存在问题 and 下一步 items of a summary, with a proposed pairing.

    Sections are found by their titles (存在的主要问题, 存在的不足, 存在问题部分, 存在的问题与挑战,
    下一步打算, 今后努力的方向和设想, 明年工作思路和工作重点, 改进措施, 未来展望, …) whatever their
    numbering. Items are the enumerated paragraphs under the title (（一） / 一、 / 1. / 1、 /
    一是); an unnumbered section is split into sentences, and a sentence listing items with "；"
    into those items; lead-in and closing sentences are left out. A problem section that turns to
    remedies ("针对这些问题，…加以改进：…") contributes those as next steps.
    """
    spans = doc.line_spans()
    lines = [doc.text[s:e] for s, e in spans]
    sections = _find_sections(lines)
    items: list[_Span] = []
    for position, section in enumerate(sections):
        if section.kind == "end":
            continue
        end_index = _section_end(lines, section, sections[position + 1 :])
        kind = ItemKind.PROBLEM if section.kind == "problems" else ItemKind.PLAN
        body = spans[section.line_index + 1 : end_index]
        items.extend(_section_items(doc, body, section, kind))
    problems = _items(doc, [s for s in items if s.kind is ItemKind.PROBLEM])
    plans = _items(doc, [s for s in items if s.kind is ItemKind.PLAN])
    closing = next((line for line in lines if line.startswith("总之")), None)
    return Extraction(
        document_index=doc.index,
        problems=problems,
        plans=plans,
        problem_section=_report(doc, spans, sections, "problems", problems),
        plan_section=_report(doc, spans, sections, "plans", plans),
        pairs=propose_pairs(problems=problems, plans=plans),
        closing=closing,
    )


def _section_title(line: str) -> tuple[str, int] | None:
    """Return (title, level) if a line is a heading short enough to name a section."""
    marker = heading_marker(line)
    if marker is not None:
        title = line[marker.end :].strip(" .．:：。")
        return (title, marker.level) if len(title) <= _MAX_SECTION_TITLE else None
    if len(line) <= 20 and not re.search(r"[。；，]", line):
        return line.strip(" :：。"), 1
    return None


def _find_sections(lines: Sequence[str]) -> list[_Section]:
    sections: list[_Section] = []
    for index, line in enumerate(lines):
        heading = _section_title(line)
        if heading is None:
            continue
        title, level = heading
        if _PROBLEM_TITLE_RE.search(title):
            sections.append(_Section("problems", title, index, level))
        elif _PLAN_TITLE_RE.search(title):
            sections.append(_Section("plans", title, index, level))
        elif _OTHER_END_TITLE_RE.search(title):
            sections.append(_Section("end", title, index, level))
    return sections


def _section_end(lines: Sequence[str], section: _Section, later: Sequence[_Section]) -> int:
    """Return the index of the first line after the section."""
    level = section.level
    limit = later[0].line_index if later else len(lines)
    first_child = next(
        (m for line in lines[section.line_index + 1 : limit] if (m := heading_marker(line))),
        None,
    )
    # "2、 存在问题部分" followed by "1." items (002): a misnumbered section title whose own
    # items restart at 1 on the same level.
    if first_child is not None and first_child.level <= level and first_child.number == 1:
        level = first_child.level - 1
    for index in range(section.line_index + 1, limit):
        line = lines[index]
        marker = heading_marker(line)
        if marker is not None and marker.level <= level:
            return index
        if (marker is None and _CLOSING_RE.match(line)) or is_date_line(line):
            return index
    return limit


def _section_items(
    doc: SourceDocument,
    body: Sequence[tuple[int, int]],
    section: _Section,
    kind: ItemKind,
) -> list[_Span]:
    if not body:
        return []
    markers = [heading_marker(doc.text[s:e]) for s, e in body]
    levels = [m.level for m in markers if m is not None]
    if not levels:
        return _paragraph_items(doc, body[0][0], body[-1][1], section.title, kind)
    item_level = min(levels)
    result: list[_Span] = []
    current: list[int] | None = None  # [start, end] of the item being read
    current_kind = kind
    for (start, end), marker in zip(body, markers, strict=True):
        line = doc.text[start:end]
        if marker is not None and marker.level == item_level:
            if current is not None:
                result.append(_Span(current_kind, current[0], current[1], section.title))
            current = [start + marker.end, end]
            continue
        if marker is None and kind is ItemKind.PROBLEM and _PLAN_LEAD_IN_RE.search(line):
            if current is not None:
                result.append(_Span(current_kind, current[0], current[1], section.title))
                current = None
            current_kind = ItemKind.PLAN
            continue
        if current is not None and marker is None and _CLOSING_RE.match(line):
            break
        if current is not None:
            current[1] = end  # continuation line or deeper sub-point
    if current is not None:
        result.append(_Span(current_kind, current[0], current[1], section.title))
    if item_level == 5:
        # "一是…；二是…；三是…" on one line: the markers after the first are inline.
        result = [part for span in result for part in _split_inline_shi(doc.text, span)]
    return [_trim_span(doc, span) for span in result]


def _split_inline_shi(text: str, span: _Span) -> list[_Span]:
    markers = [
        m
        for m in _INLINE_SHI_RE.finditer(text, span.start, span.end)
        if m.start() > span.start and text[m.start() - 1] in "；。\n"
    ]
    if not markers:
        return [span]
    bounds = [span.start, *(m.start() for m in markers)]
    starts = [span.start, *(m.end() for m in markers)]
    ends = [*bounds[1:], span.end]
    return [_Span(span.kind, a, b, span.section_title) for a, b in zip(starts, ends, strict=True)]


def _paragraph_items(
    doc: SourceDocument, start: int, end: int, title: str, kind: ItemKind
) -> list[_Span]:
    text = doc.text
    shi = [m for m in _INLINE_SHI_RE.finditer(text, start, end) if m.group(1)]
    if len(shi) >= 2 and _numeral(shi[0].group(1)) == 1:
        bounds = [m.start() for m in shi] + [end]
        return [
            _trim_span(doc, _Span(kind, m.end(), bounds[i + 1], title)) for i, m in enumerate(shi)
        ]
    sentences = [
        (m.start(), m.end())
        for m in _SENTENCE_RE.finditer(text, start, end)
        if text[m.start() : m.end()].strip(_ITEM_TRIM)
    ]
    result: list[_Span] = []
    current_kind = kind
    leading = True
    for s_start, s_end in sentences:
        sentence = text[s_start:s_end].strip()
        if _CLOSING_RE.match(sentence):
            break
        if current_kind is ItemKind.PROBLEM and _PLAN_LEAD_IN_RE.search(sentence):
            current_kind = ItemKind.PLAN
            colon = re.search(r"[：:]", text[s_start:s_end])
            if colon is None:
                continue
            s_start += colon.end()
        elif leading and _LEAD_IN_RE.search(sentence) and "；" not in sentence:
            continue
        leading = False
        colon = re.search(r"[：:]", text[s_start:s_end])
        if colon and _LIST_INTRO_RE.search(text[s_start : s_start + colon.end()]):
            s_start += colon.end()
        parts = _split_semicolons(text, s_start, s_end)
        result.extend(_trim_span(doc, _Span(current_kind, a, b, title)) for a, b in parts)
    return [span for span in result if span.end > span.start]


def _split_semicolons(text: str, start: int, end: int) -> list[tuple[int, int]]:
    parts: list[tuple[int, int]] = []
    cursor = start
    for match in re.finditer("；", text[start:end]):
        parts.append((cursor, start + match.start()))
        cursor = start + match.end()
    parts.append((cursor, end))
    if len(parts) > 1 and all(len(text[a:b].strip(_ITEM_TRIM)) >= 6 for a, b in parts):
        return parts
    return [(start, end)]


def _trim_span(doc: SourceDocument, span: _Span) -> _Span:
    text = doc.text
    start, end = span.start, span.end
    # A closing sentence glued to the last item ("…以提高四合率。总之，…").
    closing = re.search(r"。(?=总之|总〓|综上)", text[start:end])
    if closing:
        end = start + closing.start()
    while start < end and text[start] in _ITEM_TRIM + ".．":
        start += 1
    prefix = _ITEM_PREFIX_RE.match(text[start:end])
    if prefix:
        start += prefix.end()
    while end > start and text[end - 1] in _ITEM_TRIM:
        end -= 1
    return _Span(span.kind, start, end, span.section_title)


def _items(doc: SourceDocument, spans: Sequence[_Span]) -> tuple[ExtractedItem, ...]:
    return tuple(
        ExtractedItem(
            kind=span.kind,
            ordinal=ordinal,
            text=doc.text[span.start : span.end].replace("\n", ""),
            original=doc.original_slice(span.start, span.end),
            source=SourceRef(
                document_index=doc.index,
                line=doc.line_of(span.start),
                end_line=doc.line_of(span.end - 1),
            ),
            section_title=span.section_title,
        )
        for ordinal, span in enumerate(spans, start=1)
        if span.end > span.start
    )


def _report(
    doc: SourceDocument,
    spans: Sequence[tuple[int, int]],
    sections: Sequence[_Section],
    kind: str,
    items: Sequence[ExtractedItem],
) -> SectionReport:
    """Describe where the items of one kind came from: their own sections, plus a problem
    section that also lists remedies ("存在的问题与改进方向")."""
    contributing = {item.section_title for item in items}
    relevant = [
        s for s in sections if s.kind == kind or (s.kind != "end" and s.title in contributing)
    ]
    if items:
        status = SectionStatus.PRESENT
    elif any(s.kind == kind for s in sections):
        status = SectionStatus.EMPTY
    else:
        status = SectionStatus.MISSING
    return SectionReport(
        status=status,
        titles=tuple(s.title for s in relevant),
        lines=tuple(doc.line_of(spans[s.line_index][0]) for s in relevant),
    )


# ----------------------------------------------------------------------------------- pairing

# Words that say how hard something will be done, not what: removed before comparing items.
_STOP_PHRASES = (
    "进一步",
    "加强",
    "继续",
    "提高",
    "提升",
    "不断",
    "努力",
    "积极",
    "需要",
    "仍需",
    "有待",
    "还需",
    "急需",
    "工作",
    "学校",
    "我校",
    "学区",
    "部分",
    "个别",
    "有的",
    "存在",
    "问题",
    "不足",
    "方面",
    "进行",
    "开展",
    "通过",
    "全面",
    "切实",
    "力争",
    "以及",
    "不够",
    "不强",
    "要求",
    "我们",
)
_STOP_RE = re.compile("|".join(sorted(_STOP_PHRASES, key=len, reverse=True)))
_STOP_CHARS = set("的地得和与及了在对是有不等为将把被从以其之也都要并或而且")
MIN_PAIR_SCORE = 1.0


def content_bigrams(text: str) -> frozenset[str]:
    """Return the character bigrams of ``text`` after removing stop phrases and function words."""
    stripped = _STOP_RE.sub("|", text)
    runs = re.findall(
        r"[\u4e00-\u9fff]+", "".join("|" if c in _STOP_CHARS else c for c in stripped)
    )
    return frozenset(run[i : i + 2] for run in runs for i in range(len(run) - 1))


def propose_pairs(
    *, problems: Sequence[ExtractedItem], plans: Sequence[ExtractedItem]
) -> list[tuple[int, int | None]]:
    """Pair each problem with the next step sharing most content (IDF-weighted bigrams).

    Ties go to the plan at the nearest relative position, since summaries tend to list both in
    the same order. A problem sharing too little with every plan gets None.
    """
    problem_grams = [content_bigrams(p.text) for p in problems]
    plan_grams = [content_bigrams(p.text) for p in plans]
    frequency: Counter[str] = Counter()
    for grams in (*problem_grams, *plan_grams):
        frequency.update(grams)
    total = len(problem_grams) + len(plan_grams)

    def weight(gram: str) -> float:
        return math.log((total + 1) / frequency[gram])

    pairs: list[tuple[int, int | None]] = []
    for p_index, (problem, grams) in enumerate(zip(problems, problem_grams, strict=True)):
        best: tuple[float, float, int] | None = None
        for q_index, (plan, other) in enumerate(zip(plans, plan_grams, strict=True)):
            # Sorted, so the float sum does not depend on the hash seed.
            score = sum(weight(g) for g in sorted(grams & other))
            if score < MIN_PAIR_SCORE:
                continue
            distance = abs(p_index / max(len(problems), 1) - q_index / max(len(plans), 1))
            candidate = (score, -distance, -plan.ordinal)
            if best is None or candidate > best:
                best = candidate
        pairs.append((problem.ordinal, -best[2] if best is not None else None))
    return pairs
