"""增值评价 (value-added): students matched between an 入口 (entry) exam and a later 出口 (exit)
exam, one subject (or 总分), one model; per class / teacher / school value-added with its
standard error, 95% interval and small-n flag (analytics.md §3).

This module loads the scores of both exams column-wise (``analysis.exam_frame``), matches the
students, runs the models of ``exams.valueadded`` and stores the result as a
``ValueAddedAnalysis`` row with Parquet tables under ``VAR_DIR/value_added/``. Matched, dropped
(sat the entry exam, not the exit exam: 缺考退出/转出) and joined (new at exit: 新增) counts are
kept with the result, as the county tools report them (analytics.md §3.2).
"""

from __future__ import annotations

import math
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import scope_for
from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record
from xiaowu.exams.analysis import AnalysisError, background_available, exam_frame, job_unit_for
from xiaowu.exams.analytics import TOTAL
from xiaowu.exams.models import (
    AnalysisStatus,
    Exam,
    ExamSubject,
    ValueAddedAnalysis,
    ValueAddedMethod,
)
from xiaowu.exams.selectors_analysis import AnalysisScope, unit_labels
from xiaowu.exams.valueadded import (
    EBSettings,
    match_students,
    percentile_rank_change,
    residual_gain,
    standard_score_gain,
)
from xiaowu.exams.valueadded.indices import percentile_rank
from xiaowu.exams.valueadded.sgp import (
    PanelError,
    SGPSettings,
    panel_from_long,
    student_growth_percentiles,
    summarize_sgp,
)
from xiaowu.exams.valueadded.sgp.wide import ID_COLUMN
from xiaowu.jobs.runner import JobError, JobOutcome, Progress, job_actor
from xiaowu.jobs.services import job_enqueue
from xiaowu.org.models import OrgUnit

if TYPE_CHECKING:
    from xiaowu.accounts.models import User

VA_METHOD_HELP: dict[str, str] = {
    ValueAddedMethod.RESIDUAL_EB: (
        "以入口成绩预测出口成绩（两次成绩各自标准化后做回归），取每个学生的残差；单位的增值为"
        "其学生残差的均值，再按人数做经验贝叶斯收缩，人数少的单位更靠近 0。默认模型。"
    ),
    ValueAddedMethod.SGP: (
        "学生成长百分位：在入口成绩相同的学生中，该生出口成绩所处的百分位（1–99）；"
        "单位取学生成长百分位的中位数和平均数，50 表示与同起点学生成长相当。"
    ),
    ValueAddedMethod.Z_GAIN: "标准分增量：出口标准分 − 入口标准分，单位取学生增量的平均。",
    ValueAddedMethod.PERCENTILE_GAIN: (
        "百分等级进退：出口百分等级 − 入口百分等级，单位取学生进退的平均；"
        "人数变化时比名次进退更可比。"
    ),
}
MIN_MATCHED = 10  # fewer matched students than this: no model is fitted
DEFAULT_MIN_N = 10  # units with fewer matched students are flagged 人数少


class ValueAddedError(Exception):
    """The analysis cannot be run; the message is Chinese and meant for the user."""


# --------------------------------------------------------------------------- scores
def exam_subject_scores(exam: Exam, subject: str) -> pl.DataFrame:
    """One row per candidate with a valid score on ``subject`` (or 总分: every subject
    scored): student_id, candidate_id, class_id, school_id, teacher_id, score."""
    frame, _revision = exam_frame(exam)
    valid = frame.filter(pl.col("score").is_not_null() & (pl.col("status") == ""))
    keys = ["student_id", "candidate_id", "class_id", "school_id"]
    if subject != TOTAL:
        part = valid.filter(pl.col("subject") == subject)
        return part.select(*keys, "teacher_id", "score")
    papers = frame.get_column("subject").n_unique()
    return (
        valid.group_by(keys)
        .agg(pl.col("score").sum(), pl.len().alias("papers"))
        .filter(pl.col("papers") == papers)
        .select(*keys, pl.lit(None, dtype=pl.Int64).alias("teacher_id"), "score")
        .sort("candidate_id")
    )


