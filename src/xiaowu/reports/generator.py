"""Compose a work summary (工作总结) for any org unit and period from the domain providers.

Skeleton (domain.md §4.2): 标题, 导语, 一、基本情况, 二、主要工作及成效 (one subsection per domain
with data in the period), 三、特色亮点, 四、存在问题, 五、下一步打算, 落款 and date.

The 目标责任书考核汇报材料 variant follows the seed 003-3: 一、基本情况, 二、责任书落实情况 (one
subsection per 考核类别, the items with target, achieved figure and self-assessed score, and
the self-assessment table), 三、其他主要工作, 四、特色工作, 五、存在的问题, 六、下一步打算.
Tables are numbered 表1, 表2 … in reading order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.urls import reverse
from django.utils import timezone

from xiaowu.accounts.models import User
from xiaowu.org.models import OrgUnit
from xiaowu.reports.agreement import AgreementSpec, agreement_part, metric_catalogue
from xiaowu.reports.document import (
    Figure,
    FigureRef,
    HeadingLevel,
    Paragraph,
    Section,
    SummaryDocument,
    Table,
    TableColumn,
    TableRow,
)
from xiaowu.reports.period import Period
from xiaowu.reports.providers import Contribution, SectionProvider, Signal, Slot, SummaryContext
from xiaowu.reports.registry import PROVIDERS

CHINESE_ORDINALS = "一二三四五六七八九十"


@dataclass(frozen=True)
class ManualText:
    """User-written paragraphs to merge into the generated skeleton, by section key."""

    lead: Sequence[str] = ()
    main: Sequence[str] = ()
    highlights: Sequence[str] = ()
    problems: Sequence[str] = ()
    plans: Sequence[str] = ()
    closing: Sequence[str] = ()


@dataclass
class GeneratedSummary:
    document: SummaryDocument
    signals: list[Signal] = field(default_factory=list)


def summary_title(unit: OrgUnit, period: Period, *, variant: str = "summary") -> str:
    if variant == "agreement":
        return f"{unit.name}{period.label}目标责任书考核汇报材料"
    return f"{unit.name}{period.label}工作总结"


def _manual(texts: Sequence[str], prefix: str) -> list[Paragraph]:
    return [
        Paragraph(runs=[text], key=f"{prefix}.{n}", manual=True)
        for n, text in enumerate(texts)
        if text.strip()
    ]


def summary_generate(
    *,
    actor: User,
    unit: OrgUnit,
    period: Period,
    manual: ManualText | None = None,
    variant: str = "summary",
    agreement: AgreementSpec | None = None,
    providers: Sequence[SectionProvider] = PROVIDERS,
    today: date | None = None,
) -> GeneratedSummary:
    """Build the summary document. ``unit`` must already be visible to ``actor``: callers get it
    through ``org.selectors.org_unit_get``, and every provider reads through scoped selectors.

    ``variant="agreement"`` builds the 目标责任书考核汇报材料 from ``agreement`` (its items with
    targets, achieved figures and self-assessed scores) around the same data sections.
    """
    manual = manual or ManualText()
    ctx = SummaryContext(actor=actor, unit=unit, period=period, today=today or timezone.localdate())
    contributions: list[Contribution] = []
    for provider in sorted(providers, key=lambda p: p.order):
        contributions += provider.contribute(ctx)
    figures: dict[str, Figure] = {}
    for contribution in contributions:
        for figure in contribution.figures:
            figures[figure.key] = figure
    signals = [signal for c in contributions for signal in c.signals]

    def slot_sections(slot: Slot) -> list[Section]:
        return [s for c in contributions if c.slot == slot for s in c.sections]

    def slot_paragraphs(slot: Slot) -> list[Paragraph]:
        return [p for s in slot_sections(slot) for p in s.paragraphs]

    basic_tables = merge_tables([t for s in slot_sections(Slot.BASIC) for t in s.tables])
    basic = Section(
        title="基本情况", paragraphs=slot_paragraphs(Slot.BASIC), key="basic", tables=basic_tables
    )
    main_children = [
        Section(
            title=s.title,
            level=HeadingLevel.SUBSECTION,
            paragraphs=s.paragraphs,
            children=s.children,
            key=s.key,
            tables=s.tables,
        )
        for s in slot_sections(Slot.MAIN)
    ]
    main_manual = _manual(manual.main, "main.manual")
    highlights = sorted(
        (h for c in contributions for h in c.highlights), key=lambda h: -h.weight
    )  # stable: equal weights keep the providers' order
    highlight_paragraphs = (
        [h.paragraph for h in highlights]
        + slot_paragraphs(Slot.HIGHLIGHT)
        + _manual(manual.highlights, "highlights.manual")
    )

    lead = _manual(manual.lead, "lead.manual")
    sections: list[Section] = [basic]
    is_agreement = variant == "agreement"
    if is_agreement:
        part = agreement_part(
            agreement
            or AgreementSpec(pk=0, title="目标责任书", unit_name=unit.name, period_label=""),
            figures,
            we=ctx.we,
            period_label=period.label,
            metrics={m.key: m for m in metric_catalogue(providers)},
            url=(
                reverse("reports:agreement_detail", args=[agreement.pk])
                if agreement is not None and agreement.pk
                else ""
            ),
        )
        for figure in part.figures:
            figures[figure.key] = figure
        signals += part.signals
        sections.append(part.section)
        lead = lead or part.lead
        if main_children or main_manual:
            sections.append(
                Section(
                    title="其他主要工作",
                    paragraphs=main_manual,
                    children=main_children,
                    key="main",
                )
            )
    elif main_children or main_manual:
        sections.append(
            Section(
                title="主要工作及成效", paragraphs=main_manual, children=main_children, key="main"
            )
        )
    if highlight_paragraphs:
        sections.append(
            Section(
                title="特色工作" if is_agreement else "特色亮点",
                paragraphs=highlight_paragraphs,
                key="highlights",
            )
        )
    signals.sort(key=lambda s: (-s.severity, s.key))
    problem_texts = [s.problem for s in signals] + [t for t in manual.problems if t.strip()]
    plan_texts = [s.measure for s in signals] + [t for t in manual.plans if t.strip()]
    if problem_texts:
        sections.append(
            Section(
                title="存在的问题" if is_agreement else "存在问题",
                paragraphs=_numbered(problem_texts, "problems"),
                key="problems",
            )
        )
    if plan_texts:
        sections.append(
            Section(title="下一步打算", paragraphs=_numbered(plan_texts, "plans"), key="plans")
        )
    for index, section in enumerate(sections):
        section.title = f"{CHINESE_ORDINALS[index]}、{section.title}"
        for child_index, child in enumerate(section.children):
            child.title = f"（{CHINESE_ORDINALS[child_index]}）{child.title}"
            for item_index, item in enumerate(child.children, start=1):
                if item.level is HeadingLevel.ITEM:
                    item.title = f"{item_index}.{item.title}"

    lead = lead or [
        Paragraph(
            runs=[
                f"{period.label}，{ctx.we}在上级教育部门的指导下，扎实推进各项工作。现将有关情况总结如下："
            ],
            key="lead",
        )
    ]
    document = SummaryDocument(
        title=summary_title(unit, period, variant=variant),
        lead=lead,
        sections=sections,
        closing=_manual(manual.closing, "closing.manual"),
        signatory=unit.name,
        issued_on=ctx.today,
        figures=figures,
    )
    for number, table in enumerate(document.tables(), start=1):
        derive_columns(table, figures)
        table.number = number
    return GeneratedSummary(document=document, signals=signals)


def merge_tables(tables: Sequence[Table]) -> list[Table]:
    """Merge the parts of tables several providers fill (same ``key``): columns are appended
    in provider order, rows matched by key; a row only one provider knows (e.g. the staff of
    the 学区 office) is inserted before the 合计 row."""
    merged: dict[str, Table] = {}
    for part in tables:
        table = merged.get(part.key)
        if table is None:
            merged[part.key] = Table(
                key=part.key,
                title=part.title,
                columns=list(part.columns),
                rows=[TableRow(key=r.key, cells=dict(r.cells), total=r.total) for r in part.rows],
                notes=list(part.notes),
                wrap_text=part.wrap_text,
            )
            continue
        known = {c.key for c in table.columns}
        table.columns += [c for c in part.columns if c.key not in known]
        rows = {r.key: r for r in table.rows}
        for row in part.rows:
            if row.key in rows:
                for key, cell in row.cells.items():
                    rows[row.key].cells.setdefault(key, cell)
                continue
            copy = TableRow(key=row.key, cells=dict(row.cells), total=row.total)
            first_total = next((i for i, r in enumerate(table.rows) if r.total), len(table.rows))
            table.rows.insert(len(table.rows) if row.total else first_total, copy)
            rows[row.key] = copy
        table.notes += [n for n in part.notes if n not in table.notes]
    for table in merged.values():
        table.columns.sort(key=lambda c: c.position)
    return list(merged.values())


def derive_columns(table: Table, figures: dict[str, Figure]) -> None:
    """Fill derived columns (numerator ÷ denominator × scale) row by row; drop a derived
    column whose terms are not both in the table."""
    keep: list[TableColumn] = []
    for column in table.columns:
        if not (column.numerator and column.denominator):
            keep.append(column)
            continue
        if table.column(column.numerator) is None or table.column(column.denominator) is None:
            continue
        keep.append(column)
        for row in table.rows:
            top, bottom = row.cells.get(column.numerator), row.cells.get(column.denominator)
            if not isinstance(top, FigureRef) or not isinstance(bottom, FigureRef):
                continue
            numerator, denominator = figures[top.key], figures[bottom.key]
            if Decimal(denominator.value) == 0:
                row.cells[column.key] = None
                continue
            exact = Decimal(numerator.value) * column.scale / Decimal(denominator.value)
            value = exact.quantize(Decimal(1).scaleb(-column.decimals), rounding=ROUND_HALF_UP)
            name = row.cells.get("name")
            figure = Figure(
                key=f"{table.key}.{row.key}.{column.key}",
                label=f"{name if isinstance(name, str) and not row.total else ''}{column.label}",
                value=value,
                unit=column.unit,
                definition=column.definition,
                numerator=numerator.key,
                denominator=denominator.key,
                scale=column.scale,
            )
            figures[figure.key] = figure
            row.cells[column.key] = FigureRef(figure.key)
    table.columns = keep


def _numbered(texts: Sequence[str], prefix: str) -> list[Paragraph]:
    ordinals = ("一是", "二是", "三是", "四是", "五是", "六是", "七是", "八是", "九是", "十是")
    return [
        Paragraph(
            runs=[f"{ordinals[n] if n < len(ordinals) else f'{n + 1}.'}{text.rstrip('。')}。"],
            key=f"{prefix}.{n}",
        )
        for n, text in enumerate(texts)
    ]
