"""Writes for work summaries: create, people's paragraphs (versioned), improvement goals,
目标责任书 and their items, school templates."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import has_perm_at
from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record
from xiaowu.org.models import OrgUnit
from xiaowu.reports.agreement import Comparator
from xiaowu.reports.docx_render import render_with_template, validate_template
from xiaowu.reports.generator import summary_generate, summary_title
from xiaowu.reports.models import (
    AgreementCategory,
    AgreementItem,
    GoalSource,
    GoalStatus,
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
)
from xiaowu.reports.school_templates import template_names
from xiaowu.reports.selectors import agreement_for_period, agreement_metrics, current_period

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
    if variant == SummaryVariant.AGREEMENT and (
        agreement_for_period(
            actor=actor, unit_id=unit.pk, start_on=period.start_on, end_on=period.end_on
        )
        is None
    ):
        raise ValidationError(
            {"variant": f"{unit.name}在{period.label}没有目标责任书，请先在“目标责任书”页面建立。"}
        )
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


# --------------------------------------------------------------------------- 目标责任书

AGREEMENT_UNIT_KINDS = ("bureau", "school_district", "school")


def _require_agreement_manage(actor: User, unit_id: int) -> None:
    if not has_perm_at(actor, Perm.REPORTS_MANAGE, unit_id):
        raise PermissionDenied("您无权管理该单位的目标责任书。")


@transaction.atomic
def agreement_create(
    *,
    actor: User,
    unit: OrgUnit,
    period: Period,
    title: str = "",
    signed_on: date | None = None,
    issuer: str = "",
    note: str = "",
    copy_from: TargetResponsibilityAgreement | None = None,
) -> TargetResponsibilityAgreement:
    """Create a unit's 目标责任书 for a period, optionally with the items of an earlier one
    (targets and weights; what was achieved and the scores start empty)."""
    _require_agreement_manage(actor, unit.pk)
    if unit.kind not in AGREEMENT_UNIT_KINDS:
        raise ValidationError({"unit": "目标责任书只能为学校、学区或教育局建立。"})
    exists = TargetResponsibilityAgreement.objects.filter(
        org_unit=unit, start_on=period.start_on, end_on=period.end_on
    ).exists()
    if exists:
        raise ValidationError({"period_kind": f"{unit.name}在{period.label}已有目标责任书。"})
    agreement = TargetResponsibilityAgreement.objects.create(
        org_unit=unit,
        title=title.strip() or f"{unit.name}{period.label}目标责任书",
        period_kind=period.kind,
        start_on=period.start_on,
        end_on=period.end_on,
        period_label=period.label,
        signed_on=signed_on,
        issuer=issuer.strip() or (unit.parent.name if unit.parent else ""),
        note=note.strip(),
        created_by=actor if actor.pk else None,
    )
    copied = 0
    if copy_from is not None:
        AgreementItem.objects.bulk_create(
            AgreementItem(
                agreement=agreement,
                category=item.category,
                position=item.position,
                title=item.title,
                target_text=item.target_text,
                weight=item.weight,
                metric=item.metric,
                comparator=item.comparator,
                target_value=item.target_value,
            )
            for item in copy_from.items.order_by("position", "id")
        )
        copied = agreement.items.count()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="reports.agreement_create",
        target=agreement,
        org_unit_id=unit.pk,
        changes={
            "after": {"title": agreement.title, "period": period.label, "items_copied": copied}
        },
    )
    return agreement


@transaction.atomic
def agreement_delete(*, actor: User, agreement: TargetResponsibilityAgreement) -> None:
    _require_agreement_manage(actor, agreement.org_unit_id)
    before = {"title": agreement.title, "items": agreement.items.count()}
    unit_id = agreement.org_unit_id
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        event="reports.agreement_delete",
        target=agreement,
        org_unit_id=unit_id,
        changes={"before": before},
    )
    agreement.delete()


ITEM_FIELDS = (
    "category",
    "title",
    "target_text",
    "weight",
    "metric",
    "comparator",
    "target_value",
    "achieved_text",
    "self_score",
)


def _clean_item(data: dict[str, Any]) -> dict[str, Any]:
    """Validate an item's fields; messages name the field (表单字段) and the rule."""
    errors: dict[str, str] = {}
    if data.get("category") not in AgreementCategory.values:
        errors["category"] = "请选择考核类别。"
    if not str(data.get("title") or "").strip():
        errors["title"] = "请填写考核项目。"
    weight = data.get("weight")
    if weight is None or Decimal(weight) <= 0:
        errors["weight"] = "分值必须大于0。"
    metric = data.get("metric") or ""
    known = {m.key for m in agreement_metrics()}
    if metric and metric not in known:
        errors["metric"] = "未知的数据指标。"
    if metric and not data.get("comparator"):
        errors["comparator"] = "选择了数据指标时，请选择比较方式（不低于 / 不高于 / 达到）。"
    if data.get("comparator") and data["comparator"] not in {c.value for c in Comparator}:
        errors["comparator"] = "未知的比较方式。"
    if metric and data.get("target_value") is None:
        errors["target_value"] = "选择了数据指标时，请填写目标值。"
    if not metric and not str(data.get("target_text") or "").strip():
        errors["target_text"] = "没有数据指标的项目，请填写目标要求。"
    score = data.get("self_score")
    if score is not None and weight is not None and not 0 <= Decimal(score) <= Decimal(weight):
        errors["self_score"] = f"自评得分应在0到{Decimal(weight).normalize():f}分之间。"
    if errors:
        raise ValidationError(errors)
    cleaned = {name: data.get(name) for name in ITEM_FIELDS}
    for name in ("title", "target_text", "achieved_text"):
        cleaned[name] = str(cleaned[name] or "").strip()
    cleaned["metric"] = metric
    cleaned["comparator"] = data.get("comparator") or "" if metric else ""
    cleaned["target_value"] = data.get("target_value") if metric else None
    return cleaned


