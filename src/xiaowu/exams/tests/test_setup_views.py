"""Exam setup pages: the list's filters and pinyin search, creating an exam through the form,
the detail page's progress table, participants and 考号, lock and unlock."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from conftest import World
from django.test import Client
from django.urls import reverse

from xiaowu.exams.models import Exam, ExamCandidate, ExamStatus
from xiaowu.exams.services import exam_score_save
from xiaowu.exams.tests.test_setup_services import (
    candidate_of,
    school_exam,
    subject_of,
    term_for_tests,
)

pytestmark = pytest.mark.django_db


def _names(page: str) -> list[str]:
    table = page.split('id="exam-list"', 1)[1]
    return re.findall(r'<a href="/exams/\d+/">([^<]+)</a>', table)


def test_list_filters_and_finds_exams_by_pinyin(
    world: World, client_for: Callable[[str], Client]
) -> None:
    school_exam(world, grade=1)
    school_exam(world, grade=3)
    client = client_for("principal")
    url = reverse("exams:exam_list")
    assert sorted(_names(client.get(url).content.decode())) == ["1年级期中考试", "3年级期中考试"]
    assert _names(client.get(url, {"q": "3njqz"}).content.decode()) == ["3年级期中考试"]
    assert _names(client.get(url, {"q": "qingshi", "grade": "1"}).content.decode()) == [
        "1年级期中考试"
    ]
    assert _names(client.get(url, {"kind": "final"}).content.decode()) == []
    assert _names(client_for("principal2").get(url).content.decode()) == []


def test_creating_an_exam_through_the_form(
    world: World, client_for: Callable[[str], Client]
) -> None:
    term = term_for_tests()
    client = client_for("principal")
    response = client.post(
        reverse("exams:exam_create"),
        {
            "name": "一年级第一次月考",
            "kind": "monthly",
            "owner": world.school.pk,
            "term": term.pk,
            "grade": 1,
            "held_on": "2025-10-08",
            "default_caliber": "",
            "subjects": "语文 100 0.5\n数学，100\n",
        },
    )
    exam = Exam.objects.get(name="一年级第一次月考")
    assert response["Location"] == reverse("exams:participants", kwargs={"exam_id": exam.pk})
    assert list(exam.subjects.values_list("subject", "step")) == [
        ("语文", Decimal("0.5")),
        ("数学", Decimal("1")),
    ]
    bad = client.post(
        reverse("exams:exam_create"),
        {
            "name": "x",
            "kind": "monthly",
            "owner": world.school.pk,
            "grade": 1,
            "held_on": "2025-10-08",
            "subjects": "语文一百",
        },
    )
    assert bad.status_code == 200
    assert bad.context["form"].errors["subjects"] == [
        "第 1 行“语文一百”格式不对：请写成“学科 满分 最小分值”，如“语文 120 0.5”。"
    ]


def test_detail_shows_progress_and_teachers(
    world: World, client_for: Callable[[str], Client]
) -> None:
    exam = school_exam(world)
    exam_score_save(
        actor=world.users["principal"],
        exam=exam,
        candidate_id=candidate_of(exam, "张小明").pk,
        exam_subject_id=subject_of(exam, "语文").pk,
        raw="缺",
        version=0,
    )
    page = client_for("headteacher").get(reverse("exams:exam_detail", kwargs={"exam_id": exam.pk}))
    progress = page.context["progress"]
    assert [(s.school.name, [c.school_class.name for c in s.classes]) for s in progress] == [
        ("青石小学", ["一年级(1)班"])
    ]
    row = progress[0].classes[0]
    assert [(c.subject, c.entered, c.total) for c in row.cells] == [
        ("语文", 1, 2),
        ("数学", 0, 2),
        ("英语", 0, 2),
    ]
    assert row.rights.all_subjects
    assert (page.context["entered"], page.context["expected"]) == (1, 6)
    assert "锁定成绩" not in page.content.decode()  # the 班主任 does not manage the exam


def test_participants_and_numbers_pages(world: World, client_for: Callable[[str], Client]) -> None:
    exam = school_exam(world, with_candidates=False)
    client = client_for("office")
    url = reverse("exams:participants", kwargs={"exam_id": exam.pk})
    page = client.get(url)
    assert [(o.school_class.name, o.enrolled, o.candidates) for o in page.context["options"]] == [
        ("一年级(1)班", 2, 0)
    ]
    assert client.post(url, {"classes": [world.class_a.pk]}).status_code == 302
    assert ExamCandidate.objects.filter(exam=exam).count() == 2
    client.post(
        reverse("exams:numbers_assign", kwargs={"exam_id": exam.pk}),
        {"number_prefix": "A1", "only_missing": ""},
    )
    assert sorted(
        ExamCandidate.objects.filter(exam=exam).values_list("exam_number", flat=True)
    ) == [
        "A1010101",
        "A1010102",
    ]
    refused = client_for("teacher").post(url, {"classes": [world.class_a.pk]})
    assert refused.status_code == 403


def test_lock_and_unlock_buttons(world: World, client_for: Callable[[str], Client]) -> None:
    exam = school_exam(world)
    client = client_for("principal")
    client.post(reverse("exams:exam_lock", kwargs={"exam_id": exam.pk}))
    assert Exam.objects.get(pk=exam.pk).status == ExamStatus.LOCKED
    grid = client.get(
        reverse("exams:score_grid", kwargs={"exam_id": exam.pk, "class_id": world.class_a.pk})
    ).content.decode()
    assert "本次考试的成绩已锁定，只能查看。" in grid
    assert grid.count('readonly tabindex="-1"') == 6  # 2 pupils × 3 subjects, none editable
    client.post(reverse("exams:exam_unlock", kwargs={"exam_id": exam.pk}))
    assert Exam.objects.get(pk=exam.pk).status == ExamStatus.ENTRY
