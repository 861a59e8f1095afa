"""Reads for work summaries; rendering composes the domain providers (read only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import scope_for, unit_ancestors, unit_subtree
from xiaowu.org.models import OrgUnit
from xiaowu.org.selectors import term_current
from xiaowu.reports.agreement import (
    AgreementItemSpec,
    AgreementSpec,
    ItemResult,
    evaluate,
    metric_catalogue,
    target_text,
)
from xiaowu.reports.document import Figure, Table
from xiaowu.reports.generator import GeneratedSummary, ManualText, summary_generate
from xiaowu.reports.models import (
    AgreementCategory,
    AgreementItem,
    ImprovementGoal,
    SummaryTemplate,
    SummaryText,
    SummaryTextVersion,
    SummaryVariant,
    TargetResponsibilityAgreement,
    TextSlot,
    WorkSummary,
)
from xiaowu.reports.period import (
    Period,
    PeriodKind,
    calendar_year_period,
    school_year_period,
)
from xiaowu.reports.providers import Metric
from xiaowu.reports.registry import PROVIDERS

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


def work_summary_list(*, actor: User) -> QuerySet[WorkSummary]:
    return WorkSummary.objects.visible_to(actor).select_related("org_unit", "created_by")


def work_summary_get(*, actor: User, summary_id: int) -> WorkSummary:
    """Return the summary, or raise Http404 when its unit is outside the actor's scope."""
    return get_object_or_404(work_summary_list(actor=actor), pk=summary_id)


def summary_period(summary: WorkSummary) -> Period:
    return Period(
        PeriodKind(summary.period_kind), summary.start_on, summary.end_on, summary.period_label
    )


def summary_texts(*, summary: WorkSummary) -> list[SummaryText]:
    return list(summary.texts.order_by("slot", "position", "id"))


def summary_text_get(*, actor: User, text_id: int) -> SummaryText:
    visible = SummaryText.objects.filter(summary__in=work_summary_list(actor=actor).values("pk"))
    return get_object_or_404(visible.select_related("summary"), pk=text_id)


def summary_text_versions(*, text: SummaryText) -> list[SummaryTextVersion]:
    return list(text.versions.select_related("edited_by").order_by("-version"))


def manual_text(*, summary: WorkSummary) -> ManualText:
    by_slot: dict[str, list[str]] = {slot: [] for slot in TextSlot.values}
    for text in summary_texts(summary=summary):
        by_slot[text.slot].append(text.body)
    return ManualText(
        lead=by_slot[TextSlot.LEAD],
        main=by_slot[TextSlot.MAIN],
        highlights=by_slot[TextSlot.HIGHLIGHTS],
        problems=by_slot[TextSlot.PROBLEMS],
        plans=by_slot[TextSlot.PLANS],
        closing=by_slot[TextSlot.CLOSING],
    )


def work_summary_render(*, actor: User, summary: WorkSummary) -> GeneratedSummary:
    """Generate the summary's data text for ``actor`` and merge the stored people's text."""
    agreement = None
    if summary.variant == SummaryVariant.AGREEMENT:
        found = agreement_for_period(
            actor=actor,
            unit_id=summary.org_unit_id,
            start_on=summary.start_on,
            end_on=summary.end_on,
        )
        agreement = agreement_spec(agreement=found) if found is not None else None
    return summary_generate(
        actor=actor,
        unit=summary.org_unit,
        period=summary_period(summary),
        manual=manual_text(summary=summary),
        variant=summary.variant,
        agreement=agreement,
    )


def improvement_goal_list(
    *, actor: User, unit_id: int | None = None, status: str = ""
) -> QuerySet[ImprovementGoal]:
    goals = ImprovementGoal.objects.visible_to(actor)
    if unit_id:
        goals = goals.filter(org_unit_id=unit_id)
    if status:
        goals = goals.filter(status=status)
    return goals.select_related("org_unit", "owner", "summary")


def improvement_goal_get(*, actor: User, goal_id: int) -> ImprovementGoal:
    return get_object_or_404(improvement_goal_list(actor=actor), pk=goal_id)


