"""Clean the text of an imported work summary (工作总结) before its structure is read.

The seed summaries (``domain.md`` §5) carry artefacts from the way they were copied: paywall
markers, Word bookmarks, web-page chrome, a one-byte GBK misalignment, mechanical
Simplified→Traditional conversion, half-width punctuation, stray spaces, hard line breaks and
headings run into their paragraph. ``clean_text`` removes or normalises them and keeps, for every
character of the cleaned text, the position in the original text it came from, so that an item
found later can point at its line in the uploaded file and show its original wording.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import opencc

# A text counts as Traditional when at least this share of its CJK characters changes under
# OpenCC t2s. Simplified seed texts change 0 characters, the Traditional ones about 36 %.
TRADITIONAL_THRESHOLD = 0.10

# 〓 (geta mark) is the conventional stand-in for an illegible character in Chinese typesetting.
ILLEGIBLE = "〓"

_T2S = opencc.OpenCC("t2s")

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{_CJK}]")
# CJK ideographs plus the CJK punctuation and quotes a line of Chinese prose is made of.
_CJK_TEXT = f"{_CJK}\u3000-\u303f\uff01-\uff5e\u2018\u2019\u201c\u201d\u2026\u2014"

# Heading markers at the start of a line: 一、 （一） (一) 1. 1、 （1） 1) 一是.
HEADING_MARKER_RE = re.compile(
    r"^(?:[一二三四五六七八九十]{1,3}[、是]"
    r"|[（(][一二三四五六七八九十]{1,3}[）)]"
    r"|[（(]\d{1,2}[）)]"
    r"|\d{1,2}(?:[.．](?!\d)|[、）)]))"
)
_INTRO_WORD_RE = re.compile(r"^(?:引言|序言|导语|前言|结语)")
_DOCUMENT_SEPARATOR_RE = re.compile(r"^(?:第[一二三四五六七八九十百\d]{1,4}篇|篇\d{1,3})\s*[:：]")
_DATE_LINE_RE = re.compile(
    r"^[〇○O0零一二三四五六七八九十\d]{2,4}年[一二三四五六七八九十\d]{1,3}月(?:[一二三四五六七八九十\d]{1,3}日)?$"
)

# Characters after which a line cannot end a paragraph, and with which a paragraph cannot start:
# a line ending or a next line starting with one of them was broken by a page break.
_NO_PARAGRAPH_END = set("的地得和与及、，,对把被在从向于以为将不")
_NO_PARAGRAPH_START = set("的了着过们率性化者等和与及、，。；：,.;:")
_TERMINAL = set("。！？；：…”’」』）)!?;:.·—")
_HARD_BREAK_MIN_LENGTH = 40

# Web-page chrome (domain.md §5 #16). Intro lines are dropped where they stand; from the first
# footer line to the end of the text everything is page furniture.
_WEB_INTRO_RE = re.compile(
    r"(?:本文将?(?:精选|为大家|给大家|整理|收集)|供(?:读者|大家|各位)参考|仅供参考|范文(?:大全|精选))"
)
_WEB_FOOTER_RE = re.compile(
    r"^(?:相关推荐|相关文章|猜你喜欢|热门推荐|推荐阅读|发表回复|发表评论|上一篇|下一篇"
    r"|本文由.{0,40}(?:上传|发布|整理)|.*若内容存在侵权|.*如若转载|版权(?:所有|声明)|Copyright|©)",
    re.IGNORECASE,
)
_URL_RE = re.compile(r"(?:https?://|www\.)[\w\-./?%&=#:~+]+", re.IGNORECASE)
_MARKER_RE = re.compile(r"##[A-Za-z_]{1,30}##")
_BOOKMARK_RE = re.compile(r"\[bookmark:[^\]\n]{0,200}\]", re.IGNORECASE)
_MOJIBAKE_RE = re.compile(f"(?<=[{_CJK}\\d])\\?([?;,:!]?[{_CJK}]{{0,10}}?)(\\?|[A-Za-z])")
_HALF_TO_FULL_PUNCT = {
    ",": "，",
    ";": "；",
    ":": "：",
    "?": "？",
    "!": "！",
    "(": "（",
    ")": "）",
}
_INVISIBLE_RE = re.compile("[\ufeff\u200b\u200c\u200d\u2060\u00ad]")
_ODD_SPACE_RE = re.compile("[\t\u00a0\u3000\u2002\u2003\u2009]")


class Removal(NamedTuple):
    """Something ``clean_text`` took out of the text, for the import screen to show."""

    kind: str  # marker, bookmark, mojibake, web_intro, web_chrome, web_footer, url, hard_line_break
    snippet: str
    line: int  # 1-based line of the original text where it was


@dataclass(frozen=True)
class CleanedText:
    """The cleaned text of a file, with a way back to the original for every character.

    ``offsets[i]`` is the index in ``original`` of the character ``text[i]`` came from; inserted
    line breaks point at the space or character they replaced.
    """

    original: str
    text: str
    offsets: tuple[int, ...] = field(repr=False)
    removed: tuple[Removal, ...]
    converted_to_simplified: bool
    traditional_share: float

    @cached_property
    def _line_starts(self) -> tuple[int, ...]:
        return line_starts(self.original)

    def line_of(self, position: int) -> int:
        """Return the 1-based line of the original text that ``text[position]`` came from."""
        return line_number(self._line_starts, self.offsets[position]) if self.offsets else 1

    def original_slice(self, start: int, end: int) -> str:
        """Return the original text behind ``text[start:end]``."""
        return original_slice(self.original, self.offsets, start, end)


def line_starts(text: str) -> tuple[int, ...]:
    """Return the index at which each line of ``text`` starts (``\\r\\n``, ``\\r``, ``\\n``)."""
    return (0, *(m.end() for m in re.finditer(r"\r\n|\r|\n", text)))


def line_number(starts: Sequence[int], index: int) -> int:
    """Return the 1-based line holding character ``index``, given ``line_starts``."""
    return bisect_right(starts, index)


def original_slice(original: str, offsets: Sequence[int], start: int, end: int) -> str:
    """Return the stretch of ``original`` that cleaned characters ``start:end`` came from."""
    if end <= start or start >= len(offsets):
        return ""
    return original[offsets[start] : offsets[min(end, len(offsets)) - 1] + 1]


def traditional_share(text: str) -> float:
    """Return the share of CJK characters that OpenCC t2s changes (0 for Simplified text)."""
    converted = _T2S.convert(text)
    cjk = len(_CJK_RE.findall(text))
    if not cjk:
        return 0.0
    if len(converted) == len(text):
        changed = sum(1 for a, b in zip(text, converted, strict=True) if a != b)
    else:
        changed = sum(1 for ch in text if _CJK_RE.match(ch) and _T2S.convert(ch) != ch)
    return changed / cjk


def is_heading_line(line: str) -> bool:
    """Return whether a cleaned line starts with a heading or enumeration marker."""
    return HEADING_MARKER_RE.match(line) is not None


def is_document_separator(line: str) -> bool:
    """Return whether a line separates documents in a collection ("第二篇:", "篇2:")."""
    return _DOCUMENT_SEPARATOR_RE.match(line) is not None


def is_date_line(line: str) -> bool:
    """Return whether a line is only a date ("二O一三年十二月十二日", "2013年12月")."""
    return _DATE_LINE_RE.match(line.strip()) is not None


class _Cleaner:
    """Apply the cleaning steps to a text while tracking where each character came from."""

    def __init__(self, original: str) -> None:
        self.original = original
        self.starts = line_starts(original)
        self.text = original
        self.offsets: list[int] = list(range(len(original)))
        self.removed: list[Removal] = []

    def line_at(self, position: int) -> int:
        if not self.offsets:
            return 1
        return line_number(self.starts, self.offsets[min(position, len(self.offsets) - 1)])

    def record(self, kind: str, snippet: str, position: int) -> None:
        self.removed.append(Removal(kind, snippet, self.line_at(position)))

    def sub(
        self,
        pattern: re.Pattern[str],
        replacement: Callable[[re.Match[str]], str],
    ) -> None:
        """Replace every match; replacement characters inherit the matched characters' origin."""
        parts: list[str] = []
        offsets: list[int] = []
        last = 0
        for match in pattern.finditer(self.text):
            start, end = match.span()
            parts.append(self.text[last:start])
            offsets.extend(self.offsets[last:start])
            new = replacement(match)
            parts.append(new)
            offsets.extend(self._spread(start, end, len(new)))
            last = end
        if not parts:
            return
        parts.append(self.text[last:])
        offsets.extend(self.offsets[last:])
        self.text = "".join(parts)
        self.offsets = offsets

    def _spread(self, start: int, end: int, length: int) -> list[int]:
        source = self.offsets[start:end]
        if len(source) == length:
            return source
        if not source:
            anchor = self.offsets[start] if start < len(self.offsets) else len(self.original)
            return [anchor] * length
        return [source[min(i, len(source) - 1)] for i in range(length)]

    def remove(self, pattern: re.Pattern[str], kind: str) -> None:
        def drop(match: re.Match[str]) -> str:
            self.record(kind, match.group(), match.start())
            return ""

        self.sub(pattern, drop)

    def lines(self) -> list[tuple[int, int]]:
        """Return (start, end) of every line of the current text, without the newline."""
        spans: list[tuple[int, int]] = []
        start = 0
        for match in re.finditer("\n", self.text):
            spans.append((start, match.start()))
            start = match.end()
        spans.append((start, len(self.text)))
        return spans

    def keep_lines(self, keep: Sequence[bool]) -> None:
        """Drop the lines whose flag is False, together with their newline."""
        parts: list[str] = []
        offsets: list[int] = []
        for (start, end), kept in zip(self.lines(), keep, strict=True):
            if kept:
                parts.append(self.text[start:end])
                offsets.extend(self.offsets[start:end])
                if end < len(self.text):
                    offsets.append(self.offsets[end])
                    parts.append("\n")
        self.text = "".join(parts)
        self.offsets = offsets
        if self.text.endswith("\n"):
            self.text = self.text[:-1]
            self.offsets.pop()

    def result(self, *, converted: bool, share: float) -> CleanedText:
        return CleanedText(
            original=self.original,
            text=self.text,
            offsets=tuple(self.offsets),
            removed=tuple(self.removed),
            converted_to_simplified=converted,
            traditional_share=share,
        )