@transaction.atomic
def agreement_item_create(
    *, actor: User, agreement: TargetResponsibilityAgreement, **fields: Any
) -> AgreementItem:
    _require_agreement_manage(actor, agreement.org_unit_id)
    cleaned = _clean_item(fields)
    last = agreement.items.aggregate(m=Max("position"))["m"]
    item = AgreementItem.objects.create(agreement=agreement, position=(last or 0) + 1, **cleaned)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="reports.agreement_item_create",
        target=agreement,
        org_unit_id=agreement.org_unit_id,
        changes={"after": {k: str(v) for k, v in cleaned.items() if v not in (None, "")}},
    )
    return item


@transaction.atomic
def agreement_item_update(*, actor: User, item: AgreementItem, **fields: Any) -> AgreementItem:
    agreement = item.agreement
    _require_agreement_manage(actor, agreement.org_unit_id)
    cleaned = _clean_item(fields)
    changes = {
        name: {"before": str(getattr(item, name)), "after": str(value)}
        for name, value in cleaned.items()
        if getattr(item, name) != value
    }
    for name, value in cleaned.items():
        setattr(item, name, value)
    item.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event="reports.agreement_item_update",
        target=agreement,
        org_unit_id=agreement.org_unit_id,
        changes=changes,
    )
    return item


@transaction.atomic
def agreement_item_delete(*, actor: User, item: AgreementItem) -> None:
    agreement = item.agreement
    _require_agreement_manage(actor, agreement.org_unit_id)
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        event="reports.agreement_item_delete",
        target=agreement,
        org_unit_id=agreement.org_unit_id,
        changes={"before": {"title": item.title, "weight": str(item.weight)}},
    )
    item.delete()


@transaction.atomic
def agreement_report_create(
    *, actor: User, agreement: TargetResponsibilityAgreement, existing: WorkSummary | None = None
) -> WorkSummary:
    """The 目标责任书考核汇报材料 for the agreement's unit and period (created once)."""
    if existing is not None:
        return existing
    return work_summary_create(
        actor=actor,
        unit=agreement.org_unit,
        period=Period(
            PeriodKind(agreement.period_kind),
            agreement.start_on,
            agreement.end_on,
            agreement.period_label,
        ),
        variant=SummaryVariant.AGREEMENT,
    )


# --------------------------------------------------------------------------- school templates


def template_trial_document(*, actor: User, unit: OrgUnit) -> Any:
    """The document a new template is tried on: the unit's summary for the current term."""
    return summary_generate(actor=actor, unit=unit, period=current_period()).document


@transaction.atomic
def summary_template_upload(
    *, actor: User, unit: OrgUnit, name: str, filename: str, data: bytes
) -> SummaryTemplate:
    """Store a school's .docx template after checking it is safe (``validate_template``) and
    that it fills in: it is tried on the unit's current summary, so an unknown placeholder or
    a syntax error is reported now (in Chinese) rather than when someone downloads.

    A new name starts at version 1; the same name again adds a version and makes it current.
    """
    _require_manage(actor, unit.pk)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "请填写模板名称。"})
    if not filename.lower().endswith(".docx"):
        raise ValidationError({"file": "请上传 Word 的 .docx 文件（不支持 .doc、.docm、.wps）。"})
    try:
        validate_template(data)
    except ValueError as exc:
        raise ValidationError({"file": str(exc)}) from exc
    try:
        render_with_template(template_trial_document(actor=actor, unit=unit), data)
    except ValueError as exc:
        raise ValidationError({"file": f"用本单位本期数据试生成失败：{exc}"}) from exc
    versions = SummaryTemplate.objects.select_for_update().filter(org_unit=unit, name=name)
    latest = versions.aggregate(m=Max("version"))["m"] or 0
    versions.filter(is_current=True).update(is_current=False)
    template = SummaryTemplate.objects.create(
        org_unit=unit,
        name=name,
        version=latest + 1,
        is_current=True,
        original_name=filename[-200:],
        content=data,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        placeholders=template_names(data),
        uploaded_by=actor if actor.pk else None,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="reports.summary_template_upload",
        target=template,
        org_unit_id=unit.pk,
        changes={"after": {"name": name, "version": template.version, "sha256": template.sha256}},
    )
    return template


@transaction.atomic
def summary_template_retire(*, actor: User, template: SummaryTemplate) -> None:
    """Stop offering a template (all its versions stay stored for the record)."""
    _require_manage(actor, template.org_unit_id)
    SummaryTemplate.objects.filter(
        org_unit_id=template.org_unit_id, name=template.name, is_current=True
    ).update(is_current=False)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event="reports.summary_template_retire",
        target=template,
        org_unit_id=template.org_unit_id,
        changes={"before": {"name": template.name, "is_current": True}},
    )
