"""The student part of 基本情况: 在校生 by stage and sex (as of the period's end), special
groups, and the period's 异动 with 辍学率; for a 学区 or 教育局 the 在校生, 辍学 and 辍学率 columns
of the roll-up tables; and, as a 特色亮点, a notable rise in enrolment over the year (the seed
003-3: "在園幼兒由2010年的76人上升到現在的124人")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Count

from xiaowu.core.models import Gender
from xiaowu.core.rates import Rate
from xiaowu.reports.document import (
    Figure,
    FigureRef,
    Paragraph,
    Run,
    Section,
    Table,
    TableColumn,
    TableRow,
)
from xiaowu.reports.phrasing import link
from xiaowu.reports.providers import (
    Better,
    Contribution,
    Highlight,
    Metric,
    Signal,
    Slot,
    SummaryContext,
)
from xiaowu.reports.rollup import (
    OTHER,
    OTHER_LABEL,
    Number,
    Rollup,
    rollup_for,
    row_label,
    school_column,
    type_column,
    type_label,
)
from xiaowu.students.models import StatusChangeKind
from xiaowu.students.selectors import (
    SPECIAL_GROUPS,
    dropout_rate,
    memberships_on,
    special_group_counts,
    status_change_counts,
    status_change_counts_by_school,
    student_headcount_by_grade_gender,
    years_before,
)

STUDENTS = TableColumn(key="students", label="在校生", unit="人", position=30)
DROPOUTS = TableColumn(key="dropouts", label="辍学", unit="人", position=70)
DROPOUT_RATE = TableColumn(
    key="dropout_rate", label="辍学率", unit="%", summable=False, position=80
)
# A rise in 在校生 over the year worth reporting as a highlight, and a school that stands out.
GROWTH_HIGHLIGHT = Decimal("5.00")  # percent
STANDOUT_GROWTH = Decimal("10.00")
STANDOUT_MIN_BASE = 10  # students a year earlier: tiny schools swing by chance

# 学段 by grade: (key, label, grades). Kindergarten grades are negative (org.models.Grade).
STAGES = (
    ("senior", "高中", range(10, 13)),
    ("junior", "初中", range(7, 10)),
    ("primary", "小学", range(1, 7)),
    ("preschool", "学前", range(-3, 0)),
)
REPORTED_CHANGES = (
    StatusChangeKind.TRANSFER_IN,
    StatusChangeKind.TRANSFER_OUT,
    StatusChangeKind.SUSPENSION,
    StatusChangeKind.RESUMPTION,
    StatusChangeKind.DROPOUT,
)


class StudentSummaryProvider:
    code = "students"
    order = 30
    metrics = (
        Metric("students.dropout_rate", "辍学率", "%", Better.LOWER, "student_enrolment"),
        Metric("students.changes.dropout", "辍学人数", "人", Better.LOWER, "student_enrolment"),
        Metric("students.total", "在校学生数", "人", Better.HIGHER, "school_conduct"),
    )

    def contribute(self, ctx: SummaryContext) -> list[Contribution]:
        root = ctx.unit.pk
        day = ctx.period.as_of(ctx.today)
        rows = student_headcount_by_grade_gender(actor=ctx.actor, root_id=root, on=day)
        query = {"unit": ctx.unit.code, "as_of": day.isoformat()}
        stage_totals: dict[str, list[int]] = {}
        for row in rows:
            for key, _label, grades in STAGES:
                if row.grade is not None and row.grade in grades:
                    counts = stage_totals.setdefault(key, [0, 0])
                    counts[0] += row.headcount
                    counts[1] += row.headcount if row.gender == Gender.FEMALE else 0
        total_value = sum(r.headcount for r in rows)
        female_value = sum(r.headcount for r in rows if r.gender == Gender.FEMALE)
        stage_figures: list[tuple[str, Figure, Figure]] = []
        for key, label, _grades in STAGES:
            if key not in stage_totals:
                continue
            stage_all, stage_female = stage_totals[key]
            stage_figures.append(
                (
                    label,
                    Figure(
                        key=f"students.{key}",
                        label=f"{label}在校生",
                        value=stage_all,
                        unit="人",
                        definition=f"{day:%Y-%m-%d}在{label}年级班级就读的学生（依在班记录）",
                        query={**query, "stage": key},
                        url=link(
                            "students:list",
                            school=root if ctx.is_school else None,
                            status="enrolled",
                        ),
                    ),
                    Figure(
                        key=f"students.{key}.female",
                        label=f"{label}女生",
                        value=stage_female,
                        unit="人",
                        definition=f"{label}在校生中的女生",
                        query={**query, "stage": key, "gender": "female"},
                        url="",
                    ),
                )
            )
        total = Figure(
            key="students.total",
            label="在校学生",
            aliases=("在校生", "学生总数", "全体学生"),
            value=total_value,
            unit="人",
            definition=f"{day:%Y-%m-%d}有在班记录的学生（休学、转出、辍学、毕业者不计）",
            query=query,
            url=link("students:list", school=root if ctx.is_school else None, status="enrolled"),
            parts=tuple(f.key for _l, f, _ff in stage_figures) if len(stage_figures) > 1 else (),
        )
        female = Figure(
            key="students.female",
            label="女生",
            value=female_value,
            unit="人",
            definition="在校学生中的女生",
            query=query,
            url="",
            parts=tuple(ff.key for _l, _f, ff in stage_figures) if len(stage_figures) > 1 else (),
        )
        figures: list[Figure] = [total, female]
        figures += [fig for _l, a, b in stage_figures for fig in (a, b)]
        runs: list[Run] = [
            "现有在校学生",
            FigureRef(total.key),
            "（女",
            FigureRef(female.key),
            "）",
        ]
        if len(stage_figures) > 1:
            runs.append("，其中")
            for index, (label, all_fig, female_fig) in enumerate(stage_figures):
                if index:
                    runs.append("、")
                runs += [label, FigureRef(all_fig.key), "（女", FigureRef(female_fig.key), "）"]
        runs.append("。")
        paragraphs = [Paragraph(runs=runs, key="basic.students")]

        groups = special_group_counts(actor=ctx.actor, root_id=root)
        group_runs: list[Run] = []
        for key in ("left_behind", "boarding", "migrant", "needy", "disability"):
            if not groups.get(key):
                continue
            label = SPECIAL_GROUPS[key][0]
            figure = Figure(
                key=f"students.group.{key}",
                label=label,
                value=groups[key],
                unit="人",
                definition=f"当前在校生中的{label}",
                query={"unit": ctx.unit.code, "group": key},
                url=link("students:list", school=root if ctx.is_school else None, group=key),
            )
            figures.append(figure)
            group_runs += ["、" if group_runs else "在校生中有", label, FigureRef(figure.key)]
        if group_runs:
            paragraphs.append(Paragraph(runs=[*group_runs, "。"], key="basic.student_groups"))

        changes = status_change_counts(
            actor=ctx.actor, start_on=ctx.period.start_on, end_on=day, root_id=root
        )
        change_runs: list[Run] = []
        for kind in REPORTED_CHANGES:
            figure = Figure(
                key=f"students.changes.{kind}",
                label=f"{StatusChangeKind(kind).label}学生",
                value=changes.get(kind, 0),
                unit="人",
                definition=f"{ctx.period.start_on:%Y-%m-%d}至{day:%Y-%m-%d}办理{StatusChangeKind(kind).label}的人数",
                query={
                    "unit": ctx.unit.code,
                    "kind": kind,
                    "start_on": ctx.period.start_on.isoformat(),
                    "end_on": day.isoformat(),
                },
                url=link("students:list", school=root if ctx.is_school else None),
            )
            figures.append(figure)
            change_runs += [
                "，" if change_runs else f"{ctx.period.label}内，",
                StatusChangeKind(kind).label,
                FigureRef(figure.key),
            ]
        rate = dropout_rate(actor=ctx.actor, start_on=ctx.period.start_on, end_on=day, root_id=root)
        signals: list[Signal] = []
        if rate.denominator:
            numerator = f"students.changes.{StatusChangeKind.DROPOUT}"
            base = Figure(
                key="students.period_start",
                label="期初在校生",
                value=rate.denominator,
                unit="人",
                definition=f"{ctx.period.start_on:%Y-%m-%d}有在班记录的学生",
                query={"unit": ctx.unit.code, "as_of": ctx.period.start_on.isoformat()},
            )
            rate_figure = Figure(
                key="students.dropout_rate",
                label="辍学率",
                value=rate.percent if rate.percent is not None else Decimal(0),
                unit="%",
                definition="期内辍学人数 ÷ 期初在校生数 × 100%，四舍五入保留两位小数",
                numerator=numerator,
                denominator=base.key,
            )
            figures += [base, rate_figure]
            change_runs += ["，辍学率", FigureRef(rate_figure.key)]
            if rate.numerator:
                signals.append(
                    Signal(
                        key="students.dropout",
                        problem=f"控辍保学仍有压力，{ctx.period.label}内有{rate.numerator}名学生辍学。",
                        measure="落实控辍保学“一生一案”，对辍学学生逐一家访劝返，跟踪复学情况。",
                        severity=3,
                        figure_keys=(numerator, rate_figure.key),
                    )
                )
        paragraphs.append(Paragraph(runs=[*change_runs, "。"], key="basic.student_changes"))
        section = Section(title="", paragraphs=paragraphs, key="basic.students")
        rollup = rollup_for(ctx)
        if rollup is not None:
            tables, table_figures = self._tables(ctx, rollup, day, has_rate=bool(rate.denominator))
            section.tables = tables
            figures += table_figures
        highlights, trend_figures = self._growth(ctx, rollup, day, total_value)
        figures += trend_figures
        contribution = Contribution(
            slot=Slot.BASIC,
            sections=[section],
            figures=figures,
            signals=signals,
            highlights=highlights,
        )
        return [contribution]

    def _tables(
        self, ctx: SummaryContext, rollup: Rollup, day: date, *, has_rate: bool
    ) -> tuple[list[Table], list[Figure]]:
        root = ctx.unit.pk
        query = {"unit": ctx.unit.code, "as_of": day.isoformat()}
        now = _by_school(memberships_on(actor=ctx.actor, day=day, root_id=root))
        rows = rollup.by_row(now)

        def school_url(key: str, **params: object) -> str:
            row = rollup.row(key)
            if row is None or row.kind != "school":
                return ""
            return link("students:list", school=row.unit_id, **params)

        def students_of_row(key: str, value: Number) -> Figure:
            return Figure(
                key=f"students.by_school.{key}",
                label=f"{row_label(rollup, key)}在校生",
                value=value,
                unit="人",
                definition=f"{day:%Y-%m-%d}在该单位班级就读的学生（依在班记录）",
                query={**query, "row": key},
                url=school_url(key, status="enrolled"),
            )

        by_school, figures = school_column(
            rollup,
            column=STUDENTS,
            values=rows,
            total_key="students.total",
            figure_for=students_of_row,
            note=f"在校生为{day:%Y年%-m月%-d日}在班人数",
        )
        if has_rate:
            figures += self._dropout_cells(ctx, rollup, by_school, day)

        def students_of_type(key: str, value: Number) -> Figure:
            return Figure(
                key=f"students.by_type.{key}",
                label=f"{type_label(key)}在校生",
                value=value,
                unit="人",
                definition=f"{day:%Y-%m-%d}在该类学校班级就读的学生（依在班记录）",
                query={**query, "school_type": key},
                url=link("students:list", status="enrolled"),
            )

        by_type, type_figures = type_column(
            rollup,
            column=STUDENTS,
            values=rollup.by_type(now),
            total_key="students.total",
            figure_for=students_of_type,
            note=f"在校生为{day:%Y年%-m月%-d日}在班人数",
        )
        tables = [by_school] if by_type is None else [by_type, by_school]
        return tables, [*figures, *type_figures]

    def _dropout_cells(
        self, ctx: SummaryContext, rollup: Rollup, table: Table, day: date
    ) -> list[Figure]:
        """辍学 and 辍学率 per row: dropouts in the period ÷ the row's 在校生 on its first day."""
        start = ctx.period.start_on
        base = rollup.by_row(
            _by_school(memberships_on(actor=ctx.actor, day=start, root_id=ctx.unit.pk))
        )
        # One grouped query for every row, in the aggregate scope of the unit's total, so the
        # rows add up to it; schools outside the rows (closed since) fall to OTHER.
        dropouts = rollup.by_row(
            status_change_counts_by_school(
                actor=ctx.actor,
                kinds=(StatusChangeKind.DROPOUT,),
                start_on=start,
                end_on=day,
                root_id=ctx.unit.pk,
            ).items()
        )
        figures: list[Figure] = []
        period = {"start_on": start.isoformat(), "end_on": day.isoformat()}
        table.columns += [DROPOUTS, DROPOUT_RATE]
        for row in table.rows:
            if row.total:
                row.cells[DROPOUTS.key] = FigureRef(f"students.changes.{StatusChangeKind.DROPOUT}")
                row.cells[DROPOUT_RATE.key] = FigureRef("students.dropout_rate")
                continue
            unit = rollup.row(row.key)
            if unit is None or unit.unit_id is None:
                continue  # OTHER: filled in below
            count = int(dropouts.get(row.key, 0))
            number = Figure(
                key=f"students.dropouts.by_school.{row.key}",
                label=f"{unit.name}辍学学生",
                value=count,
                unit="人",
                definition=f"{start:%Y-%m-%d}至{day:%Y-%m-%d}办理辍学的人数",
                query={"unit": unit.key, "kind": StatusChangeKind.DROPOUT, **period},
                url=(
                    link("students:list", school=unit.unit_id, status="dropped_out")
                    if unit.kind == "school"
                    else ""
                ),
            )
            figures.append(number)
            row.cells[DROPOUTS.key] = FigureRef(number.key)
            start_count = base.get(row.key, 0)
            rate = Rate(numerator=count, denominator=int(start_count))
            if rate.percent is None:
                continue
            denominator = Figure(
                key=f"students.period_start.by_school.{row.key}",
                label=f"{unit.name}期初在校生",
                value=start_count,
                unit="人",
                definition=f"{start:%Y-%m-%d}在该单位有在班记录的学生",
                query={"unit": unit.key, "as_of": start.isoformat()},
            )
            percent = Figure(
                key=f"students.dropout_rate.by_school.{row.key}",
                label=f"{unit.name}辍学率",
                value=rate.percent,
                unit="%",
                definition="期内辍学人数 ÷ 期初在校生数 × 100%，四舍五入保留两位小数",
                numerator=number.key,
                denominator=denominator.key,
            )
            figures += [denominator, percent]
            row.cells[DROPOUT_RATE.key] = FigureRef(percent.key)
        # Dropouts of schools outside the rows (closed since): the rest of the unit's total.
        rest = int(dropouts.get(OTHER, 0))
        if rest:
            other = next((r for r in table.rows if r.key == OTHER), None)
            if other is None:
                other = TableRow(key=OTHER, cells={"name": OTHER_LABEL})
                table.rows.insert(len(table.rows) - 1, other)
            figure = Figure(
                key=f"students.dropouts.by_school.{OTHER}",
                label=f"{OTHER_LABEL}辍学学生",
                value=rest,
                unit="人",
                definition="期内辍学人数中不属于上列单位（如已停办学校）的部分",
                query={"unit": ctx.unit.code, "kind": StatusChangeKind.DROPOUT, **period},
            )
            figures.append(figure)
            other.cells[DROPOUTS.key] = FigureRef(figure.key)
        return figures

    def _growth(
        self, ctx: SummaryContext, rollup: Rollup | None, day: date, after: int
    ) -> tuple[list[Highlight], list[Figure]]:
        """在校生 a year before ``day`` against ``day``: a highlight when it rose notably."""
        earlier = years_before(day, 1)
        before_rows = _by_school(memberships_on(actor=ctx.actor, day=earlier, root_id=ctx.unit.pk))
        before = sum(n for _school, n in before_rows)
        growth = Rate(numerator=after - before, denominator=before)
        if growth.percent is None or growth.percent < GROWTH_HIGHLIGHT:
            return [], []
        figures = _trend_figures(
            "students.trend",
            "",
            ctx.unit.code,
            ctx.unit.pk if ctx.is_school else None,
            earlier,
            day,
            before,
            after,
        )
        runs: list[Run] = [
            f"办学吸引力持续增强。{ctx.we}在校学生由{earlier:%Y年%-m月%-d日}的",
            FigureRef("students.trend.before"),
            "增加到",
            FigureRef("students.trend.after"),
            "，增长",
            FigureRef("students.trend.growth_rate"),
        ]
        if rollup is not None:
            now_rows = rollup.by_row(
                _by_school(memberships_on(actor=ctx.actor, day=day, root_id=ctx.unit.pk))
            )
            then_rows = rollup.by_row(before_rows)
            candidates = [
                (rate.percent, row)
                for row in rollup.rows
                for base in [int(then_rows.get(row.key, 0))]
                for rate in [Rate(int(now_rows.get(row.key, 0)) - base, base)]
                if base >= STANDOUT_MIN_BASE
                and rate.percent is not None
                and rate.percent >= STANDOUT_GROWTH
            ]
            if candidates:
                _growth_rate, row = max(candidates, key=lambda pair: pair[0] or 0)
                prefix = f"students.trend.{row.key}"
                figures += _trend_figures(
                    prefix,
                    row.name,
                    row.key,
                    row.unit_id if row.kind == "school" else None,
                    earlier,
                    day,
                    int(then_rows.get(row.key, 0)),
                    int(now_rows.get(row.key, 0)),
                )
                runs += [
                    f"，其中{row.name}增幅最大，由",
                    FigureRef(f"{prefix}.before"),
                    "增加到",
                    FigureRef(f"{prefix}.after"),
                    "，增长",
                    FigureRef(f"{prefix}.growth_rate"),
                ]
        runs.append("。")
        weight = 2 if growth.percent >= STANDOUT_GROWTH else 1
        return [Highlight(Paragraph(runs=runs, key="highlights.students.growth"), weight)], figures


