"""Compose a work summary (工作总结) for any org unit and period from the domain providers.

Skeleton (domain.md §4.2): 标题, 导语, 一、基本情况, 二、主要工作及成效 (one subsection per domain
with data in the period), 三、特色亮点, 四、存在问题, 五、下一步打算, 落款 and date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from xiaowu.accounts.models import User
from xiaowu.org.models import OrgUnit
from xiaowu.reports.document import (
    Figure,
    HeadingLevel,
    Paragraph,
    Section,
    SummaryDocument,
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
    providers: Sequence[SectionProvider] = PROVIDERS,
    today: date | None = None,
) -> GeneratedSummary:
    """Build the summary document. ``unit`` must already be visible to ``actor``: callers get it
    through ``org.selectors.org_unit_get``, and every provider reads through scoped selectors."""
    manual = manual or ManualText()
    ctx = SummaryContext(actor=actor, unit=unit, period=period, today=today or timezone.localdate())
    contributions: list[Contribution] = []
    for provider in sorted(providers, key=lambda p: p.order):
        contributions += provider.contribute(ctx)
    figures: dict[str, Figure] = {}
    for contribution in contributions:
        for figure in contribution.figures:
            figures[figure.key] = figure
    signals = sorted(
        (signal for c in contributions for signal in c.signals), key=lambda s: (-s.severity, s.key)
    )

    def slot_paragraphs(slot: Slot) -> list[Paragraph]:
        return [
            p for c in contributions if c.slot == slot for s in c.sections for p in s.paragraphs
        ]

    def slot_sections(slot: Slot) -> list[Section]:
        return [s for c in contributions if c.slot == slot for s in c.sections]

    sections: list[Section] = []
    sections.append(Section(title="基本情况", paragraphs=slot_paragraphs(Slot.BASIC), key="basic"))
    main_children = [
        Section(title=s.title, level=HeadingLevel.SUBSECTION, paragraphs=s.paragraphs, key=s.key)
        for s in slot_sections(Slot.MAIN)
    ]
    main_manual = _manual(manual.main, "main.manual")
    if main_children or main_manual:
        sections.append(
            Section(
                title="主要工作及成效", paragraphs=main_manual, children=main_children, key="main"
            )
        )
    highlights = slot_paragraphs(Slot.HIGHLIGHT) + _manual(manual.highlights, "highlights.manual")
    if highlights:
        sections.append(Section(title="特色亮点", paragraphs=highlights, key="highlights"))
    problem_texts = [s.problem for s in signals] + [t for t in manual.problems if t.strip()]
    plan_texts = [s.measure for s in signals] + [t for t in manual.plans if t.strip()]
    if problem_texts:
        sections.append(
            Section(
                title="存在问题", paragraphs=_numbered(problem_texts, "problems"), key="problems"
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

    lead = _manual(manual.lead, "lead.manual") or [
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
    return GeneratedSummary(document=document, signals=signals)


def _numbered(texts: Sequence[str], prefix: str) -> list[Paragraph]:
    ordinals = ("一是", "二是", "三是", "四是", "五是", "六是", "七是", "八是", "九是", "十是")
    return [
        Paragraph(
            runs=[f"{ordinals[n] if n < len(ordinals) else f'{n + 1}.'}{text.rstrip('。')}。"],
            key=f"{prefix}.{n}",
        )
        for n, text in enumerate(texts)
    ]
