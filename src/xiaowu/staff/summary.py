"""The staff part of 基本情况: "现有教职工N人，其中专任教师M人（女K人）……"; for a 学区 or 教育局
the 教职工, 专任教师 and 生师比 columns of the roll-up tables; and, as a 特色亮点, the honours at
市级 and above awarded to staff in the period."""

from __future__ import annotations

from django.db.models import Count, Q

from xiaowu.reports.document import Figure, FigureRef, Paragraph, Run, Section, Table, TableColumn
from xiaowu.reports.phrasing import link
from xiaowu.reports.providers import Better, Contribution, Highlight, Metric, Slot, SummaryContext
from xiaowu.reports.rollup import (
    Number,
    Rollup,
    rollup_for,
    row_label,
    school_column,
    type_column,
    type_label,
)
from xiaowu.staff.models import HonourLevel, HonourTitle, PostCategory, StaffStatus
from xiaowu.staff.selectors import (
    AwardedHonour,
    staff_headcount,
    staff_headcount_by_status,
    staff_honours_awarded,
    staff_list,
)

# Statuses that the summaries mention individually after the total (003-2 L20 style).
NOTED_STATUSES = (
    StaffStatus.SECONDED_OUT,
    StaffStatus.SECONDED_IN,
    StaffStatus.INTERNAL_RETIREMENT,
    StaffStatus.LONG_SICK_LEAVE,
    StaffStatus.SUBSTITUTE,
)
STAFF = TableColumn(key="staff", label="教职工", unit="人", position=40)
TEACHERS = TableColumn(key="teachers", label="专任教师", unit="人", position=50)
STUDENT_TEACHER_RATIO = TableColumn(
    key="student_teacher_ratio",
    label="生师比",
    unit=":1",
    summable=False,
    numerator="students",  # the students provider's 在校生 column
    denominator=TEACHERS.key,
    scale=1,
    decimals=1,
    definition="在校生 ÷ 专任教师，四舍五入保留一位小数",
    position=60,
)
# Honours reported as highlights, highest level first (domain.md §3.3 T07 "市級學科帶頭人2…").
HIGHLIGHT_LEVELS = (HonourLevel.NATIONAL, HonourLevel.PROVINCE, HonourLevel.CITY)
LEVEL_WEIGHT = {HonourLevel.NATIONAL: 5, HonourLevel.PROVINCE: 4, HonourLevel.CITY: 3}
NAMED_HONOURS = 8  # named exemplars in the highlight; the rest are counted ("等")