def clean_text(*, text: str) -> CleanedText:
    """Return ``text`` with the artefacts of ``domain.md`` §5 removed or normalised.

    In order: line endings and invisible characters; paywall markers (``##paidbegin##``) and
    Word bookmarks (``[bookmark: _GoBack]``); GBK-misalignment mojibake, repaired where the
    document's own character pairs confirm the repair; Traditional→Simplified conversion when the
    text is mostly Traditional; web-page intro lines, URLs and the page footer; headings run into
    their paragraph and inline "1. …" / "* …" lists are put on lines of their own; stray spaces
    between CJK characters; half-width punctuation next to CJK text becomes full-width; lines
    broken by a page break are joined; blank lines are dropped. ``removed`` lists what was taken
    out (whitespace and punctuation normalisation are not listed).
    """
    cleaner = _Cleaner(text)
    cleaner.sub(re.compile(r"\r\n?"), lambda _m: "\n")
    cleaner.sub(_INVISIBLE_RE, lambda _m: "")
    cleaner.sub(_ODD_SPACE_RE, lambda _m: " ")
    cleaner.remove(_MARKER_RE, "marker")
    cleaner.remove(_BOOKMARK_RE, "bookmark")
    _repair_mojibake(cleaner)
    share = traditional_share(cleaner.text)
    converted = share >= TRADITIONAL_THRESHOLD
    if converted:
        _to_simplified(cleaner)
    _strip_web_chrome(cleaner)
    cleaner.sub(re.compile(r"[ ]+$|^[ ]+", re.MULTILINE), lambda _m: "")
    _split_run_in_lines(cleaner)
    _collapse_cjk_spaces(cleaner)
    _full_width_punctuation(cleaner)
    _join_hard_breaks(cleaner)
    cleaner.keep_lines([bool(cleaner.text[s:e].strip()) for s, e in cleaner.lines()])
    return cleaner.result(converted=converted, share=share)


