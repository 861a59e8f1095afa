"""The staff part of 基本情况: "现有教职工N人，其中专任教师M人（女K人）……"."""

from __future__ import annotations

from xiaowu.reports.document import Figure, FigureRef, Paragraph, Run, Section
from xiaowu.reports.phrasing import link
from xiaowu.reports.providers import Contribution, Slot, SummaryContext
from xiaowu.staff.models import StaffStatus
from xiaowu.staff.selectors import staff_headcount, staff_headcount_by_status

# Statuses that the summaries mention individually after the total (003-2 L20 style).
NOTED_STATUSES = (
    StaffStatus.SECONDED_OUT,
    StaffStatus.SECONDED_IN,
    StaffStatus.INTERNAL_RETIREMENT,
    StaffStatus.LONG_SICK_LEAVE,
    StaffStatus.SUBSTITUTE,
)


class StaffSummaryProvider:
    code = "staff"
    order = 20

    def contribute(self, ctx: SummaryContext) -> list[Contribution]:
        root = ctx.unit.pk
        counts = staff_headcount(actor=ctx.actor, root_id=root)
        by_status = staff_headcount_by_status(actor=ctx.actor, root_id=root)
        query = {"unit": ctx.unit.code, "as_of": ctx.today.isoformat()}
        total = Figure(
            key="staff.total",
            label="现有教职工",
            aliases=("教职工", "教职工总数"),
            value=counts.total,
            unit="人",
            definition="人事状态为在编在岗、调入、外来借调、代课、长病假的教职工（截至生成日）",
            query=query,
            url=link("staff:list", unit=root),
        )
        teachers = Figure(
            key="staff.teachers",
            label="专任教师",
            aliases=("专任教师总数",),
            value=counts.full_time_teachers,
            unit="人",
            definition="现有教职工中岗位类别为专任教师的人数",
            query=query,
            url=link("staff:list", unit=root, post_category="full_time_teacher"),
        )
        teachers_female = Figure(
            key="staff.teachers.female",
            label="女专任教师",
            value=counts.full_time_teachers_female,
            unit="人",
            definition="专任教师中女性人数",
            query=query,
            url=link("staff:list", unit=root, post_category="full_time_teacher", gender="female"),
        )
        figures = [total, teachers, teachers_female]
        runs: list[Run] = [
            "现有教职工",
            FigureRef(total.key),
            "，其中专任教师",
            FigureRef(teachers.key),
            "（女",
            FigureRef(teachers_female.key),
            "）",
        ]
        noted = [
            (status, by_status.get(status, 0)) for status in NOTED_STATUSES if by_status.get(status)
        ]
        for status, number in noted:
            figure = Figure(
                key=f"staff.status.{status}",
                label=StaffStatus(status).label,
                value=number,
                unit="人",
                definition=f"人事状态为“{StaffStatus(status).label}”的教职工",
                query=query,
                url=link("staff:list", unit=root, status=status),
            )
            figures.append(figure)
            runs += ["，", f"{StaffStatus(status).label}", FigureRef(figure.key)]
        runs.append("。")
        section = Section(
            title="", paragraphs=[Paragraph(runs=runs, key="basic.staff")], key="basic.staff"
        )
        return [Contribution(slot=Slot.BASIC, sections=[section], figures=figures)]
