"""The entry grid page and its JSON save endpoint (status codes and the answer's shape)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from conftest import World
from django.test import Client
from django.urls import reverse

from xiaowu.exams.models import Exam, Score
from xiaowu.exams.services import exam_lock
from xiaowu.exams.tests.test_setup_services import (
    candidate_of,
    school_exam,
    subject_of,
    teach,
    term_for_tests,
)

pytestmark = pytest.mark.django_db


def _post(client: Client, exam: Exam, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = client.post(
        reverse("exams:score_save", kwargs={"exam_id": exam.pk}),
        data=json.dumps(body),
        content_type="application/json",
    )
    return response.status_code, response.json()


def _cell(exam: Exam, name: str, subject: str, value: str, version: int) -> dict[str, Any]:
    return {
        "candidate": candidate_of(exam, name).pk,
        "subject": subject_of(exam, subject).pk,
        "value": value,
        "version": version,
    }


def test_save_answers_the_new_version_then_a_conflict(
    world: World, client_for: Callable[[str], Client]
) -> None:
    exam = school_exam(world)
    principal, head = client_for("principal"), client_for("headteacher")
    # when
    status, saved = _post(principal, exam, _cell(exam, "张小明", "语文", "９０.５", 0))
    conflict_status, conflict = _post(head, exam, _cell(exam, "张小明", "语文", "60", 0))
    # then
    assert (status, saved) == (
        200,
        {"ok": True, "version": 1, "display": "90.5", "status": "", "changed": True},
    )
    assert conflict_status == 409
    assert {k: conflict[k] for k in ("ok", "conflict", "version", "display", "by")} == {
        "ok": False,
        "conflict": True,
        "version": 1,
        "display": "90.5",
        "by": "principal用户",
    }
    assert re.fullmatch(r"\d{2}:\d{2}:\d{2}", conflict["at"])
    assert conflict["error"] == "该成绩已被principal用户修改为“90.5”，您的输入未保存。"
    assert Score.objects.get(candidate__exam=exam).version == 1


def test_save_refuses_bad_values_other_subjects_and_locked_exams(
    world: World, client_for: Callable[[str], Client]
) -> None:
    term = term_for_tests()
    exam = school_exam(world, term=term)
    teach(world, "teacher", "class_a", "数学", term)
    teacher = client_for("teacher")
    assert _post(teacher, exam, _cell(exam, "张小明", "数学", "101", 0)) == (
        400,
        {"ok": False, "error": "分数 101 超过满分 100。"},
    )
    assert _post(teacher, exam, _cell(exam, "张小明", "语文", "80", 0)) == (
        403,
        {"ok": False, "error": "您在该班只能录入数学的成绩。"},
    )
    assert _post(teacher, exam, {"candidate": "x"}) == (
        400,
        {"ok": False, "error": "请求格式不正确。"},
    )
    exam_lock(actor=world.users["principal"], exam=exam)
    status, answer = _post(teacher, exam, _cell(exam, "张小明", "数学", "80", 0))
    assert (status, answer["error"]) == (
        400,
        "考试已锁定，不能修改成绩；如需修改，请先由管理人员解除锁定。",
    )
    assert Score.objects.filter(candidate__exam=exam).count() == 0


def test_outsiders_get_404_for_the_exam(world: World, client_for: Callable[[str], Client]) -> None:
    exam = school_exam(world)
    response = client_for("principal2").post(
        reverse("exams:score_save", kwargs={"exam_id": exam.pk}),
        data=json.dumps(_cell(exam, "张小明", "数学", "80", 0)),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert Score.objects.count() == 0


def test_grid_has_editable_cells_only_where_the_user_may_enter(
    world: World, client_for: Callable[[str], Client]
) -> None:
    term = term_for_tests()
    exam = school_exam(world, term=term)
    teach(world, "teacher", "class_a", "数学", term)
    url = reverse("exams:score_grid", kwargs={"exam_id": exam.pk, "class_id": world.class_a.pk})
    # when
    page = client_for("teacher").get(url).content.decode()
    # then
    inputs = re.findall(r'<input type="text" class="xw-score"[^>]*>', page)
    assert len(inputs) == 6  # 2 pupils × 3 subjects
    editable = [i for i in inputs if "readonly" not in i]
    assert {re.search(r'aria-label="([^"]+)"', i)[1] for i in editable} == {  # type: ignore[index]
        "张小明 数学",
        "李小红 数学",
    }
    assert "您在本班可以录入：数学。" in page
    assert f'data-save-url="/exams/{exam.pk}/scores/"' in page


def test_grid_shows_saved_values_with_their_versions(
    world: World, client_for: Callable[[str], Client]
) -> None:
    exam = school_exam(world)
    principal = client_for("principal")
    _post(principal, exam, _cell(exam, "李小红", "英语", "z", 0))
    url = reverse("exams:score_grid", kwargs={"exam_id": exam.pk, "class_id": world.class_a.pk})
    page = principal.get(url + f"?subject={subject_of(exam, '英语').pk}").content.decode()
    cell = re.search(r'<input type="text" class="xw-score" value="作弊"[^>]*>', page)
    assert cell is not None
    assert 'data-version="1"' in cell[0]
    assert 'title="最后修改：principal用户"' in cell[0]
    assert page.count('class="xw-score"') == 2  # one subject shown


def test_grid_of_a_class_not_in_the_exam_is_404(
    world: World, client_for: Callable[[str], Client]
) -> None:
    exam = school_exam(world)
    url = reverse("exams:score_grid", kwargs={"exam_id": exam.pk, "class_id": world.class_b.pk})
    assert client_for("principal").get(url).status_code == 404
