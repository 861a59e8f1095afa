"""The score frame built from the database, and the analysis cache."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from conftest import World
from pytest_django.fixtures import Settings

from xiaowu.exams import analysis as analysis_module
from xiaowu.exams.analysis import (
    FRAME_SCHEMA,
    AnalysisBundle,
    AnalysisError,
    AnalysisPendingError,
    caliber_default,
    exam_analysis_get,
    exam_analysis_is_stale,
    exam_frame,
)
from xiaowu.exams.analytics import CaliberSpec, ExamResult, analyze
from xiaowu.exams.models import (
    AnalysisStatus,
    Caliber,
    Exam,
    ExamAnalysis,
    ExamCandidate,
    ExamStatus,
    Score,
)
from xiaowu.exams.services import exam_score_save
from xiaowu.exams.tests.test_analysis_world import (
    candidate_add,
    class_fill,
    exam_create,
    scores_set,
    teacher_set,
)
from xiaowu.jobs.execution import job_execute
from xiaowu.jobs.models import Job
from xiaowu.jobs.registry import JOB_KINDS
from xiaowu.org.models import OrgUnit
from xiaowu.org.tests.factories import SchoolClassFactory, SchoolFactory
from xiaowu.staff.models import StaffMember
from xiaowu.students.models import Student
from xiaowu.students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db


def _row(frame: pl.DataFrame, student: Student, subject: str) -> dict[str, object]:
    rows = frame.filter(
        (pl.col("student_id") == student.pk) & (pl.col("subject") == subject)
    ).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_frame_has_one_row_per_candidate_and_subject_with_the_contract_columns(
    world: World,
) -> None:
    # A 统考 of the bureau across both districts and a school directly under the bureau.
    lone_school: OrgUnit = SchoolFactory(code="S9", name="直属小学", parent=world.bureau)
    lone_class = SchoolClassFactory(code="S9-C101", grade=1, class_number=1, parent=lone_school)
    lone: Student = StudentFactory(school_class=lone_class, name="直属生", gender="female")
    exam = exam_create(
        owner=world.bureau,
        schools=[world.school, world.other_school, lone_school],
        subjects={"语文": 100, "数学": 120},
        name="一年级统考",
        kind="unified",
        held_on=date(2025, 6, 20),
    )
    classmate = Student.objects.get(name="李小红")
    other = Student.objects.get(name="钱小军")
    for student in (world.child, other, lone):
        candidate_add(exam, student)
    candidate_add(exam, classmate, visiting=True)
    scores_set(exam, world.child, {"语文": 90, "数学": "absent"})
    scores_set(exam, classmate, {"语文": 55.5})  # 数学 not entered yet
    scores_set(exam, other, {"语文": 0, "数学": 118})
    scores_set(exam, lone, {"语文": "cheated", "数学": 60})
    teacher = StaffMember.objects.get(name="孙老师")
    teacher_set(exam, world.class_a, "语文", teacher)

    frame, revision = exam_frame(exam)

    assert revision == 4
    assert frame.schema == pl.Schema(FRAME_SCHEMA)
    assert frame.height == 4 * 2
    assert frame.select(pl.struct("candidate_id", "subject").is_unique().all()).item()

    child = _row(frame, world.child, "语文")
    assert child["score"] == 90.0
    assert child["status"] == ""
    assert child["full_mark"] == 100.0
    assert child["class_id"] == world.class_a.pk
    assert child["school_id"] == world.school.pk
    assert child["district_id"] == world.district.pk
    assert child["teacher_id"] == teacher.pk
    assert child["is_visiting"] is False
    assert child["gender"] == "male"
    absent = _row(frame, world.child, "数学")
    assert (absent["score"], absent["status"], absent["full_mark"]) == (None, "absent", 120.0)
    assert absent["teacher_id"] is None  # no 数学 teacher recorded for class_a

    visiting = _row(frame, classmate, "语文")
    assert (visiting["score"], visiting["is_visiting"], visiting["gender"]) == (
        55.5,
        True,
        "female",
    )
    missing = _row(frame, classmate, "数学")
    assert (missing["score"], missing["status"]) == (None, "")  # not entered: no status

    zero = _row(frame, other, "语文")
    assert (zero["score"], zero["status"]) == (0.0, "")  # a real 0 is a score
    assert zero["district_id"] == world.other_district.pk
    assert zero["teacher_id"] is None

    cheated = _row(frame, lone, "语文")
    assert (cheated["score"], cheated["status"]) == (None, "cheated")
    assert cheated["district_id"] is None  # the school sits directly under the bureau
    assert cheated["school_id"] == lone_school.pk


def test_frame_of_an_exam_without_candidates_is_empty_but_typed(world: World) -> None:
    exam = exam_create(owner=world.school, schools=[world.school], subjects={"语文": 100})
    frame, revision = exam_frame(exam)
    assert frame.is_empty()
    assert frame.schema == pl.Schema(FRAME_SCHEMA)
    assert revision == 0


# --------------------------------------------------------------------------- the cache
@pytest.fixture
def var_dir(settings: Settings, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def engine_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the engine runs (the real engine still runs)."""
    calls: list[int] = []

    def counting(
        frame: pl.DataFrame, spec: CaliberSpec, *, subject_order: list[str] | None = None
    ) -> ExamResult:
        calls.append(frame.height)
        return analyze(frame, spec, subject_order=subject_order)

    monkeypatch.setattr(analysis_module, "analyze", counting)
    return calls