class StaffSummaryProvider:
    code = "staff"
    order = 20
    metrics = (
        Metric(
            "staff.honours.total",
            "教职工获市级及以上荣誉",
            "人次",
            Better.HIGHER,
            "staff_development",
        ),
        Metric("staff.teachers", "专任教师数", "人", Better.HIGHER, "staff_development"),
    )

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
        rollup = rollup_for(ctx)
        if rollup is not None:
            section.tables, table_figures = self._tables(ctx, rollup)
            figures += table_figures
        highlights, honour_figures = self._honours(ctx)
        figures += honour_figures
        return [
            Contribution(
                slot=Slot.BASIC, sections=[section], figures=figures, highlights=highlights
            )
        ]

    def _tables(self, ctx: SummaryContext, rollup: Rollup) -> tuple[list[Table], list[Figure]]:
        query = {"unit": ctx.unit.code, "as_of": ctx.today.isoformat()}
        teacher = Q(post_category=PostCategory.FULL_TIME_TEACHER)
        grouped = list(
            staff_list(actor=ctx.actor, unit_id=ctx.unit.pk, current_only=True)
            .order_by()
            .values("org_unit__school_id", "org_unit_id")
            .annotate(total=Count("pk"), teachers=Count("pk", filter=teacher))
            .values_list("org_unit__school_id", "org_unit_id", "total", "teachers")
        )
        staff_rows = rollup.by_row_of_units((s, u, n) for s, u, n, _t in grouped)
        teacher_rows = rollup.by_row_of_units((s, u, t) for s, u, _n, t in grouped)
        teacher_pairs = [(school, t) for school, _u, _n, t in grouped]

        def row_url(key: str, **params: object) -> str:
            row = rollup.row(key)
            return link("staff:list", unit=row.unit_id, **params) if row else ""

        def staff_of_row(key: str, value: Number) -> Figure:
            return Figure(
                key=f"staff.by_school.{key}",
                label=f"{row_label(rollup, key)}教职工",
                value=value,
                unit="人",
                definition="该单位现有教职工（在编在岗、调入、外来借调、代课、长病假）",
                query={**query, "row": key},
                url=row_url(key),
            )

        def teachers_of_row(key: str, value: Number) -> Figure:
            return Figure(
                key=f"staff.teachers.by_school.{key}",
                label=f"{row_label(rollup, key)}专任教师",
                value=value,
                unit="人",
                definition="该单位现有教职工中的专任教师",
                query={**query, "row": key},
                url=row_url(key, post_category=PostCategory.FULL_TIME_TEACHER),
            )

        note = f"教职工、专任教师为{ctx.today:%Y年%-m月%-d日}人数"
        by_school, figures = school_column(
            rollup,
            column=STAFF,
            values=staff_rows,
            total_key="staff.total",
            figure_for=staff_of_row,
            note=note,
        )
        teacher_part, teacher_figures = school_column(
            rollup,
            column=TEACHERS,
            values=teacher_rows,
            total_key="staff.teachers",
            figure_for=teachers_of_row,
            note="生师比＝在校生÷专任教师",
        )
        figures += teacher_figures

        def teachers_of_type(key: str, value: Number) -> Figure:
            return Figure(
                key=f"staff.teachers.by_type.{key}",
                label=f"{type_label(key)}专任教师",
                value=value,
                unit="人",
                definition="该类学校现有教职工中的专任教师",
                query={**query, "school_type": key},
                url=link("staff:list", unit=ctx.unit.pk, post_category="full_time_teacher"),
            )

        by_type, type_figures = type_column(
            rollup,
            column=TEACHERS,
            values=rollup.by_type(teacher_pairs),
            total_key="staff.teachers",
            figure_for=teachers_of_type,
            note=note,
        )
        ratio = Table(
            key=teacher_part.key, title=teacher_part.title, columns=[STUDENT_TEACHER_RATIO]
        )
        tables = [by_school, teacher_part, ratio]
        if by_type is not None:
            by_type_ratio = Table(
                key=by_type.key, title=by_type.title, columns=[STUDENT_TEACHER_RATIO]
            )
            tables = [by_type, by_type_ratio, *tables]
        return tables, [*figures, *type_figures]

    def _honours(self, ctx: SummaryContext) -> tuple[list[Highlight], list[Figure]]:
        """Honours at 市级 and above awarded in the period to staff of the unit."""
        start, day = ctx.period.start_on, ctx.period.as_of(ctx.today)
        rows = staff_honours_awarded(
            actor=ctx.actor,
            levels=HIGHLIGHT_LEVELS,
            start_on=start,
            end_on=day,
            root_id=ctx.unit.pk,
        )
        query = {
            "unit": ctx.unit.code,
            "levels": ",".join(HIGHLIGHT_LEVELS),
            "start_on": start.isoformat(),
            "end_on": day.isoformat(),
        }
        url = link("staff:list", unit=ctx.unit.pk)
        by_level = {level: sum(1 for r in rows if r.level == level) for level in HIGHLIGHT_LEVELS}
        level_figures = [
            Figure(
                key=f"staff.honours.{level}",
                label=f"{HonourLevel(level).label}荣誉",
                value=by_level[level],
                unit="人次",
                definition=f"{start:%Y-%m-%d}至{day:%Y-%m-%d}授予本单位教职工的{HonourLevel(level).label}荣誉称号人次",
                query={**query, "levels": level},
                url=url,
            )
            for level in HIGHLIGHT_LEVELS
        ]
        total = Figure(
            key="staff.honours.total",
            label="市级及以上荣誉",
            value=len(rows),
            unit="人次",
            definition=(
                f"{start:%Y-%m-%d}至{day:%Y-%m-%d}授予本单位教职工的市级及以上荣誉称号人次"
                "（一人多项分别计算）"
            ),
            query=query,
            url=url,
            parts=tuple(f.key for f in level_figures),
        )
        figures = [total, *level_figures]
        if not rows:
            return [], figures
        runs: list[Run] = [
            f"教师队伍建设成效明显。{ctx.period.label}内，{ctx.we}教职工获市级及以上荣誉称号",
            FigureRef(total.key),
        ]
        present = [f for f in level_figures if f.value]
        if len(present) > 1:
            runs.append("，其中")
            for index, figure in enumerate(present):
                runs += [
                    "、" if index else "",
                    figure.label.removesuffix("荣誉"),
                    FigureRef(figure.key),
                ]
        ranked = sorted(
            rows, key=lambda r: (HIGHLIGHT_LEVELS.index(r.level), r.awarded_on, r.staff_name)
        )
        named = [_honour_phrase(r, with_school=not ctx.is_school) for r in ranked[:NAMED_HONOURS]]
        runs.append("：" + "；".join(named))
        runs.append("等。" if len(ranked) > NAMED_HONOURS else "。")
        weight = max(LEVEL_WEIGHT[HonourLevel(r.level)] for r in rows)
        paragraph = Paragraph(runs=runs, key="highlights.staff.honours")
        return [Highlight(paragraph, weight)], figures


def _honour_phrase(honour: AwardedHonour, *, with_school: bool) -> str:
    title = honour.title_text or (
        f"{HonourLevel(honour.level).label}{HonourTitle(honour.title).label}"
    )
    where = f"（{honour.school_name}）" if with_school and honour.school_name else ""
    return f"{honour.staff_name}{where}获评{title}"
