"""Exam analysis: the long score frame built from the database, the engine run, and the cache.

``exam_frame(exam)`` reads candidates, subjects, scores, the 学区 of every school (from the org
closure) and the 任课教师 snapshot column-wise (one SQL query per table, no model instances) and
returns the long frame of the exams contract: one row per candidate × subject.

``exam_analysis_get(exam=…, caliber=…)`` returns the analysis of the exam under one 口径
version at the exam's current ``scores_revision``: from the cache (an ``ExamAnalysis`` row and
one Parquet file per result table under ``VAR_DIR/analysis/``) when it is there, otherwise it
runs ``exams.analytics.analyze`` and stores the result. A score write bumps
``Exam.scores_revision``, so the cached row no longer matches and the next read recomputes;
editing a 口径 creates a new ``Caliber`` row (a new version), which has its own cache entry.
Every stored result records the 口径 code, name, version and the exact configuration used.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from django.conf import settings
from django.core.exceptions import EmptyResultSet, PermissionDenied, ValidationError
from django.db import IntegrityError, connections, transaction
from django.db.models import FloatField, QuerySet
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import scope_for
from xiaowu.exams.analytics import TOTAL, CaliberError, CaliberSpec, FrameError, analyze
from xiaowu.exams.models import (
    AnalysisStatus,
    Caliber,
    Exam,
    ExamAnalysis,
    ExamCandidate,
    ExamClassTeacher,
    ExamSubject,
    Score,
)
from xiaowu.jobs.registry import UnknownJobKindError, runner_module
from xiaowu.jobs.runner import JobError, JobOutcome, Progress, job_actor
from xiaowu.jobs.services import job_enqueue
from xiaowu.org.models import OrgUnit, OrgUnitClosure, UnitKind

if TYPE_CHECKING:
    from xiaowu.accounts.models import User

# The preset used when neither the request nor the exam names a 口径 (exams.presets).
DEFAULT_PRESET_CODE = "general"
FETCH_CHUNK = 50_000
# A score write between reading the revision and reading the scores makes the frame newer
# than the revision it would be stored under: read again (a few times) until both agree.
FRAME_READ_ATTEMPTS = 3

FRAME_SCHEMA: dict[str, pl.DataType] = {
    "student_id": pl.Int64(),
    "candidate_id": pl.Int64(),
    "class_id": pl.Int64(),
    "school_id": pl.Int64(),
    "district_id": pl.Int64(),
    "teacher_id": pl.Int64(),
    "subject": pl.String(),
    "full_mark": pl.Float64(),
    "score": pl.Float64(),
    "status": pl.String(),
    "is_visiting": pl.Boolean(),
    "gender": pl.String(),
}


class AnalysisError(Exception):
    """The analysis could not be computed; the message is Chinese and meant for the user."""


# --------------------------------------------------------------------------- the frame
def _fetch(queryset: QuerySet[Any], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Run a ``values_list`` queryset and return its rows as a frame with ``schema`` (column
    order = the values_list order). Rows go straight from the cursor into polars, in chunks,
    without Django's per-row converters."""
    names = list(schema)
    try:
        sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:  # e.g. ``__in=[]``: nothing to read
        return pl.DataFrame(schema=dict(schema))
    chunks: list[pl.DataFrame] = []
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(FETCH_CHUNK):
            chunks.append(pl.DataFrame(rows, schema=names, orient="row"))
    if not chunks:
        return pl.DataFrame(schema=dict(schema))
    frame = pl.concat(chunks, how="vertical_relaxed") if len(chunks) > 1 else chunks[0]
    # SQLite answers booleans as 0/1 and may answer an all-null chunk as Null: cast once.
    return frame.cast(pl.Schema(schema), strict=False)


