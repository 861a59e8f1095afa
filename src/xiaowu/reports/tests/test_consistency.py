"""The checker flags the arithmetic errors the seed summaries contain (domain.md §3.9)."""

from __future__ import annotations

from decimal import Decimal

from xiaowu.reports.consistency import check_figures, check_text
from xiaowu.reports.document import Figure


def kinds(findings):
    return [(f.kind, f.expected, f.found) for f in findings]


def test_flags_the_seed_literacy_rate():
    text = "15—50周岁青壮年6734人，非文盲人数6320人，非文盲率89.80%。"
    assert kinds(check_text(text)) == [("text_percent", "93.85%", "89.80%")]


def test_flags_the_seed_gross_enrolment_ratio():
    text = "初中阶段适龄人口总数436人，在校学生数305人，毛入学率为112.2%。"
    assert kinds(check_text(text)) == [("text_percent", "70.0%", "112.2%")]


def test_accepts_right_rates_either_way_round():
    assert check_text("适龄人口420人，入学392人，入学率93.33%。") == []
    assert check_text("参考131人，七合14人，七合率10.69%。") == []


def test_flags_a_wrong_enumeration_and_accepts_a_right_one():
    assert (
        check_text("全学区共有各类学校10所，其中初级中学2所、完全小学5所、教学点2所、幼儿园1所。")
        == []
    )
    findings = check_text(
        "全学区共有各类学校10所，其中初级中学2所、完全小学6所、教学点2所、幼儿园1所。"
    )
    assert kinds(findings) == [("text_sum", "11所", "10所")]


def test_parenthetical_female_counts_do_not_break_sums():
    assert check_text("现有教师155人，其中专任教师154人（女56人）、区聘教师1人（女1人）。") == []


def test_share_of_a_known_figure_is_checked_against_the_data():
    figures = {
        "students.total": Figure(
            key="students.total", label="在校学生", value=828, unit="人", aliases=("在校生",)
        )
    }
    assert check_text("留守儿童120人，占在校生的14.49%。", figures) == []
    assert kinds(check_text("留守儿童120人，占在校生的20%。", figures)) == [
        ("text_percent", "14%", "20%")
    ]


def test_number_next_to_a_label_must_equal_the_data():
    figures = {
        "students.total": Figure(key="students.total", label="在校学生", value=828, unit="人")
    }
    assert kinds(check_text("我校现有在校学生830人。", figures)) == [
        ("text_value", "828人", "830人")
    ]
    assert check_text("我校现有在校学生828人。", figures) == []


def test_generated_totals_and_rates_are_checked():
    figures = {
        "a": Figure(key="a", label="甲", value=2, unit="所"),
        "b": Figure(key="b", label="乙", value=3, unit="所"),
        "t": Figure(key="t", label="合计", value=6, unit="所", parts=("a", "b")),
        "n": Figure(key="n", label="辍学", value=1, unit="人"),
        "d": Figure(key="d", label="期初", value=3, unit="人"),
        "r": Figure(
            key="r",
            label="辍学率",
            value=Decimal("33.34"),
            unit="%",
            numerator="n",
            denominator="d",
        ),
    }
    assert kinds(check_figures(figures)) == [
        ("figure_sum", "5", "6"),
        ("figure_rate", "33.33%", "33.34%"),
    ]
