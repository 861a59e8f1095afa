"""特色亮点 from the data: staff honours at 市级 and above in the period, a notable rise in
enrolment (and the school that stands out), merged with the people's 特色亮点."""

from __future__ import annotations

from datetime import date

import pytest

from xiaowu.org.models import OrgUnit
from xiaowu.reports.consistency import check_document
from xiaowu.reports.generator import ManualText, summary_generate
from xiaowu.reports.period import school_year_period
from xiaowu.staff.models import HonourLevel, HonourTitle, StaffHonour
from xiaowu.staff.tests.factories import StaffMemberFactory
from xiaowu.students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 1, 15)


def term():
    return school_year_period("2025-2026", 1)


def honour(staff, level, on, title=HonourTitle.KEY_TEACHER, title_text=""):
    return StaffHonour.objects.create(
        staff=staff, title=title, level=level, awarded_on=on, title_text=title_text
    )


def highlights(world, unit=None, username="district", manual=None):
    document = summary_generate(
        actor=world.users[username],
        unit=unit or world.district,
        period=term(),
        today=TODAY,
        manual=manual,
    ).document
    section = next((s for s in document.sections if s.key == "highlights"), None)
    return document, ([] if section is None else section.paragraphs)


def test_honours_at_city_level_and_above_in_the_period_are_highlighted(world):
    wang = StaffMemberFactory(org_unit=world.school, name="王丽")
    li = StaffMemberFactory(org_unit=world.school_b, name="李强")
    zhao = StaffMemberFactory(org_unit=world.other_school, name="赵敏")
    honour(wang, HonourLevel.PROVINCE, date(2025, 11, 3))
    honour(li, HonourLevel.CITY, date(2025, 12, 20), HonourTitle.SUBJECT_LEADER)
    honour(li, HonourLevel.CITY, date(2025, 10, 1), title_text="淄博市教学能手")
    honour(wang, HonourLevel.COUNTY, date(2025, 10, 1))  # below 市级
    honour(li, HonourLevel.NATIONAL, date(2025, 3, 1))  # before the term
    honour(zhao, HonourLevel.NATIONAL, date(2025, 10, 1))  # another 学区
    document, paragraphs = highlights(
        world, manual=ManualText(highlights=["书法特色课程覆盖全学区。"])
    )
    figures = document.figures
    assert [p.text(figures) for p in paragraphs] == [
        "教师队伍建设成效明显。2025—2026学年第一学期内，全学区教职工获市级及以上荣誉称号3人次，"
        "其中省级1人次、市级2人次：王丽（青石小学）获评省级骨干教师；李强（青石中学）获评淄博市教学能手；"
        "李强（青石中学）获评市级学科带头人。",
        "书法特色课程覆盖全学区。",
    ]
    assert [p.manual for p in paragraphs] == [False, True]
    total = figures["staff.honours.total"]
    assert (total.value, total.parts) == (
        3,
        ("staff.honours.national", "staff.honours.province", "staff.honours.city"),
    )
    assert total.query["start_on"] == "2025-09-01"
    assert [s.title for s in document.sections] == ["一、基本情况", "二、特色亮点"]
    assert check_document(document) == []


def test_a_school_summary_names_no_school_and_no_honour_means_no_highlight(world):
    wang = StaffMemberFactory(org_unit=world.school, name="王丽")
    _document, paragraphs = highlights(world, unit=world.school, username="principal")
    assert paragraphs == []
    honour(wang, HonourLevel.CITY, date(2025, 11, 3))
    document, paragraphs = highlights(world, unit=world.school, username="principal")
    assert paragraphs[0].text(document.figures).endswith("：王丽获评市级骨干教师。")
    assert document.figures["staff.honours.total"].value == 1


def test_a_notable_rise_in_enrolment_and_the_school_behind_it(world):
    middle = OrgUnit.objects.get(code="S2-C701")
    for n in range(14):  # 青石中学: 11 a year ago, 4 more since 2025-09
        StudentFactory(
            school_class=middle,
            name=f"新生{n}",
            enrolled_on=date(2025, 9, 1) if n >= 10 else date(2024, 9, 1),
        )
    document, paragraphs = highlights(world)
    text = paragraphs[0].text(document.figures)
    assert text == (
        "办学吸引力持续增强。全学区在校学生由2025年1月15日的14人增加到18人，增长28.57%，"
        "其中青石中学增幅最大，由11人增加到15人，增长36.36%。"
    )
    figures = document.figures
    assert figures["students.trend.after"].parts == (
        "students.trend.before",
        "students.trend.increase",
    )
    assert figures["students.trend.growth_rate"].numerator == "students.trend.increase"
    assert check_document(document) == []


def test_no_growth_no_highlight(world):
    document, paragraphs = highlights(world)
    assert paragraphs == []
    assert "students.trend.before" not in document.figures