def _to_simplified(cleaner: _Cleaner) -> None:
    converted = _T2S.convert(cleaner.text)
    if len(converted) == len(cleaner.text):
        cleaner.text = converted
        return
    # Phrase conversions that change the length would break the character map: convert line by
    # line, and character by character on the rare line whose length changes.
    lines = cleaner.text.split("\n")
    out: list[str] = []
    for line in lines:
        simplified = _T2S.convert(line)
        if len(simplified) != len(line):
            simplified = "".join(c if len(c := _T2S.convert(ch)) == 1 else ch for ch in line)
        out.append(simplified)
    cleaner.text = "\n".join(out)


def _gbk_char(data: bytes) -> str | None:
    try:
        decoded = data.decode("gbk")
    except UnicodeDecodeError:
        return None
    return decoded if len(decoded) == 1 else None


def _guess(
    candidates: Sequence[str], before: str, after: str, pairs: Counter[str], *, both: bool
) -> str:
    best = ILLEGIBLE
    best_score = 0
    for candidate in candidates:
        left, right = pairs[before + candidate], pairs[candidate + after]
        if (left and right) if both else (left or right):
            score = left + right
            if score > best_score:
                best, best_score = candidate, score
    return best


def _repair_mojibake(cleaner: _Cleaner) -> None:
    """Repair text decoded one byte out of step as GBK (domain.md §5 #3).

    A lost lead byte shows as "?", the next characters are decoded from the wrong byte pairs, and
    decoding falls back into step at an ASCII byte (a Latin letter) or at another lost byte ("?").
    Re-encoding the run and pairing the bytes one position earlier gives the original characters;
    the one or two bytes that were lost are guessed from the character pairs the document itself
    uses, or shown as 〓. A repair is kept only if it reads as Chinese and fits its neighbours
    better than the garbled run.
    """
    text = cleaner.text
    if "?" not in text:
        return
    pairs = Counter(text[i : i + 2] for i in range(len(text) - 1))
    plausible = re.compile(f"^[{_CJK}。，；：？！、{ILLEGIBLE}]+$")

    def repair(match: re.Match[str]) -> str:
        garbled = match.group()
        middle, end = match.group(1), match.group(2)
        try:
            data = "".join(_HALF_TO_FULL_PUNCT.get(ch, ch) for ch in middle).encode("gbk")
        except UnicodeEncodeError:
            return garbled
        if end != "?":
            data += end.encode("ascii")
        if not data:
            return garbled
        before = text[match.start() - 1]
        after = text[match.end()] if match.end() < len(text) else ""
        body: list[str] = []
        rest = data[1:]
        for i in range(0, len(rest) - 1, 2):
            char = _gbk_char(rest[i : i + 2])
            if char is None:
                return garbled
            body.append(char)
        lead_candidates = [c for x in range(0x81, 0xFF) if (c := _gbk_char(bytes([x, data[0]])))]
        first = _guess(lead_candidates, before, body[0] if body else after, pairs, both=False)
        repaired = [first, *body]
        if len(rest) % 2:
            tail = rest[-1]
            trail_candidates = [c for y in range(0x40, 0xFF) if (c := _gbk_char(bytes([tail, y])))]
            repaired.append(_guess(trail_candidates, repaired[-1], after, pairs, both=True))
        fixed = "".join(repaired)
        if not plausible.match(fixed):
            return garbled

        def known(s: str, *, elsewhere: int) -> int:
            return sum(
                1
                for i in range(len(s) - 1)
                if "?" not in s[i : i + 2]
                and ILLEGIBLE not in s[i : i + 2]
                and pairs[s[i : i + 2]] > elsewhere
            )

        # The garbled pairs occur here once already: only a second occurrence is evidence, and a
        # pair with a lost byte's "?" is the artefact itself.
        fixed_fit = known(before + fixed + after, elsewhere=0)
        if fixed_fit <= known(before + garbled + after, elsewhere=1):
            return garbled
        cleaner.record("mojibake", f"{garbled} → {fixed}", match.start())
        return fixed

    cleaner.sub(_MOJIBAKE_RE, repair)