def entry_subject_for(entry_exam: Exam, subject: str) -> str:
    """The 入口 measure of an 出口 subject: the same subject when the entry exam has it, else
    the entry 总分 (a 小升初 or 分班 exam may not have the later subjects)."""
    if subject == TOTAL:
        return TOTAL
    has = ExamSubject.objects.filter(exam=entry_exam, subject=subject).exists()
    return subject if has else TOTAL


def value_added_match(
    entry: pl.DataFrame, exit_: pl.DataFrame
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Students present at both time points, with the exit-time class / school / teacher
    (``exams.valueadded.match_students``); and the before/after/matched/dropped/joined counts."""
    result = match_students(
        entry.select("student_id", "score"),
        exit_.select("student_id", "candidate_id", "class_id", "school_id", "teacher_id", "score"),
    )
    matched = result.matched.rename(
        {
            "score_in": "prior",
            "score_out": "score",
            "candidate_id_out": "candidate_id",
            "class_id_out": "class_id",
            "school_id_out": "school_id",
            "teacher_id_out": "teacher_id",
        }
    )
    return matched, dict(result.counts)


# --------------------------------------------------------------------------- storage
def _root() -> Path:
    return Path(settings.VAR_DIR) / "value_added"


def _write(directory: Path, tables: Mapping[str, pl.DataFrame]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        temporary = directory / f".{name}.{uuid.uuid4().hex}.tmp"
        table.write_parquet(temporary, compression="zstd")
        os.replace(temporary, directory / f"{name}.parquet")


def value_added_frame(analysis: ValueAddedAnalysis, name: str) -> pl.DataFrame:
    path = _root() / analysis.result_path / f"{name}.parquet"
    if not analysis.result_path or not path.exists():
        return pl.DataFrame()
    return pl.read_parquet(path)


# --------------------------------------------------------------------------- the models
# Unit columns of the matched frame; a unit of −1 stands for "none" (e.g. no 任课教师 for 总分)
# and is fitted with the rest, so every level uses the same regression sample, then dropped.
LEVEL_COLUMNS = {"school": "school_id", "class": "class_id", "teacher": "teacher_id"}
NO_UNIT = -1
SGP_MIN_COHORT = 50


def _interval(frame: pl.DataFrame, *, value: str, min_n: int) -> pl.DataFrame:
    """Per unit: n, va = mean of ``value``, se = sd/√n (ddof 1), 95% interval, small-n."""
    return frame.with_columns(
        se=(pl.col("sd") / pl.col("n").sqrt()).fill_null(0.0).fill_nan(0.0),
    ).with_columns(
        va=pl.col(value),
        ci_low=pl.col(value) - 1.96 * pl.col("se"),
        ci_high=pl.col(value) + 1.96 * pl.col("se"),
        small_n=pl.col("n") < min_n,
    )


def _per_level(
    students: pl.DataFrame, fit_level: Any, *, min_n: int
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Run ``fit_level(frame, group_column)`` for each level and stack the unit tables."""
    frames = []
    details: dict[str, Any] = {}
    for level, column in LEVEL_COLUMNS.items():
        data = students.with_columns(pl.col(column).fill_null(NO_UNIT))
        if data.filter(pl.col(column) != NO_UNIT).is_empty():
            continue
        units, detail = fit_level(data, column)
        details[level] = detail
        frames.append(
            units.filter(pl.col(column) != NO_UNIT).select(
                pl.lit(level).alias("level"),
                pl.col(column).cast(pl.Int64).alias("unit_id"),
                pl.col("n").cast(pl.Int64),
                *[pl.col(c) for c in UNIT_VALUE_COLUMNS if c in units.columns],
            )
        )
    return (pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()), details


UNIT_VALUE_COLUMNS = (
    "raw_va",
    "lambda",
    "va",
    "se",
    "ci_low",
    "ci_high",
    "small_n",
    "mean_in",
    "mean_out",
    "sgp_median",
    "sgp_mean",
)


def _fit_residual(
    matched: pl.DataFrame, min_n: int
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    settings = EBSettings(min_n=min_n)
    students = pl.DataFrame()

    def fit_level(data: pl.DataFrame, column: str) -> tuple[pl.DataFrame, dict[str, Any]]:
        nonlocal students
        result = residual_gain(
            data, current="score", priors="prior", group=column, settings=settings
        )
        if students.is_empty():
            students = result.students.select(
                "student_id", "candidate_id", "z_prior", "z_current", "expected", "residual"
            )
        cohort = result.cohorts.row(0, named=True)
        return result.units, {
            "sigma_unit": math.sqrt(max(float(cohort["sigma2_u"]), 0.0)),
            "sigma_residual": math.sqrt(float(cohort["sigma2_e"])),
            "r2": float(cohort["r2"]),
            "slope": float(cohort["b_z_prior"]),
        }

    units, details = _per_level(matched, fit_level, min_n=min_n)
    summary: dict[str, Any] = {"levels": details}
    if "class" in details:
        summary.update(details["class"])
    elif details:
        summary.update(next(iter(details.values())))
    return units, students, summary


def _z(column: str) -> pl.Expr:
    std = pl.col(column).std(ddof=0)
    return pl.when(std > 0).then((pl.col(column) - pl.col(column).mean()) / std).otherwise(0.0)


def _fit_index(
    matched: pl.DataFrame, method: str, min_n: int
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """标准分增量 / 百分等级进退: the unit means from ``exams.valueadded.indices``, with the
    standard error of the mean of the students' gains."""

    def index(data: pl.DataFrame, column: str) -> pl.DataFrame:
        if method == ValueAddedMethod.Z_GAIN:
            return standard_score_gain(data, current="score", prior="prior", group=column)
        return percentile_rank_change(data, current="score", prior="prior", group=column)

    value = "gain" if method == ValueAddedMethod.Z_GAIN else "change"
    if method == ValueAddedMethod.Z_GAIN:
        gains = matched.with_columns(gain_in=_z("prior"), gain_out=_z("score"))
    else:
        whole = matched.with_columns(pl.lit(0).alias("cohort"))
        gains = whole.with_columns(
            gain_in=percentile_rank("prior", ["cohort"]),
            gain_out=percentile_rank("score", ["cohort"]),
        ).drop("cohort")
    gains = gains.with_columns(gain=pl.col("gain_out") - pl.col("gain_in"))

    def fit_level(data: pl.DataFrame, column: str) -> tuple[pl.DataFrame, dict[str, Any]]:
        means = index(data, column)
        spread = (
            gains.with_columns(pl.col(column).fill_null(NO_UNIT))
            .group_by(column)
            .agg(sd=pl.col("gain").std(ddof=1))
        )
        units = _interval(means.join(spread, on=column, how="left"), value=value, min_n=min_n)
        first = "mean_z_in" if method == ValueAddedMethod.Z_GAIN else "mean_pr_in"
        last = "mean_z_out" if method == ValueAddedMethod.Z_GAIN else "mean_pr_out"
        return units.rename({first: "mean_in", last: "mean_out"}), {}

    units, _details = _per_level(matched, fit_level, min_n=min_n)
    students = gains.select(
        "student_id", "candidate_id", pl.col("gain_in"), pl.col("gain_out"), pl.col("gain")
    )
    mean_gain = gains.select(pl.col("gain").mean()).item()
    return units, students, {"mean_gain": float(mean_gain or 0.0)}


def _fit_sgp(
    matched: pl.DataFrame, min_n: int, entry_exam: Exam, exit_exam: Exam
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """Order-1 SGP of the exit score given the entry score (one cohort: this pair of exams)."""
    if matched.height < SGP_MIN_COHORT:
        raise ValueAddedError(
            f"学生成长百分位至少需要 {SGP_MIN_COHORT} 名匹配学生，当前只有 {matched.height} 人。"
        )
    long = pl.concat(
        [
            matched.select(
                "student_id",
                pl.lit(0).alias("year"),
                pl.lit(1).alias("grade"),
                pl.col("prior").alias("score"),
            ),
            matched.select(
                "student_id", pl.lit(1).alias("year"), pl.lit(2).alias("grade"), "score"
            ),
        ]
    )
    try:
        panel = panel_from_long(long)
        result = student_growth_percentiles(
            panel,
            SGPSettings(
                year=1,
                progressions=((1, 2),),
                max_order=1,
                min_cohort=SGP_MIN_COHORT,
                content_area=f"{entry_exam.name}→{exit_exam.name}",
            ),
        )
    except PanelError as exc:
        raise ValueAddedError(f"学生成长百分位无法计算：{exc}") from exc
    sgp = result.students.select(pl.col(ID_COLUMN).alias("student_id"), pl.col("SGP"))
    if sgp.is_empty():
        raise ValueAddedError("学生成长百分位无法计算：匹配学生人数不足以拟合分位数回归。")
    students = matched.join(sgp, on="student_id", how="inner")

    def fit_level(data: pl.DataFrame, column: str) -> tuple[pl.DataFrame, dict[str, Any]]:
        rows = data.join(sgp, on="student_id", how="inner")
        summary = summarize_sgp(rows, column).rename(
            {"N": "n", "MEDIAN_SGP": "sgp_median", "MEAN_SGP": "sgp_mean"}
        )
        spread = rows.group_by(column).agg(sd=pl.col("SGP").cast(pl.Float64).std(ddof=1))
        units = summary.join(spread, on=column, how="left").with_columns(
            growth=pl.col("sgp_mean") - 50.0
        )
        return _interval(units, value="growth", min_n=min_n), {}

    units, _details = _per_level(matched, fit_level, min_n=min_n)
    return (
        units,
        students.select("student_id", "candidate_id", "SGP"),
        {
            "sgp_median": float(students.select(pl.col("SGP").median()).item() or 0.0),
            "sgp_n": students.height,
        },
    )


def value_added_fit(
    *, method: str, matched: pl.DataFrame, entry_exam: Exam, exit_exam: Exam, min_n: int
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """Fit one model on matched students (columns: student_id, candidate_id, school_id,
    class_id, teacher_id, prior, score). Returns (units, students, summary): units per
    (level, unit_id) with n, va, se, ci_low, ci_high, small_n (+ sgp_median/sgp_mean)."""
    try:
        if method == ValueAddedMethod.RESIDUAL_EB:
            return _fit_residual(matched, min_n)
        if method in (ValueAddedMethod.Z_GAIN, ValueAddedMethod.PERCENTILE_GAIN):
            return _fit_index(matched, method, min_n)
        if method == ValueAddedMethod.SGP:
            return _fit_sgp(matched, min_n, entry_exam, exit_exam)
    except ValueError as exc:  # the models report bad input (too few students…) in Chinese
        raise ValueAddedError(f"模型无法拟合：{exc}") from exc
    raise ValueAddedError("请选择增值模型。")


def _check_exams(actor: User, entry_exam: Exam, exit_exam: Exam, method: str) -> None:
    if not scope_for(actor).has_perm(Perm.EXAMS_VIEW):
        raise PermissionDenied("您无权进行增值评价。")
    visible = Exam.objects.visible_to(actor).filter(pk__in=[entry_exam.pk, exit_exam.pk])
    if visible.count() != len({entry_exam.pk, exit_exam.pk}):
        raise PermissionDenied("您无权查看所选考试。")
    if entry_exam.held_on >= exit_exam.held_on:
        raise ValueAddedError("入口考试应早于出口考试。")
    if method not in ValueAddedMethod.values:
        raise ValueAddedError("请选择增值模型。")


def _matched_for(
    entry_exam: Exam, exit_exam: Exam, subject: str
) -> tuple[pl.DataFrame, dict[str, int], str]:
    entry_subject = entry_subject_for(entry_exam, subject)
    try:
        entry = exam_subject_scores(entry_exam, entry_subject)
        exit_ = exam_subject_scores(exit_exam, subject)
    except AnalysisError as exc:
        raise ValueAddedError(str(exc)) from exc
    if exit_.is_empty():
        raise ValueAddedError(f"出口考试“{exit_exam.name}”没有{subject}的有效成绩。")
    if entry.is_empty():
        raise ValueAddedError(f"入口考试“{entry_exam.name}”没有{entry_subject}的有效成绩。")
    matched, counts = value_added_match(entry, exit_)
    return matched, counts, entry_subject


def _fit_and_store(analysis: ValueAddedAnalysis, matched: pl.DataFrame) -> ValueAddedAnalysis:
    """Fit the analysis's model on ``matched`` and store tables and summary (status DONE)."""
    min_n = int(analysis.params.get("min_n", DEFAULT_MIN_N))
    units, students, fitted = value_added_fit(
        method=analysis.method,
        matched=matched,
        entry_exam=analysis.entry_exam,
        exit_exam=analysis.exit_exam,
        min_n=min_n,
    )
    relative = Path(f"va-{analysis.pk}-{uuid.uuid4().hex[:12]}")
    _write(_root() / relative, {"units": units, "students": students})
    old = analysis.result_path
    analysis.result_path = relative.as_posix()
    analysis.status = AnalysisStatus.DONE
    analysis.error = ""
    analysis.summary = {**analysis.summary, **fitted, "min_n": min_n}
    analysis.save(update_fields=["result_path", "status", "error", "summary", "updated_at"])
    if old and old != analysis.result_path:
        shutil.rmtree(_root() / old, ignore_errors=True)
    return analysis


def value_added_run(
    *,
    actor: User,
    entry_exam: Exam,
    exit_exam: Exam,
    subject: str,
    method: str,
    params: Mapping[str, Any] | None = None,
    background: bool | None = None,
) -> ValueAddedAnalysis:
    """Match the students, then fit and store (or return the stored result for the same
    inputs and scores revisions). A large fit (SGP beyond ``BACKGROUND_SGP_STUDENTS``
    students, any model beyond ``BACKGROUND_STUDENTS``) runs as a background job when the
    jobs app has the ``exams.value_added`` kind registered; the row is then PENDING and the
    worker completes it. ``background`` forces either way (None: decide by size)."""
    _check_exams(actor, entry_exam, exit_exam, method)
    params = {"min_n": DEFAULT_MIN_N, **dict(params or {})}
    entry_exam.refresh_from_db(fields=["scores_revision"])
    exit_exam.refresh_from_db(fields=["scores_revision"])
    existing = (
        ValueAddedAnalysis.objects.filter(
            entry_exam=entry_exam,
            exit_exam=exit_exam,
            subject=subject,
            method=method,
            entry_revision=entry_exam.scores_revision,
            exit_revision=exit_exam.scores_revision,
            params=params,
        )
        .exclude(status=AnalysisStatus.FAILED)
        .order_by("-pk")
        .first()
    )
    if existing is not None:
        return existing
    matched, counts, entry_subject = _matched_for(entry_exam, exit_exam, subject)
    if counts["matched"] < MIN_MATCHED:
        raise ValueAddedError(
            f"两次考试共同的学生只有 {counts['matched']} 人（至少需要 {MIN_MATCHED} 人），"
            "无法评价。"
        )
    large = counts["matched"] > (
        BACKGROUND_SGP_STUDENTS if method == ValueAddedMethod.SGP else BACKGROUND_STUDENTS
    )
    in_background = (
        large if background is None else background
    ) and value_added_background_available()
    with transaction.atomic():
        analysis = ValueAddedAnalysis.objects.create(
            entry_exam=entry_exam,
            exit_exam=exit_exam,
            subject=subject,
            method=method,
            params=params,
            entry_revision=entry_exam.scores_revision,
            exit_revision=exit_exam.scores_revision,
            status=AnalysisStatus.PENDING,
            matched=counts["matched"],
            dropped=counts["dropped"],
            joined=counts["joined"],
            created_by=actor if actor.pk else None,
            summary={
                "entry_subject": entry_subject,
                "entry_n": counts["before"],
                "exit_n": counts["after"],
            },
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            event="exams.value_added_run",
            target=analysis,
            org_unit_id=exit_exam.owner_id,
            changes={
                "entry_exam": entry_exam.pk,
                "exit_exam": exit_exam.pk,
                "subject": subject,
                "method": method,
                "matched": counts["matched"],
                "dropped": counts["dropped"],
                "joined": counts["joined"],
                "background": in_background,
            },
        )
        if in_background:
            job = job_enqueue(
                actor=actor,
                kind=JOB_KIND,
                unit=job_unit_for(actor, exit_exam),
                params={"analysis_id": analysis.pk},
                title=f"增值评价：{exit_exam.name} {subject}（{ValueAddedMethod(method).label}）",
            )
            analysis.summary = {**analysis.summary, "job_id": job.pk}
            analysis.save(update_fields=["summary", "updated_at"])
            return analysis
    try:
        return _fit_and_store(analysis, matched)
    except ValueAddedError as exc:
        _failed(analysis, str(exc))
        raise


def _failed(analysis: ValueAddedAnalysis, error: str) -> None:
    analysis.status = AnalysisStatus.FAILED
    analysis.error = error[:2000]
    analysis.save(update_fields=["status", "error", "updated_at"])


# --------------------------------------------------------------------------- background job
JOB_KIND = "exams.value_added"
LABEL = "增值评价"
BACKGROUND_STUDENTS = 200_000
BACKGROUND_SGP_STUDENTS = 5_000


def value_added_background_available() -> bool:
    """Whether the jobs app runs ``exams.value_added`` (its registry lists this module)."""
    return background_available(JOB_KIND, __name__)


def _job_analysis(actor: User, params: Mapping[str, Any]) -> ValueAddedAnalysis:
    analysis_id = params.get("analysis_id")
    if not isinstance(analysis_id, int) or isinstance(analysis_id, bool):
        raise ValidationError({"analysis_id": "缺少增值评价编号。"})
    visible = Exam.objects.visible_to(actor).values("pk")
    found = (
        ValueAddedAnalysis.objects.filter(
            pk=analysis_id, entry_exam__in=visible, exit_exam__in=visible
        )
        .select_related("entry_exam", "exit_exam")
        .first()
    )
    if found is None:
        raise PermissionDenied("该增值评价不存在，或不在您的权限范围内。")
    return found


def check(*, actor: User, unit: OrgUnit, params: Mapping[str, Any]) -> None:
    """Job permission check: the analysis's exams are visible and ``exams.view`` is held."""
    if not scope_for(actor).has_perm(Perm.EXAMS_VIEW):
        raise PermissionDenied("您无权进行增值评价。")
    analysis = _job_analysis(actor, params)
    exam = analysis.exit_exam
    if unit.pk != exam.owner_id and not exam.schools.filter(pk=unit.pk).exists():
        raise ValidationError("增值评价不属于任务所选的单位。")


def run(job_params: Mapping[str, Any], progress: Progress) -> JobOutcome:
    """Worker side: match again at the stored revisions and fit."""
    actor = job_actor(job_params)
    analysis = _job_analysis(actor, job_params)
    progress.update(0, 2, "正在匹配学生")
    matched, _counts, _entry_subject = _matched_for(
        analysis.entry_exam, analysis.exit_exam, analysis.subject
    )
    ValueAddedAnalysis.objects.filter(pk=analysis.pk).update(status=AnalysisStatus.RUNNING)
    progress.update(1, 2, "正在拟合模型")
    try:
        _fit_and_store(analysis, matched)
    except ValueAddedError as exc:
        _failed(analysis, str(exc))
        raise JobError(str(exc)) from exc
    progress.update(2, 2, "已完成")
    url = reverse("exams:va_detail", args=[analysis.pk])
    return JobOutcome(
        message=f"增值评价已完成：匹配 {analysis.matched} 人。",
        data={"analysis_id": analysis.pk},
        links=[("查看增值评价", url)],
    )


def value_added_delete_files(analysis: ValueAddedAnalysis) -> None:
    if analysis.result_path:
        shutil.rmtree(_root() / analysis.result_path, ignore_errors=True)


# --------------------------------------------------------------------------- display
def value_added_table(
    *, analysis: ValueAddedAnalysis, scope: AnalysisScope, level: str
) -> list[dict[str, Any]]:
    """The visible units of ``level`` with their value-added, SE, 95% interval and n."""
    units = value_added_frame(analysis, "units")
    if units.is_empty():
        return []
    rows = units.filter(pl.col("level") == level)
    ids = [i for i in rows.get_column("unit_id").to_list() if scope.allows(level, i)]
    names = unit_labels(level, ids, exam=analysis.exit_exam)
    rows = rows.filter(pl.col("unit_id").is_in(ids)).sort("va", descending=True, nulls_last=True)
    return [
        {**row, "name": names.get(row["unit_id"], str(row["unit_id"]))} for row in rows.to_dicts()
    ]
