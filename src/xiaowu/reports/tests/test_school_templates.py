"""School templates: upload (validated, tried on the unit's data, versioned), the documented
placeholders against what the code provides, downloading a summary with a template, and a
template that would loop for ever."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from docx import Document

from xiaowu.reports import docx_render
from xiaowu.reports.docx_render import (
    MAX_TEMPLATE_BYTES,
    SECTION_PLACEHOLDERS,
    TABLE_PLACEHOLDERS,
    TEMPLATE_PLACEHOLDERS,
    render_with_template,
    template_context,
)
from xiaowu.reports.generator import summary_generate
from xiaowu.reports.models import SummaryTemplate
from xiaowu.reports.period import school_year_period
from xiaowu.reports.school_templates import example_template, template_names
from xiaowu.reports.services import (
    summary_template_retire,
    summary_template_upload,
    work_summary_create,
)

pytestmark = pytest.mark.django_db


def make_template(*lines: str) -> bytes:
    document = Document()
    for line in lines:
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def with_macro(template: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(template))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        target.writestr("word/vbaProject.bin", b"\0macro")
    return out.getvalue()


SIMPLE = ("{{ title }}", "在校学生：{{ figures['students.total'] }}", "{{ signatory }}")


def district_document(world):
    return summary_generate(
        actor=world.users["district"],
        unit=world.district,
        period=school_year_period("2025-2026", 1),
        today=date(2026, 1, 15),
    ).document


def test_the_documented_placeholders_are_what_the_code_provides(world):
    context = template_context(district_document(world))
    assert [p.name for p in TEMPLATE_PLACEHOLDERS] == list(context)
    assert {p.name for p in SECTION_PLACEHOLDERS} == set(context["sections"][0])
    assert {p.name for p in TABLE_PLACEHOLDERS} == set(context["tables"][0])
    assert {item["kind"] for item in context["body"]} <= {
        "section",
        "subsection",
        "item",
        "paragraph",
        "table",
    }


def test_the_example_template_lays_out_a_district_summary_with_its_tables(world):
    document = district_document(world)
    result = Document(io.BytesIO(render_with_template(document, example_template())))
    texts = [p.text for p in result.paragraphs]
    assert texts[0] == "青石学区2025—2026学年第一学期工作总结"
    assert "一、基本情况" in texts
    assert "表2　各校基本情况对比" in texts
    comparison = result.tables[1]
    header = [c.text for c in comparison.rows[0].cells]
    assert header[:4] == ["学校", "学校类型", "教学班（个）", "在校生（人）"]
    first = [c.text for c in comparison.rows[1].cells]
    assert first[:4] == ["青石小学", "完全小学", "2", "3"]
    assert next(c.text for c in comparison.rows[-1].cells) == "合计"
    assert template_names(example_template()) == [
        "title",
        "subtitle",
        "lead",
        "sections",
        "tables",
        "signatory",
        "issued_on",
    ]


def test_an_uploaded_template_is_versioned(world):
    principal = world.users["principal"]
    first = summary_template_upload(
        actor=principal,
        unit=world.school,
        name="校本格式",
        filename="校本格式.docx",
        data=make_template(*SIMPLE),
    )
    second = summary_template_upload(
        actor=principal,
        unit=world.school,
        name="校本格式",
        filename="校本格式2.docx",
        data=make_template("{{ title }}"),
    )
    first.refresh_from_db()
    assert (first.version, first.is_current) == (1, False)
    assert (second.version, second.is_current) == (2, True)
    assert first.placeholders == ["title", "figures", "signatory"]
    assert len(second.sha256) == 64
    summary_template_retire(actor=principal, template=second)
    assert not SummaryTemplate.objects.filter(is_current=True).exists()
    assert SummaryTemplate.objects.count() == 2  # every version kept


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (with_macro(make_template("{{ title }}")), "a.docx", "模板包含宏、ActiveX 控件或嵌入对象"),
        (b"not a zip", "a.docx", "模板不是有效的 .docx 文件。"),
        (make_template("{{ title }}"), "a.doc", "请上传 Word 的 .docx 文件"),
        (make_template("{{ no_such_name }}"), "a.docx", "未定义的占位符：no_such_name"),
        (make_template("{% for x in %}"), "a.docx", "模板语法错误"),
        (
            make_template("{{ ''.__class__.__mro__[1].__subclasses__() }}"),
            "a.docx",
            "模板包含不允许的操作",
        ),
    ],
)
def test_a_bad_template_is_refused_with_a_chinese_message(world, data, filename, message):
    with pytest.raises(ValidationError) as caught:
        summary_template_upload(
            actor=world.users["principal"],
            unit=world.school,
            name="坏模板",
            filename=filename,
            data=data,
        )
    assert message in caught.value.message_dict["file"][0]
    assert not SummaryTemplate.objects.exists()


def test_a_template_that_loops_for_ever_is_stopped(world, monkeypatch):
    monkeypatch.setattr(docx_render, "TEMPLATE_RENDER_SECONDS", 1)
    template = make_template(
        "{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}"
    )
    with pytest.raises(ValueError, match="模板渲染超时"):
        render_with_template(district_document(world), template)


def test_upload_page_and_download_with_the_template(world, client_for):
    client = client_for("principal")
    upload = SimpleUploadedFile("校本格式.docx", make_template(*SIMPLE))
    response = client.post(
        reverse("reports:template_list"),
        {"unit": world.school.pk, "name": "校本格式", "file": upload},
    )
    assert response.status_code == 302
    template = SummaryTemplate.objects.get()
    page = client.get(reverse("reports:template_list")).content.decode()
    assert "校本格式" in page
    for placeholder in (*TEMPLATE_PLACEHOLDERS, *SECTION_PLACEHOLDERS, *TABLE_PLACEHOLDERS):
        assert placeholder.description in page
    assert "figures[&#x27;students.total&#x27;]" in page  # the unit's figure keys, generated
    summary = work_summary_create(
        actor=world.users["principal"], unit=world.school, period=school_year_period("2025-2026", 1)
    )
    detail = client.get(reverse("reports:summary_detail", args=[summary.pk])).content.decode()
    assert f'<option value="{template.pk}">校本格式（青石小学，第1版）</option>' in detail
    url = reverse("reports:summary_docx", args=[summary.pk])
    response = client.get(url, {"template": template.pk})
    assert response.status_code == 200
    texts = [p.text for p in Document(io.BytesIO(response.content)).paragraphs]
    assert texts == ["青石小学2025—2026学年第一学期工作总结", "在校学生：3人", "青石小学"]
    assert (
        "%EF%BC%88%E6%A0%A1%E6%9C%AC%E6%A0%BC%E5%BC%8F%EF%BC%89" in response["Content-Disposition"]
    )


def test_a_bad_upload_shows_the_reason_on_the_form(world, client_for):
    client = client_for("principal")
    upload = SimpleUploadedFile("宏.docx", with_macro(make_template("{{ title }}")))
    response = client.post(
        reverse("reports:template_list"), {"unit": world.school.pk, "name": "宏", "file": upload}
    )
    assert response.status_code == 200
    assert "模板包含宏、ActiveX 控件或嵌入对象" in response.content.decode()


def test_templates_from_above_serve_below_but_not_elsewhere(world, client_for):
    bureau_template = summary_template_upload(
        actor=world.users["bureau"],
        unit=world.bureau,
        name="教育局统一格式",
        filename="统一.docx",
        data=make_template("{{ title }}"),
    )
    other = summary_template_upload(
        actor=world.users["principal2"],
        unit=world.other_school,
        name="白河格式",
        filename="白河.docx",
        data=make_template("{{ title }}"),
    )
    summary = work_summary_create(
        actor=world.users["principal"], unit=world.school, period=school_year_period("2025-2026", 1)
    )
    client = client_for("principal")
    url = reverse("reports:summary_docx", args=[summary.pk])
    assert client.get(url, {"template": bureau_template.pk}).status_code == 200
    assert client.get(url, {"template": other.pk}).status_code == 404
    assert client.get(url, {"template": "x"}).status_code == 404
    page = client.get(reverse("reports:template_list")).content.decode()
    assert "教育局统一格式" in page
    assert "白河格式" not in page
    download = reverse("reports:template_download", args=[bureau_template.pk])
    assert client.get(download).status_code == 200
    assert client.get(reverse("reports:template_download", args=[other.pk])).status_code == 404
    # The principal may use the bureau's template but not retire it.
    retire = reverse("reports:template_versions", args=[bureau_template.pk])
    assert client.post(retire).status_code == 403


def test_the_cli_fills_a_template_file(world, tmp_path):
    template = tmp_path / "校本.docx"
    template.write_bytes(make_template(*SIMPLE))
    target = tmp_path / "总结.docx"
    call_command(
        "report",
        "summary",
        "--org",
        "S1",
        "--period",
        "2025-2026",
        "--term",
        "1",
        "--template",
        str(template),
        "-o",
        str(target),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    texts = [p.text for p in Document(io.BytesIO(target.read_bytes())).paragraphs]
    assert texts[0] == "青石小学2025—2026学年第一学期工作总结"
    assert texts[1].startswith("在校学生：")
    template.write_bytes(with_macro(make_template("{{ title }}")))
    with pytest.raises(CommandError, match="模板无法使用：模板包含宏"):
        call_command(
            "report",
            "summary",
            "--org",
            "S1",
            "--period",
            "2025-2026",
            "--template",
            str(template),
            "-o",
            str(target),
            stdout=StringIO(),
        )


def test_an_oversized_upload_is_refused_before_it_is_read(world, client_for):
    upload = SimpleUploadedFile("大.docx", b"\0" * (MAX_TEMPLATE_BYTES + 1))
    response = client_for("principal").post(
        reverse("reports:template_list"), {"unit": world.school.pk, "name": "大", "file": upload}
    )
    assert "模板文件过大（上限 10 MB）。" in response.content.decode()
    assert not SummaryTemplate.objects.exists()
