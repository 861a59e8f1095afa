"""District roll-up (issue #4 point 9): the rows a 学区 or 教育局 summary compares.

A 学区's summary compares its schools; a 教育局's compares its 学区 (and the schools directly
under it). :func:`rollup_for` reads the tree once through the organisation selectors and maps
every school to its row, so each provider can group its own counts by row with one grouped
query and contribute its columns to the shared tables:

* ``basic.by_school`` — 各校基本情况对比: one row per school (or 学区), a 合计 row;
* ``basic.by_type`` — 各类学校基本情况: one row per 学校类型, a 合计 row.

Data that belongs to no row (staff of the 学区 office itself, students of a school that has
since been closed) goes to the row "直属机关及其他", shown only when it holds something, so every
column still adds up to the unit's total.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from xiaowu.org.models import SchoolType, UnitKind
from xiaowu.org.selectors import org_unit_list
from xiaowu.reports.document import Cell, Figure, FigureRef, Table, TableColumn, TableRow
from xiaowu.reports.providers import SummaryContext

BY_SCHOOL = "basic.by_school"
BY_TYPE = "basic.by_type"
OTHER = "other"
OTHER_LABEL = "直属机关及其他"
TOTAL = "total"
TOTAL_LABEL = "合计"
NAME_COLUMN = TableColumn(key="name", label="单位", numeric=False, summable=False)
TYPE_LABEL_COLUMN = TableColumn(key="name", label="学校类型", numeric=False, summable=False)

Number = int | Decimal


@dataclass(frozen=True)
class RollupRow:
    key: str  # the unit's code (stable across regenerations), or OTHER
    unit_id: int | None
    name: str
    kind: str  # UnitKind value, or "" for OTHER
    school_type: str  # for school rows
    school_count: int  # active schools the row aggregates


@dataclass(frozen=True)
class Rollup:
    rows: tuple[RollupRow, ...]
    row_of_school: Mapping[int, str]  # active school id → row key
    type_of_school: Mapping[int, str]  # active school id → SchoolType value
    by_district: bool  # rows are 学区 (a 教育局's summary), not schools
    row_of_office: Mapping[int, str] = field(default_factory=dict)  # 学区/局 id → row key

    @property
    def title(self) -> str:
        return "各学区基本情况对比" if self.by_district else "各校基本情况对比"

    @property
    def types(self) -> list[tuple[str, str]]:
        """The school types present, in the fixed order of ``SchoolType``."""
        present = set(self.type_of_school.values())
        return [(value, label) for value, label in SchoolType.choices if value in present]

    def row_key(self, school_id: int | None) -> str:
        return self.row_of_school.get(school_id, OTHER) if school_id is not None else OTHER

    def type_key(self, school_id: int | None) -> str:
        return self.type_of_school.get(school_id, OTHER) if school_id is not None else OTHER

    def by_row(self, pairs: Iterable[tuple[int | None, Number]]) -> dict[str, Number]:
        """Sum (school id, value) pairs into rows."""
        totals: dict[str, Number] = {}
        for school_id, value in pairs:
            key = self.row_key(school_id)
            totals[key] = totals.get(key, 0) + value
        return totals

    def by_row_of_units(
        self, triples: Iterable[tuple[int | None, int, Number]]
    ) -> dict[str, Number]:
        """Sum (school id, unit id, value) triples into rows: what sits above school level
        (the staff of a 学区 office) goes to that 学区's row in a 教育局's summary."""
        totals: dict[str, Number] = {}
        for school_id, unit_id, value in triples:
            key = (
                self.row_key(school_id)
                if school_id is not None
                else self.row_of_office.get(unit_id, OTHER)
            )
            totals[key] = totals.get(key, 0) + value
        return totals

    def by_type(self, pairs: Iterable[tuple[int | None, Number]]) -> dict[str, Number]:
        totals: dict[str, Number] = {}
        for school_id, value in pairs:
            key = self.type_key(school_id)
            totals[key] = totals.get(key, 0) + value
        return totals

    def row(self, key: str) -> RollupRow | None:
        return next((r for r in self.rows if r.key == key), None)


def rollup_for(ctx: SummaryContext) -> Rollup | None:
    """The rows of ``ctx.unit``'s comparison tables, or None for a school (nothing to compare)
    or a unit with fewer than two schools or 学区 under it."""
    if ctx.is_school:
        return None
    root = ctx.unit.pk
    units = list(
        org_unit_list(actor=ctx.actor, under_id=root, include_inactive=True)
        .filter(kind__in=(UnitKind.BUREAU, UnitKind.SCHOOL_DISTRICT, UnitKind.SCHOOL))
        .order_by("depth", "sort_order", "code")
        .values("pk", "code", "name", "kind", "parent_id", "school_type", "is_active")
    )
    by_pk: dict[int, dict[str, Any]] = {u["pk"]: dict(u) for u in units}
    schools = [u for u in units if u["kind"] == UnitKind.SCHOOL and u["is_active"]]
    by_district = any(
        u["parent_id"] == root and u["kind"] != UnitKind.SCHOOL and u["is_active"] for u in units
    )
    row_of_school: dict[int, str] = {}
    row_of_office: dict[int, str] = {}
    members: dict[int, int] = {}  # row unit pk → active schools under it

    def row_unit(unit: dict[str, Any] | None) -> dict[str, Any] | None:
        while unit is not None and unit["parent_id"] != root:
            unit = by_pk.get(unit["parent_id"])
        return unit if unit is not None and unit["is_active"] else None

    if by_district:
        for office in units:
            found = row_unit(dict(office)) if office["kind"] != UnitKind.SCHOOL else None
            if found is not None and office["pk"] != root:
                row_of_office[office["pk"]] = found["code"]
    for school in schools:
        unit = row_unit(dict(school)) if by_district else dict(school)
        if unit is None:
            continue
        row_of_school[school["pk"]] = unit["code"]
        members[unit["pk"]] = members.get(unit["pk"], 0) + 1
    rows = tuple(
        RollupRow(
            key=u["code"],
            unit_id=u["pk"],
            name=u["name"],
            kind=u["kind"],
            school_type=u["school_type"],
            school_count=members[u["pk"]],
        )
        for u in units
        if u["pk"] in members
    )
    if len(rows) < 2:
        return None
    return Rollup(
        rows=rows,
        row_of_school=row_of_school,
        type_of_school={s["pk"]: s["school_type"] or OTHER for s in schools},
        by_district=by_district,
        row_of_office=row_of_office,
    )


def _rows(
    keys: Iterable[str],
    values: Mapping[str, Number],
    column: TableColumn,
    figure_for: Callable[[str, Number], Figure],
    total_key: str,
) -> tuple[list[TableRow], list[Figure]]:
    rows: list[TableRow] = []
    figures: list[Figure] = []
    keys = list(keys)
    extra = [k for k in values if k not in keys and values[k]]  # OTHER, when it holds something
    for key in [*keys, *extra]:
        figure = figure_for(key, values.get(key, 0))
        figures.append(figure)
        cells: dict[str, Cell] = {column.key: FigureRef(figure.key)}
        if key == OTHER:
            cells[NAME_COLUMN.key] = OTHER_LABEL
        rows.append(TableRow(key=key, cells=cells))
    total_cells: dict[str, Cell] = {NAME_COLUMN.key: TOTAL_LABEL, column.key: FigureRef(total_key)}
    rows.append(TableRow(key=TOTAL, cells=total_cells, total=True))
    return rows, figures


def school_column(
    rollup: Rollup,
    *,
    column: TableColumn,
    values: Mapping[str, Number],
    total_key: str,
    figure_for: Callable[[str, Number], Figure],
    note: str = "",
) -> tuple[Table, list[Figure]]:
    """One provider's column of the by-school table: a figure per row, the total row pointing
    at the figure the paragraphs already cite (``total_key``)."""
    rows, figures = _rows(
        (r.key for r in rollup.rows), values, column, figure_for, total_key=total_key
    )
    table = Table(
        key=BY_SCHOOL,
        title=rollup.title,
        columns=[column],
        rows=rows,
        notes=[note] if note else [],
    )
    return table, figures


def type_column(
    rollup: Rollup,
    *,
    column: TableColumn,
    values: Mapping[str, Number],
    total_key: str,
    figure_for: Callable[[str, Number], Figure],
    note: str = "",
) -> tuple[Table | None, list[Figure]]:
    """One provider's column of the by-type table; None when the unit has only one type of
    school (the by-school table says it all)."""
    if len(rollup.types) < 2:
        return None, []
    rows, figures = _rows(
        (value for value, _label in rollup.types), values, column, figure_for, total_key=total_key
    )
    table = Table(
        key=BY_TYPE,
        title="各类学校基本情况",
        columns=[column],
        rows=rows,
        notes=[note] if note else [],
    )
    return table, figures


def row_label(rollup: Rollup, key: str) -> str:
    """How a by-school row is named in a figure label."""
    if key == OTHER:
        return OTHER_LABEL
    row = rollup.row(key)
    return row.name if row else key


def type_label(key: str) -> str:
    if key == OTHER:
        return OTHER_LABEL
    return str(SchoolType(key).label) if key in SchoolType.values else key
