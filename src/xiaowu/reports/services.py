"""Writes for work summaries: create, people's paragraphs (versioned), improvement goals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import has_perm_at
from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record
from xiaowu.org.models import OrgUnit
from xiaowu.reports.generator import summary_title
from xiaowu.reports.models import (
    GoalSource,
    GoalStatus,
    ImprovementGoal,
    SummaryText,
    SummaryTextVersion,
    SummaryVariant,
    TextSlot,
    WorkSummary,
)
from xiaowu.reports.period import Period

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


def _require_manage(actor: User, unit_id: int) -> None:
    if not has_perm_at(actor, Perm.REPORTS_MANAGE, unit_id):
        raise PermissionDenied("您无权编写该单位的工作总结。")


@transaction.atomic
def work_summary_create(
    *, actor: User, unit: OrgUnit, period: Period, variant: str = SummaryVariant.SUMMARY
) -> WorkSummary:
    _require_manage(actor, unit.pk)
    if variant not in SummaryVariant.values:
        raise ValidationError({"variant": "未知的总结类型。"})
    summary = WorkSummary.objects.create(
        org_unit=unit,
        period_kind=period.kind,
        start_on=period.start_on,
        end_on=period.end_on,
        period_label=period.label,
        variant=variant,
        title=summary_title(unit, period, variant=variant),
        created_by=actor if actor.pk else None,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="reports.work_summary_create",
        target=summary,
        org_unit_id=unit.pk,
        changes={"after": {"title": summary.title, "period": period.label}},
    )
    return summary


@transaction.atomic
def summary_text_add(*, actor: User, summary: WorkSummary, slot: str, body: str) -> SummaryText:
    _require_manage(actor, summary.org_unit_id)
    if slot not in TextSlot.values:
        raise ValidationError({"slot": "未知的段落位置。"})
    if not body.strip():
        raise ValidationError({"body": "请填写段落内容。"})
    last = summary.texts.filter(slot=slot).aggregate(m=Max("position"))["m"]
    text = SummaryText.objects.create(
        summary=summary, slot=slot, body=body.strip(), position=(last or 0) + 1
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="reports.summary_text_add",
        target=summary,
        org_unit_id=summary.org_unit_id,
        changes={"after": {"slot": slot, "body": text.body}},
    )
    return text


@transaction.atomic
def summary_text_update(*, actor: User, text: SummaryText, body: str, version: int) -> SummaryText:
    """Replace a paragraph, keeping the previous text as a version; refuse stale edits."""
    _require_manage(actor, text.summary.org_unit_id)
    locked = SummaryText.objects.select_for_update().get(pk=text.pk)
    if locked.version != version:
        raise ValidationError("该段落已被他人修改，请刷新页面后重试。", code="stale")
    if not body.strip():
        raise ValidationError({"body": "请填写段落内容。"})
    if body.strip() == locked.body:
        return locked
    SummaryTextVersion.objects.create(
        text=locked,
        summary_id=locked.summary_id,
        version=locked.version,
        body=locked.body,
        edited_by=actor if actor.pk else None,
    )
    before = locked.body
    locked.body = body.strip()
    locked.version = version + 1
    locked.save(update_fields=["body", "version", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event="reports.summary_text_update",
        target=locked.summary,
        org_unit_id=locked.summary.org_unit_id,
        changes={"body": {"before": before, "after": locked.body}},
    )
    return locked


@transaction.atomic
def summary_text_delete(*, actor: User, text: SummaryText) -> None:
    summary = text.summary
    _require_manage(actor, summary.org_unit_id)
    SummaryTextVersion.objects.create(
        text=None,
        summary=summary,
        version=text.version,
        body=text.body,
        edited_by=actor if actor.pk else None,
    )
    body = text.body
    text.delete()
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        event="reports.summary_text_delete",
        target=summary,
        org_unit_id=summary.org_unit_id,
        changes={"before": {"body": body}},
    )


@transaction.atomic
def improvement_goal_create(
    *,
    actor: User,
    unit: OrgUnit,
    problem: str,
    measure: str,
    source: str,
    summary: WorkSummary | None = None,
    owner: User | None = None,
    due_on: date | None = None,
    signal_key: str = "",
    source_reference: str = "",
    raised_on: date | None = None,
) -> ImprovementGoal:
    """Turn a 存在问题 and its measure into a tracked goal with an owner and a due date."""
    _require_manage(actor, unit.pk)
    if not measure.strip():
        raise ValidationError({"measure": "请填写改进措施。"})
    goal = ImprovementGoal(
        org_unit=unit,
        summary=summary,
        problem=problem.strip(),
        measure=measure.strip(),
        owner=owner,
        due_on=due_on,
        source=source,
        signal_key=signal_key,
        source_reference=source_reference,
        raised_on=raised_on or timezone.localdate(),
    )
    goal.full_clean()
    goal.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="reports.goal_create",
        target=goal,
        org_unit_id=unit.pk,
        changes={"after": {"measure": goal.measure, "due_on": due_on, "source": source}},
    )
    return goal


@transaction.atomic
def improvement_goals_import(
    *, actor: User, unit: OrgUnit, items: Sequence[tuple[str, str, str]], raised_on: date
) -> list[ImprovementGoal]:
    """Create goals from (problem, measure, source reference) triples extracted from a paper
    summary of an earlier period."""
    return [
        improvement_goal_create(
            actor=actor,
            unit=unit,
            problem=problem,
            measure=measure or problem,
            source=GoalSource.IMPORTED,
            source_reference=reference,
            raised_on=raised_on,
        )
        for problem, measure, reference in items
    ]


@transaction.atomic
def improvement_goal_update(
    *,
    actor: User,
    goal: ImprovementGoal,
    status: str,
    note: str = "",
    completed_on: date | None = None,
) -> ImprovementGoal:
    _require_manage(actor, goal.org_unit_id)
    if status not in GoalStatus.values:
        raise ValidationError({"status": "未知的状态。"})
    before = {"status": goal.status, "note": goal.note}
    goal.status = status
    goal.note = note.strip()
    goal.completed_on = (
        (completed_on or timezone.localdate()) if status == GoalStatus.DONE else None
    )
    goal.full_clean()
    goal.save(update_fields=["status", "note", "completed_on", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event="reports.goal_update",
        target=goal,
        org_unit_id=goal.org_unit_id,
        changes={"before": before, "after": {"status": status, "note": goal.note}},
    )
    return goal