def _candidates(exam: Exam) -> pl.DataFrame:
    return _fetch(
        ExamCandidate.objects.filter(exam=exam)
        .order_by()
        .values_list(
            "id", "student_id", "school_class_id", "school_id", "is_visiting", "student__gender"
        ),
        {
            "candidate_id": pl.Int64(),
            "student_id": pl.Int64(),
            "class_id": pl.Int64(),
            "school_id": pl.Int64(),
            "is_visiting": pl.Boolean(),
            "gender": pl.String(),
        },
    )


def _subjects(exam: Exam) -> pl.DataFrame:
    return _fetch(
        ExamSubject.objects.filter(exam=exam)
        .order_by("sort_order", "pk")
        .values_list("id", "subject", Cast("full_mark", FloatField()), "sort_order"),
        {
            "exam_subject_id": pl.Int64(),
            "subject": pl.String(),
            "full_mark": pl.Float64(),
            "sort_order": pl.Int64(),
        },
    ).with_row_index("subject_order")


def _scores(exam: Exam) -> pl.DataFrame:
    return _fetch(
        Score.objects.filter(exam_subject__exam=exam)
        .order_by()
        .values_list("candidate_id", "exam_subject_id", Cast("value", FloatField()), "status"),
        {
            "candidate_id": pl.Int64(),
            "exam_subject_id": pl.Int64(),
            "score": pl.Float64(),
            "status": pl.String(),
        },
    )


def _districts(school_ids: list[int]) -> pl.DataFrame:
    """school_id → district_id: the 学区 above each school, from the closure table."""
    return _fetch(
        OrgUnitClosure.objects.filter(
            descendant_id__in=school_ids, ancestor__kind=UnitKind.SCHOOL_DISTRICT
        )
        .order_by()
        .values_list("descendant_id", "ancestor_id"),
        {"school_id": pl.Int64(), "district_id": pl.Int64()},
    ).unique(subset="school_id", keep="first")


def _teachers(exam: Exam) -> pl.DataFrame:
    return _fetch(
        ExamClassTeacher.objects.filter(exam=exam)
        .order_by()
        .values_list("school_class_id", "subject", "staff_id"),
        {"class_id": pl.Int64(), "subject": pl.String(), "teacher_id": pl.Int64()},
    )


def _frame_once(exam: Exam) -> pl.DataFrame:
    candidates = _candidates(exam)
    subjects = _subjects(exam)
    scores = _scores(exam)
    school_ids = candidates.get_column("school_id").unique().to_list()
    frame = (
        candidates.join(subjects, how="cross")
        .join(scores, on=["candidate_id", "exam_subject_id"], how="left")
        .join(_districts(school_ids), on="school_id", how="left")
        .join(_teachers(exam), on=["class_id", "subject"], how="left")
        .with_columns(pl.col("status").fill_null(""))
        .sort(["candidate_id", "subject_order"])
    )
    return frame.select([pl.col(name).cast(dtype) for name, dtype in FRAME_SCHEMA.items()])


def exam_frame(exam: Exam) -> tuple[pl.DataFrame, int]:
    """Return the long score frame of ``exam`` and the ``scores_revision`` it reflects.

    One row per candidate × exam subject, ordered by candidate and then the exam's subject
    order (the order the engine works in, so it need not sort again). A candidate without a
    score row for a subject (not entered yet) gets ``score`` null and ``status`` "";
    recorded absences keep their status.
    ``district_id`` is the 学区 above the candidate's school (null for a school directly under
    a bureau); ``teacher_id`` the 任课教师 of the class × subject at the time of the exam.
    """
    for _attempt in range(FRAME_READ_ATTEMPTS):
        before = Exam.objects.filter(pk=exam.pk).values_list("scores_revision", flat=True).get()
        frame = _frame_once(exam)
        after = Exam.objects.filter(pk=exam.pk).values_list("scores_revision", flat=True).get()
        if before == after:
            return frame, after
    raise AnalysisError("成绩正在频繁修改，暂时无法分析，请稍后再试。")