def _by_school(memberships: object) -> list[tuple[int | None, int]]:
    """(school id, headcount) pairs from a memberships queryset, in one grouped query."""
    return list(
        memberships.order_by()  # type: ignore[attr-defined]
        .values("school_id")
        .annotate(n=Count("pk"))
        .values_list("school_id", "n")
    )


def _trend_figures(
    prefix: str,
    name: str,
    code: str,
    school_id: int | None,
    earlier: date,
    day: date,
    before: int,
    after: int,
) -> list[Figure]:
    url = link("students:list", school=school_id, status="enrolled")
    before_figure = Figure(
        key=f"{prefix}.before",
        label=f"{name}一年前在校生",
        value=before,
        unit="人",
        definition=f"{earlier:%Y-%m-%d}有在班记录的学生",
        query={"unit": code, "as_of": earlier.isoformat()},
    )
    increase = Figure(
        key=f"{prefix}.increase",
        label=f"{name}在校生增加",
        value=after - before,
        unit="人",
        definition=f"{day:%Y-%m-%d}与{earlier:%Y-%m-%d}在校生之差",
        query={"unit": code, "from": earlier.isoformat(), "to": day.isoformat()},
    )
    after_figure = Figure(
        key=f"{prefix}.after",
        label=f"{name}现有在校生",
        value=after,
        unit="人",
        definition=f"{day:%Y-%m-%d}有在班记录的学生",
        query={"unit": code, "as_of": day.isoformat()},
        url=url,
        parts=(before_figure.key, increase.key),
    )
    rate = Rate(numerator=after - before, denominator=before)
    growth = Figure(
        key=f"{prefix}.growth_rate",
        label=f"{name}在校生增长率",
        value=rate.percent or Decimal(0),
        unit="%",
        definition="（现有在校生 − 一年前在校生）÷ 一年前在校生 × 100%，四舍五入保留两位小数",
        numerator=increase.key,
        denominator=before_figure.key,
    )
    return [before_figure, increase, after_figure, growth]