def _strip_web_chrome(cleaner: _Cleaner) -> None:
    """Drop web-page intro lines, URLs and the page footer (domain.md §5 #16).

    The footer starts at the first footer line ("本文由用户…上传", "相关推荐", "上一篇", "发表回复")
    in the second half of the text and runs to the end: related-article teasers, their dates
    and view counts, the comment form. A footer-like line in the first half is navigation above
    the article and is dropped on its own.
    """
    spans = cleaner.lines()
    keep = [True] * len(spans)
    footer_from: int | None = None
    for number, (start, end) in enumerate(spans):
        line = cleaner.text[start:end].strip()
        if _WEB_FOOTER_RE.match(line):
            if number * 2 >= len(spans):
                footer_from = number
                break
            keep[number] = False
            cleaner.record("web_chrome", line, start)
        elif _WEB_INTRO_RE.search(line) and not is_heading_line(line):
            keep[number] = False
            cleaner.record("web_intro", line, start)
    if footer_from is not None:
        for start, end in spans[footer_from:]:
            line = cleaner.text[start:end].strip()
            if line:
                cleaner.record("web_footer", line, start)
        keep[footer_from:] = [False] * (len(spans) - footer_from)
    cleaner.keep_lines(keep)
    cleaner.remove(_URL_RE, "url")


