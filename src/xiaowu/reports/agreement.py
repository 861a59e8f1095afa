"""The 目标责任书考核汇报材料 variant (domain.md B01; the seed 003-3 is one).

Such a report is organised by the clauses of the target-responsibility agreement: for every
考核项目 it states the target, what was achieved and the self-assessed score. Items measured by
a figure the providers produce (``AgreementItemSpec.metric``, a figure key) are judged from the
data: achieved value, 达成 / 未达成 against the target, and — unless a person entered a score —
a suggested score (full marks when met, 0 when not). Items the data cannot know are reported
with the text a person entered, or clearly marked 待填写.

This module has no database access: the selectors turn the stored agreement into an
``AgreementSpec`` and the generator calls :func:`agreement_part` with the figures of the
summary it is building.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from xiaowu.reports.document import (
    Cell,
    Figure,
    FigureRef,
    HeadingLevel,
    Paragraph,
    Run,
    Section,
    Table,
    TableColumn,
    TableRow,
)
from xiaowu.reports.providers import Better, Metric, SectionProvider, Signal

PENDING_MARK = "【待填写】"


class Comparator(StrEnum):
    GTE = "gte"
    LTE = "lte"
    EQ = "eq"

    @property
    def phrase(self) -> str:
        return {"gte": "不低于", "lte": "不高于", "eq": "达到"}[self.value]

    def holds(self, value: Decimal, target: Decimal) -> bool:
        if self is Comparator.GTE:
            return value >= target
        if self is Comparator.LTE:
            return value <= target
        return value == target


COMPARATOR_CHOICES = [(c.value, c.phrase) for c in Comparator]


class ItemStatus(StrEnum):
    MET = "met"
    UNMET = "unmet"
    REPORTED = "reported"  # no data: a person reported what was achieved
    PENDING = "pending"  # no data and nothing reported yet

    @property
    def label(self) -> str:
        return {
            "met": "达成",
            "unmet": "未达成",
            "reported": "据实填报",
            "pending": "待填写",
        }[self.value]


@dataclass(frozen=True)
class AgreementItemSpec:
    pk: int
    category: str
    category_label: str
    title: str
    target_text: str
    weight: Decimal
    metric: str = ""
    comparator: str = ""
    target_value: Decimal | None = None
    achieved_text: str = ""
    self_score: Decimal | None = None


@dataclass(frozen=True)
class AgreementSpec:
    pk: int
    title: str
    unit_name: str
    period_label: str
    items: tuple[AgreementItemSpec, ...] = ()


@dataclass(frozen=True)
class ItemResult:
    item: AgreementItemSpec
    status: ItemStatus
    achieved: Figure | None  # the data figure, when the item is measured by one
    score: Decimal | None
    score_is_manual: bool

    @property
    def target(self) -> str:
        return target_text(self.item)


@dataclass
class AgreementPart:
    """What the variant adds to the document."""

    lead: list[Paragraph]
    section: Section  # 责任书落实情况, one subsection per category
    table: Table  # the self-assessment table
    figures: list[Figure] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    results: list[ItemResult] = field(default_factory=list)


def metric_catalogue(providers: Sequence[SectionProvider]) -> list[Metric]:
    """The figures a 目标责任书 item can be measured by, as the providers declare them."""
    metrics: list[Metric] = []
    for provider in sorted(providers, key=lambda p: p.order):
        metrics += getattr(provider, "metrics", ())
    return metrics


def default_comparator(metric: Metric) -> Comparator:
    return Comparator.LTE if metric.better is Better.LOWER else Comparator.GTE


def target_text(item: AgreementItemSpec, metrics: Mapping[str, Metric] | None = None) -> str:
    """The 目标要求 as written, or as derived from the numeric target ("辍学率不高于0.5%")."""
    if item.target_text.strip():
        return item.target_text.strip().rstrip("。")
    if item.metric and item.comparator and item.target_value is not None:
        metric = (metrics or {}).get(item.metric)
        label = metric.label if metric else item.metric
        unit = metric.unit if metric else ""
        return f"{label}{Comparator(item.comparator).phrase}{item.target_value.normalize():f}{unit}"
    return ""


def evaluate(item: AgreementItemSpec, figures: Mapping[str, Figure]) -> ItemResult:
    achieved = figures.get(item.metric) if item.metric else None
    if achieved is not None and item.comparator and item.target_value is not None:
        met = Comparator(item.comparator).holds(Decimal(achieved.value), item.target_value)
        status = ItemStatus.MET if met else ItemStatus.UNMET
    elif item.achieved_text.strip():
        status = ItemStatus.REPORTED
    else:
        status = ItemStatus.PENDING
    if item.self_score is not None:
        return ItemResult(item, status, achieved, item.self_score, True)
    suggested = {ItemStatus.MET: item.weight, ItemStatus.UNMET: Decimal(0)}.get(status)
    return ItemResult(item, status, achieved, suggested, False)


def _score_display(value: Decimal) -> Decimal:
    """Scores keep the decimals a person typed but drop a trailing .0 (10.0 → 10)."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


