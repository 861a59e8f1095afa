"""Plain-text output of the demo commands: the summary and the table of demo logins."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from xiaowu.demo.generator import DEMO_PASSWORD, DemoSummary
from xiaowu.demo.selectors import DemoLogin
from xiaowu.org.models import SchoolType
from xiaowu.students.models import StatusChangeKind, StudentStatus
from xiaowu.students.selectors import SPECIAL_GROUPS


def display_width(text: str) -> int:
    """Return the width of ``text`` in a terminal: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Return the lines of a left-aligned table whose columns line up in a terminal."""
    widths = [
        max(display_width(str(row[index])) for row in [headers, *rows])
        for index in range(len(headers))
    ]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell + " " * (width - display_width(cell))
            for cell, width in zip(cells, widths, strict=True)
        ]
        return "  ".join(padded).rstrip()

    return [line(headers), line(["-" * width for width in widths]), *(line(r) for r in rows)]


def summary_lines(summary: DemoSummary, *, scale: int, seed: int, seconds: float) -> list[str]:
    """Return the Chinese summary printed after ``demo_data``."""
    events = (
        "，".join(
            f"{StatusChangeKind(kind).label} {count} 条" for kind, count in summary.status_changes
        )
        or "无"
    )
    groups = "，".join(
        f"{SPECIAL_GROUPS[key][0]} {count} 人" for key, count in summary.special_groups
    )
    cohorts = (
        "，".join(f"{low}–{high}周岁 {count} 人" for low, high, count in summary.age_cohorts)
        or "无"
    )
    others = (
        "另有"
        + "、".join(
            f"{StudentStatus(status).label} {count} 人"
            for status, count in summary.students_by_status
        )
        if summary.students_by_status
        else "均在校"
    )
    by_type = "，".join(
        f"{SchoolType(school_type).label} {count} 所"
        for school_type, count in summary.schools_by_type
    )
    return [
        f"已生成演示数据（合成数据，规模 {scale}，随机种子 {seed}，用时 {seconds:.1f} 秒）",
        f"{summary.bureau}：{summary.districts} 个学区，{summary.schools} 所学校，"
        f"{summary.classes} 个教学班",
        f"  学校：{by_type}",
        f"  学生：{summary.students} 人（女 {summary.students_female} 人）在校；"
        f"学籍记录 {summary.student_records} 条（{others}）",
        f"  学籍异动（本学年，不含入学）：{events}",
        f"  特殊群体：{groups}",
        f"  监护人：{summary.guardians} 人（监护关系 {summary.guardianships} 条）",
        f"  适龄人口：{cohorts}",
        f"  教职工：{summary.staff} 人（女 {summary.staff_female} 人），"
        f"其中专任教师 {summary.full_time_teachers} 人"
        f"（女 {summary.full_time_teachers_female} 人）",
        f"  任课安排：{summary.teaching_assignments} 条（当前学期）；"
        f"荣誉称号：{summary.honours} 项；"
        f"有人事状态变动记录的教职工：{summary.staff_with_history} 人",
        f"  账号：{summary.accounts} 个（除演示账号外，教师账号未设置密码，需管理员重置后使用）",
    ]


def login_lines(logins: Sequence[DemoLogin]) -> list[str]:
    """Return the table of demo logins, or a note when there are none."""
    if not logins:
        return ["数据库中没有演示账号（admin、teacher 等）。"]
    rows = [[login.username, login.full_name, login.roles, login.units] for login in logins]
    return [
        f"演示账号（密码均为 {DEMO_PASSWORD}）：",
        *text_table(["用户名", "姓名", "角色", "所在单位"], rows),
    ]
