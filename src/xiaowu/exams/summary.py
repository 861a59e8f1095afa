"""The exams part of 主要工作及成效: 教学质量 — for the latest locked exam of each grade in the
period, the unit's 合格率 and 优秀率 by subject, the joint pass rates (双合率, 三合率, 全科合格率
…), and how they moved since the previous comparable exam (same cohort) and against the 学区
(or the whole exam); plus signals for 存在问题: the weakest subject against the reference, the
class with the weakest composite, a joint pass rate that fell.

Every number is a ``Figure`` computed from the cached analysis under the exam's 口径: rates carry
their numerator and denominator figures, differences name the two rates they subtract, and each
links to the analysis page it comes from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
from django.urls import reverse

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import scope_for, unit_ancestors, unit_subtree
from xiaowu.core.rates import Rate
from xiaowu.exams.analysis import (
    AnalysisBundle,
    AnalysisError,
    caliber_default,
    exam_analysis_get,
    subject_order,
)
from xiaowu.exams.analytics import TOTAL
from xiaowu.exams.models import Exam, ExamKind, ExamStatus
from xiaowu.exams.selectors_analysis import (
    AnalysisScope,
    analysis_exam_list,
    analysis_scope,
    cohort_key,
    unit_labels,
)
from xiaowu.org.models import Grade, OrgUnit, UnitKind
from xiaowu.reports.document import Figure, FigureRef, HeadingLevel, Paragraph, Run, Section
from xiaowu.reports.providers import Contribution, Signal, Slot, SummaryContext

# When several exams of a grade fall in the period, report the latest; on the same day prefer
# the more formal kind.
KIND_PRIORITY = {
    ExamKind.UNIFIED: 0,
    ExamKind.FINAL: 1,
    ExamKind.MOCK: 2,
    ExamKind.MIDTERM: 3,
    ExamKind.MONTHLY: 4,
    ExamKind.ENTRY: 5,
    ExamKind.OTHER: 6,
}
MAX_EXAMS = 6  # at most one paragraph per grade, and no more than this many
WEAK_GAP = Decimal("3")  # a subject this many points below the reference is a 存在问题
DROP_GAP = Decimal("5")  # a joint pass rate falling this much since the previous exam
# The weakest class is a 存在问题 when it trails the best by this share of the 总分 满分 (mean)
# or of the best composite.
CLASS_GAP = 0.05


@dataclass(frozen=True)
class Target:
    """Which rows of an exam's result describe the summary's unit, and its reference."""

    level: str
    unit_id: int | None
    reference_level: str | None  # district or exam, or None when there is nothing above
    reference_id: int | None
    reference_name: str


def _rate_value(numerator: int, denominator: int) -> Decimal | None:
    return Rate(numerator, denominator).percent


def _grade_label(grade: int) -> str:
    return Grade(grade).label if grade in Grade.values else f"{grade}年级"


def _target(ctx: SummaryContext, bundle: AnalysisBundle, scope: AnalysisScope) -> Target | None:
    units = bundle.table("units")
    unit = ctx.unit
    present = units.select("level", "unit_id").unique()

    def has(level: str, unit_id: int | None) -> bool:
        part = present.filter(pl.col("level") == level)
        if unit_id is not None:
            part = part.filter(pl.col("unit_id") == unit_id)
        return part.height > 0

    districts = present.filter(pl.col("level") == "district").height
    schools = present.filter(pl.col("level") == "school").height
    if unit.kind == UnitKind.SCHOOL and has("school", unit.pk):
        if not scope.allows("school", unit.pk):
            return None
        district_id = (
            unit.parent_id
            if unit.parent is not None and unit.parent.kind == UnitKind.SCHOOL_DISTRICT
            else None
        )
        if district_id is not None and has("district", district_id) and schools > 1:
            return Target("school", unit.pk, "district", district_id, "学区平均")
        if schools > 1:
            return Target("school", unit.pk, "exam", None, "全体平均")
        return Target("school", unit.pk, None, None, "")
    if unit.kind == UnitKind.SCHOOL_DISTRICT and has("district", unit.pk):
        if not scope.allows("district", unit.pk):
            return None
        if districts > 1:
            return Target("district", unit.pk, "exam", None, "全体平均")
        return Target("exam", None, None, None, "")
    if unit.kind == UnitKind.BUREAU:
        return Target("exam", None, None, None, "")
    return None


def _rows(
    bundle: AnalysisBundle, level: str | None, unit_id: int | None
) -> dict[str, dict[str, Any]]:
    if level is None:
        return {}
    units = bundle.table("units").filter(pl.col("level") == level)
    if unit_id is not None:
        units = units.filter(pl.col("unit_id") == unit_id)
    return {str(r["subject"]): r for r in units.iter_rows(named=True)}


def _joint(
    bundle: AnalysisBundle, level: str | None, unit_id: int | None
) -> dict[str, dict[str, Any]]:
    if level is None or not bundle.has_table("joint"):
        return {}
    joint = bundle.table("joint").filter(pl.col("level") == level)
    if unit_id is not None:
        joint = joint.filter(pl.col("unit_id") == unit_id)
    return {str(r["set_name"]): r for r in joint.iter_rows(named=True)}


def _denominator(row: Mapping[str, Any], bundle: AnalysisBundle) -> int:
    if row.get("rate_denominator") is not None:
        return int(row["rate_denominator"])
    key = "expected" if bundle.spec.denominator == "expected" else "sat"
    return int(row[key] or 0)


class _Figures:
    """Collects figures of one exam paragraph with stable keys."""

    def __init__(self, prefix: str, query: Mapping[str, str | int | None], url: str) -> None:
        self.prefix = prefix
        self.query = dict(query)
        self.url = url
        self.items: dict[str, Figure] = {}

    def add(self, figure: Figure) -> FigureRef:
        self.items[figure.key] = figure
        return FigureRef(figure.key)

    def count(self, name: str, label: str, value: int, definition: str) -> str:
        key = f"{self.prefix}.{name}"
        self.add(
            Figure(
                key=key,
                label=label,
                value=value,
                unit="人",
                definition=definition,
                query=self.query,
                url=self.url,
            )
        )
        return key

    def rate(
        self,
        name: str,
        label: str,
        numerator: int,
        denominator: int,
        *,
        numerator_label: str,
        denominator_label: str,
        definition: str,
    ) -> Figure | None:
        value = _rate_value(numerator, denominator)
        if value is None:
            return None
        top = self.count(
            f"{name}.n", numerator_label, numerator, f"{label}的分子：{numerator_label}"
        )
        bottom = self.count(
            f"{name}.base", denominator_label, denominator, f"{label}的分母：{denominator_label}"
        )
        figure = Figure(
            key=f"{self.prefix}.{name}",
            label=label,
            value=value,
            unit="%",
            definition=(
                f"{definition}；{numerator_label} ÷ {denominator_label} × 100%，"
                "四舍五入保留两位小数"
            ),
            query=self.query,
            url=self.url,
            numerator=top,
            denominator=bottom,
        )
        self.add(figure)
        return figure

    def difference(self, name: str, label: str, ours: Figure, theirs: Figure, what: str) -> Figure:
        value = Decimal(ours.value) - Decimal(theirs.value)
        figure = Figure(
            key=f"{self.prefix}.{name}",
            label=label,
            value=abs(value),
            unit="个百分点",
            definition=f"{ours.label}（{ours.display()}）与{what}（{theirs.display()}）之差的绝对值",
            query={**self.query, "minuend": ours.key, "subtrahend": theirs.key},
            url=self.url,
        )
        self.add(figure)
        return figure


CHANGE_WORDS = {"up": "提高", "down": "下降", "same": "持平"}


def _grouped(items: list[tuple[str, Figure, str]], *, up: str, down: str, same: str) -> list[Run]:
    """ "高于…的有语文（2.10个百分点）、数学（…）；低于…的有英语（…）" from (label, gap figure,
    direction) triples."""
    runs: list[Run] = []
    for direction, lead in (("up", up), ("down", down), ("same", same)):
        part = [(label, gap) for label, gap, d in items if d == direction]
        if not part:
            continue
        runs.append(("；" if runs else "") + lead)
        for index, (label, gap) in enumerate(part):
            runs.append(("、" if index else "") + label)
            if direction != "same":
                runs += ["（", FigureRef(gap.key), "）"]
    return runs


def _direction(ours: Figure, theirs: Figure, *, up: str, down: str, same: str) -> str:
    if Decimal(ours.value) > Decimal(theirs.value):
        return up
    if Decimal(ours.value) < Decimal(theirs.value):
        return down
    return same


@dataclass
class ExamParagraphs:
    paragraphs: list[Paragraph]
    figures: list[Figure]
    signals: list[Signal]


def _analysis_url(
    exam: Exam, bundle: AnalysisBundle, name: str = "exams:analysis_dashboard"
) -> str:
    url = reverse(name, args=[exam.pk])
    if exam.default_caliber_id is None:
        return url
    return f"{url}?caliber={bundle.caliber.pk}"


def _subject_rates(
    figures: _Figures,
    bundle: AnalysisBundle,
    rows: Mapping[str, Mapping[str, Any]],
    key: str,
    word: str,
    *,
    tag: str = "",
    whose: str = "",
) -> dict[str, Figure]:
    """Figures of ``key`` (pass/excellent) per subject, in paper order."""
    result: dict[str, Figure] = {}
    for subject in subject_order(bundle):
        if subject == TOTAL or subject not in rows:
            continue
        row = rows[subject]
        base = _denominator(row, bundle)
        threshold = bundle.spec.thresholds_for(subject).ratio(key)
        base_label = "应考人数" if bundle.spec.denominator == "expected" else "实考人数"
        figure = figures.rate(
            f"{tag}{key}.{subject}",
            f"{whose}{subject}{word}",
            int(row.get(f"{key}_n") or 0),
            base,
            numerator_label=f"{whose}{subject}{word[:2]}人数",
            denominator_label=f"{whose}{subject}{base_label}",
            definition=(
                f"{subject}成绩不低于满分 {threshold:.0%} 的人数占{base_label}的比例"
                f"（口径：{bundle.caliber.name}第{bundle.caliber.version}版）"
            ),
        )
        if figure is not None:
            result[subject] = figure
    return result


def _joint_rates(
    figures: _Figures,
    bundle: AnalysisBundle,
    joint: Mapping[str, Mapping[str, Any]],
    *,
    tag: str = "",
    whose: str = "",
) -> dict[str, Figure]:
    result: dict[str, Figure] = {}
    for name, subjects in bundle.spec.subject_sets:
        row = joint.get(name)
        if row is None:
            continue
        members = "全部科目" if subjects is None else "、".join(subjects)
        label = "全科合格率" if name == "全科" else f"{name}率"
        figure = figures.rate(
            f"{tag}joint.{name}",
            f"{whose}{label}",
            int(row.get("passed") or 0),
            int(row.get("eligible") or 0),
            numerator_label=f"{whose}{name}合格人数",
            denominator_label=f"{whose}{name}参评人数",
            definition=(
                f"{members}均合格的学生占参评学生的比例（缺科学生"
                f"{'计为不合格' if bundle.spec.joint_absent == 'fail' else '不计入'}）"
            ),
        )
        if figure is not None:
            result[name] = figure
    return result


def _previous_exam(ctx: SummaryContext, exam: Exam) -> Exam | None:
    """The latest earlier locked exam of the same cohort that the unit sat."""
    earlier = (
        analysis_exam_list(actor=ctx.actor)
        .filter(
            status=ExamStatus.LOCKED,
            held_on__lt=exam.held_on,
            candidates__school__in=unit_subtree([ctx.unit.pk]),
        )
        .exclude(pk=exam.pk)
        .select_related("term__school_year", "default_caliber")
        .distinct()
        .order_by("-held_on", "-pk")
    )
    if not ctx.is_school:
        earlier = earlier.filter(owner__in=unit_ancestors(ctx.unit.pk))
    key = cohort_key(exam)
    return next((e for e in earlier[:20] if cohort_key(e) == key), None)


def _runs_list(items: Iterable[tuple[str, FigureRef]]) -> list[Run]:
    runs: list[Run] = []
    for index, (label, ref) in enumerate(items):
        if index:
            runs.append("、")
        runs += [label, ref]
    return runs


def exam_paragraphs(ctx: SummaryContext, exam: Exam) -> ExamParagraphs | None:
    """The 教学质量 paragraph(s) of one exam for the summary's unit, or None when the unit has
    no rows in it the actor may see."""
    try:
        bundle = exam_analysis_get(exam=exam, caliber=caliber_default(exam))
    except AnalysisError:
        return None
    scope = analysis_scope(actor=ctx.actor, exam=exam)
    target = _target(ctx, bundle, scope)
    if target is None:
        return None
    rows = _rows(bundle, target.level, target.unit_id)
    total = rows.get(TOTAL)
    if total is None:
        return None
    url = _analysis_url(exam, bundle)
    figures = _Figures(
        f"exams.e{exam.pk}",
        {
            "exam": exam.pk,
            "caliber": bundle.caliber.code,
            "version": bundle.caliber.version,
            "revision": bundle.analysis.scores_revision,
            "level": target.level,
            "unit": target.unit_id,
        },
        url,
    )
    when = f"{exam.held_on.year}年{exam.held_on.month}月"
    grade = _grade_label(exam.grade)
    expected = figures.count(
        "expected",
        f"{exam.name}应考人数",
        int(total.get("expected") or 0),
        f"{exam.name}（{grade}）的应考人数",
    )
    sat = figures.count(
        "sat",
        f"{exam.name}实考人数",
        int(total.get("sat") or 0),
        f"{exam.name}（{grade}）参加全部计入总分科目考试的人数",
    )
    runs: list[Run] = [
        f"{exam.name}（{when}）中，{ctx.we}应考",
        FigureRef(expected),
        "、实考",
        FigureRef(sat),
        "。",
    ]
    passes = _subject_rates(figures, bundle, rows, "pass", "合格率")
    excellents = _subject_rates(figures, bundle, rows, "excellent", "优秀率")
    if passes:
        runs += ["各科合格率：", *_runs_list((s, FigureRef(f.key)) for s, f in passes.items())]
    if excellents:
        runs += ["；优秀率：", *_runs_list((s, FigureRef(f.key)) for s, f in excellents.items())]
    joint = _joint_rates(figures, bundle, _joint(bundle, target.level, target.unit_id))
    if joint:
        runs += ["；", *_runs_list((f.label, FigureRef(f.key)) for f in joint.values())]
    runs.append("。")
    paragraphs = [Paragraph(runs=runs, key=f"exams.e{exam.pk}.rates")]
    signals: list[Signal] = []

    # Against the reference (学区 or the whole exam).
    if target.reference_level is not None:
        ref_rows = _rows(bundle, target.reference_level, target.reference_id)
        ref_pass = _subject_rates(
            figures, bundle, ref_rows, "pass", "合格率", tag="ref.", whose=target.reference_name
        )
        compared: list[tuple[str, Figure, str]] = []
        weakest: tuple[Decimal, str, Figure, Figure] | None = None
        for subject, ours in passes.items():
            theirs = ref_pass.get(subject)
            if theirs is None:
                continue
            gap = figures.difference(
                f"vs_ref.pass.{subject}",
                f"{subject}合格率与{target.reference_name}之差",
                ours,
                theirs,
                target.reference_name,
            )
            compared.append(
                (subject, gap, _direction(ours, theirs, up="up", down="down", same="same"))
            )
            diff = Decimal(ours.value) - Decimal(theirs.value)
            if weakest is None or diff < weakest[0]:
                weakest = (diff, subject, ours, theirs)
        if compared:
            reference = target.reference_name
            paragraphs.append(
                Paragraph(
                    runs=[
                        f"与{reference}相比，各科合格率",
                        *_grouped(
                            compared,
                            up=f"高于{reference}的有",
                            down=f"低于{reference}的有",
                            same=f"与{reference}持平的有",
                        ),
                        "。",
                    ],
                    key=f"exams.e{exam.pk}.vs_reference",
                )
            )
        if weakest is not None and weakest[0] <= -WEAK_GAP:
            _diff, subject, ours, theirs = weakest
            signals.append(
                Signal(
                    key=f"exams.e{exam.pk}.weak_subject",
                    problem=(
                        f"{grade}{subject}学科相对薄弱，{exam.name}合格率{ours.display()}，"
                        f"低于{target.reference_name}（{theirs.display()}）。"
                    ),
                    measure=(
                        f"加强{grade}{subject}学科教研和集体备课，落实分层辅导，"
                        f"提高{subject}合格率和平均分。"
                    ),
                    severity=2,
                    figure_keys=(ours.key, theirs.key),
                )
            )

    # Against the previous exam of the same cohort.
    previous = _previous_exam(ctx, exam)
    if previous is not None:
        try:
            before = exam_analysis_get(exam=previous, caliber=caliber_default(previous))
        except AnalysisError:
            before = None
        if before is not None:
            before_target = _target(ctx, before, analysis_scope(actor=ctx.actor, exam=previous))
        else:
            before_target = None
        if before is not None and before_target is not None:
            before_rows = _rows(before, before_target.level, before_target.unit_id)
            before_figures = _Figures(
                f"exams.e{exam.pk}.prev",
                {
                    "exam": previous.pk,
                    "caliber": before.caliber.code,
                    "version": before.caliber.version,
                    "revision": before.analysis.scores_revision,
                },
                _analysis_url(previous, before),
            )
            old_pass = _subject_rates(
                before_figures, before, before_rows, "pass", "合格率", whose=f"{previous.name}"
            )
            old_joint = _joint_rates(
                before_figures,
                before,
                _joint(before, before_target.level, before_target.unit_id),
                whose=f"{previous.name}",
            )
            joint_moves: list[Run] = []
            subject_moves: list[tuple[str, Figure, str]] = []
            for name, ours in [*passes.items(), *joint.items()]:
                is_joint = name in joint and ours is joint[name]
                theirs = old_joint.get(name) if is_joint else old_pass.get(name)
                if theirs is None:
                    continue
                label = str(ours.label)
                change = figures.difference(
                    f"vs_prev.{'joint.' if is_joint else ''}{name}",
                    f"{label}较{previous.name}变化",
                    ours,
                    theirs,
                    previous.name,
                )
                word = _direction(ours, theirs, up="up", down="down", same="same")
                if not is_joint:
                    subject_moves.append((name, change, word))
                    continue
                joint_moves += ["、" if joint_moves else "", label]
                joint_moves += (
                    [CHANGE_WORDS[word], FigureRef(change.key)] if word != "same" else ["持平"]
                )
                if Decimal(theirs.value) - Decimal(ours.value) >= DROP_GAP:
                    signals.append(
                        Signal(
                            key=f"exams.e{exam.pk}.joint_drop.{name}",
                            problem=(
                                f"{grade}{label}由{previous.name}的{theirs.display()}"
                                f"降至{ours.display()}，教学质量有所下滑。"
                            ),
                            measure=(
                                f"召开{grade}质量分析会，查找{label}下滑原因，"
                                "对未合格学生逐一制定辅导计划。"
                            ),
                            severity=3,
                            figure_keys=(ours.key, theirs.key, change.key),
                        )
                    )
            moves: list[Run] = [*joint_moves]
            if subject_moves:
                moves += ["；" if moves else "", "各科合格率"]
                moves += _grouped(subject_moves, up="提高的有", down="下降的有", same="持平的有")
            if moves:
                paragraphs.append(
                    Paragraph(
                        runs=[f"与{previous.name}相比，", *moves, "。"],
                        key=f"exams.e{exam.pk}.vs_previous",
                    )
                )
                figures.items.update(before_figures.items)

    # The class with the weakest composite (or mean) inside a school.
    if target.level == "school":
        signals += _weak_class_signal(bundle, scope, exam, target, grade)
    return ExamParagraphs(paragraphs, list(figures.items.values()), signals)


def _weak_class_signal(
    bundle: AnalysisBundle, scope: AnalysisScope, exam: Exam, target: Target, grade: str
) -> list[Signal]:
    classes = bundle.table("units").filter(
        (pl.col("level") == "class") & (pl.col("subject") == TOTAL)
    )
    if not classes.height:
        return []
    in_school = set(
        OrgUnit.objects.filter(
            pk__in=classes.get_column("unit_id").to_list(), school_id=target.unit_id
        ).values_list("pk", flat=True)
    )
    class_ids = [c for c in in_school if scope.allows("class", c)]
    if len(class_ids) < 2:
        return []
    mine = classes.filter(pl.col("unit_id").is_in(class_ids))
    use_composite = bundle.spec.composite is not None and "composite" in mine.columns
    column = "composite" if use_composite else "mean"
    mine = mine.drop_nulls(subset=[column]).sort([column, "unit_id"])
    if mine.height < 2:
        return []
    weakest = mine.row(0, named=True)
    best = mine.row(mine.height - 1, named=True)
    spread = float(best[column]) - float(weakest[column])
    scale = float(weakest["full_mark"]) if not use_composite else abs(float(best[column]))
    if scale <= 0 or spread < CLASS_GAP * scale:
        return []  # the classes are close together: no 存在问题
    name = unit_labels("class", [weakest["unit_id"]], exam=exam).get(weakest["unit_id"], "")
    what = "综合评比得分" if use_composite else "总分平均分"
    return [
        Signal(
            key=f"exams.e{exam.pk}.weak_class",
            problem=(
                f"班级之间发展不均衡，{exam.name}中{name}{what}{float(weakest[column]):.2f}，"
                f"在全校{grade}{mine.height}个班中最低（最高为{float(best[column]):.2f}）。"
            ),
            measure=f"对{name}开展专项质量分析，落实培优辅差措施，缩小班级之间的差距。",
            severity=1,
        )
    ]


def summary_exams(ctx: SummaryContext) -> list[Exam]:
    """The latest locked exam of each grade held in the period that the unit took part in."""
    day: date = ctx.period.as_of(ctx.today)
    exams = (
        analysis_exam_list(actor=ctx.actor)
        .filter(
            status=ExamStatus.LOCKED,
            held_on__gte=ctx.period.start_on,
            held_on__lte=day,
            candidates__school__in=unit_subtree([ctx.unit.pk]),
        )
        .select_related("term__school_year", "default_caliber")
        .distinct()
    )
    if not ctx.is_school:
        # A 学区 or 局 reports its 统考: exams organised by itself or by a unit above it (a
        # school's own exam describes that school, not the 学区).
        exams = exams.filter(owner__in=unit_ancestors(ctx.unit.pk))
    latest: dict[int, Exam] = {}
    for exam in exams:
        chosen = latest.get(exam.grade)
        rank = (exam.held_on, -KIND_PRIORITY.get(ExamKind(exam.kind), 9), exam.pk)
        if chosen is None or rank > (
            chosen.held_on,
            -KIND_PRIORITY.get(ExamKind(chosen.kind), 9),
            chosen.pk,
        ):
            latest[exam.grade] = exam
    return [latest[g] for g in sorted(latest)][:MAX_EXAMS]


class ExamSummaryProvider:
    code = "exams"
    order = 40

    def contribute(self, ctx: SummaryContext) -> list[Contribution]:
        if not scope_for(ctx.actor).has_perm(Perm.EXAMS_VIEW):
            return []
        paragraphs: list[Paragraph] = []
        figures: list[Figure] = []
        signals: list[Signal] = []
        for exam in summary_exams(ctx):
            part = exam_paragraphs(ctx, exam)
            if part is None:
                continue
            paragraphs += part.paragraphs
            figures += part.figures
            signals += part.signals
        if not paragraphs:
            return []
        section = Section(
            title="教学质量",
            level=HeadingLevel.SUBSECTION,
            paragraphs=paragraphs,
            key="main.exams",
        )
        return [Contribution(slot=Slot.MAIN, sections=[section], figures=figures, signals=signals)]
