"""Import a previous paper summary (.docx/.txt, simplified or traditional): extract its
存在问题 and 下一步 items and turn them into tracked improvement goals."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record
from xiaowu.org.models import OrgUnit
from xiaowu.reports.extraction import (
    clean_text,
    extract_problems_and_plans,
    read_summary_file,
    split_documents,
)
from xiaowu.reports.services import improvement_goals_import

if TYPE_CHECKING:
    from xiaowu.accounts.models import User

UNPAIRED_PROBLEM = "（往期总结所列下一步打算）"


@dataclass(frozen=True)
class ImportedGoal:
    problem: str
    measure: str
    reference: str

    def __str__(self) -> str:
        return f"{self.measure}（{self.reference}）"


@dataclass(frozen=True)
class ImportedDocument:
    index: int
    title: str
    problems: tuple[str, ...]
    plans: tuple[str, ...]
    goals: tuple[ImportedGoal, ...]
    problem_section: str  # present / empty / missing
    plan_section: str


@dataclass(frozen=True)
class GoalImportResult:
    documents: tuple[ImportedDocument, ...]
    converted_to_simplified: bool
    removed: tuple[str, ...]
    created_goal_ids: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _goals(document_index: int, extraction: Any) -> list[ImportedGoal]:
    problems = {item.ordinal: item for item in extraction.problems}
    plans = {item.ordinal: item for item in extraction.plans}
    goals: list[ImportedGoal] = []
    used_plans: set[int] = set()
    for problem_ordinal, plan_ordinal in extraction.pairs:
        problem = problems[problem_ordinal]
        reference = f"第{document_index}篇第{problem.source.line}行"
        if plan_ordinal is None:
            # The summary named the problem but no measure: the goal is to resolve it.
            goals.append(ImportedGoal(problem.text, problem.text, f"{reference}（原文无对应措施）"))
            continue
        used_plans.add(plan_ordinal)
        goals.append(ImportedGoal(problem.text, plans[plan_ordinal].text, reference))
    for ordinal, plan in plans.items():
        if ordinal not in used_plans:
            goals.append(
                ImportedGoal(
                    UNPAIRED_PROBLEM, plan.text, f"第{document_index}篇第{plan.source.line}行"
                )
            )
    return goals


def summary_goals_read(*, data: bytes, filename: str) -> tuple[list[ImportedDocument], Any]:
    """Read and extract without writing anything (the preview and ``--dry-run``)."""
    cleaned = clean_text(text=read_summary_file(data=data, filename=filename))
    documents: list[ImportedDocument] = []
    for source in split_documents(text=cleaned):
        extraction = extract_problems_and_plans(doc=source)
        documents.append(
            ImportedDocument(
                index=source.index,
                title=source.title,
                problems=tuple(item.text for item in extraction.problems),
                plans=tuple(item.text for item in extraction.plans),
                goals=tuple(_goals(source.index, extraction)),
                problem_section=str(extraction.problem_section.status),
                plan_section=str(extraction.plan_section.status),
            )
        )
    return documents, cleaned


@transaction.atomic
def summary_goals_import(
    *,
    actor: User,
    unit: OrgUnit,
    data: bytes,
    filename: str,
    dry_run: bool = False,
    raised_on: date | None = None,
) -> GoalImportResult:
    """Extract goals from a previous summary and (unless ``dry_run``) create them for ``unit``."""
    documents, cleaned = summary_goals_read(data=data, filename=filename)
    created: list[int] = []
    if not dry_run:
        items = [
            (g.problem, g.measure, f"{filename}：{g.reference}") for d in documents for g in d.goals
        ]
        goals = improvement_goals_import(
            actor=actor, unit=unit, items=items, raised_on=raised_on or timezone.localdate()
        )
        created = [goal.pk for goal in goals]
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT,
            event="reports.summary_goals_import",
            org_unit_id=unit.pk,
            changes={"file": filename, "documents": len(documents), "goals": len(created)},
        )
    return GoalImportResult(
        documents=tuple(documents),
        converted_to_simplified=bool(cleaned.converted_to_simplified),
        removed=tuple(f"{r.kind}：{r.snippet}" for r in cleaned.removed),
        created_goal_ids=tuple(created),
    )
