"""The 目标责任书考核汇报材料 variant: items with targets, achieved figures, 达成 / 未达成 and
self-assessed scores; items the data cannot know reported by hand or marked 待填写; the
pages that define a unit's agreement."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from docx import Document

from xiaowu.reports.agreement import ItemStatus
from xiaowu.reports.consistency import check_document
from xiaowu.reports.models import AgreementItem, SummaryVariant, TargetResponsibilityAgreement
from xiaowu.reports.period import school_year_period
from xiaowu.reports.selectors import (
    agreement_evaluation,
    agreement_for_period,
    figure_payload,
    work_summary_render,
)
from xiaowu.reports.services import (
    agreement_create,
    agreement_item_create,
    agreement_item_update,
    work_summary_create,
)
from xiaowu.staff.models import HonourLevel, HonourTitle, StaffHonour, StaffMember
from xiaowu.students.services import status_change_record

pytestmark = pytest.mark.django_db


def year():
    return school_year_period("2025-2026")


@pytest.fixture
def agreement(world):
    """青石学区's 2025—2026 agreement with five items: two measured by the data (one met, one
    not), one measured and scored by hand, one reported by hand, one not yet reported."""
    district = world.users["district"]
    status_change_record(
        actor=world.users["principal"],
        student=world.child,
        kind="dropout",
        effective_on=date(2025, 10, 10),
    )
    StaffHonour.objects.create(
        staff=StaffMember.objects.get(name="孙老师"),
        title=HonourTitle.KEY_TEACHER,
        level=HonourLevel.CITY,
        awarded_on=date(2025, 12, 1),
    )
    found = agreement_create(
        actor=district, unit=world.district, period=year(), signed_on=date(2025, 9, 5)
    )
    items = [
        {
            "category": "student_enrolment",
            "title": "控辍保学",
            "weight": Decimal(15),
            "metric": "students.dropout_rate",
            "comparator": "lte",
            "target_value": Decimal("0.5"),
        },
        {
            "category": "staff_development",
            "title": "骨干教师培养",
            "weight": Decimal(10),
            "metric": "staff.honours.total",
            "comparator": "gte",
            "target_value": Decimal(1),
            "target_text": "全年新增市级及以上骨干教师、学科带头人等不少于1人次",
        },
        {
            "category": "student_enrolment",
            "title": "在校生规模",
            "weight": Decimal(5),
            "metric": "students.total",
            "comparator": "gte",
            "target_value": Decimal(3),
            "self_score": Decimal("4.5"),
        },
        {
            "category": "safety",
            "title": "安全稳定",
            "weight": Decimal(20),
            "target_text": "全年无重大安全责任事故",
            "achieved_text": "全年未发生安全责任事故，开展应急演练4次。",
            "self_score": Decimal(20),
        },
        {
            "category": "party_leadership",
            "title": "党风廉政建设",
            "weight": Decimal(10),
            "target_text": "落实“一岗双责”，无违纪违规问题",
        },
    ]
    for fields in items:
        agreement_item_create(actor=district, agreement=found, **fields)
    return found


def render(world, agreement):
    summary = work_summary_create(
        actor=world.users["district"],
        unit=world.district,
        period=year(),
        variant=SummaryVariant.AGREEMENT,
    )
    return work_summary_render(actor=world.users["district"], summary=summary)


def section(document, key):
    return next(s for s in document.sections if s.key == key)


def texts(section, figures):
    return [p.text(figures) for p in section.paragraphs]


def test_the_report_is_organised_by_the_agreement_items(world, agreement):
    generated = render(world, agreement)
    document = generated.document
    figures = document.figures
    assert document.title == "青石学区2025—2026学年目标责任书考核汇报材料"
    assert [s.title for s in document.sections] == [
        "一、基本情况",
        "二、责任书落实情况",
        "三、特色工作",
        "四、存在的问题",
        "五、下一步打算",
    ]
    assert document.lead[0].text(figures) == (
        "2025—2026学年，全学区对照《青石学区2025—2026学年目标责任书》确定的5项考核指标，"
        "逐项抓好落实。经对照数据核定，已达成2项，未达成1项，由本单位据实填报1项，"
        "完成情况尚待填写1项；自评总分34.5分（满分60分）。现将责任书落实情况汇报如下："
    )
    clauses = section(document, "agreement")
    assert [c.title for c in clauses.children] == [
        "（一）党建与班子建设",
        "（二）队伍建设",
        "（三）学籍管理与控辍保学",
        "（四）安全稳定",
    ]
    dropout, size = clauses.children[2].children
    assert dropout.title == "1.控辍保学（15分）"
    assert texts(dropout, figures) == [
        "目标要求：辍学率不高于0.5%。完成情况：2025—2026学年，全学区辍学率为25.00%，"
        "未达到目标要求。",
        "自评得分0分（满分15分）。",
    ]
    assert size.title == "2.在校生规模（5分）"
    assert texts(size, figures)[-1] == "自评得分4.5分（满分5分）。"
    honours = clauses.children[1].children[0]
    assert texts(honours, figures)[0] == (
        "目标要求：全年新增市级及以上骨干教师、学科带头人等不少于1人次。"
        "完成情况：2025—2026学年，全学区市级及以上荣誉为1人次，达到目标要求。"
    )
    # The achieved figure is the provider's figure: it links to its records.
    achieved = next(r for r in honours.paragraphs[0].runs if not isinstance(r, str))
    assert figures[achieved.key].url.startswith("/staff/?unit=")
    safety = clauses.children[3].children[0]
    assert safety.paragraphs[1].manual
    assert texts(safety, figures)[1] == "完成情况：全年未发生安全责任事故，开展应急演练4次。"
    party = clauses.children[0].children[0]
    assert [p.pending for p in party.paragraphs] == [False, True, True]
    assert texts(party, figures)[1].startswith("完成情况：【待填写】")
    assert texts(party, figures)[2] == "自评得分：【待填写】（满分10分）。"
    # The unmet target comes back as a problem and a measure.
    problems = texts(section(document, "problems"), figures)
    assert problems[0].startswith("一是“控辍保学”未达到目标责任书要求（目标：辍学率不高于0.5%；")
    assert next(s.key for s in generated.signals) == f"agreement.unmet.{dropout.key.split('.')[-1]}"
    assert check_document(document) == []


def test_the_self_assessment_table_totals_the_scores(world, agreement):
    document = render(world, agreement).document
    table = next(t for t in document.tables() if t.key == "agreement.self_assessment")
    rows = [[table.cell_text(r, c, document.figures) for c in table.columns] for r in table.rows]
    assert [c.header for c in table.columns] == [
        "序号",
        "考核类别",
        "考核项目",
        "目标要求",
        "完成情况",
        "达成情况",
        "分值（分）",
        "自评得分（分）",
    ]
    assert rows[0] == [
        "1",
        "党建与班子建设",
        "党风廉政建设",
        "落实“一岗双责”，无违纪违规问题",
        "【待填写】",
        "待填写",
        "10",
        "【待评】",
    ]
    assert rows[2][4:] == ["25.00%", "未达成", "15", "0"]
    assert rows[-1] == ["合计", "—", "—", "—", "—", "—", "60", "34.5"]
    # A score typed wrong in a cell is caught by the total-row check.
    score = document.figures[table.rows[1].cells["score"].key]
    document.figures[score.key] = score.__class__(**{**score.__dict__, "value": Decimal(9)})
    assert [f.kind for f in check_document(document)] == ["figure_sum", "table_sum"]


def test_scores_follow_the_data_unless_a_person_scored(world, agreement):
    results = {
        r.item.title: r
        for r in agreement_evaluation(actor=world.users["district"], agreement=agreement).results
    }
    assert results["骨干教师培养"].status is ItemStatus.MET
    assert (results["骨干教师培养"].score, results["骨干教师培养"].score_is_manual) == (
        Decimal(10),
        False,
    )
    assert results["控辍保学"].status is ItemStatus.UNMET
    assert results["控辍保学"].score == 0
    assert results["在校生规模"].status is ItemStatus.MET
    assert (results["在校生规模"].score, results["在校生规模"].score_is_manual) == (
        Decimal("4.5"),
        True,
    )
    assert results["安全稳定"].status is ItemStatus.REPORTED
    assert results["党风廉政建设"].status is ItemStatus.PENDING
    assert results["党风廉政建设"].score is None


def test_the_json_output_lists_items_with_target_and_achieved_figure(world, agreement):
    payload = figure_payload(render(world, agreement))
    clauses = next(s for s in payload["sections"] if s["key"] == "agreement")
    item = clauses["children"][2]["children"][0]
    assert item["title"] == "1.控辍保学（15分）"
    assert item["paragraphs"][0]["figures"] == ["students.dropout_rate"]
    weight = payload["figures"][f"agreement.items.{item['key'].split('.')[-1]}.weight"]
    assert weight["value"] == "15"
    assert payload["figures"]["agreement.score.total"]["parts"]


def test_an_item_measured_by_data_needs_a_comparison_and_a_target(world, agreement):
    district = world.users["district"]
    with pytest.raises(ValidationError) as caught:
        agreement_item_create(
            actor=district,
            agreement=agreement,
            category="safety",
            title="辍学",
            weight=Decimal(5),
            metric="students.dropout_rate",
        )
    assert caught.value.message_dict == {
        "comparator": ["选择了数据指标时，请选择比较方式（不低于 / 不高于 / 达到）。"],
        "target_value": ["选择了数据指标时，请填写目标值。"],
    }
    with pytest.raises(ValidationError) as caught:
        agreement_item_create(
            actor=district,
            agreement=agreement,
            category="safety",
            title="安全",
            weight=Decimal(5),
            target_text="无事故",
            self_score=Decimal(6),
        )
    assert caught.value.message_dict == {"self_score": ["自评得分应在0到5分之间。"]}
    with pytest.raises(ValidationError) as caught:
        agreement_item_create(
            actor=district,
            agreement=agreement,
            category="safety",
            title="安全",
            weight=Decimal(5),
            metric="students.nonsense",
            comparator="gte",
            target_value=Decimal(1),
        )
    assert caught.value.message_dict == {"metric": ["未知的数据指标。"]}


def test_an_agreement_report_needs_an_agreement(world):
    with pytest.raises(ValidationError) as caught:
        work_summary_create(
            actor=world.users["principal"],
            unit=world.school,
            period=year(),
            variant=SummaryVariant.AGREEMENT,
        )
    assert caught.value.message_dict["variant"] == [
        "青石小学在2025—2026学年没有目标责任书，请先在“目标责任书”页面建立。"
    ]


def test_a_year_agreement_serves_its_terms_and_items_can_be_copied(world, agreement):
    term = school_year_period("2025-2026", 2)
    found = agreement_for_period(
        actor=world.users["district"],
        unit_id=world.district.pk,
        start_on=term.start_on,
        end_on=term.end_on,
    )
    assert found == agreement
    later = agreement_create(
        actor=world.users["district"],
        unit=world.district,
        period=school_year_period("2026-2027"),
        copy_from=agreement,
    )
    copied = list(later.items.values_list("title", "weight", "metric", "achieved_text"))
    assert len(copied) == 5
    assert ("控辍保学", Decimal(15), "students.dropout_rate", "") in copied
    assert all(text == "" for *_rest, text in copied)  # what was achieved starts empty


def test_the_agreement_pages(world, agreement, client_for):
    client = client_for("district")
    response = client.post(
        reverse("reports:agreement_list"),
        {
            "unit": world.school.pk,
            "period_kind": "school_year",
            "school_year": "2025-2026",
            "copy_from": agreement.pk,
        },
    )
    created = TargetResponsibilityAgreement.objects.get(org_unit=world.school)
    assert response.status_code == 302
    assert created.title == "青石小学2025—2026学年目标责任书"
    assert created.issuer == "青石学区"
    assert created.items.count() == 5
    detail = client.get(reverse("reports:agreement_detail", args=[agreement.pk]))
    html = detail.content.decode()
    assert "达成 2 项" in html
    assert "未达成 1 项" in html
    assert "待填写 1 项" in html
    assert "辍学率不高于0.5%" in html
    # Reporting an item by hand turns 待填写 into 据实填报.
    party = agreement.items.get(title="党风廉政建设")
    response = client.post(
        reverse("reports:agreement_item_edit", args=[party.pk]),
        {
            "category": "party_leadership",
            "title": "党风廉政建设",
            "weight": "10",
            "target_text": party.target_text,
            "achieved_text": "落实“一岗双责”，全年无违纪违规问题。",
            "self_score": "10",
        },
    )
    assert response.status_code == 302
    party.refresh_from_db()
    assert party.self_score == 10
    # A bad item comes back with the message on its field.
    response = client.post(
        reverse("reports:agreement_item_create", args=[agreement.pk]),
        {"category": "safety", "title": "辍学", "weight": "5", "metric": "students.dropout_rate"},
    )
    assert "选择了数据指标时，请填写目标值。" in response.content.decode()
    # The report is written once and then opened.
    first = client.post(reverse("reports:agreement_report", args=[agreement.pk]))
    second = client.post(reverse("reports:agreement_report", args=[agreement.pk]))
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    page = client.get(first["Location"]).content.decode()
    assert "二、责任书落实情况" in page
    assert "目标责任书考核自评表" in page


def test_updating_an_item_keeps_its_place(world, agreement):
    item = AgreementItem.objects.get(agreement=agreement, title="控辍保学")
    position = item.position
    updated = agreement_item_update(
        actor=world.users["district"],
        item=item,
        category=item.category,
        title="控辍保学",
        weight=Decimal(15),
        metric="students.dropout_rate",
        comparator="lte",
        target_value=Decimal(30),
    )
    assert updated.position == position
    results = agreement_evaluation(actor=world.users["district"], agreement=agreement).results
    assert next(r for r in results if r.item.title == "控辍保学").status is ItemStatus.MET


def test_the_cli_writes_the_agreement_report(world, agreement, tmp_path):
    target = tmp_path / "考核汇报.docx"
    call_command(
        "report",
        "summary",
        "--org",
        "D1",
        "--period",
        "2025-2026",
        "--variant",
        "agreement",
        "-o",
        str(target),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    word = Document(io.BytesIO(target.read_bytes()))
    texts = [p.text for p in word.paragraphs]
    # 23 characters of 2号 type: broken by hand into two lines (docx_render.title_lines)
    assert texts[0] == "青石学区2025—2026学年\n目标责任书考核汇报材料"
    assert word.core_properties.title == "青石学区2025—2026学年目标责任书考核汇报材料"
    assert "二、责任书落实情况" in texts
    assert "1.控辍保学（15分）" in texts
    assert any(t.startswith("表3　目标责任书考核自评表") for t in texts)
    self_assessment = word.tables[-1]
    assert [c.text for c in self_assessment.rows[-1].cells][-2:] == ["60", "34.5"]
    with pytest.raises(CommandError, match="白河学区在2025—2026学年没有目标责任书"):
        call_command(
            "report",
            "summary",
            "--org",
            "D2",
            "--period",
            "2025-2026",
            "--variant",
            "agreement",
            "-o",
            str(target),
            stdout=StringIO(),
        )
