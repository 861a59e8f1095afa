"""Value-added: loading and matching the two exams (matched / dropped / joined), each model,
the stored result, the page, and the background path through the jobs app."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from conftest import World
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from xiaowu.exams.models import AnalysisStatus, Exam, ValueAddedAnalysis, ValueAddedMethod
from xiaowu.exams.tests.test_analysis_world import (
    candidate_add,
    exam_create,
    scores_set,
    teacher_set,
)
from xiaowu.exams.value_added import (
    JOB_KIND,
    ValueAddedError,
    exam_subject_scores,
    value_added_frame,
    value_added_run,
)
from xiaowu.jobs.execution import job_execute
from xiaowu.jobs.models import Job
from xiaowu.jobs.registry import JOB_KINDS
from xiaowu.org.tests.factories import SchoolClassFactory
from xiaowu.staff.models import StaffMember
from xiaowu.students.models import Student
from xiaowu.students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

Pair = tuple[Exam, Exam, dict[str, list[Student]]]


@pytest.fixture(autouse=True)
def var_dir(settings: Settings, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def two_exams(world: World) -> tuple[Exam, Exam, dict[str, list[Student]]]:
    """Entry (Sept) and exit (June) exams of 青石小学's grade 1: 24 students sit both, 3 only
    the entry exam (left), 2 only the exit exam (new); one class grows faster than the other."""
    class_c = SchoolClassFactory(code="S1-C102", grade=1, class_number=2, parent=world.school)
    entry = exam_create(
        owner=world.school,
        schools=[world.school],
        subjects={"语文": 100, "数学": 100},
        name="入学摸底",
        held_on=date(2024, 9, 10),
    )
    exit_ = exam_create(
        owner=world.school,
        schools=[world.school],
        subjects={"语文": 100, "数学": 100},
        name="期末考试",
        held_on=date(2025, 6, 25),
    )
    groups: dict[str, list[Student]] = {"both": [], "left": [], "new": []}
    for index in range(29):
        school_class = world.class_a if index % 2 == 0 else class_c
        student = StudentFactory(school_class=school_class, name=f"学生{index}")
        prior = 50 + (index * 13) % 45
        growth = 8 if school_class == world.class_a else -4
        if index < 27:
            candidate_add(entry, student)
            scores_set(entry, student, {"语文": prior, "数学": min(100, prior + 3)})
        if index < 24 or index >= 27:
            candidate_add(exit_, student)
            value = max(0, min(100, prior + growth + (index * 7) % 5))
            scores_set(exit_, student, {"语文": value, "数学": min(100, value + 1)})
        key = "both" if index < 24 else ("left" if index < 27 else "new")
        groups[key].append(student)
    teacher_set(exit_, world.class_a, "语文", StaffMember.objects.get(name="孙老师"))
    return entry, exit_, groups


def test_scores_of_a_subject_and_of_the_total(two_exams: Pair) -> None:
    _entry, exit_, _groups = two_exams
    chinese = exam_subject_scores(exit_, "语文")
    total = exam_subject_scores(exit_, "总分")
    assert chinese.height == total.height == 26
    first = chinese.sort("candidate_id").row(0, named=True)
    first_total = total.filter(pl.col("candidate_id") == first["candidate_id"]).row(0, named=True)
    assert first_total["score"] == first["score"] * 2 + 1 or first_total["score"] == 200


@pytest.mark.parametrize(
    "method",
    [ValueAddedMethod.RESIDUAL_EB, ValueAddedMethod.Z_GAIN, ValueAddedMethod.PERCENTILE_GAIN],
)
def test_matched_dropped_joined_and_units(world: World, two_exams: Pair, method: str) -> None:
    entry, exit_, _groups = two_exams
    analysis = value_added_run(
        actor=world.users["principal"],
        entry_exam=entry,
        exit_exam=exit_,
        subject="语文",
        method=method,
    )
    assert analysis.status == AnalysisStatus.DONE
    assert (analysis.matched, analysis.dropped, analysis.joined) == (24, 3, 2)
    units = value_added_frame(analysis, "units")
    classes = units.filter(pl.col("level") == "class").sort("va", descending=True)
    assert classes.get_column("unit_id").to_list()[0] == world.class_a.pk  # grew faster
    assert classes.get_column("n").to_list() == [12, 12]
    row = classes.row(0, named=True)
    assert row["ci_low"] < row["va"] < row["ci_high"]
    assert row["se"] > 0
    assert bool(row["small_n"]) is False
    # The teacher level exists for the class that has a 语文 teacher only.
    teachers = units.filter(pl.col("level") == "teacher")
    assert teachers.height == 1
    assert teachers.get_column("n").item() == 12
    # Same inputs and revisions: the stored result is reused.
    again = value_added_run(
        actor=world.users["principal"],
        entry_exam=entry,
        exit_exam=exit_,
        subject="语文",
        method=method,
    )
    assert again.pk == analysis.pk


def test_residual_eb_shrinks_and_records_variance_components(world: World, two_exams: Pair) -> None:
    entry, exit_, _groups = two_exams
    analysis = value_added_run(
        actor=world.users["principal"],
        entry_exam=entry,
        exit_exam=exit_,
        subject="总分",
        method=ValueAddedMethod.RESIDUAL_EB,
    )
    units = value_added_frame(analysis, "units").filter(pl.col("level") == "class")
    for row in units.iter_rows(named=True):
        assert abs(row["va"]) <= abs(row["raw_va"]) + 1e-12
        assert 0 < row["lambda"] <= 1
    assert analysis.summary["sigma_residual"] > 0
    assert analysis.summary["entry_subject"] == "总分"
    # No teacher is recorded for 总分: no teacher level.
    assert value_added_frame(analysis, "units").filter(pl.col("level") == "teacher").is_empty()


def test_too_few_matched_students_is_refused_in_chinese(world: World) -> None:
    entry = exam_create(
        owner=world.school, schools=[world.school], subjects={"语文": 100}, held_on=date(2024, 9, 1)
    )
    exit_ = exam_create(owner=world.school, schools=[world.school], subjects={"语文": 100})
    for exam in (entry, exit_):
        candidate_add(exam, world.child)
        scores_set(exam, world.child, {"语文": 80})
    with pytest.raises(ValueAddedError, match="共同的学生只有 1 人"):
        value_added_run(
            actor=world.users["principal"],
            entry_exam=entry,
            exit_exam=exit_,
            subject="语文",
            method=ValueAddedMethod.RESIDUAL_EB,
        )


def test_sgp_needs_fifty_students(world: World, two_exams: Pair) -> None:
    entry, exit_, _groups = two_exams
    with pytest.raises(ValueAddedError, match="至少需要 50 名"):
        value_added_run(
            actor=world.users["principal"],
            entry_exam=entry,
            exit_exam=exit_,
            subject="语文",
            method=ValueAddedMethod.SGP,
        )
    assert ValueAddedAnalysis.objects.get(method="sgp").status == AnalysisStatus.FAILED


def test_sgp_units_have_median_and_mean(world: World) -> None:
    entry = exam_create(
        owner=world.school, schools=[world.school], subjects={"数学": 100}, held_on=date(2024, 9, 1)
    )
    exit_ = exam_create(owner=world.school, schools=[world.school], subjects={"数学": 100})
    class_c = SchoolClassFactory(code="S1-C103", grade=1, class_number=3, parent=world.school)
    for index in range(60):
        school_class = world.class_a if index < 30 else class_c
        student = StudentFactory(school_class=school_class, name=f"成长{index}")
        prior = 30 + (index * 37) % 61
        for exam, value in ((entry, prior), (exit_, min(100, prior + (index * 11) % 9))):
            candidate_add(exam, student)
            scores_set(exam, student, {"数学": value})
    analysis = value_added_run(
        actor=world.users["principal"],
        entry_exam=entry,
        exit_exam=exit_,
        subject="数学",
        method=ValueAddedMethod.SGP,
    )
    assert analysis.status == AnalysisStatus.DONE, analysis.error
    units = value_added_frame(analysis, "units").filter(pl.col("level") == "class")
    assert units.height == 2
    for row in units.iter_rows(named=True):
        assert 1 <= row["sgp_median"] <= 99
        assert 1 <= row["sgp_mean"] <= 99
        assert row["va"] == pytest.approx(row["sgp_mean"] - 50)
    students = value_added_frame(analysis, "students")
    assert students.height == 60


def test_value_added_page_shows_counts_and_units(
    world: World, two_exams: Pair, client_for: Callable[[str], Client]
) -> None:
    entry, exit_, _groups = two_exams
    client = client_for("principal")
    response = client.post(
        reverse("exams:va_form"),
        {"exit_exam": exit_.pk, "entry_exam": entry.pk, "subject": "语文", "method": "residual_eb"},
    )
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert 'data-stat="matched">24<' in html
    assert 'data-stat="dropped">3<' in html
    assert 'data-stat="joined">2<' in html
    assert "一年级(1)班" in html
    assert "孙老师" in html
    assert 'data-chart="chart-va"' in html
    # Other districts do not see it.
    assert client_for("principal2").get(response["Location"]).status_code == 404


def test_large_fit_runs_as_a_background_job_when_the_kind_is_registered(
    world: World, two_exams: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry, exit_, _groups = two_exams
    monkeypatch.setitem(JOB_KINDS, JOB_KIND, "xiaowu.exams.value_added")
    analysis = value_added_run(
        actor=world.users["principal"],
        entry_exam=entry,
        exit_exam=exit_,
        subject="语文",
        method="z_gain",
        background=True,
    )
    assert analysis.status == AnalysisStatus.PENDING
    job = Job.objects.get(pk=analysis.summary["job_id"])
    assert job.kind == JOB_KIND
    job_execute(job_id=job.pk)
    analysis.refresh_from_db()
    assert analysis.status == AnalysisStatus.DONE
    assert not value_added_frame(analysis, "units").is_empty()


def test_without_the_registered_kind_it_runs_synchronously(
    world: World, two_exams: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(JOB_KINDS, JOB_KIND, raising=False)
    entry, exit_, _groups = two_exams
    analysis = value_added_run(
        actor=world.users["principal"],
        entry_exam=entry,
        exit_exam=exit_,
        subject="语文",
        method="z_gain",
        background=True,
    )
    assert analysis.status == AnalysisStatus.DONE
    assert not Job.objects.exists()