WEIGHT_COLUMN = TableColumn(key="weight", label="分值", unit="分")
SCORE_COLUMN = TableColumn(key="score", label="自评得分", unit="分")
TABLE_COLUMNS = [
    TableColumn(key="number", label="序号", numeric=False, summable=False),
    TableColumn(key="category", label="考核类别", numeric=False, summable=False),
    TableColumn(key="title", label="考核项目", numeric=False, summable=False),
    TableColumn(key="target", label="目标要求", numeric=False, summable=False),
    TableColumn(key="achieved", label="完成情况", numeric=True, summable=False),
    TableColumn(key="status", label="达成情况", numeric=False, summable=False),
    WEIGHT_COLUMN,
    SCORE_COLUMN,
]


def agreement_part(
    agreement: AgreementSpec,
    figures: Mapping[str, Figure],
    *,
    we: str,
    period_label: str,
    metrics: Mapping[str, Metric] | None = None,
    url: str = "",
) -> AgreementPart:
    """Build the 责任书落实情况 section, the self-assessment table and the lead paragraph."""
    results = [evaluate(item, figures) for item in agreement.items]
    query = {"agreement": str(agreement.pk)}
    new_figures: list[Figure] = []
    signals: list[Signal] = []
    categories: dict[str, Section] = {}
    rows: list[TableRow] = []
    item_numbers: dict[str, int] = {}
    for index, result in enumerate(results, start=1):
        item = result.item
        weight = Figure(
            key=f"agreement.items.{item.pk}.weight",
            label=f"“{item.title}”分值",
            value=_score_display(item.weight),
            unit="分",
            definition="目标责任书规定的该项分值",
            query=query,
            url=url,
        )
        new_figures.append(weight)
        score: Figure | None = None
        if result.score is not None:
            score = Figure(
                key=f"agreement.items.{item.pk}.score",
                label=f"“{item.title}”自评得分",
                value=_score_display(result.score),
                unit="分",
                definition=(
                    "本单位填报的自评得分"
                    if result.score_is_manual
                    else "按数据核定：达成目标计满分，未达成计0分（可人工调整）"
                ),
                query=query,
                url=url,
            )
            new_figures.append(score)
        target = target_text(item, metrics)
        lines: list[Paragraph] = []
        first: list[Run] = [f"目标要求：{target or '（未填写）'}。"]
        if result.achieved is not None:
            first += [f"完成情况：{period_label}，{we}{result.achieved.label}为"]
            first += [FigureRef(result.achieved.key)]
            if result.status is ItemStatus.MET:
                first.append("，达到目标要求。")
            elif result.status is ItemStatus.UNMET:
                first.append("，未达到目标要求。")
            else:
                first.append("。")
        lines.append(Paragraph(runs=first, key=f"agreement.items.{item.pk}.data"))
        if item.achieved_text.strip():
            text = item.achieved_text.strip()
            if result.achieved is None and not text.startswith("完成情况"):
                text = f"完成情况：{text}"
            lines.append(
                Paragraph(runs=[text], key=f"agreement.items.{item.pk}.achieved", manual=True)
            )
        elif result.achieved is None:
            lines.append(
                Paragraph(
                    runs=[
                        f"完成情况：{PENDING_MARK}（本项系统无数据，请在目标责任书页面填写完成情况）"
                    ],
                    key=f"agreement.items.{item.pk}.pending",
                    pending=True,
                )
            )
        score_runs: list[Run] = (
            ["自评得分", FigureRef(score.key), "（满分", FigureRef(weight.key), "）。"]
            if score is not None
            else [f"自评得分：{PENDING_MARK}（满分", FigureRef(weight.key), "）。"]
        )
        lines.append(
            Paragraph(
                runs=score_runs,
                key=f"agreement.items.{item.pk}.score",
                pending=score is None,
            )
        )
        category = categories.setdefault(
            item.category,
            Section(
                title=item.category_label,
                level=HeadingLevel.SUBSECTION,
                key=f"agreement.{item.category}",
            ),
        )
        item_numbers[item.category] = item_numbers.get(item.category, 0) + 1
        category.children.append(
            Section(
                title=f"{item.title}（{weight.display()}）",
                level=HeadingLevel.ITEM,
                paragraphs=lines,
                key=f"agreement.items.{item.pk}",
            )
        )
        cells: dict[str, Cell] = {
            "number": str(index),
            "category": item.category_label,
            "title": item.title,
            "target": target or "—",
            "achieved": FigureRef(result.achieved.key) if result.achieved else "见正文",
            "status": result.status.label,
            "weight": FigureRef(weight.key),
            "score": FigureRef(score.key) if score else "【待评】",
        }
        if result.achieved is None and result.status is ItemStatus.PENDING:
            cells["achieved"] = PENDING_MARK
        rows.append(TableRow(key=str(item.pk), cells=cells))
        if result.status is ItemStatus.UNMET and result.achieved is not None:
            signals.append(
                Signal(
                    key=f"agreement.unmet.{item.pk}",
                    problem=(
                        f"“{item.title}”未达到目标责任书要求（目标：{target}；"
                        f"实际：{result.achieved.label}{result.achieved.display()}）。"
                    ),
                    measure=f"针对“{item.title}”查找差距、明确责任人，确保下一考核期达到目标要求。",
                    severity=3,
                    figure_keys=(result.achieved.key,),
                )
            )
    weights = [f for f in new_figures if f.key.endswith(".weight")]
    scores = [f for f in new_figures if f.key.endswith(".score")]
    weight_total = Figure(
        key="agreement.weight.total",
        label="考核总分值",
        value=_score_display(sum((Decimal(f.value) for f in weights), Decimal(0))),
        unit="分",
        definition="目标责任书各考核项目分值之和",
        query=query,
        url=url,
        parts=tuple(f.key for f in weights),
    )
    score_total = Figure(
        key="agreement.score.total",
        label="自评总分",
        value=_score_display(sum((Decimal(f.value) for f in scores), Decimal(0))),
        unit="分",
        definition="已评定各项自评得分之和（待填写的项目不计）",
        query=query,
        url=url,
        parts=tuple(f.key for f in scores),
    )
    counts = dict.fromkeys(ItemStatus, 0)
    for result in results:
        counts[result.status] += 1
    count_figures = {
        status: Figure(
            key=f"agreement.items.{status.value}",
            label=f"{status.label}的考核项目",
            value=counts[status],
            unit="项",
            definition={
                ItemStatus.MET: "按系统数据核定达到目标的项目",
                ItemStatus.UNMET: "按系统数据核定未达到目标的项目",
                ItemStatus.REPORTED: "系统无数据、由单位填报完成情况的项目",
                ItemStatus.PENDING: "系统无数据、完成情况尚待填写的项目",
            }[status],
            query=query,
            url=url,
        )
        for status in ItemStatus
    }
    items_total = Figure(
        key="agreement.items.total",
        label="考核项目",
        aliases=("考核指标",),
        value=len(results),
        unit="项",
        definition="目标责任书的考核项目数",
        query=query,
        url=url,
        parts=tuple(f.key for f in count_figures.values()),
    )
    new_figures += [weight_total, score_total, items_total, *count_figures.values()]
    rows.append(
        TableRow(
            key="total",
            cells={
                "number": "合计",
                "weight": FigureRef(weight_total.key),
                "score": FigureRef(score_total.key),
            },
            total=True,
        )
    )
    table = Table(
        key="agreement.self_assessment",
        title="目标责任书考核自评表",
        columns=list(TABLE_COLUMNS),
        rows=rows,
        wrap_text=True,
        notes=[
            "达成情况按系统数据与目标值比较核定；系统无数据的项目由本单位据实填报",
            "未人工填写自评得分的，达成计满分、未达成计0分",
        ],
    )
    runs: list[Run] = [
        f"{period_label}，{we}对照《{agreement.title}》确定的",
        FigureRef(items_total.key),
        "考核指标，逐项抓好落实。经对照数据核定，已达成",
        FigureRef(count_figures[ItemStatus.MET].key),
        "，未达成",
        FigureRef(count_figures[ItemStatus.UNMET].key),
    ]
    if counts[ItemStatus.REPORTED]:
        runs += ["，由本单位据实填报", FigureRef(count_figures[ItemStatus.REPORTED].key)]
    if counts[ItemStatus.PENDING]:
        runs += ["，完成情况尚待填写", FigureRef(count_figures[ItemStatus.PENDING].key)]
    runs += [
        "；自评总分",
        FigureRef(score_total.key),
        "（满分",
        FigureRef(weight_total.key),
        "）。现将责任书落实情况汇报如下：",
    ]
    section = Section(
        title="责任书落实情况",
        children=list(categories.values()),
        key="agreement",
        tables=[table],
    )
    if not results:
        section.paragraphs.append(
            Paragraph(
                runs=[f"{PENDING_MARK}目标责任书尚未录入考核项目，请在“目标责任书”页面录入。"],
                key="agreement.empty",
                pending=True,
            )
        )
    return AgreementPart(
        lead=[Paragraph(runs=runs, key="agreement.lead")],
        section=section,
        table=table,
        figures=new_figures,
        signals=signals,
        results=results,
    )