# --------------------------------------------------------------------------- 口径
def caliber_default(exam: Exam) -> Caliber:
    """The 口径 an exam is analysed under unless another is chosen: the exam's default, else
    the current version of the 通用口径 preset."""
    if exam.default_caliber_id is not None:
        return Caliber.objects.get(pk=exam.default_caliber_id)
    caliber = (
        Caliber.objects.filter(code=DEFAULT_PRESET_CODE, owner__isnull=True)
        .current()
        .order_by("-version")
        .first()
    )
    if caliber is None:
        raise AnalysisError("系统缺少预置的通用口径，请联系管理员执行数据库迁移。")
    return caliber


def caliber_spec(caliber: Caliber) -> CaliberSpec:
    try:
        return CaliberSpec.from_config(caliber.config)
    except CaliberError as exc:
        raise AnalysisError(f"口径“{caliber.name}”配置有误：{exc}") from exc


def caliber_label(caliber: Caliber) -> dict[str, Any]:
    """What a stored result records about its 口径."""
    return {
        "id": caliber.pk,
        "code": caliber.code,
        "name": caliber.name,
        "version": caliber.version,
        "owner_id": caliber.owner_id,
    }


# --------------------------------------------------------------------------- the cache
def _analysis_root() -> Path:
    return Path(settings.VAR_DIR) / "analysis"


def _result_dir(analysis: ExamAnalysis) -> Path:
    return _analysis_root() / analysis.result_path


def result_tables(result: object) -> dict[str, pl.DataFrame]:
    """The DataFrame attributes of an engine result, by name."""
    if is_dataclass(result):
        items = [(f.name, getattr(result, f.name)) for f in fields(result)]
    else:
        items = list(vars(result).items())
    return {name: value for name, value in items if isinstance(value, pl.DataFrame)}


