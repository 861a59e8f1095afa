"""The 2号 title of the .docx: 20 characters a line on the 156 mm text width, a longer title
broken by hand into balanced lines (GB/T 9704-2012 §7.3.1), never a 1–2 character orphan."""

from __future__ import annotations

import io
import itertools
import math
import random
from datetime import date

import pytest
from docx import Document
from docx.oxml.ns import qn

from xiaowu.org.models import OrgUnit
from xiaowu.reports import pdf
from xiaowu.reports.document import Paragraph, SummaryDocument
from xiaowu.reports.docx_render import (
    TEXT_WIDTH_PT,
    TITLE_CHARS_PER_LINE,
    TITLE_MIN_LINE_CHARS,
    TITLE_SIZE,
    render_docx,
    title_lines,
    title_width,
)
from xiaowu.reports.generator import summary_title
from xiaowu.reports.period import Period, PeriodKind, calendar_year_period, custom_period
from xiaowu.reports.tests.test_docx_render import needs_libreoffice, needs_pdftotext, pdf_lines

FIRST_TERM = Period(
    PeriodKind.TERM,
    start_on=date(2025, 9, 1),
    end_on=date(2026, 1, 31),
    label="2025—2026学年第一学期",
)
FORTY = "学区坚持以立德树人为根本任务围绕办好人民满意的教育目标统筹推进课堂教学改革教师队"
# Wider than one line by a fraction of a character: LibreOffice used to leave "结" alone.
ORPHAN_TITLE = "青石学区2025—2026学年第一学期工作总结"


def title_of(name: str, period: Period = FIRST_TERM, variant: str = "summary") -> str:
    return summary_title(OrgUnit(name=name, kind="school_district"), period, variant=variant)


def assert_well_broken(title: str, lines: list[str]) -> None:
    assert "".join(lines) == title.replace(" ", "")
    for line in lines:
        assert title_width(line) <= TITLE_CHARS_PER_LINE, line
        assert len(line) >= TITLE_MIN_LINE_CHARS, line
    for upper, lower in itertools.pairwise(lines):
        # never inside a number, never a bracket or dash cut from its neighbour
        assert not (upper[-1].isdigit() and lower[0].isdigit()), (upper, lower)
        assert upper[-1] not in "（《“—", (upper, lower)
        assert lower[0] not in "）》”，、。—", (upper, lower)