def figure_payload(summary: GeneratedSummary) -> dict[str, Any]:
    """The JSON form: the section tree with every number, its definition and query."""
    document = summary.document

    def paragraph(p: Any) -> dict[str, Any]:
        return {
            "text": p.text(document.figures),
            "manual": p.manual,
            "pending": p.pending,
            "figures": [run.key for run in p.runs if not isinstance(run, str)],
        }

    def table(t: Table) -> dict[str, Any]:
        return {
            "key": t.key,
            "number": t.number,
            "title": t.title,
            "caption": t.caption,
            "columns": [
                {
                    "key": c.key,
                    "label": c.label,
                    "unit": c.unit,
                    "numeric": c.numeric,
                    "summable": c.summable,
                }
                for c in t.columns
            ],
            "rows": [
                {
                    "key": r.key,
                    "total": r.total,
                    "cells": {
                        c.key: {
                            "text": t.cell_text(r, c, document.figures),
                            "figure": getattr(r.cells.get(c.key), "key", None),
                        }
                        for c in t.columns
                    },
                }
                for r in t.rows
            ],
            "note": t.note,
        }

    def section(s: Any) -> dict[str, Any]:
        return {
            "title": s.title,
            "key": s.key,
            "paragraphs": [paragraph(p) for p in s.paragraphs],
            "tables": [table(t) for t in s.tables],
            "children": [section(c) for c in s.children],
        }

    return {
        "title": document.title,
        "lead": [paragraph(p) for p in document.lead],
        "sections": [section(s) for s in document.sections],
        "closing": [paragraph(p) for p in document.closing],
        "signatory": document.signatory,
        "issued_on": document.issued_on.isoformat() if document.issued_on else None,
        "figures": {
            key: {
                "label": f.label,
                "value": str(f.value),
                "unit": f.unit,
                "definition": f.definition,
                "query": dict(f.query),
                "url": f.url,
                "parts": list(f.parts),
                "numerator": f.numerator,
                "denominator": f.denominator,
                "scale": f.scale if f.numerator else None,
            }
            for key, f in document.figures.items()
        },
        "signals": [
            {"key": s.key, "problem": s.problem, "measure": s.measure, "severity": s.severity}
            for s in summary.signals
        ],
    }


SUMMARY_UNIT_KINDS = ("bureau", "school_district", "school")


def summary_writable_units(*, actor: User) -> QuerySet[OrgUnit]:
    """The 教育局 / 学区 / 学校 units the actor may write a summary for, topmost first."""
    scope = scope_for(actor)
    units = OrgUnit.objects.visible_to(actor).filter(kind__in=SUMMARY_UNIT_KINDS, is_active=True)
    if not scope.is_global:
        units = units.filter(pk__in=unit_subtree(scope.roots_with_perm(Perm.REPORTS_MANAGE)))
    return units.order_by("depth", "code")


# --------------------------------------------------------------------------- 目标责任书


def agreement_list(
    *, actor: User, unit_id: int | None = None
) -> QuerySet[TargetResponsibilityAgreement]:
    agreements = TargetResponsibilityAgreement.objects.visible_to(actor)
    if unit_id:
        agreements = agreements.filter(org_unit_id=unit_id)
    return agreements.select_related("org_unit", "created_by")


def agreement_get(*, actor: User, agreement_id: int) -> TargetResponsibilityAgreement:
    """Return the agreement, or raise Http404 when its unit is outside the actor's scope."""
    return get_object_or_404(agreement_list(actor=actor), pk=agreement_id)


def agreement_items(*, agreement: TargetResponsibilityAgreement) -> list[AgreementItem]:
    return list(agreement.items.order_by("position", "id"))


def agreement_item_get(*, actor: User, item_id: int) -> AgreementItem:
    visible = AgreementItem.objects.filter(
        agreement__in=agreement_list(actor=actor).values("pk")
    ).select_related("agreement", "agreement__org_unit")
    return get_object_or_404(visible, pk=item_id)


def agreement_for_period(
    *, actor: User, unit_id: int, start_on: date, end_on: date
) -> TargetResponsibilityAgreement | None:
    """The unit's agreement that overlaps the period most (an agreement for the 学年 serves
    its two terms' reports too)."""
    candidates = agreement_list(actor=actor, unit_id=unit_id).filter(
        start_on__lte=end_on, end_on__gte=start_on
    )

    def overlap(agreement: TargetResponsibilityAgreement) -> int:
        return (min(agreement.end_on, end_on) - max(agreement.start_on, start_on)).days

    return max(candidates, key=overlap, default=None)


def agreement_metrics() -> list[Metric]:
    """The figures an item can be measured by, as the registered providers declare them."""
    return metric_catalogue(PROVIDERS)


def agreement_spec(*, agreement: TargetResponsibilityAgreement) -> AgreementSpec:
    labels = dict(AgreementCategory.choices)
    return AgreementSpec(
        pk=agreement.pk,
        title=agreement.title,
        unit_name=agreement.org_unit.name,
        period_label=agreement.period_label,
        items=tuple(
            AgreementItemSpec(
                pk=item.pk,
                category=item.category,
                category_label=str(labels.get(item.category, item.category)),
                title=item.title,
                target_text=item.target_text,
                weight=item.weight,
                metric=item.metric,
                comparator=item.comparator,
                target_value=item.target_value,
                achieved_text=item.achieved_text,
                self_score=item.self_score,
            )
            for item in sorted(
                agreement_items(agreement=agreement),
                key=lambda i: (list(labels).index(i.category), i.position, i.pk),
            )
        ),
    )


@dataclass
class AgreementEvaluation:
    """The items of an agreement judged against the data of its period (the detail page)."""

    results: list[ItemResult]
    figures: dict[str, Figure]
    targets: list[str]  # 目标要求 of each result, as the report writes it

    @property
    def rows(self) -> list[tuple[ItemResult, str]]:
        return list(zip(self.results, self.targets, strict=True))


