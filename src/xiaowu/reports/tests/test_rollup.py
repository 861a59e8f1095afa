"""District roll-up: the comparison tables of a 学区 / 教育局 summary, their figures against
independent counts of the data, the total-row check, and the table in JSON, HTML and .docx."""

from __future__ import annotations

import dataclasses
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Q
from django.urls import reverse
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn

from xiaowu.org.models import OrgUnit, UnitKind
from xiaowu.reports.consistency import check_document
from xiaowu.reports.docx_render import TABLE_WIDTH, render_docx, template_context
from xiaowu.reports.generator import summary_generate
from xiaowu.reports.period import school_year_period
from xiaowu.reports.selectors import figure_payload
from xiaowu.reports.services import work_summary_create
from xiaowu.staff.models import CURRENT_STATUSES, PostCategory, StaffMember, StaffStatus
from xiaowu.staff.tests.factories import StaffMemberFactory
from xiaowu.students.models import ClassMembership, StatusChange, StatusChangeKind
from xiaowu.students.services import status_change_record
from xiaowu.students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 1, 15)


def term():
    return school_year_period("2025-2026", 1)


@pytest.fixture
def district(world):
    """The world's 学区 with a few more people: teachers in both schools, a worker, a
    teacher of the 学区 office itself, and a dropout in the first school."""
    StaffMemberFactory(org_unit=world.school, name="钱老师", gender="male")
    StaffMemberFactory(org_unit=world.school_b, name="吴老师")
    StaffMemberFactory(org_unit=world.school_b, name="郑老师", gender="male")
    StaffMemberFactory(
        org_unit=world.school_b, name="冯师傅", post_category=PostCategory.WORKER, gender="male"
    )
    StaffMemberFactory(org_unit=world.school_b, name="陈老师", status=StaffStatus.RETIRED)
    StaffMemberFactory(org_unit=world.district, name="学区教研员")
    middle_class = OrgUnit.objects.get(code="S2-C701")
    for n in range(3):
        StudentFactory(school_class=middle_class, name=f"学生{n}")
    status_change_record(
        actor=world.users["principal"],
        student=world.child,
        kind="dropout",
        effective_on=date(2025, 10, 10),
    )
    return world


def generate(world, username="district", unit=None):
    return summary_generate(
        actor=world.users[username],
        unit=unit or world.district,
        period=term(),
        today=TODAY,
    ).document


def table(document, key):
    return next(t for t in document.tables() if t.key == key)


def cells(document, key):
    """{row key: {column key: cell text}} of a table."""
    found = table(document, key)
    return {
        row.key: {c.key: found.cell_text(row, c, document.figures) for c in found.columns}
        for row in found.rows
    }


def enrolled_on(school, day):
    return (
        ClassMembership.objects.filter(school=school, start_on__lte=day)
        .filter(Q(end_on__isnull=True) | Q(end_on__gt=day))
        .count()
    )