def _split_run_in_lines(cleaner: _Cleaner) -> None:
    """Put inline list items and the paragraph after a run-in heading on lines of their own."""
    # "…完成。 1. 科学决策与战略规划: …" and "… * 财务管理: …" (domain.md §5 #17).
    cleaner.sub(
        re.compile(r"(?<=[。！？；.!?;])[ ]+(?=\d{1,2}[.．、][ ]*\S)|[ ]+\*[ ]+(?=\S{1,20}[:：])"),
        lambda _m: "\n",
    )
    pairs = Counter(cleaner.text[i : i + 2] for i in range(len(cleaner.text) - 1))

    def split(match: re.Match[str]) -> str:
        line = match.group()
        intro = _INTRO_WORD_RE.match(line)
        if intro is not None:
            gap = re.match(r"[ ]+", line[intro.end() :])
            if gap is None or len(line) - intro.end() - gap.end() < 8:
                return line
            return (
                f"{line[: intro.end()]}\n{' ' * (gap.end() - 1)}{line[intro.end() + gap.end() :]}"
            )
        head = HEADING_MARKER_RE.match(line)
        if head is None:
            return line
        body_start = head.end()
        while body_start < len(line) and line[body_start] == " ":
            body_start += 1
        found = re.search(r"[ ]+", line[body_start:])
        if found is None:
            return line
        title = line[body_start : body_start + found.start()]
        rest = line[body_start + found.end() :]
        if (
            len(title) <= 40
            and "。" not in title
            and len(rest) >= 8
            # A space inside a word ("提 高") joins two characters the text uses together; a
            # heading phrase with no punctuation of its own is a title whatever follows it.
            and (not re.search(r"[，。；,;]", title) or pairs[title[-1:] + rest[:1]] == 0)
        ):
            width = found.end() - found.start()
            return f"{line[: body_start + found.start()]}\n{' ' * (width - 1)}{rest}"
        return line

    cleaner.sub(re.compile(r"^.+$", re.MULTILINE), split)
    cleaner.sub(re.compile(r"^[ ]+", re.MULTILINE), lambda _m: "")