def agreement_evaluation(
    *, actor: User, agreement: TargetResponsibilityAgreement
) -> AgreementEvaluation:
    spec = agreement_spec(agreement=agreement)
    period = Period(
        PeriodKind(agreement.period_kind),
        agreement.start_on,
        agreement.end_on,
        agreement.period_label,
    )
    document = summary_generate(
        actor=actor, unit=agreement.org_unit, period=period, variant="agreement", agreement=spec
    ).document
    metrics = {m.key: m for m in agreement_metrics()}
    return AgreementEvaluation(
        results=[evaluate(item, document.figures) for item in spec.items],
        figures=document.figures,
        targets=[target_text(item, metrics) for item in spec.items],
    )


def agreement_summary(
    *, actor: User, agreement: TargetResponsibilityAgreement
) -> WorkSummary | None:
    """The 考核汇报材料 already written for the agreement's unit and period, if any."""
    return (
        work_summary_list(actor=actor)
        .filter(
            org_unit_id=agreement.org_unit_id,
            variant=SummaryVariant.AGREEMENT,
            start_on=agreement.start_on,
            end_on=agreement.end_on,
        )
        .first()
    )


# --------------------------------------------------------------------------- school templates


def summary_template_list(*, actor: User) -> QuerySet[SummaryTemplate]:
    """Current templates the actor may manage (in their organisational scope)."""
    return (
        SummaryTemplate.objects.visible_to(actor)
        .filter(is_current=True)
        .select_related("org_unit", "uploaded_by")
        .defer("content")
        .order_by("org_unit__depth", "org_unit__code", "name")
    )


def summary_template_inherited(*, actor: User) -> QuerySet[SummaryTemplate]:
    """Current templates of the units above the actor's scope (e.g. a 教育局's prescribed
    format): usable for the actor's summaries, not manageable by the actor."""
    scope = scope_for(actor)
    if scope.is_global or not scope.org_roots:
        return SummaryTemplate.objects.none()
    above = Q()
    for root in scope.org_roots:
        above |= Q(org_unit__in=unit_ancestors(root))
    return (
        SummaryTemplate.objects.filter(above, is_current=True)
        .exclude(org_unit__in=unit_subtree(scope.org_roots))
        .select_related("org_unit", "uploaded_by")
        .defer("content")
        .order_by("org_unit__depth", "name")
    )


def summary_template_get(*, actor: User, template_id: int) -> SummaryTemplate:
    """A template the actor manages or inherits (404 otherwise), with its versions' owner."""
    usable = Q(pk__in=SummaryTemplate.objects.visible_to(actor).values("pk")) | Q(
        pk__in=summary_template_inherited(actor=actor).values("pk")
    )
    template: SummaryTemplate = get_object_or_404(
        SummaryTemplate.objects.select_related("org_unit").filter(usable), pk=template_id
    )
    return template


def summary_template_versions(*, template: SummaryTemplate) -> list[SummaryTemplate]:
    return list(
        SummaryTemplate.objects.filter(org_unit_id=template.org_unit_id, name=template.name)
        .defer("content")
        .select_related("uploaded_by")
        .order_by("-version")
    )


def summary_templates_for_unit(*, unit: OrgUnit) -> list[SummaryTemplate]:
    """Current templates usable for a summary of ``unit``: its own and those of the units
    above it (nearest first). The caller has already checked that the summary is visible."""
    return list(
        SummaryTemplate.objects.filter(org_unit__in=unit_ancestors(unit.pk), is_current=True)
        .select_related("org_unit")
        .defer("content")
        .order_by("-org_unit__depth", "name")
    )


def summary_template_usable(*, unit: OrgUnit, template_id: int) -> SummaryTemplate | None:
    """The template ``template_id`` with its content, if it is one of ``unit``'s usable
    templates (``summary_templates_for_unit``); else None."""
    usable = {template.pk for template in summary_templates_for_unit(unit=unit)}
    return SummaryTemplate.objects.get(pk=template_id) if template_id in usable else None


def current_period() -> Period:
    """The current term (from the calendar), or the calendar year when none is recorded."""
    today = timezone.localdate()
    term = term_current(on=today)
    if term is not None:
        return school_year_period(term.school_year.name, term.number)
    return calendar_year_period(today.year)


# Figures that only fill table cells (one per school or type) are left out of the list.
_TABLE_ONLY = (".by_school.", ".by_type.", "agreement.items.", "basic.by_")


def template_figure_keys(*, actor: User, unit: OrgUnit) -> list[Figure]:
    """The figures of ``unit``'s summary for the current term that a template can cite as
    ``figures['key']`` (generated, so the list is what the code produces today)."""
    figures = summary_generate(actor=actor, unit=unit, period=current_period()).document.figures
    return [f for key, f in figures.items() if not any(part in key for part in _TABLE_ONLY)]