def _small_exam(world: World) -> Exam:
    exam = exam_create(
        owner=world.school, schools=[world.school], subjects={"语文": 100, "数学": 100}
    )
    class_fill(exam, world.class_a, [{"语文": 82, "数学": 80}, {"语文": 55, "数学": "absent"}])
    return exam


def test_analysis_is_cached_per_revision_and_recomputed_after_a_score_change(
    world: World, var_dir: Path, engine_calls: list[int]
) -> None:
    exam = _small_exam(world)
    caliber = caliber_default(exam)
    first = exam_analysis_get(exam=exam, caliber=caliber)
    assert engine_calls == [4]
    assert first.analysis.status == AnalysisStatus.DONE
    assert first.analysis.scores_revision == exam.scores_revision == 2
    assert (var_dir / "analysis" / first.analysis.result_path / "units.parquet").exists()
    assert first.analysis.summary["caliber"]["code"] == "general"
    assert first.analysis.summary["caliber"]["version"] == 1

    again = exam_analysis_get(exam=exam, caliber=caliber)
    assert engine_calls == [4]  # cache hit: no second run
    assert again.analysis.pk == first.analysis.pk
    chinese = again.table("units").filter(
        (pl.col("level") == "exam") & (pl.col("subject") == "语文")
    )
    assert chinese.get_column("mean").item() == 68.5

    student = Student.objects.get(name="考生2")
    scores_set(exam, student, {"语文": 65})
    assert exam_analysis_is_stale(first.analysis)
    fresh = exam_analysis_get(exam=exam, caliber=caliber)
    assert engine_calls == [4, 4]
    assert fresh.analysis.scores_revision == 3
    assert (
        fresh.table("units")
        .filter((pl.col("level") == "exam") & (pl.col("subject") == "语文"))
        .get_column("mean")
        .item()
        == 73.5
    )
    # The stale result is gone, files and row.
    assert not ExamAnalysis.objects.filter(pk=first.analysis.pk).exists()
    assert not (var_dir / "analysis" / first.analysis.result_path).exists()


