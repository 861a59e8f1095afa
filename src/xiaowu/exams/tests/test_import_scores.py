"""Score import: matching rows to candidates (考号, 学籍号, 姓名 + 班级), row-level Chinese
errors, status words, all-or-nothing commits, audit and revision, preview → commit, 小题."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter
from conftest import World
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from xiaowu.audit.models import AuditEvent
from xiaowu.exams import score_import
from xiaowu.exams.models import Exam, ExamItem, ItemScore, Score
from xiaowu.exams.score_import import (
    MODE_ITEMS,
    item_label,
    score_import_commit,
    score_import_preview,
    score_import_run,
)
from xiaowu.exams.services import exam_lock, exam_numbers_assign, exam_score_save
from xiaowu.exams.tests.test_setup_services import candidate_of, school_exam, subject_of
from xiaowu.exchange.safety import UploadRejectedError
from xiaowu.jobs.models import Job, JobStatus
from xiaowu.jobs.registry import JOB_KINDS
from xiaowu.jobs.services import job_enqueue
from xiaowu.jobs.worker import jobs_run_pending
from xiaowu.students.models import Student
from xiaowu.students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db


def csv_file(rows: Sequence[Sequence[object]]) -> bytes:
    return "\n".join(",".join(str(cell) for cell in row) for row in rows).encode("utf-8-sig")


def xlsx_file(rows: Sequence[Sequence[object]]) -> bytes:
    handle = io.BytesIO()
    workbook = xlsxwriter.Workbook(handle, {"in_memory": True})
    sheet = workbook.add_worksheet("成绩")
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            sheet.write(r, c, cell)
    workbook.close()
    return handle.getvalue()


def numbered_exam(world: World) -> Exam:
    exam = school_exam(world)
    exam_numbers_assign(actor=world.users["principal"], exam=exam, prefix="", only_missing=False)
    return exam


def run(world: World, exam: Exam, data: bytes, name: str = "成绩.csv", **kwargs: object):
    return score_import_run(
        actor=world.users["principal"], exam=exam, name=name, data=data, **kwargs
    )


def scores(exam: Exam) -> dict[tuple[str, str], tuple[str, str]]:
    """{(name, subject): (value, status)} of the stored scores."""
    return {
        (name, subject): ("" if value is None else f"{value.normalize():f}", status)
        for name, subject, value, status in Score.objects.filter(candidate__exam=exam).values_list(
            "candidate__student__name", "exam_subject__subject", "value", "status"
        )
    }


def errors(outcome) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.message) for e in outcome.plan.errors]


# --------------------------------------------------------------------------- matching
def test_rows_match_by_exam_number_student_number_or_name_and_class(world: World) -> None:
    exam = numbered_exam(world)
    Student.objects.filter(name="李小红").update(national_student_number="G110101201803050021")
    number = candidate_of(exam, "张小明").exam_number
    data = csv_file(
        [
            ["考号", "学籍号", "姓名", "班级", "语文", "数学", "英语成绩"],
            [number, "", "张小明", "", "88.5", "缺", "90"],
            ["", "g110101201803050021", "", "", "79", "q", "免"],
        ]
    )
    # when
    outcome = run(world, exam, data)
    # then
    assert errors(outcome) == []
    assert outcome.committed
    assert scores(exam) == {
        ("张小明", "语文"): ("88.5", ""),
        ("张小明", "数学"): ("", "absent"),
        ("张小明", "英语"): ("90", ""),
        ("李小红", "语文"): ("79", ""),
        ("李小红", "数学"): ("", "absent"),
        ("李小红", "英语"): ("", "exempt"),
    }
    by_name = run(
        world, exam, csv_file([["姓名", "班级", "语文"], ["李小红", "1班", "81"]]), name="b.csv"
    )
    assert errors(by_name) == []
    assert scores(exam)[("李小红", "语文")] == ("81", "")


def test_unknown_ambiguous_and_mismatched_rows_are_named(world: World) -> None:
    StudentFactory(school_class=world.class_a, name="张小明")  # a second 张小明 in the class
    exam = numbered_exam(world)
    li = candidate_of(exam, "李小红").exam_number
    data = csv_file(
        [
            ["考号", "姓名", "班级", "语文", "数学"],
            ["", "张小明", "一年级(1)班", "80", "80"],
            ["", "王小二", "一年级(1)班", "80", "80"],
            ["999999", "", "", "80", "80"],
            [li, "张小明", "", "80", "80"],
            ["", "", "", "80", "80"],
            ["", "李小红", "", "80", "80"],
            ["", "李小红", "五班半", "80", "80"],
        ]
    )
    outcome = run(world, exam, data)
    assert errors(outcome) == [
        (
            2,
            "姓名",
            "一年级(1)班有 2 名考生都叫“张小明”（青石小学），无法区分；"
            "请增加“学校”列，或改用考号、学籍号。",
        ),
        (3, "姓名", "一年级(1)班没有名为“王小二”的考生。"),
        (4, "考号", "考号“999999”不是本次考试的考生。"),
        (5, "姓名", f"考号“{li}”对应的考生是李小红，与姓名“张小明”不符。"),
        (6, "", "缺少考号、学籍号和姓名，无法确定是哪位考生。"),
        (7, "姓名", "按姓名匹配考生时需要填写班级（或改用考号）。"),
        (8, "班级", "无法识别的班级“五班半”。"),
    ]
    assert not outcome.committed
    assert Score.objects.count() == 0


def test_bad_scores_are_reported_by_row_and_column_and_nothing_is_written(world: World) -> None:
    exam = numbered_exam(world)
    zhang = candidate_of(exam, "张小明").exam_number
    li = candidate_of(exam, "李小红").exam_number
    data = csv_file(
        [
            ["考号", "语文", "数学", "英语"],
            [zhang, "101", "60.5", "好"],
            [li, "95.5", "90", "作弊"],
            [zhang, "90", "90", "90"],
        ]
    )
    outcome = run(world, exam, data)
    assert errors(outcome) == [
        (2, "语文", "分数 101 超过满分 100。"),
        (2, "数学", "分数 60.5 不符合本科目的给分要求：只能填写整数分。"),
        (
            2,
            "英语",
            "无法识别的分数“好”：请填写 0–100 之间的分数，或缺考填“缺”或 q，作弊填“弊”或 z，"
            "免考填“免”或 m，借读不计填“借”或 j。",
        ),
        (4, "", "与第 2 行是同一名考生（张小明）。"),
    ]
    assert Score.objects.count() == 0
    assert Exam.objects.get(pk=exam.pk).scores_revision == 0
    assert not AuditEvent.objects.filter(event="exams.score_import").exists()


def test_a_file_without_subject_columns_or_header_is_refused(world: World) -> None:
    exam = numbered_exam(world)
    no_subject = run(world, exam, csv_file([["考号", "姓名", "物理"], ["1", "张小明", "80"]]))
    assert errors(no_subject) == [
        (1, "", "表头中没有本次考试的科目列；本次考试的科目为：语文、数学、英语。")
    ]
    no_header = run(world, exam, csv_file([["学生", "分数"], ["张小明", "80"]]))
    assert errors(no_header) == [
        (1, "", "未找到表头：第一行应写列名，至少包含“考号”“学籍号”或“姓名”之一。")
    ]
    with pytest.raises(UploadRejectedError):
        run(world, exam, b"MZ\x90\x00binary", name="成绩.csv")


# --------------------------------------------------------------------------- writing
def test_import_updates_changed_cells_keeps_blank_ones_and_audits_once(world: World) -> None:
    exam = numbered_exam(world)
    zhang = candidate_of(exam, "张小明")
    exam_score_save(
        actor=world.users["principal"],
        exam=exam,
        candidate_id=zhang.pk,
        exam_subject_id=subject_of(exam, "英语").pk,
        raw="70",
        version=0,
    )
    revision = Exam.objects.get(pk=exam.pk).scores_revision
    data = xlsx_file(
        [
            ["2025学年一年级期中成绩"],
            ["考号", "姓名", "语文", "数学", "英语", "备注"],
            [zhang.exam_number, "张小明", 92.5, 88, "", "补考"],
            [candidate_of(exam, "李小红").exam_number, "李小红", "缺考", 100, 99.5, ""],
        ]
    )
    # when
    outcome = run(world, exam, data, name="一年级成绩.xlsx")
    # then
    assert errors(outcome) == []
    assert outcome.plan.ignored == ["备注"]
    assert scores(exam) == {
        ("张小明", "语文"): ("92.5", ""),
        ("张小明", "数学"): ("88", ""),
        ("张小明", "英语"): ("70", ""),  # blank cell: kept
        ("李小红", "语文"): ("", "absent"),
        ("李小红", "数学"): ("100", ""),
        ("李小红", "英语"): ("99.5", ""),
    }
    assert Exam.objects.get(pk=exam.pk).scores_revision == revision + 1
    event = AuditEvent.objects.get(event="exams.score_import")
    assert {
        k: event.changes[k] for k in ("rows", "matched", "created", "updated", "unchanged")
    } == {
        "rows": 2,
        "matched": 2,
        "created": 5,
        "updated": 0,
        "unchanged": 0,
    }
    assert event.changes["original_name"] == "一年级成绩.xlsx"
    # a changed cell gets a new version; the same file again changes nothing
    changed = xlsx_file([["考号", "英语"], [zhang.exam_number, 71]])
    assert run(world, exam, changed, name="b.xlsx").counts.updated == 1
    assert Score.objects.get(candidate=zhang, exam_subject__subject="英语").version == 2
    again = run(world, exam, changed, name="b.xlsx")
    assert (again.committed, again.plan.unchanged, again.counts.updated) == (True, 1, 0)
    assert AuditEvent.objects.filter(event="exams.score_import").count() == 2
    assert Exam.objects.get(pk=exam.pk).scores_revision == revision + 2


def test_dry_run_writes_nothing(world: World) -> None:
    exam = numbered_exam(world)
    data = csv_file([["考号", "语文"], [candidate_of(exam, "张小明").exam_number, "60"]])
    outcome = run(world, exam, data, dry_run=True)
    assert (outcome.committed, len(outcome.plan.creates)) == (False, 1)
    assert Score.objects.count() == 0


def test_locked_exam_and_other_schools_are_refused(world: World) -> None:
    exam = numbered_exam(world)
    data = csv_file([["考号", "语文"], [candidate_of(exam, "张小明").exam_number, "60"]])
    with pytest.raises(PermissionDenied):
        score_import_run(actor=world.users["principal2"], exam=exam, name="a.csv", data=data)
    with pytest.raises(PermissionDenied):
        score_import_run(actor=world.users["teacher"], exam=exam, name="a.csv", data=data)
    exam_lock(actor=world.users["principal"], exam=exam)
    with pytest.raises(ValidationError, match="考试已锁定"):
        run(world, Exam.objects.get(pk=exam.pk), data)
    assert Score.objects.count() == 0


def test_preview_then_commit_with_the_signed_token(world: World) -> None:
    exam = numbered_exam(world)
    principal = world.users["principal"]
    data = csv_file([["考号", "数学"], [candidate_of(exam, "李小红").exam_number, "96"]])
    preview = score_import_preview(actor=principal, exam=exam, name="a.csv", data=data)
    assert (len(preview.plan.creates), Score.objects.count()) == (1, 0)
    assert preview.plan.preview[0].cells == [("数学", "96", True)]
    with pytest.raises(ValidationError, match="预览已过期或无效"):
        score_import_commit(actor=world.users["district"], exam=exam, token=preview.token)
    with pytest.raises(ValidationError, match="预览已过期或无效"):
        score_import_commit(actor=principal, exam=exam, token=preview.token + "x")
    outcome = score_import_commit(actor=principal, exam=exam, token=preview.token)
    assert outcome.committed
    assert scores(exam) == {("李小红", "数学"): ("96", "")}
    with pytest.raises(ValidationError, match="文件已不存在"):
        score_import_commit(actor=principal, exam=exam, token=preview.token)


def test_import_pages_preview_and_commit(world: World, client_for: Callable[[str], Client]) -> None:
    exam = numbered_exam(world)
    client = client_for("principal")
    url = reverse("exams:score_import", kwargs={"exam_id": exam.pk})
    upload = io.BytesIO(
        csv_file([["考号", "英语"], [candidate_of(exam, "张小明").exam_number, "q"]])
    )
    upload.name = "英语.csv"
    page = client.post(url, {"mode": "scores", "file": upload})
    assert page.status_code == 200
    token = page.context["preview"].token
    assert "确认导入" in page.content.decode()
    done = client.post(
        reverse("exams:score_import_commit", kwargs={"exam_id": exam.pk}), {"token": token}
    )
    assert done.status_code == 302
    assert scores(exam) == {("张小明", "英语"): ("", "absent")}


# --------------------------------------------------------------------------- 小题
@pytest.mark.parametrize(
    ("header", "label"),
    [
        ("1", "1"),
        ("12", "12"),
        ("3(1)", "3(1)"),
        ("第4题", "4"),
        ("3（2）", "3(2)"),
        ("总分", None),
    ],
)
def test_item_labels(header: str, label: str | None) -> None:
    assert item_label(header) == label


def test_item_scores_create_items_from_the_full_mark_row_and_sum_into_the_subject(
    world: World,
) -> None:
    exam = numbered_exam(world)
    math = subject_of(exam, "数学")
    zhang = candidate_of(exam, "张小明").exam_number
    li = candidate_of(exam, "李小红").exam_number
    data = csv_file(
        [
            ["考号", "姓名", "1", "2", "3(1)", "3(2)", "总分"],
            ["", "满分", "40", "30", "20", "10", ""],
            [zhang, "张小明", "38", "25", "20", "7.5", "90.5"],
            [li, "李小红", "缺", "", "", "", ""],
        ]
    )
    outcome = run(world, exam, data, mode=MODE_ITEMS, subject_id=math.pk)
    assert errors(outcome) == []
    assert list(
        ExamItem.objects.filter(exam_subject=math).values_list("label", "full_mark", "sort_order")
    ) == [
        ("1", Decimal("40.0"), 1),
        ("2", Decimal("30.0"), 2),
        ("3(1)", Decimal("20.0"), 3),
        ("3(2)", Decimal("10.0"), 4),
    ]
    assert sorted(
        ItemScore.objects.filter(item__exam_subject=math).values_list(
            "candidate__student__name", "item__label", "value"
        )
    ) == [
        ("张小明", "1", Decimal("38.0")),
        ("张小明", "2", Decimal("25.0")),
        ("张小明", "3(1)", Decimal("20.0")),
        ("张小明", "3(2)", Decimal("7.5")),
    ]
    assert scores(exam) == {("张小明", "数学"): ("90.5", ""), ("李小红", "数学"): ("", "absent")}
    # a second file for the same items needs no 满分 row and updates in place
    again = run(
        world,
        exam,
        csv_file([["考号", "1", "2"], [zhang, "40", "25"]]),
        mode=MODE_ITEMS,
        subject_id=math.pk,
        update_totals=False,
    )
    assert errors(again) == []
    assert (again.counts.item_scores, ItemScore.objects.count()) == (1, 4)
    assert ItemScore.objects.get(item__label="1", candidate__exam_number=zhang).value == 40


def test_item_errors(world: World) -> None:
    exam = numbered_exam(world)
    math = subject_of(exam, "数学")
    zhang = candidate_of(exam, "张小明").exam_number
    no_marks = run(
        world,
        exam,
        csv_file([["考号", "1", "2"], [zhang, "3", "4"]]),
        mode=MODE_ITEMS,
        subject_id=math.pk,
    )
    assert errors(no_marks) == [
        (2, "", "小题 1、2 的满分未知：请在表头下一行写一行“满分”（姓名列填“满分”）。")
    ]
    too_much = run(
        world,
        exam,
        csv_file(
            [["考号", "姓名", "1", "2"], ["", "满分", "60", "50"], [zhang, "张小明", "61", "5"]]
        ),
        mode=MODE_ITEMS,
        subject_id=math.pk,
    )
    assert errors(too_much) == [(2, "", "各小题满分之和 110 超过“数学”的满分 100。")]
    over = run(
        world,
        exam,
        csv_file(
            [["考号", "姓名", "1", "2"], ["", "满分", "60", "40"], [zhang, "张小明", "61", "5"]]
        ),
        mode=MODE_ITEMS,
        subject_id=math.pk,
    )
    assert errors(over) == [(3, "1", "得分 61 超过该小题满分 60。")]
    assert (ExamItem.objects.count(), ItemScore.objects.count(), Score.objects.count()) == (0, 0, 0)


# --------------------------------------------------------------------------- background job
def test_a_large_file_is_committed_by_a_background_job(
    world: World, client_for: Callable[[str], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the job kind registered, and a threshold this small file reaches
    monkeypatch.setitem(JOB_KINDS, score_import.KIND, "xiaowu.exams.score_import")
    monkeypatch.setattr(score_import, "BACKGROUND_ROWS", 2)
    exam = numbered_exam(world)
    client = client_for("principal")
    upload = io.BytesIO(
        csv_file(
            [
                ["考号", "数学"],
                [candidate_of(exam, "张小明").exam_number, "77"],
                [candidate_of(exam, "李小红").exam_number, "78"],
            ]
        )
    )
    upload.name = "数学.csv"
    token = (
        client.post(
            reverse("exams:score_import", kwargs={"exam_id": exam.pk}),
            {"mode": "scores", "file": upload},
        )
        .context["preview"]
        .token
    )
    # when
    response = client.post(
        reverse("exams:score_import_commit", kwargs={"exam_id": exam.pk}), {"token": token}
    )
    job = Job.objects.get()
    # then: queued, not yet written; the worker writes it
    assert response["Location"] == reverse("jobs:detail", args=[job.pk])
    assert (job.kind, job.unit, Score.objects.count()) == ("exams.score_import", world.school, 0)
    jobs_run_pending()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result_message == "导入完成：新增成绩 2 个，修改 0 个，未变化 0 个。"
    assert scores(exam) == {("张小明", "数学"): ("77", ""), ("李小红", "数学"): ("78", "")}
    with pytest.raises(ValidationError, match="预览已过期或无效"):
        job_enqueue(
            actor=world.users["district"],  # may import, but the preview was not theirs
            kind=score_import.KIND,
            unit=world.school,
            params={"exam_id": exam.pk, "token": token},
            title="x",
        )


# --------------------------------------------------------------------------- command line
def test_exam_import_command(world: World, tmp_path: Path) -> None:
    exam = numbered_exam(world)
    good = tmp_path / "成绩.csv"
    good.write_bytes(csv_file([["考号", "英语"], [candidate_of(exam, "张小明").exam_number, "66"]]))
    out = io.StringIO()
    call_command(
        "exam", "import", str(good), "--exam", str(exam.pk), "--format", "json", stdout=out
    )
    assert json.loads(out.getvalue()) == {
        "committed": True,
        "rows": 1,
        "matched": 1,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "item_scores": 0,
        "errors": [],
    }
    event = AuditEvent.objects.get(event="exams.score_import")
    assert (event.actor_id, event.actor_label) == (None, "命令行")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_file([["考号", "英语"], ["000000", "66"]]))
    text = io.StringIO()
    with pytest.raises(CommandError, match="发现 1 处错误，未写入任何数据"):
        call_command("exam", "import", str(bad), "--exam", str(exam.pk), stdout=text)
    assert text.getvalue() == "第 2 行［考号］：考号“000000”不是本次考试的考生。\n"
    with pytest.raises(CommandError, match="没有编号为 999999 的考试"):
        call_command("exam", "import", str(good), "--exam", "999999")
    assert scores(exam) == {("张小明", "英语"): ("66", "")}
