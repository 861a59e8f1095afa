"""The generated summary: skeleton, numbers equal to the data, traceability, the
存在问题 → 目标 → next-period loop, and people's text surviving regeneration."""

from __future__ import annotations

from datetime import date

import pytest

from xiaowu.reports.consistency import check_document
from xiaowu.reports.generator import summary_generate
from xiaowu.reports.models import GoalSource, TextSlot
from xiaowu.reports.period import school_year_period
from xiaowu.reports.selectors import figure_payload, work_summary_render
from xiaowu.reports.services import (
    improvement_goal_create,
    improvement_goal_update,
    summary_text_add,
    summary_text_update,
    work_summary_create,
)
from xiaowu.students.services import status_change_record

pytestmark = pytest.mark.django_db
TODAY = date(2026, 1, 15)


def text_of(document, key):
    for section in document.sections:
        for paragraph in section.paragraphs:
            if paragraph.key == key:
                return paragraph.text(document.figures)
    raise AssertionError(key)


def test_district_basic_facts_read_like_the_seeds_and_equal_the_data(world):
    period = school_year_period("2025-2026", 1)
    generated = summary_generate(
        actor=world.users["district"], unit=world.district, period=period, today=TODAY
    )
    document = generated.document
    assert document.title == "青石学区2025—2026学年第一学期工作总结"
    assert [s.title for s in document.sections] == ["一、基本情况"]
    assert (
        text_of(document, "basic.org")
        == "全学区共有各类学校2所，其中初级中学1所、完全小学1所，共有教学班3个。"
    )
    assert text_of(document, "basic.staff") == "现有教职工1人，其中专任教师1人（女1人）。"
    assert text_of(document, "basic.students") == (
        "现有在校学生4人（女2人），其中初中1人（女1人）、小学3人（女1人）。"
    )
    assert document.signatory == "青石学区"
    assert check_document(document) == []


def test_every_figure_has_a_definition_query_and_scoped_link(world):
    period = school_year_period("2025-2026", 1)
    payload = figure_payload(
        summary_generate(
            actor=world.users["district"], unit=world.district, period=period, today=TODAY
        )
    )
    students = payload["figures"]["students.total"]
    assert students["value"] == "4"
    assert students["definition"].startswith("2026-01-15有在班记录的学生")
    assert students["query"] == {"unit": "D1", "as_of": "2026-01-15"}
    assert payload["figures"]["schools.total"]["parts"] == [
        "schools.junior_middle",
        "schools.complete_primary",
    ]
    assert payload["figures"]["schools.junior_middle"]["url"] == "/org/schools/?type=junior_middle"


def test_a_school_summary_counts_only_that_school(world):
    period = school_year_period("2025-2026", 1)
    document = summary_generate(
        actor=world.users["principal"], unit=world.school, period=period, today=TODAY
    ).document
    assert text_of(document, "basic.org") == "青石小学是一所完全小学，现有教学班2个。"
    assert document.figures["students.total"].value == 3


def test_dropout_raises_a_problem_with_a_measure(world):
    status_change_record(
        actor=world.users["principal"],
        student=world.child,
        kind="dropout",
        effective_on=date(2025, 10, 10),
    )
    period = school_year_period("2025-2026", 1)
    generated = summary_generate(
        actor=world.users["district"], unit=world.district, period=period, today=TODAY
    )
    assert [s.key for s in generated.signals] == ["students.dropout"]
    titles = [s.title for s in generated.document.sections]
    assert titles == ["一、基本情况", "二、存在问题", "三、下一步打算"]
    rate = generated.document.figures["students.dropout_rate"]
    assert (str(rate.value), rate.numerator, rate.denominator) == (
        "25.00",
        "students.changes.dropout",
        "students.period_start",
    )
    assert generated.document.figures["students.period_start"].value == 4
    assert check_document(generated.document) == []