def test_the_comparison_table_counts_each_school_like_the_data(district):
    w = district
    document = generate(w)
    by_school = table(document, "basic.by_school")
    assert by_school.caption == "表2　各校基本情况对比"
    assert [c.header for c in by_school.columns] == [
        "学校",
        "学校类型",
        "教学班（个）",
        "在校生（人）",
        "教职工（人）",
        "专任教师（人）",
        "生师比",
        "辍学（人）",
        "辍学率（%）",
    ]
    rows = cells(document, "basic.by_school")
    assert list(rows) == ["S1", "S2", "other", "total"]
    start = term().start_on
    for school in (w.school, w.school_b):
        row = rows[school.code]
        staff = StaffMember.objects.filter(org_unit__school=school, status__in=CURRENT_STATUSES)
        teachers = staff.filter(post_category=PostCategory.FULL_TIME_TEACHER).count()
        students = enrolled_on(school, TODAY)
        dropouts = StatusChange.objects.filter(
            school=school, kind=StatusChangeKind.DROPOUT, effective_on__gte=start
        ).count()
        assert row["name"] == school.name
        assert row["classes"] == str(
            OrgUnit.objects.filter(school=school, kind=UnitKind.SCHOOL_CLASS).count()
        )
        assert row["students"] == str(students)
        assert row["staff"] == str(staff.count())
        assert row["teachers"] == str(teachers)
        assert row["dropouts"] == str(dropouts)
        expected_rate = (Decimal(dropouts) * 100 / enrolled_on(school, start)).quantize(
            Decimal("0.01")
        )
        assert row["dropout_rate"] == str(expected_rate)
        ratio = (Decimal(students) / teachers).quantize(Decimal("0.1")) if teachers else None
        assert row["student_teacher_ratio"] == (f"{ratio}:1" if ratio else "—")
    # 青石小学: 3 students left after the dropout, 2 teachers; 青石中学: 4 students, 2 teachers.
    assert rows["S1"]["students"] == "2"
    assert rows["S1"]["dropout_rate"] == "33.33"
    assert rows["S2"]["student_teacher_ratio"] == "2.0:1"
    # The 学区 office's own teacher has no school: a row of its own keeps the totals exact.
    assert rows["other"]["name"] == "直属机关及其他"
    assert rows["other"]["staff"] == "1"
    assert rows["total"]["staff"] == str(document.figures["staff.total"].value) == "6"
    assert rows["total"]["students"] == str(document.figures["students.total"].value) == "6"
    assert rows["total"]["dropout_rate"] == "14.29"  # 1 ÷ 7 on the first day of the term
    assert check_document(document) == []


def test_the_by_type_table_reuses_the_type_figures_and_sums_to_the_totals(district):
    document = generate(district)
    rows = cells(document, "basic.by_type")
    assert table(document, "basic.by_type").caption == "表1　各类学校基本情况"
    assert rows["junior_middle"] == {
        "name": "初级中学",
        "schools": "1",
        "classes": "1",
        "students": "4",
        "teachers": "2",
        "student_teacher_ratio": "2.0:1",
    }
    assert rows["complete_primary"]["students"] == "2"
    assert rows["total"]["schools"] == "2"
    by_type = table(document, "basic.by_type")
    total_row = by_type.rows[-1]
    assert total_row.cells["schools"].key == "schools.total"
    assert total_row.cells["students"].key == "students.total"


def test_the_total_row_check_flags_a_wrong_cell(district):
    document = generate(district)
    assert check_document(document) == []
    key = "students.by_school.S2"
    wrong = document.figures[key]
    document.figures[key] = dataclasses.replace(wrong, value=wrong.value + 3)
    findings = [f for f in check_document(document) if f.kind == "table_sum"]
    # The cell sits in two tables? No: by-school only; the by-type table has its own figures.
    assert [(f.figure_key, f.expected, f.found) for f in findings] == [
        ("students.total", "9人", "6人")
    ]
    assert findings[0].message == "表2　各校基本情况对比“在校生”列合计为6人，但各行之和为9人。"


def test_a_wrong_ratio_cell_is_flagged(district):
    document = generate(district)
    key = "basic.by_school.S2.student_teacher_ratio"
    ratio = document.figures[key]
    assert (ratio.numerator, ratio.denominator, ratio.scale) == (
        "students.by_school.S2",
        "staff.teachers.by_school.S2",
        1,
    )
    document.figures[key] = dataclasses.replace(ratio, value=Decimal("2.5"))
    findings = [f for f in check_document(document) if f.kind == "figure_rate"]
    assert [(f.figure_key, f.expected, f.found) for f in findings] == [(key, "2.0:1", "2.5:1")]


def test_a_bureau_compares_its_districts(district):
    document = generate(district, username="bureau", unit=district.bureau)
    rows = cells(document, "basic.by_school")
    assert table(document, "basic.by_school").title == "各学区基本情况对比"
    assert [c.key for c in table(document, "basic.by_school").columns][:2] == ["name", "schools"]
    assert list(rows) == ["D1", "D2", "total"]
    assert rows["D1"]["schools"] == "2"
    assert rows["D1"]["staff"] == "6"  # the 学区 office's teacher counts in its 学区
    assert rows["D2"]["students"] == "1"
    assert rows["total"]["students"] == "7"
    assert check_document(document) == []