def _collapse_cjk_spaces(cleaner: _Cleaner) -> None:
    """Drop stray spaces in CJK text ("提 高", "魯家溝初中 的", "兴校, 质量").

    A space between two ideographs goes when the two characters occur side by side elsewhere in
    the text (it split a word); a space between two phrases ("提质增效 打造和谐校园") stays.
    """
    text = cleaner.text
    pairs = Counter(text[i : i + 2] for i in range(len(text) - 1))
    ideograph = re.compile(f"[{_CJK}]")

    def collapse(match: re.Match[str]) -> str:
        start, end = match.span()
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        if ideograph.match(before) and ideograph.match(after) and pairs[before + after] == 0:
            return " "
        return ""

    cleaner.sub(
        re.compile(f"(?<=[{_CJK_TEXT}])[ ]+|[ ]+(?=[{_CJK_TEXT}])|(?<=[,;:])[ ]+(?=[{_CJK_TEXT}])"),
        collapse,
    )


def _full_width_punctuation(cleaner: _Cleaner) -> None:
    """Make ASCII , ; : ? ! ( ) full-width where they touch CJK text; leave 1,000 and 12:30."""

    cjk = re.compile(f"[{_CJK_TEXT}]")

    def widen(match: re.Match[str]) -> str:
        start, end = match.span()
        before = cleaner.text[start - 1] if start else ""
        after = cleaner.text[end] if end < len(cleaner.text) else ""
        char = match.group()
        if char in ",:" and before.isdigit() and after.isdigit():
            return char
        touches = cjk.match(before) or cjk.match(after)
        return _HALF_TO_FULL_PUNCT[char] if touches else char

    cleaner.sub(re.compile(r"[,;:?!()]"), widen)
    # "(一)" and "(1)" at the start of a line are heading markers: make both brackets full-width.
    cleaner.sub(
        re.compile(r"^[（(]([一二三四五六七八九十\d]{1,3})[）)]", re.MULTILINE),
        lambda m: f"（{m.group(1)}）",
    )


def _join_hard_breaks(cleaner: _Cleaner) -> None:
    """Join a line to the next when a page break cut a sentence (domain.md §5 #7)."""
    text = cleaner.text
    pairs = Counter(text[i : i + 2] for i in range(len(text) - 1))
    spans = cleaner.lines()

    def broken(first: str, second: str) -> bool:
        if len(first) < _HARD_BREAK_MIN_LENGTH or not second:
            return False
        last, following = first[-1], second[0]
        if last in _TERMINAL or is_heading_line(second) or is_document_separator(second):
            return False
        if is_date_line(second) or is_document_separator(first):
            return False
        return (
            last in _NO_PARAGRAPH_END
            or following in _NO_PARAGRAPH_START
            or pairs[last + following] > 0
        )

    joins = {
        spans[i][1]
        for i in range(len(spans) - 1)
        if broken(text[spans[i][0] : spans[i][1]], text[spans[i + 1][0] : spans[i + 1][1]])
    }
    if not joins:
        return
    for position in sorted(joins):
        cleaner.record(
            "hard_line_break",
            f"{text[max(0, position - 6) : position]}⏎{text[position + 1 : position + 7]}",
            position,
        )
    cleaner.sub(re.compile("\n"), lambda m: "" if m.start() in joins else "\n")
