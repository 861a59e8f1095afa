"""``xiaowu exam analyze ID --format json|xlsx``."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import World
from django.core.management import CommandError, call_command
from pytest_django.fixtures import Settings

from xiaowu.audit.models import AuditEvent
from xiaowu.exams.models import Exam
from xiaowu.exams.tests.test_analysis_world import class_fill, exam_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings: Settings, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def exam(world: World) -> Exam:
    exam = exam_create(owner=world.school, schools=[world.school], subjects={"语文": 100})
    class_fill(exam, world.class_a, [{"语文": 40 + 5 * i} for i in range(12)])
    class_fill(exam, world.class_b, [{"语文": 55 + 3 * i} for i in range(12)], prefix="乙")
    return exam


def _json(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("exam", "analyze", *args, stdout=out)
    data: dict[str, Any] = json.loads(out.getvalue())
    return data


def test_json_output_has_the_caliber_and_the_tables(exam: Exam) -> None:
    data = _json(str(exam.pk), "--format", "json")
    assert data["caliber"]["code"] == "general"
    assert data["caliber"]["version"] == 1
    units = data["units"]
    assert isinstance(units, list)
    total = next(u for u in units if u["level"] == "exam" and u["subject"] == "语文")
    assert total["sat"] == 24
    passing = [40 + 5 * i for i in range(12)] + [55 + 3 * i for i in range(12)]
    assert total["pass_n"] == sum(1 for score in passing if score >= 60) == 18
    assert "students" not in data
    assert {"one_point", "bands", "joint"} <= set(data)


def test_preset_changes_the_caliber(exam: Exam) -> None:
    data = _json(str(exam.pk), "--preset", "county-weighted")
    assert data["caliber"]["code"] == "county-weighted"
    classes = [u for u in data["units"] if u["level"] == "class"]
    assert all(u["composite"] is not None for u in classes)


def test_unknown_preset_and_exam_are_errors(exam: Exam) -> None:
    with pytest.raises(CommandError, match="没有名为“nope”的预置口径"):
        _json(str(exam.pk), "--preset", "nope")
    with pytest.raises(CommandError, match="没有编号为 999999 的考试"):
        _json("999999")


def test_xlsx_output_is_written_and_audited_as_operator(exam: Exam, tmp_path: Path) -> None:
    target = tmp_path / "out.xlsx"
    out = io.StringIO()
    call_command("exam", "analyze", str(exam.pk), "--format", "xlsx", "-o", str(target), stdout=out)
    assert "已写入" in out.getvalue()
    book = openpyxl.load_workbook(target)
    assert "分析总表" in book.sheetnames
    event = AuditEvent.objects.get(event="exams.analysis_export")
    assert event.actor_id is None
    assert event.actor_label == "命令行"


def test_students_option_adds_ranks_with_ties_and_is_audited(exam: Exam) -> None:
    before = AuditEvent.objects.filter(event="exams.analysis_students_export").count()
    data = _json(str(exam.pk), "--format", "json", "--students")
    assert len(data["candidates"]) == 24
    assert all(row["exam_number"] for row in data["candidates"])
    rows = [row for row in data["students"] if row["subject"] == "语文"]
    scores = [row["score"] for row in rows]
    # competition ranks (1224) over the whole exam, computed independently here
    for row in rows:
        assert row["rank_exam"] == 1 + sum(1 for other in scores if other > row["score"])
    assert any(scores.count(score) > 1 for score in scores)  # the data has ties
    assert "assigned" not in data  # the 通用口径 has no 等级赋分
    after = AuditEvent.objects.filter(event="exams.analysis_students_export")
    assert after.count() == before + 1
    assert after.latest("pk").changes["candidates"] == 24