def test_a_line_holds_20_title_characters_computed_from_the_point_sizes():
    assert pytest.approx(156 / 25.4 * 72) == TEXT_WIDTH_PT
    assert TITLE_SIZE.pt == 22
    assert TITLE_CHARS_PER_LINE == 20 == int(442.2 // 22)
    assert title_width("字" * 20) == 20
    assert title_lines("字" * 20) == ["字" * 20]
    assert len(title_lines("字" * 21)) == 2


def test_a_short_title_stays_one_line():
    for title in (
        title_of("青石学区", calendar_year_period(2025)),
        summary_title(OrgUnit(name="青石学区"), calendar_year_period(2025)),
        "青石学区2025—2026学年工作总结",
        "关于2025年秋季学期工作的总结",
    ):
        assert title_lines(title) == [title]
    assert title_lines("  ") == []


def test_the_title_that_left_one_character_alone_is_broken_into_balanced_lines():
    assert title_of("青石学区") == ORPHAN_TITLE
    assert title_width(ORPHAN_TITLE) > TITLE_CHARS_PER_LINE
    lines = title_lines(ORPHAN_TITLE)
    assert lines == ["青石学区2025—2026学年", "第一学期工作总结"]
    assert_well_broken(ORPHAN_TITLE, lines)
    widths = [title_width(line) for line in lines]
    assert max(widths) - min(widths) <= 5  # balanced: the old break was 19 : 1


def test_a_long_district_name_goes_on_a_line_of_its_own():
    title = title_of("某某县青石镇中心学区")
    assert title_lines(title) == ["某某县青石镇中心学区", "2025—2026学年第一学期工作总结"]


def test_the_agreement_report_breaks_before_the_kind_of_document():
    title = title_of("青石学区", variant="agreement")
    assert title_lines(title) == ["青石学区2025—2026学年第一学期", "目标责任书考核汇报材料"]


def test_a_custom_period_breaks_between_its_dates():
    from_to = custom_period(date(2025, 9, 1), date(2026, 1, 31))
    title = summary_title(OrgUnit(name="测试市教育局"), from_to)
    lines = title_lines(title)
    assert lines == ["测试市教育局2025年9月1日", "至2026年1月31日工作总结"]


def test_a_title_without_natural_breaks_is_split_evenly():
    title = "关于进一步加强和改进新时代中小学校教师队伍建设工作的实施意见"  # 30 characters
    lines = title_lines(title)
    assert [len(line) for line in lines] == [15, 15]
    assert [len(line) for line in title_lines(FORTY)] == [20, 20]
    lengths = [len(line) for line in title_lines(FORTY + "教学改革")]
    assert len(lengths) == 3
    assert max(lengths) - min(lengths) <= 1


def test_a_very_long_title_gets_three_lines_at_its_natural_points():
    title = title_of("某某省某某市某某县某某镇中心学区", variant="agreement")
    lines = title_lines(title)
    assert lines == [
        "某某省某某市某某县某某镇中心学区",
        "2025—2026学年第一学期",
        "目标责任书考核汇报材料",
    ]


def test_an_unbreakable_title_is_left_to_the_word_processor():
    assert title_lines("X" * 40) == ["X" * 40]


LAID_OUT = {
    # 14 + 20.2: the name is one line and the rest one too many for two lines of 20
    "白河乡中心小学白河乡中心小学2025—2026学年第一学期安全工作自查报告": [
        "白河乡中心小学白河乡中心小学",
        "2025—2026学年第一学期",
        "安全工作自查报告",
    ],
}


def test_random_titles_never_overflow_or_leave_an_orphan():
    rng = random.Random(9704)
    names = ["青石学区", "某某县青石镇中心学区", "白河乡中心小学", "测试市第一实验中学附属小学"]
    kinds = ["工作总结", "目标责任书考核汇报材料", "工作总结（征求意见稿）", "安全工作自查报告"]
    periods = ["2025—2026学年第一学期", "2025—2026学年", "2025年", "2025年9月1日至2026年1月31日"]
    for _ in range(300):
        title = rng.choice(names) * rng.randint(1, 2) + rng.choice(periods) + rng.choice(kinds)
        lines = title_lines(title)
        if title_width(title) <= TITLE_CHARS_PER_LINE:
            assert lines == [title]
        else:
            assert_well_broken(title, lines)
            # one more line than the width needs only when the words allow no shorter layout
            fewest = math.ceil(title_width(title) / TITLE_CHARS_PER_LINE)
            assert fewest <= len(lines) <= fewest + 1, lines
            if title in LAID_OUT:
                assert lines == LAID_OUT[title]


def document_with_title(title: str) -> SummaryDocument:
    return SummaryDocument(
        title=title, lead=[Paragraph(runs=["本学期各项工作有序推进。"])], signatory="青石学区"
    )


def test_the_docx_title_carries_explicit_line_breaks():
    docx = Document(io.BytesIO(render_docx(document_with_title(ORPHAN_TITLE))))
    title = docx.paragraphs[0]
    assert title.style.style_id == "GongwenTitle"
    assert title.text == "青石学区2025—2026学年\n第一学期工作总结"
    assert len(title._p.findall(f".//{qn('w:br')}")) == 1
    assert docx.core_properties.title == ORPHAN_TITLE
    short = Document(io.BytesIO(render_docx(document_with_title("青石学区2025年工作总结"))))
    assert short.paragraphs[0].text == "青石学区2025年工作总结"
    assert not short.paragraphs[0]._p.findall(f".//{qn('w:br')}")


@needs_libreoffice
@needs_pdftotext
@pytest.mark.parametrize(
    "title",
    [ORPHAN_TITLE, FORTY],
)
def test_libreoffice_lays_the_title_out_on_exactly_the_lines_computed(title):
    """The PDF's title lines are the computed ones: no line wraps again (a 20-character line
    fits), none is an orphan."""
    data = pdf.docx_to_pdf(render_docx(document_with_title(title)))
    assert data is not None
    first_page = pdf_lines(data)[0]
    expected = title_lines(title)
    assert [line[3] for line in first_page[: len(expected)]] == expected
    assert first_page[len(expected)][3] != title[-1]  # the next line is the body text
