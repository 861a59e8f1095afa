"""The student part of 基本情况: 在校生 by stage and sex (as of the period's end), special
groups, and the period's 异动 with 辍学率."""

from __future__ import annotations

from xiaowu.core.models import Gender
from xiaowu.reports.document import Figure, FigureRef, Paragraph, Run, Section
from xiaowu.reports.phrasing import link
from xiaowu.reports.providers import Contribution, Signal, Slot, SummaryContext
from xiaowu.students.models import StatusChangeKind
from xiaowu.students.selectors import (
    SPECIAL_GROUPS,
    dropout_rate,
    special_group_counts,
    status_change_counts,
    student_headcount_by_grade_gender,
)

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
                value=rate.percent or 0,
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
        return [Contribution(slot=Slot.BASIC, sections=[section], figures=figures, signals=signals)]
