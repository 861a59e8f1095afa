"""The organisation's part of 基本情况: schools by type and classes; for a 学区 or 教育局 also
the row labels, 学校类型 (or 学校数) and 教学班 columns of the roll-up tables."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Count
from django.urls import reverse

from xiaowu.org.models import SchoolType
from xiaowu.org.selectors import school_class_list, school_count_by_type
from xiaowu.reports.document import (
    Cell,
    Figure,
    FigureRef,
    Paragraph,
    Run,
    Section,
    Table,
    TableColumn,
)
from xiaowu.reports.phrasing import enumerate_runs, link
from xiaowu.reports.providers import Contribution, Slot, SummaryContext
from xiaowu.reports.rollup import (
    NAME_COLUMN,
    TYPE_LABEL_COLUMN,
    Number,
    Rollup,
    rollup_for,
    row_label,
    school_column,
    type_column,
    type_label,
)

CLASSES = TableColumn(key="classes", label="教学班", unit="个", position=20)
SCHOOL_TYPE = TableColumn(
    key="school_type", label="学校类型", numeric=False, summable=False, position=10
)
SCHOOLS = TableColumn(key="schools", label="学校数", unit="所", position=10)
SCHOOL_NAME = TableColumn(key=NAME_COLUMN.key, label="学校", numeric=False, summable=False)


class OrgSummaryProvider:
    code = "org"
    order = 10

    def contribute(self, ctx: SummaryContext) -> list[Contribution]:
        root = ctx.unit.pk
        by_type = school_count_by_type(actor=ctx.actor, root_id=root)
        classes = school_class_list(actor=ctx.actor).under({root})
        class_count = classes.count()
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
            value=class_count,
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
        rollup = rollup_for(ctx)
        if rollup is not None:
            pairs = list(
                classes.order_by()
                .values("school_id")
                .annotate(n=Count("pk"))
                .values_list("school_id", "n")
            )
            tables, table_figures = self._tables(ctx, rollup, pairs, type_figures)
            section.tables = tables
            figures += table_figures
        return [Contribution(slot=Slot.BASIC, sections=[section], figures=figures)]

    def _tables(
        self,
        ctx: SummaryContext,
        rollup: Rollup,
        class_pairs: Sequence[tuple[int | None, int]],
        type_figures: list[Figure],
    ) -> tuple[list[Table], list[Figure]]:
        query = {"unit": ctx.unit.code}

        def classes_of_row(key: str, value: Number) -> Figure:
            row = rollup.row(key)
            school = row is not None and row.kind == "school"
            return Figure(
                key=f"classes.by_school.{key}",
                label=f"{row_label(rollup, key)}教学班数",
                value=value,
                unit="个",
                definition="该单位启用状态的班级数量",
                query={**query, "row": key},
                url=(
                    link("org:class_list", school=row.unit_id)
                    if school and row
                    else reverse("org:unit_detail", args=[row.unit_id])
                    if row and row.unit_id
                    else ""
                ),
            )

        by_school, figures = school_column(
            rollup,
            column=CLASSES,
            values=rollup.by_row(class_pairs),
            total_key="classes.total",
            figure_for=classes_of_row,
        )
        name = NAME_COLUMN if rollup.by_district else SCHOOL_NAME
        second: TableColumn
        if rollup.by_district:
            second = SCHOOLS
            for row in rollup.rows:
                figure = Figure(
                    key=f"schools.by_school.{row.key}",
                    label=f"{row.name}学校数",
                    value=row.school_count,
                    unit="所",
                    definition="该单位下启用状态的学校数",
                    query={**query, "row": row.key},
                    url=reverse("org:unit_detail", args=[row.unit_id]) if row.unit_id else "",
                )
                figures.append(figure)
        else:
            second = SCHOOL_TYPE
        by_school.columns = [name, second, *by_school.columns]
        for table_row in by_school.rows:
            found = rollup.row(table_row.key)
            if found is None:
                if table_row.total and rollup.by_district:
                    table_row.cells[SCHOOLS.key] = FigureRef("schools.total")
                continue
            table_row.cells[NAME_COLUMN.key] = found.name
            if rollup.by_district:
                table_row.cells[SCHOOLS.key] = FigureRef(f"schools.by_school.{found.key}")
            else:
                table_row.cells[SCHOOL_TYPE.key] = (
                    SchoolType(found.school_type).label if found.school_type else "—"
                )

        def classes_of_type(key: str, value: Number) -> Figure:
            return Figure(
                key=f"classes.by_type.{key}",
                label=f"{type_label(key)}教学班数",
                value=value,
                unit="个",
                definition="该类学校启用状态的班级数量",
                query={**query, "school_type": key},
                url=link("org:class_list"),
            )

        by_type, type_class_figures = type_column(
            rollup,
            column=CLASSES,
            values=rollup.by_type(class_pairs),
            total_key="classes.total",
            figure_for=classes_of_type,
        )
        if by_type is None:
            return [by_school], figures
        figures += type_class_figures
        by_type.columns = [TYPE_LABEL_COLUMN, SCHOOLS, *by_type.columns]
        school_cells: dict[str, Cell] = {
            f.key.removeprefix("schools."): FigureRef(f.key) for f in type_figures
        }
        for table_row in by_type.rows:
            if table_row.total:
                table_row.cells[SCHOOLS.key] = FigureRef("schools.total")
                continue
            table_row.cells[TYPE_LABEL_COLUMN.key] = type_label(table_row.key)
            if table_row.key in school_cells:
                table_row.cells[SCHOOLS.key] = school_cells[table_row.key]
        return [by_type, by_school], figures