def test_a_new_caliber_version_gets_its_own_cached_result(
    world: World, var_dir: Path, engine_calls: list[int]
) -> None:
    exam = _small_exam(world)
    v1 = caliber_default(exam)
    v2 = Caliber.objects.create(
        code=v1.code,
        name=v1.name,
        version=2,
        previous=v1,
        config={
            **v1.config,
            "thresholds": {"excellent": 0.85, "good": 0.7, "pass": 0.6, "low": 0.4},
        },
    )
    one = exam_analysis_get(exam=exam, caliber=v1)
    two = exam_analysis_get(exam=exam, caliber=v2)
    assert len(engine_calls) == 2
    assert one.analysis.pk != two.analysis.pk
    assert two.analysis.summary["caliber"]["version"] == 2
    assert two.analysis.summary["config"]["thresholds"]["excellent"] == 0.85

    # 82 is ≥ 80% of 100 but < 85%: the two versions disagree on 优秀.
    def excellent(bundle: AnalysisBundle) -> int:
        return int(
            bundle.table("units")
            .filter((pl.col("level") == "exam") & (pl.col("subject") == "语文"))
            .get_column("excellent_n")
            .item()
        )

    assert (excellent(one), excellent(two)) == (1, 0)
    assert exam_analysis_get(exam=exam, caliber=v1).analysis.pk == one.analysis.pk
    assert len(engine_calls) == 2


def test_an_exam_without_scores_reports_a_chinese_error(world: World, var_dir: Path) -> None:
    exam = exam_create(owner=world.school, schools=[world.school], subjects={"语文": 100})
    with pytest.raises(AnalysisError, match="还没有考生"):
        exam_analysis_get(exam=exam, caliber=caliber_default(exam))
    failed = ExamAnalysis.objects.get(exam=exam)
    assert failed.status == AnalysisStatus.FAILED


# --------------------------------------------------------------------------- background
def test_huge_exam_is_analysed_by_a_background_job_when_the_kind_is_registered(
    world: World, var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exam = _small_exam(world)
    caliber = caliber_default(exam)
    monkeypatch.setitem(JOB_KINDS, analysis_module.JOB_KIND, "xiaowu.exams.analysis")
    with pytest.raises(AnalysisPendingError, match="转入后台") as pending:
        exam_analysis_get(
            exam=exam, caliber=caliber, actor=world.users["principal"], background=True
        )
    row = ExamAnalysis.objects.get(exam=exam, caliber=caliber)
    assert row.status == AnalysisStatus.PENDING
    job = Job.objects.get(pk=pending.value.job_id)
    assert job.kind == "exams.analysis"
    # Asking again while it is queued does not queue a second job.
    with pytest.raises(AnalysisPendingError):
        exam_analysis_get(
            exam=exam, caliber=caliber, actor=world.users["principal"], background=True
        )
    assert Job.objects.count() == 1
    job_execute(job_id=job.pk)
    row.refresh_from_db()
    assert row.status == AnalysisStatus.DONE
    bundle = exam_analysis_get(exam=exam, caliber=caliber, actor=world.users["principal"])
    assert bundle.analysis.pk == row.pk


def test_without_the_registered_kind_a_huge_exam_is_analysed_at_once(
    world: World, var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(JOB_KINDS, "exams.analysis", raising=False)
    exam = _small_exam(world)
    bundle = exam_analysis_get(
        exam=exam, caliber=caliber_default(exam), actor=world.users["principal"], background=True
    )
    assert bundle.analysis.status == AnalysisStatus.DONE
    assert not Job.objects.exists()


def test_a_score_saved_through_the_entry_service_invalidates_the_cache(
    world: World, var_dir: Path
) -> None:
    exam = _small_exam(world)
    Exam.objects.filter(pk=exam.pk).update(status=ExamStatus.ENTRY)
    exam.refresh_from_db()
    caliber = caliber_default(exam)
    before = exam_analysis_get(exam=exam, caliber=caliber)
    candidate = ExamCandidate.objects.get(exam=exam, student__name="考生2")
    score = Score.objects.get(candidate=candidate, exam_subject__subject="语文")
    exam_score_save(
        actor=world.users["principal"],
        exam=exam,
        candidate_id=candidate.pk,
        exam_subject_id=score.exam_subject_id,
        raw="95",
        version=score.version,
    )
    after = exam_analysis_get(exam=exam, caliber=caliber)
    assert after.analysis.scores_revision == before.analysis.scores_revision + 1
    chinese = after.table("units").filter(
        (pl.col("level") == "exam") & (pl.col("subject") == "语文")
    )
    assert chinese.get_column("mean").item() == (82 + 95) / 2
