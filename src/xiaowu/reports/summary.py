"""The reports app's own provider: how the previous period's improvement goals went
("上期提出的5项改进措施，已完成3项，……", domain.md §4.5)."""

from __future__ import annotations

from xiaowu.core.rates import Rate
from xiaowu.reports.document import Figure, FigureRef, HeadingLevel, Paragraph, Run, Section
from xiaowu.reports.models import GoalStatus, ImprovementGoal
from xiaowu.reports.phrasing import link
from xiaowu.reports.providers import Better, Contribution, Metric, Signal, Slot, SummaryContext


class GoalProgressProvider:
    code = "goals"
    order = 900
    metrics = (
        Metric(
            "goals.previous.done_rate", "上期改进措施完成率", "%", Better.HIGHER, "school_conduct"
        ),
        Metric("goals.previous.done", "上期改进措施完成数", "项", Better.HIGHER, "school_conduct"),
    )

    def contribute(self, ctx: SummaryContext) -> list[Contribution]:
        goals = list(
            ImprovementGoal.objects.visible_to(ctx.actor)
            .filter(org_unit=ctx.unit, raised_on__lt=ctx.period.start_on)
            .exclude(status=GoalStatus.DONE, completed_on__lt=ctx.period.start_on)
            .order_by("raised_on", "id")
        )
        if not goals:
            return []
        day = ctx.period.as_of(ctx.today)
        done = [
            g
            for g in goals
            if g.status == GoalStatus.DONE and g.completed_on and g.completed_on <= day
        ]
        dropped = [g for g in goals if g.status == GoalStatus.DROPPED]
        open_ = [g for g in goals if g not in done and g not in dropped]
        query = {"unit": ctx.unit.code, "raised_before": ctx.period.start_on.isoformat()}
        url = link("reports:goal_list", unit=ctx.unit.pk)
        parts = [
            Figure(
                key="goals.previous.done",
                label="已完成改进措施",
                value=len(done),
                unit="项",
                query=query,
                url=url,
                definition="上期提出、本期结束前已完成的改进措施",
            ),
            Figure(
                key="goals.previous.open",
                label="推进中改进措施",
                value=len(open_),
                unit="项",
                query=query,
                url=url,
                definition="上期提出、尚未完成的改进措施",
            ),
            Figure(
                key="goals.previous.dropped",
                label="已取消改进措施",
                value=len(dropped),
                unit="项",
                query=query,
                url=url,
                definition="上期提出、已取消的改进措施",
            ),
        ]
        total = Figure(
            key="goals.previous.total",
            label="上期改进措施",
            value=len(goals),
            unit="项",
            query=query,
            url=url,
            definition="本期开始前提出的改进措施（已在上期完成的不计）",
            parts=tuple(p.key for p in parts),
        )
        rate = Rate(numerator=len(done), denominator=len(goals))
        done_rate = Figure(
            key="goals.previous.done_rate",
            label="上期改进措施完成率",
            value=rate.percent if rate.percent is not None else 0,
            unit="%",
            definition="已完成改进措施 ÷ 上期改进措施 × 100%，四舍五入保留两位小数",
            numerator=parts[0].key,
            denominator=total.key,
        )
        runs: list[Run] = [
            "上期提出的",
            FigureRef(total.key),
            "改进措施，已完成",
            FigureRef(parts[0].key),
        ]
        runs += ["，正在推进", FigureRef(parts[1].key)]
        if dropped:
            runs += ["，取消", FigureRef(parts[2].key)]
        runs.append("。")
        paragraphs = [Paragraph(runs=runs, key="goals.progress")]
        for n, goal in enumerate(done, start=1):
            paragraphs.append(
                Paragraph(
                    runs=[f"{n}.{goal.measure.rstrip('。')}（已完成）。"],
                    key=f"goals.done.{goal.pk}",
                )
            )
        signals = [
            Signal(
                key=f"goals.overdue.{goal.pk}",
                problem=f"上期提出的“{goal.measure.rstrip('。')}”尚未完成。",
                measure=f"继续推进“{goal.measure.rstrip('。')}”，明确责任人和完成时限。",
                severity=2,
            )
            for goal in open_
            if goal.due_on is not None and goal.due_on <= day
        ]
        section = Section(
            title="上期改进措施落实情况",
            level=HeadingLevel.SUBSECTION,
            paragraphs=paragraphs,
            key="main.goals",
        )
        return [
            Contribution(
                slot=Slot.MAIN,
                sections=[section],
                figures=[total, *parts, done_rate],
                signals=signals,
            )
        ]