def test_a_school_summary_has_no_comparison_table(district):
    document = generate(district, username="principal", unit=district.school)
    assert document.tables() == []


def test_the_json_output_carries_the_table_with_its_figures(district):
    payload = figure_payload(
        summary_generate(
            actor=district.users["district"], unit=district.district, period=term(), today=TODAY
        )
    )
    basic = payload["sections"][0]
    by_school = next(t for t in basic["tables"] if t["key"] == "basic.by_school")
    s2 = next(r for r in by_school["rows"] if r["key"] == "S2")
    assert s2["cells"]["students"] == {"text": "4", "figure": "students.by_school.S2"}
    assert s2["cells"]["school_type"] == {"text": "初级中学", "figure": None}
    figure = payload["figures"]["students.by_school.S2"]
    assert figure["value"] == "4"
    assert figure["query"] == {"unit": "D1", "as_of": "2026-01-15", "row": "S2"}
    assert figure["url"] == f"/students/?school={district.school_b.pk}&status=enrolled"
    assert by_school["note"].startswith("注：")


def test_the_docx_holds_a_real_table_in_the_text_width(district):
    document = generate(district)
    word = Document(io.BytesIO(render_docx(document)))
    assert len(word.tables) == 2
    tbl = word.tables[1]
    expected = cells(document, "basic.by_school")
    header = [c.text for c in tbl.rows[0].cells]
    assert header[:4] == ["学校", "学校类型", "教学班（个）", "在校生（人）"]
    body = [[c.text for c in row.cells] for row in tbl.rows[1:]]
    assert body == [list(row.values()) for row in expected.values()]
    assert body[-1][0] == "合计"
    # Fixed layout, exactly the 156 mm text block, header row repeated on every page.
    tbl_pr = tbl._tbl.tblPr
    assert tbl_pr.find(qn("w:tblW")).get(qn("w:w")) == str(TABLE_WIDTH.twips)
    assert tbl_pr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
    widths = [int(c.get(qn("w:w"))) for c in tbl._tbl.tblGrid.findall(qn("w:gridCol"))]
    assert sum(widths) == TABLE_WIDTH.twips
    assert tbl.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    # 黑体 header, 仿宋 cells, numbers right-aligned, text left.
    head = tbl.rows[0].cells[0].paragraphs[0]
    assert head.style.name == "公文表头"
    assert head.style.font.name == "黑体"
    first = tbl.rows[1].cells
    assert first[0].paragraphs[0].style.font.name == "仿宋_GB2312"
    assert first[0].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.LEFT
    assert first[3].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    # 表 title above the table, 注 below it.
    paragraphs = [p.text for p in word.paragraphs]
    caption = paragraphs.index("表2　各校基本情况对比")
    assert word.paragraphs[caption].style.name == "公文表题"
    assert paragraphs[caption + 1].startswith("注：")
    body_element = word.element.body
    tables = body_element.findall(qn("w:tbl"))
    assert body_element.index(tables[1]) == body_element.index(word.paragraphs[caption]._p) + 1


def test_template_context_offers_the_tables(district):
    context = template_context(generate(district))
    assert [t["caption"] for t in context["tables"]] == [
        "表1　各类学校基本情况",
        "表2　各校基本情况对比",
    ]
    by_school = context["tables"][1]
    assert by_school["columns"][3] == "在校生（人）"
    assert by_school["rows"][-1][0] == "合计"
    assert context["sections"][0]["tables"] == context["tables"]


def test_the_preview_links_table_cells_to_their_records(district, client_for):
    summary = work_summary_create(
        actor=district.users["district"], unit=district.district, period=term()
    )
    response = client_for("district").get(reverse("reports:summary_detail", args=[summary.pk]))
    html = response.content.decode()
    assert "表2　各校基本情况对比" in html
    assert f'href="/students/?school={district.school_b.pk}&amp;status=enrolled"' in html
    assert 'data-figure="students.by_school.S2"' in html
    assert 'data-figure="basic.by_school.S2.student_teacher_ratio"' in html