def test_people_text_survives_regeneration_and_keeps_versions(world):
    principal = world.users["principal"]
    summary = work_summary_create(
        actor=principal, unit=world.school, period=school_year_period("2025-2026", 1)
    )
    text = summary_text_add(
        actor=principal, summary=summary, slot=TextSlot.HIGHLIGHTS, body="书法特色课程覆盖全校。"
    )
    first = work_summary_render(actor=principal, summary=summary).document
    summary_text_update(actor=principal, text=text, body="书法特色课程覆盖全校各年级。", version=1)
    second = work_summary_render(actor=principal, summary=summary).document
    highlight = next(s for s in second.sections if s.key == "highlights")
    assert [p.text(second.figures) for p in highlight.paragraphs] == [
        "书法特色课程覆盖全校各年级。"
    ]
    assert [s.key for s in first.sections] == [s.key for s in second.sections]
    assert list(text.versions.values_list("version", "body")) == [(1, "书法特色课程覆盖全校。")]


def test_a_wrong_percentage_typed_into_the_narrative_is_flagged(world):
    principal = world.users["principal"]
    summary = work_summary_create(
        actor=principal, unit=world.school, period=school_year_period("2025-2026", 1)
    )
    summary_text_add(
        actor=principal,
        summary=summary,
        slot=TextSlot.MAIN,
        body="全校在校学生3人，其中女生1人，占33.3%。",
    )
    assert check_document(work_summary_render(actor=principal, summary=summary).document) == []
    summary_text_add(
        actor=principal,
        summary=summary,
        slot=TextSlot.MAIN,
        body="全校在校学生3人，其中女生1人，占50%。",
    )
    findings = check_document(work_summary_render(actor=principal, summary=summary).document)
    assert [(f.kind, f.expected, f.found) for f in findings] == [("text_percent", "33%", "50%")]


def test_goals_from_last_period_are_reported_next_period(world):
    principal = world.users["principal"]
    first = work_summary_create(
        actor=principal, unit=world.school, period=school_year_period("2025-2026", 1)
    )
    goals = [
        improvement_goal_create(
            actor=principal,
            unit=world.school,
            summary=first,
            problem=f"问题{n}",
            measure=f"措施{n}",
            source=GoalSource.MANUAL,
            raised_on=date(2026, 1, 20),
            due_on=date(2026, 6, 30),
        )
        for n in range(1, 6)
    ]
    for goal in goals[:3]:
        improvement_goal_update(
            actor=principal, goal=goal, status="done", completed_on=date(2026, 5, 1)
        )
    improvement_goal_update(actor=principal, goal=goals[4], status="dropped", note="上级政策调整")
    period = school_year_period("2025-2026", 2)
    generated = summary_generate(
        actor=principal, unit=world.school, period=period, today=date(2026, 7, 10)
    )
    main = next(s for s in generated.document.sections if s.key == "main")
    assert main.title == "二、主要工作及成效"
    progress = main.children[0]
    assert progress.title == "（一）上期改进措施落实情况"
    assert progress.paragraphs[0].text(generated.document.figures) == (
        "上期提出的5项改进措施，已完成3项，正在推进1项，取消1项。"
    )
    # The open goal is overdue by the period's end: it comes back as a problem.
    assert [s.key for s in generated.signals] == [f"goals.overdue.{goals[3].pk}"]
    assert check_document(generated.document) == []


def test_a_share_of_the_students_typed_by_a_person_is_checked_against_the_data(world):
    principal = world.users["principal"]
    summary = work_summary_create(
        actor=principal, unit=world.school, period=school_year_period("2025-2026", 1)
    )
    summary_text_add(
        actor=principal,
        summary=summary,
        slot=TextSlot.HIGHLIGHTS,
        body="留守儿童1人，占在校生的50%。",
    )
    findings = check_document(work_summary_render(actor=principal, summary=summary).document)
    assert [(f.kind, f.figure_key, f.expected, f.found) for f in findings] == [
        ("text_percent", "students.total", "33%", "50%")
    ]