def _write_tables(directory: Path, tables: Mapping[str, pl.DataFrame]) -> None:
    """Write each table as ``<name>.parquet``; each file appears atomically (temp + rename)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        temporary = directory / f".{name}.{uuid.uuid4().hex}.tmp"
        table.write_parquet(temporary, compression="zstd", statistics=False)
        os.replace(temporary, directory / f"{name}.parquet")


def _headline(units: pl.DataFrame) -> dict[str, Any]:
    """Exam-level rows (每科 and 总分) as plain JSON, for lists and the summary."""
    if units.is_empty() or "level" not in units.columns:
        return {}
    rows = units.filter(pl.col("level") == "exam").to_dicts()
    keep = (
        "expected",
        "sat",
        "mean",
        "max",
        "min",
        "pass_rate",
        "excellent_rate",
        "low_rate",
        "pass_n",
        "excellent_n",
        "low_n",
    )
    return {
        str(row["subject"]): {key: row[key] for key in keep if key in row}
        for row in rows
        if "subject" in row
    }


@dataclass
class AnalysisBundle:
    """A stored analysis and lazy access to its tables."""

    analysis: ExamAnalysis
    exam: Exam
    caliber: Caliber
    spec: CaliberSpec
    _tables: dict[str, pl.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def directory(self) -> Path:
        return _result_dir(self.analysis)

    @property
    def is_current(self) -> bool:
        return self.analysis.scores_revision == self.exam.scores_revision

    def table_names(self) -> list[str]:
        return sorted(path.stem for path in self.directory.glob("*.parquet"))

    def table(self, name: str) -> pl.DataFrame:
        if name not in self._tables:
            path = self.directory / f"{name}.parquet"
            if not path.exists():
                raise AnalysisError(f"分析结果缺少“{name}”表，请重新分析。")
            self._tables[name] = pl.read_parquet(path)
        return self._tables[name]

    def has_table(self, name: str) -> bool:
        return name in self._tables or (self.directory / f"{name}.parquet").exists()


def _cached(exam: Exam, caliber: Caliber, revision: int) -> ExamAnalysis | None:
    analysis = ExamAnalysis.objects.filter(
        exam=exam, caliber=caliber, scores_revision=revision, status=AnalysisStatus.DONE
    ).first()
    if analysis is None or not analysis.result_path:
        return None
    if not (_analysis_root() / analysis.result_path / "units.parquet").exists():
        return None  # files lost (e.g. VAR_DIR restored without them): recompute
    return analysis


def _prune_stale(exam: Exam, caliber: Caliber, keep: ExamAnalysis) -> None:
    """Drop older-revision results of the same exam × 口径 (they can no longer be shown)."""
    stale = list(
        ExamAnalysis.objects.filter(
            exam=exam, caliber=caliber, scores_revision__lt=keep.scores_revision
        )
    )
    for old in stale:
        if old.result_path:
            shutil.rmtree(_analysis_root() / old.result_path, ignore_errors=True)
    ExamAnalysis.objects.filter(pk__in=[old.pk for old in stale]).delete()


def _store(
    exam: Exam, caliber: Caliber, revision: int, relative: Path, values: dict[str, Any]
) -> ExamAnalysis:
    """Record a computed result. When another process stored a usable result for the same key
    first, keep theirs and drop ours; a failed or file-less row is replaced."""
    key = {"exam": exam, "caliber": caliber, "scores_revision": revision}
    try:
        with transaction.atomic():
            existing = ExamAnalysis.objects.select_for_update().filter(**key).first()
            if existing is None:
                return ExamAnalysis.objects.create(**key, **values)
            usable = (
                existing.status == AnalysisStatus.DONE
                and existing.result_path
                and (_analysis_root() / existing.result_path / "units.parquet").exists()
            )
            if usable:
                shutil.rmtree(_analysis_root() / relative, ignore_errors=True)
                return existing
            old_path = existing.result_path
            for name, value in values.items():
                setattr(existing, name, value)
            existing.save()
    except IntegrityError:  # created concurrently between our read and our insert
        shutil.rmtree(_analysis_root() / relative, ignore_errors=True)
        return ExamAnalysis.objects.get(**key)
    if old_path:
        shutil.rmtree(_analysis_root() / old_path, ignore_errors=True)
    return existing


def exam_analysis_compute(*, exam: Exam, caliber: Caliber) -> ExamAnalysis:
    """Build the frame, run the engine and store the result under the current revision."""
    spec = caliber_spec(caliber)
    started = time.perf_counter()
    frame, revision = exam_frame(exam)
    if frame.is_empty():
        raise AnalysisError("该考试还没有考生或科目，无法分析。")
    subjects = list(
        ExamSubject.objects.filter(exam=exam)
        .order_by("sort_order", "pk")
        .values_list("subject", flat=True)
    )
    try:
        result = analyze(frame, spec, subject_order=subjects)
    except CaliberError as exc:
        raise AnalysisError(f"口径“{caliber.name}”不适用于该考试：{exc}") from exc
    except FrameError as exc:
        raise AnalysisError(f"成绩数据有误，无法分析：{exc}") from exc
    tables = result_tables(result)
    if "units" not in tables:
        raise AnalysisError("分析引擎没有返回单位统计表。")
    # A fresh directory per run: two processes computing the same key never share files.
    relative = (
        Path(f"exam-{exam.pk}") / f"caliber-{caliber.pk}-rev-{revision}-{uuid.uuid4().hex[:12]}"
    )
    _write_tables(_analysis_root() / relative, tables)
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    summary = {
        "caliber": caliber_label(caliber),
        "config": spec.to_config(),
        "computed_at": timezone.now().isoformat(),
        "candidates": int(frame.get_column("candidate_id").n_unique()),
        "subjects": list(getattr(result, "subjects", subjects)),
        "warnings": list(getattr(result, "warnings", ())),
        "score_rows": int(frame.get_column("score").is_not_null().sum()),
        "headline": _headline(tables["units"]),
        "tables": sorted(tables),
    }
    values = {
        "status": AnalysisStatus.DONE,
        "result_path": relative.as_posix(),
        "summary": summary,
        "error": "",
        "elapsed_ms": elapsed_ms,
    }
    analysis = _store(exam, caliber, revision, relative, values)
    _prune_stale(exam, caliber, analysis)
    return analysis


def exam_analysis_failed(*, exam: Exam, caliber: Caliber, error: str) -> None:
    """Record a failed run (shown on the page; the next read tries again)."""
    ExamAnalysis.objects.update_or_create(
        exam=exam,
        caliber=caliber,
        scores_revision=exam.scores_revision,
        defaults={"status": AnalysisStatus.FAILED, "error": error[:2000], "result_path": ""},
    )


class AnalysisPendingError(AnalysisError):
    """The analysis runs in the background; the message says so (and names the job)."""

    def __init__(self, message: str, *, job_id: int | None) -> None:
        super().__init__(message)
        self.job_id = job_id


def exam_analysis_get(
    *,
    exam: Exam,
    caliber: Caliber,
    compute: bool = True,
    actor: User | None = None,
    background: bool | None = None,
) -> AnalysisBundle:
    """Return the analysis of ``exam`` under ``caliber`` at the exam's current scores revision,
    computing and caching it when it is missing or stale (unless ``compute`` is False, when a
    missing result raises ``AnalysisError``).

    A huge exam (more than ``BACKGROUND_ROWS`` candidate × subject rows) is analysed by a
    background job when an ``actor`` is given and the jobs app runs the ``exams.analysis``
    kind: this raises ``AnalysisPendingError`` and the page asks to come back. ``background``
    forces either way (None: decide by size)."""
    exam.refresh_from_db(fields=["scores_revision"])
    analysis = _cached(exam, caliber, exam.scores_revision)
    if analysis is None:
        if not compute:
            raise AnalysisError("该考试在此口径下尚无最新的分析结果。")
        large = exam_row_estimate(exam) > BACKGROUND_ROWS if background is None else background
        if actor is not None and large and background_available():
            job_id = exam_analysis_enqueue(actor=actor, exam=exam, caliber=caliber)
            raise AnalysisPendingError(
                "该考试数据量较大，分析已转入后台进行，完成后刷新本页即可查看。", job_id=job_id
            )
        try:
            analysis = exam_analysis_compute(exam=exam, caliber=caliber)
        except AnalysisError as exc:
            exam_analysis_failed(exam=exam, caliber=caliber, error=str(exc))
            raise
        exam.refresh_from_db(fields=["scores_revision"])
    return AnalysisBundle(analysis=analysis, exam=exam, caliber=caliber, spec=caliber_spec(caliber))


# --------------------------------------------------------------------------- background job
JOB_KIND = "exams.analysis"
LABEL = "成绩分析"
BACKGROUND_ROWS = 1_000_000  # candidate × subject rows


def exam_row_estimate(exam: Exam) -> int:
    """Candidates × subjects: the size of the score frame, from two counts."""
    return ExamCandidate.objects.filter(exam=exam).count() * exam.subjects.count()


def background_available(kind: str = JOB_KIND, module: str = __name__) -> bool:
    """Whether the jobs app runs ``kind`` with ``module`` (its registry lists it)."""
    try:
        return runner_module(kind).__name__ == module
    except UnknownJobKindError:
        return False


def job_unit_for(actor: User, exam: Exam) -> OrgUnit:
    """The unit a job about ``exam`` is filed under: the organiser when the actor sees it, else
    the first participating school the actor sees."""
    visible = OrgUnit.objects.visible_to(actor)
    owner = visible.filter(pk=exam.owner_id).first()
    if owner is not None:
        return owner
    school = visible.filter(pk__in=exam.schools.values("pk")).order_by("code").first()
    if school is None:
        raise PermissionDenied("该考试不在您的权限范围内。")
    return school


def exam_analysis_enqueue(*, actor: User, exam: Exam, caliber: Caliber) -> int | None:
    """Mark the result as pending and queue the job (once: a pending row with a job is reused)."""
    key = {"exam": exam, "caliber": caliber, "scores_revision": exam.scores_revision}
    pending = ExamAnalysis.objects.filter(
        **key, status__in=[AnalysisStatus.PENDING, AnalysisStatus.RUNNING]
    ).first()
    if pending is not None and pending.summary.get("job_id"):
        job_id: int = pending.summary["job_id"]
        return job_id
    with transaction.atomic():
        row, _created = ExamAnalysis.objects.update_or_create(
            exam=exam,
            caliber=caliber,
            scores_revision=exam.scores_revision,
            defaults={"status": AnalysisStatus.PENDING, "error": "", "result_path": ""},
        )
        job = job_enqueue(
            actor=actor,
            kind=JOB_KIND,
            unit=job_unit_for(actor, exam),
            params={"exam_id": exam.pk, "caliber_id": caliber.pk},
            title=f"成绩分析：{exam.name}（{caliber.name}）",
        )
        row.summary = {"job_id": job.pk}
        row.save(update_fields=["summary", "updated_at"])
    return job.pk


def _job_target(actor: User, params: Mapping[str, Any]) -> tuple[Exam, Caliber]:
    exam_id, caliber_id = params.get("exam_id"), params.get("caliber_id")
    if not isinstance(exam_id, int) or not isinstance(caliber_id, int):
        raise ValidationError({"exam_id": "缺少考试或口径编号。"})
    exam = Exam.objects.visible_to(actor).filter(pk=exam_id).first()
    caliber = Caliber.objects.filter(pk=caliber_id).first()
    if exam is None or caliber is None:
        raise PermissionDenied("该考试不存在，或不在您的权限范围内。")
    return exam, caliber


def check(*, actor: User, unit: OrgUnit, params: Mapping[str, Any]) -> None:
    """Job permission check: the exam is visible and ``exams.view`` is held."""
    if not scope_for(actor).has_perm(Perm.EXAMS_VIEW):
        raise PermissionDenied("您无权查看成绩分析。")
    exam, _caliber = _job_target(actor, params)
    if unit.pk != exam.owner_id and not exam.schools.filter(pk=unit.pk).exists():
        raise ValidationError("考试不属于任务所选的单位。")


def run(job_params: Mapping[str, Any], progress: Progress) -> JobOutcome:
    """Worker side: compute and cache the analysis."""
    actor = job_actor(job_params)
    exam, caliber = _job_target(actor, job_params)
    progress.update(0, 1, "正在分析成绩")
    ExamAnalysis.objects.filter(exam=exam, caliber=caliber, status=AnalysisStatus.PENDING).update(
        status=AnalysisStatus.RUNNING
    )
    try:
        analysis = exam_analysis_compute(exam=exam, caliber=caliber)
    except AnalysisError as exc:
        exam_analysis_failed(exam=exam, caliber=caliber, error=str(exc))
        raise JobError(str(exc)) from exc
    progress.update(1, 1, "已完成")
    url = reverse("exams:analysis_dashboard", args=[exam.pk])
    return JobOutcome(
        message=f"{exam.name}的成绩分析已完成（{analysis.summary.get('candidates', 0)} 名考生）。",
        data={"exam_id": exam.pk, "analysis_id": analysis.pk},
        links=[("查看成绩分析", f"{url}?caliber={caliber.pk}")],
    )


def exam_analysis_is_stale(analysis: ExamAnalysis) -> bool:
    current = Exam.objects.filter(pk=analysis.exam_id).values_list("scores_revision", flat=True)
    return analysis.scores_revision != current.get()


def subject_order(bundle: AnalysisBundle) -> list[str]:
    """The exam's subjects in paper order, then 总分."""
    subjects = [str(s) for s in bundle.analysis.summary.get("subjects", [])]
    return [*subjects, TOTAL]


def iter_rows(frame: pl.DataFrame) -> Iterator[dict[str, Any]]:
    yield from frame.iter_rows(named=True)
