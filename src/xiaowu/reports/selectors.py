"""Reads for work summaries; rendering composes the domain providers (read only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import scope_for, unit_subtree
from xiaowu.org.models import OrgUnit
from xiaowu.reports.generator import GeneratedSummary, ManualText, summary_generate
from xiaowu.reports.models import (
    ImprovementGoal,
    SummaryText,
    SummaryTextVersion,
    TextSlot,
    WorkSummary,
)
from xiaowu.reports.period import Period, PeriodKind

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
    return summary_generate(
        actor=actor,
        unit=summary.org_unit,
        period=summary_period(summary),
        manual=manual_text(summary=summary),
        variant=summary.variant,
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
            "figures": [run.key for run in p.runs if not isinstance(run, str)],
        }

    def section(s: Any) -> dict[str, Any]:
        return {
            "title": s.title,
            "key": s.key,
            "paragraphs": [paragraph(p) for p in s.paragraphs],
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
