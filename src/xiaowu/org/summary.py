"""The organisation's part of 基本情况: schools by type and classes."""

from __future__ import annotations

from xiaowu.org.models import SchoolType
from xiaowu.org.selectors import school_class_list, school_count_by_type
from xiaowu.reports.document import Figure, FigureRef, Paragraph, Run, Section
from xiaowu.reports.phrasing import enumerate_runs, link
from xiaowu.reports.providers import Contribution, Slot, SummaryContext


class OrgSummaryProvider:
    code = "org"
    order = 10

    def contribute(self, ctx: SummaryContext) -> list[Contribution]:
        root = ctx.unit.pk
        by_type = school_count_by_type(actor=ctx.actor, root_id=root)
        classes = school_class_list(actor=ctx.actor).under({root}).count()
        figures: list[Figure] = []
        type_figures = [
            Figure(
                key=f"schools.{row.school_type}",
                label=row.label,
                value=row.count,
                unit="所",
                definition=f"启用状态的{row.label}数量",
                query={"unit": ctx.unit.code, "school_type": row.school_type},
                url=link("org:school_list", type=row.school_type),
            )
            for row in by_type
        ]
        total = Figure(
            key="schools.total",
            label="学校数",
            aliases=("各类学校", "学校总数"),
            value=sum(int(f.value) for f in type_figures),
            unit="所",
            definition="范围内启用状态的学校总数（按学校类型分列）",
            query={"unit": ctx.unit.code},
            url=link("org:school_list"),
            parts=tuple(f.key for f in type_figures),
        )
        class_figure = Figure(
            key="classes.total",
            label="教学班数",
            aliases=("教学班", "班级总数"),
            value=classes,
            unit="个",
            definition="范围内启用状态的班级数量",
            query={"unit": ctx.unit.code},
            url=link("org:class_list", school=root if ctx.is_school else None),
        )
        figures = [total, *type_figures, class_figure]
        runs: list[Run]
        if ctx.is_school:
            label = SchoolType(ctx.unit.school_type).label if ctx.unit.school_type else "学校"
            runs = [f"{ctx.unit.name}是一所{label}，现有教学班", FigureRef(class_figure.key), "。"]
        else:
            runs = [f"{ctx.we}共有各类学校", FigureRef(total.key)]
            if len(type_figures) > 1:
                runs += ["，其中", *enumerate_runs((f.label, f) for f in type_figures)]
            runs += ["，共有教学班", FigureRef(class_figure.key), "。"]
        section = Section(
            title="", paragraphs=[Paragraph(runs=runs, key="basic.org")], key="basic.org"
        )
        return [Contribution(slot=Slot.BASIC, sections=[section], figures=figures)]
