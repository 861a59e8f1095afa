"""Score entry, cell by cell: reading what was typed, who may enter which class × subject, the
optimistic lock, the locked exam, audit rows and the scores revision."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import World
from django.core.exceptions import PermissionDenied, ValidationError

from xiaowu.audit.models import AuditEvent
from xiaowu.core.tabular import CellError
from xiaowu.exams.models import Exam, ExamClassTeacher, ExamStatus, Score, ScoreStatus
from xiaowu.exams.services import (
    ScoreConflictError,
    exam_lock,
    exam_score_save,
    exam_unlock,
    score_cell_parse,
    score_entry_rights,
    score_entry_rights_map,
)
from xiaowu.exams.tests.test_setup_services import (
    candidate_of,
    school_exam,
    staff_of,
    subject_of,
    teach,
    term_for_tests,
)

pytestmark = pytest.mark.django_db

HUNDRED, HALF, ONE = Decimal("100"), Decimal("0.5"), Decimal("1")


# --------------------------------------------------------------------------- reading a cell
@pytest.mark.parametrize(
    ("raw", "step", "expected"),
    [
        ("85", ONE, (Decimal("85.0"), "")),
        ("85.5", HALF, (Decimal("85.5"), "")),
        ("０", ONE, (Decimal("0.0"), "")),
        ("９８.５", HALF, (Decimal("98.5"), "")),
        (" 100 ", ONE, (Decimal("100.0"), "")),
        ("87分", ONE, (Decimal("87.0"), "")),
        (92.0, ONE, (Decimal("92.0"), "")),
        (92.5, HALF, (Decimal("92.5"), "")),
        (60, ONE, (Decimal("60.0"), "")),
        ("", ONE, (None, "")),
        (None, ONE, (None, "")),
        ("缺", ONE, (None, ScoreStatus.ABSENT)),
        ("缺考", ONE, (None, ScoreStatus.ABSENT)),
        ("q", ONE, (None, ScoreStatus.ABSENT)),
        ("Q", ONE, (None, ScoreStatus.ABSENT)),
        ("作弊", ONE, (None, ScoreStatus.CHEATED)),
        ("z", ONE, (None, ScoreStatus.CHEATED)),
        ("免考", ONE, (None, ScoreStatus.EXEMPT)),
        ("m", ONE, (None, ScoreStatus.EXEMPT)),
        ("借读不计", ONE, (None, ScoreStatus.NOT_COUNTED)),
        ("j", ONE, (None, ScoreStatus.NOT_COUNTED)),
    ],
)
def test_a_cell_reads_as_score_or_status(
    raw: object, step: Decimal, expected: tuple[Decimal | None, str]
) -> None:
    assert score_cell_parse(raw, full_mark=HUNDRED, step=step) == expected


@pytest.mark.parametrize(
    ("raw", "step", "message"),
    [
        ("101", ONE, "分数 101 超过满分 100。"),
        ("100.5", HALF, "分数 100.5 超过满分 100。"),
        ("85.5", ONE, "分数 85.5 不符合本科目的给分要求：只能填写整数分。"),
        ("85.25", HALF, "分数 85.25 不符合本科目的给分要求：只能填写整数或 .5 分。"),
        ("-3", ONE, "分数不能为负数（-3）。"),
        (
            "八十",
            ONE,
            "无法识别的分数“八十”：请填写 0–100 之间的分数，或缺考填“缺”或 q，"
            "作弊填“弊”或 z，免考填“免”或 m，借读不计填“借”或 j。",
        ),
        (True, ONE, "分数不能是逻辑值。"),
    ],
)
def test_a_bad_cell_is_refused_with_a_reason(raw: object, step: Decimal, message: str) -> None:
    with pytest.raises(CellError) as caught:
        score_cell_parse(raw, full_mark=HUNDRED, step=step)
    assert caught.value.message == message


# --------------------------------------------------------------------------- saving
def _save(world: World, exam: Exam, username: str, name: str, subject: str, raw: str, v: int):
    return exam_score_save(
        actor=world.users[username],
        exam=exam,
        candidate_id=candidate_of(exam, name).pk,
        exam_subject_id=subject_of(exam, subject).pk,
        raw=raw,
        version=v,
    )


def test_a_saved_cell_is_versioned_audited_and_bumps_the_revision(world: World) -> None:
    exam = school_exam(world)
    # when
    first = _save(world, exam, "principal", "张小明", "语文", "88.5", 0)
    second = _save(world, exam, "principal", "张小明", "语文", "q", 1)
    # then
    score = Score.objects.get(pk=first.score_id)
    assert (first.version, first.display, second.version, second.display) == (
        1,
        "88.5",
        2,
        "缺考",
    )
    assert (score.value, score.status, score.version, score.updated_by) == (
        None,
        ScoreStatus.ABSENT,
        2,
        world.users["principal"],
    )
    exam.refresh_from_db()
    assert (exam.scores_revision, exam.status) == (2, ExamStatus.ENTRY)
    events = list(AuditEvent.objects.filter(event="exams.score_save").order_by("id"))
    assert [(e.action, e.org_unit_id, e.target_id) for e in events] == [
        ("create", world.class_a.pk, str(score.pk)),
        ("update", world.class_a.pk, str(score.pk)),
    ]
    assert events[1].changes["before"] == {"value": "88.5", "status": ""}
    assert events[1].changes["after"] == {"value": None, "status": "absent"}
    assert events[1].changes["subject"] == "语文"


def test_saving_the_same_value_changes_nothing(world: World) -> None:
    exam = school_exam(world)
    _save(world, exam, "principal", "张小明", "数学", "90", 0)
    revision = Exam.objects.get(pk=exam.pk).scores_revision
    # when
    again = _save(world, exam, "principal", "张小明", "数学", "90.0", 1)
    blank = _save(world, exam, "principal", "李小红", "数学", "", 0)
    # then
    assert (again.changed, again.version, blank.changed) == (False, 1, False)
    assert Exam.objects.get(pk=exam.pk).scores_revision == revision
    assert AuditEvent.objects.filter(event="exams.score_save").count() == 1
    assert Score.objects.filter(candidate__exam=exam).count() == 1


def test_clearing_a_cell_keeps_the_row_with_a_new_version(world: World) -> None:
    exam = school_exam(world)
    saved = _save(world, exam, "principal", "张小明", "数学", "90", 0)
    cleared = _save(world, exam, "principal", "张小明", "数学", "", 1)
    score = Score.objects.get(pk=saved.score_id)
    assert (cleared.display, score.value, score.status, score.version) == ("", None, "", 2)


def test_a_stale_write_is_refused_with_the_current_value_and_who_changed_it(
    world: World,
) -> None:
    exam = school_exam(world)
    # given: two editors read the empty cell (version 0); the principal saves first
    _save(world, exam, "principal", "张小明", "英语", "77", 0)
    revision = Exam.objects.get(pk=exam.pk).scores_revision
    # when: the 班主任 saves on top of what they read
    with pytest.raises(ScoreConflictError) as caught:
        _save(world, exam, "headteacher", "张小明", "英语", "97", 0)
    # then
    conflict = caught.value
    assert (conflict.version, conflict.display, conflict.by) == (1, "77", "principal用户")
    assert conflict.message == "该成绩已被principal用户修改为“77”，您的输入未保存。"
    score = Score.objects.get(candidate__exam=exam, exam_subject__subject="英语")
    assert (score.value, score.version) == (Decimal("77.0"), 1)
    assert Exam.objects.get(pk=exam.pk).scores_revision == revision
    # and with the version it now knows, the 班主任's write goes through
    assert _save(world, exam, "headteacher", "张小明", "英语", "97", 1).version == 2
    with pytest.raises(ScoreConflictError):
        _save(world, exam, "principal", "张小明", "英语", "78", 1)


def test_bad_values_are_refused_and_nothing_is_written(world: World) -> None:
    exam = school_exam(world)
    with pytest.raises(ValidationError, match="超过满分 100"):
        _save(world, exam, "principal", "张小明", "数学", "120", 0)
    with pytest.raises(ValidationError, match="只能填写整数分"):
        _save(world, exam, "principal", "张小明", "数学", "60.5", 0)
    assert Score.objects.filter(candidate__exam=exam).count() == 0
    assert Exam.objects.get(pk=exam.pk).scores_revision == 0


def test_a_locked_exam_refuses_score_writes(world: World) -> None:
    exam = school_exam(world)
    _save(world, exam, "principal", "张小明", "数学", "60", 0)
    exam_lock(actor=world.users["principal"], exam=exam)
    locked = Exam.objects.get(pk=exam.pk)
    with pytest.raises(ValidationError, match="考试已锁定"):
        _save(world, locked, "principal", "张小明", "数学", "70", 1)
    # the lock is checked in the database too, not only on the object read before it
    with pytest.raises(ValidationError, match="考试已锁定"):
        _save(world, exam, "principal", "张小明", "数学", "70", 1)
    assert Score.objects.get(candidate__exam=exam).value == Decimal("60.0")
    exam_unlock(actor=world.users["principal"], exam=locked)
    unlocked = Exam.objects.get(pk=exam.pk)
    assert _save(world, unlocked, "principal", "张小明", "数学", "70", 1).version == 2


# --------------------------------------------------------------------------- who may enter
def test_subject_teacher_enters_only_the_subjects_taught_in_that_class(world: World) -> None:
    term = term_for_tests()
    exam = school_exam(world, term=term)
    teach(world, "teacher", "class_a", "数学", term)
    # when
    saved = _save(world, exam, "teacher", "张小明", "数学", "95", 0)
    # then
    assert saved.version == 1
    with pytest.raises(PermissionDenied, match="您在该班只能录入数学的成绩"):
        _save(world, exam, "teacher", "张小明", "语文", "95", 0)
    assert Score.objects.filter(candidate__exam=exam).count() == 1
    rights = score_entry_rights(actor=world.users["teacher"], exam=exam, class_id=world.class_a.pk)
    assert (rights.all_subjects, rights.subjects) == (False, frozenset({"数学"}))


def test_subject_teacher_of_the_exam_snapshot_may_enter(world: World) -> None:
    exam = school_exam(world)  # no term: only the snapshot says who taught
    ExamClassTeacher.objects.create(
        exam=exam, school_class=world.class_a, subject="英语", staff=staff_of(world, "teacher")
    )
    assert _save(world, exam, "teacher", "张小明", "英语", "q", 0).display == "缺考"
    with pytest.raises(PermissionDenied):
        _save(world, exam, "teacher", "张小明", "数学", "60", 0)


def test_subject_teacher_without_an_assignment_enters_nothing(world: World) -> None:
    exam = school_exam(world)
    with pytest.raises(PermissionDenied, match="您无权录入该班的成绩"):
        _save(world, exam, "teacher", "张小明", "数学", "60", 0)


def test_head_teacher_enters_every_subject_of_their_own_class_only(world: World) -> None:
    exam = school_exam(world, grade=1)
    for subject in ("语文", "数学", "英语"):
        assert _save(world, exam, "headteacher", "李小红", subject, "80", 0).version == 1
    grade3 = school_exam(world, grade=3)
    with pytest.raises(PermissionDenied):
        _save(world, grade3, "headteacher", "王小刚", "语文", "80", 0)


def test_entry_rights_by_role_and_class(world: World) -> None:
    term = term_for_tests()
    exam = school_exam(world, term=term)
    teach(world, "teacher", "class_a", "数学", term)
    classes = [world.class_a.pk, world.class_b.pk, world.class_other.pk]

    def rights(username: str) -> dict[int, tuple[bool, frozenset[str]]]:
        found = score_entry_rights_map(actor=world.users[username], exam=exam, class_ids=classes)
        return {pk: (r.all_subjects, r.subjects) for pk, r in found.items()}

    nothing: tuple[bool, frozenset[str]] = (False, frozenset())
    everything: tuple[bool, frozenset[str]] = (True, frozenset())
    a, b, other = classes
    assert rights("principal") == {a: everything, b: everything, other: nothing}
    assert rights("office") == {a: everything, b: everything, other: nothing}
    assert rights("district") == {a: everything, b: everything, other: nothing}
    assert rights("admin") == {a: everything, b: everything, other: everything}
    assert rights("headteacher") == {a: everything, b: nothing, other: nothing}
    assert rights("teacher") == {a: (False, frozenset({"数学"})), b: nothing, other: nothing}
    for username in ("vice", "gradehead", "research", "duty", "parent", "teacher2"):
        assert rights(username) == {a: nothing, b: nothing, other: nothing}, username
    exam_lock(actor=world.users["principal"], exam=exam)
    locked = Exam.objects.get(pk=exam.pk)
    found = score_entry_rights_map(actor=world.users["admin"], exam=locked, class_ids=classes)
    assert {pk: r.any for pk, r in found.items()} == dict.fromkeys(classes, False)
