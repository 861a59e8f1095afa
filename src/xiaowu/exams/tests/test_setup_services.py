"""Exam setup services: creating and editing exams, subjects, candidates, 考号, the 任课教师
snapshot, and lock / unlock. The helpers at the top are shared by the entry and import tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import pytest
from conftest import World
from django.core.exceptions import PermissionDenied, ValidationError

from xiaowu.audit.models import AuditEvent
from xiaowu.exams.models import (
    Exam,
    ExamCandidate,
    ExamClassTeacher,
    ExamKind,
    ExamStatus,
    ExamSubject,
    Score,
)
from xiaowu.exams.services import (
    SubjectSpec,
    exam_candidates_generate,
    exam_class_remove,
    exam_class_teachers_snapshot,
    exam_create,
    exam_lock,
    exam_numbers_assign,
    exam_score_save,
    exam_subject_add,
    exam_subject_delete,
    exam_subject_update,
    exam_unlock,
    exam_update,
)
from xiaowu.org.models import Term
from xiaowu.org.tests.factories import SchoolClassFactory, TermFactory
from xiaowu.staff.models import StaffMember
from xiaowu.staff.services import teaching_assignment_create
from xiaowu.staff.tests.factories import StaffMemberFactory
from xiaowu.students.models import StudentStatus
from xiaowu.students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

HELD_ON = date(2025, 11, 10)  # inside TermFactory's term
SUBJECTS = (
    SubjectSpec("语文", Decimal("100"), Decimal("0.5")),
    SubjectSpec("数学", Decimal("100"), Decimal("1")),
    SubjectSpec("英语", Decimal("100"), Decimal("0.5")),
)


# --------------------------------------------------------------------------- shared helpers
def term_for_tests() -> Term:
    term: Term = TermFactory()
    return term


def school_exam(
    world: World,
    *,
    grade: int = 1,
    subjects: Sequence[SubjectSpec] = SUBJECTS,
    term: Term | None = None,
    with_candidates: bool = True,
) -> Exam:
    """A 期中 of the first school, set up by its principal, with the grade's pupils."""
    principal = world.users["principal"]
    exam = exam_create(
        actor=principal,
        name=f"{grade}年级期中考试",
        kind=ExamKind.MIDTERM,
        owner=world.school,
        term=term,
        grade=grade,
        held_on=HELD_ON,
        subjects=subjects,
    )
    if with_candidates:
        classes = [c.pk for c in (world.class_a, world.class_b) if c.grade == grade]
        exam_candidates_generate(actor=principal, exam=exam, class_ids=classes)
    return exam


def staff_of(world: World, username: str) -> StaffMember:
    """The staff file of a world user (created on first use)."""
    user = world.users[username]
    existing = StaffMember.objects.filter(user=user).first()
    if existing is not None:
        return existing
    member: StaffMember = StaffMemberFactory(org_unit=world.school, user=user, name=user.full_name)
    return member


def teach(world: World, username: str, school_class_attr: str, subject: str, term: Term) -> None:
    """Give a world user a 任课 assignment (via the staff service)."""
    teaching_assignment_create(
        actor=world.users["admin"],
        staff=staff_of(world, username),
        school_class=getattr(world, school_class_attr),
        term=term,
        role="subject_teacher",
        subject=subject,
    )


def candidate_of(exam: Exam, name: str) -> ExamCandidate:
    return ExamCandidate.objects.select_related("student").get(exam=exam, student__name=name)


def subject_of(exam: Exam, name: str) -> ExamSubject:
    return ExamSubject.objects.get(exam=exam, subject=name)


# --------------------------------------------------------------------------- exams
def test_principal_creates_an_exam_of_the_school(world: World) -> None:
    # when
    exam = school_exam(world, with_candidates=False)
    # then
    assert list(exam.schools.all()) == [world.school]
    assert exam.status == ExamStatus.DRAFT
    assert (exam.name_pinyin, exam.name_initials) == ("1nianjiqizhongkaoshi", "1njqzks")
    assert list(
        ExamSubject.objects.filter(exam=exam).values_list("subject", "full_mark", "step")
    ) == [
        ("语文", Decimal("100.0"), Decimal("0.5")),
        ("数学", Decimal("100.0"), Decimal("1.0")),
        ("英语", Decimal("100.0"), Decimal("0.5")),
    ]
    event = AuditEvent.objects.get(event="exams.exam_create")
    assert event.target_id == str(exam.pk)
    assert event.changes["after"]["schools"] == [world.school.pk]


@pytest.mark.parametrize("username", ["teacher", "headteacher", "vice", "principal2"])
def test_exam_create_needs_exam_management_at_the_owner(world: World, username: str) -> None:
    with pytest.raises(PermissionDenied):
        exam_create(
            actor=world.users[username],
            name="期中",
            kind=ExamKind.MIDTERM,
            owner=world.school,
            term=None,
            grade=1,
            held_on=HELD_ON,
        )
    assert Exam.objects.count() == 0


def test_district_exam_takes_schools_of_the_district_only(world: World) -> None:
    district = world.users["district"]
    exam = exam_create(
        actor=district,
        name="学区统考",
        kind=ExamKind.UNIFIED,
        owner=world.district,
        schools=[world.school, world.school_b],
        term=None,
        grade=1,
        held_on=HELD_ON,
    )
    assert set(exam.schools.all()) == {world.school, world.school_b}
    with pytest.raises(ValidationError, match="白河小学不在其中"):
        exam_create(
            actor=world.users["admin"],
            name="学区统考",
            kind=ExamKind.UNIFIED,
            owner=world.district,
            schools=[world.school, world.other_school],
            term=None,
            grade=1,
            held_on=HELD_ON,
        )


def test_exam_fields_are_checked_with_chinese_messages(world: World) -> None:
    term = term_for_tests()
    with pytest.raises(ValidationError) as caught:
        exam_create(
            actor=world.users["principal"],
            name=" ",
            kind="quiz",
            owner=world.school,
            term=term,
            grade=1,
            held_on=date(2026, 3, 1),
            subjects=[SubjectSpec("语文", Decimal("100"), Decimal("0.3"))],
        )
    errors = caught.value.message_dict
    assert errors["name"] == ["请填写考试名称。"]
    assert errors["kind"] == ["请选择考试类型。"]
    assert errors["held_on"] == ["考试日期应在所选学期（2025-09-01—2026-01-20）之内。"]
    assert errors["subjects"] == ["语文：最小分值只能是 1 或 0.5。"]


def test_exam_update_refuses_a_stale_version(world: World) -> None:
    exam = school_exam(world)
    principal = world.users["principal"]
    fields = {
        "name": "一年级期中质量检测",
        "kind": ExamKind.MIDTERM,
        "term": None,
        "grade": 1,
        "held_on": HELD_ON,
    }
    exam_update(actor=principal, exam=exam, version=1, **fields)
    exam.refresh_from_db()
    assert (exam.name, exam.version, exam.name_initials) == ("一年级期中质量检测", 2, "ynjqzzljc")
    with pytest.raises(ValidationError, match="已被他人修改"):
        exam_update(actor=principal, exam=exam, version=1, **{**fields, "name": "旧名字"})
    exam.refresh_from_db()
    assert exam.name == "一年级期中质量检测"
    with pytest.raises(ValidationError, match="不能更改年级"):
        exam_update(actor=principal, exam=exam, version=2, **{**fields, "grade": 2})


# --------------------------------------------------------------------------- candidates
def test_candidates_are_the_pupils_now_in_the_chosen_classes(world: World) -> None:
    # given: a pupil who left class_a is not sat
    StudentFactory(school_class=world.class_a, name="已转出", status=StudentStatus.TRANSFERRED_OUT)
    exam = school_exam(world, with_candidates=False)
    principal = world.users["principal"]
    # when
    added = exam_candidates_generate(actor=principal, exam=exam, class_ids=[world.class_a.pk])
    again = exam_candidates_generate(actor=principal, exam=exam, class_ids=[world.class_a.pk])
    # then
    assert (added, again) == (2, 0)
    assert sorted(
        ExamCandidate.objects.filter(exam=exam).values_list(
            "student__name", "school_id", "school_class_id"
        )
    ) == [
        ("张小明", world.school.pk, world.class_a.pk),
        ("李小红", world.school.pk, world.class_a.pk),
    ]
    assert AuditEvent.objects.filter(event="exams.candidates_generate").count() == 1


def test_candidates_only_from_classes_of_the_exam_grade_and_schools(world: World) -> None:
    exam = school_exam(world, with_candidates=False)
    principal = world.users["principal"]
    with pytest.raises(ValidationError, match=r"三年级\(1\)班不是一年级的班级"):
        exam_candidates_generate(actor=principal, exam=exam, class_ids=[world.class_b.pk])
    with pytest.raises(ValidationError, match="只能选择参考学校的班级"):
        exam_candidates_generate(actor=principal, exam=exam, class_ids=[world.class_other.pk])
    with pytest.raises(PermissionDenied):
        exam_candidates_generate(
            actor=world.users["teacher"], exam=exam, class_ids=[world.class_a.pk]
        )
    assert ExamCandidate.objects.filter(exam=exam).count() == 0


def test_class_with_scores_cannot_be_removed(world: World) -> None:
    exam = school_exam(world)
    principal = world.users["principal"]
    exam_score_save(
        actor=principal,
        exam=exam,
        candidate_id=candidate_of(exam, "张小明").pk,
        exam_subject_id=subject_of(exam, "语文").pk,
        raw="90",
        version=0,
    )
    with pytest.raises(ValidationError, match="该班已有 1 条成绩"):
        exam_class_remove(actor=principal, exam=exam, school_class_id=world.class_a.pk)
    Score.objects.filter(candidate__exam=exam).update(value=None)
    assert exam_class_remove(actor=principal, exam=exam, school_class_id=world.class_a.pk) == 2
    assert ExamCandidate.objects.filter(exam=exam).count() == 0


def test_exam_numbers_follow_school_class_and_seat(world: World) -> None:
    exam = school_exam(world)
    second = SchoolClassFactory(
        code="S1-C102", name="一年级(2)班", grade=1, class_number=2, parent=world.school
    )
    StudentFactory(school_class=second, name="陈小华")
    principal = world.users["principal"]
    exam_candidates_generate(actor=principal, exam=exam, class_ids=[second.pk])
    # when
    assigned = exam_numbers_assign(actor=principal, exam=exam, prefix="2511", only_missing=False)
    # then
    assert assigned == 3
    numbers = dict(
        ExamCandidate.objects.filter(exam=exam).values_list("student__name", "exam_number")
    )
    assert numbers == {"李小红": "2511010101", "张小明": "2511010102", "陈小华": "2511010201"}
    # a candidate added later gets the next free seat; the others keep theirs
    StudentFactory(school_class=second, name="白小雪")
    exam_candidates_generate(actor=principal, exam=exam, class_ids=[second.pk])
    assert exam_numbers_assign(actor=principal, exam=exam, prefix="2511", only_missing=True) == 1
    numbers = dict(
        ExamCandidate.objects.filter(exam=exam).values_list("student__name", "exam_number")
    )
    assert numbers["陈小华"] == "2511010201"
    assert numbers["白小雪"] == "2511010202"
    with pytest.raises(ValidationError, match="只能包含字母"):
        exam_numbers_assign(actor=principal, exam=exam, prefix="25/11", only_missing=False)


def test_only_missing_numbers_skip_numbers_in_use(world: World) -> None:
    exam = school_exam(world)
    principal = world.users["principal"]
    ExamCandidate.objects.filter(exam=exam, student__name="张小明").update(exam_number="010101")
    assert exam_numbers_assign(actor=principal, exam=exam, prefix="", only_missing=True) == 1
    assert candidate_of(exam, "李小红").exam_number == "010102"


def test_class_teachers_are_snapshotted_from_the_term_assignments(world: World) -> None:
    term = term_for_tests()
    exam = school_exam(world, term=term)
    teach(world, "teacher", "class_a", "数学", term)
    teach(world, "teacher2", "class_a", "语文", term)
    teach(world, "teacher2", "class_a", "体育", term)  # not an exam subject
    # when
    rows = exam_class_teachers_snapshot(actor=world.users["principal"], exam=exam)
    # then
    assert rows == 2
    assert sorted(
        ExamClassTeacher.objects.filter(exam=exam).values_list("subject", "staff__user__username")
    ) == [("数学", "teacher"), ("语文", "teacher2")]


def test_snapshot_needs_a_term(world: World) -> None:
    exam = school_exam(world)
    with pytest.raises(ValidationError, match="没有指定学期"):
        exam_class_teachers_snapshot(actor=world.users["principal"], exam=exam)


# --------------------------------------------------------------------------- subjects
def test_subjects_keep_entered_scores_valid(world: World) -> None:
    exam = school_exam(world)
    principal = world.users["principal"]
    chinese = subject_of(exam, "语文")
    exam_score_save(
        actor=principal,
        exam=exam,
        candidate_id=candidate_of(exam, "张小明").pk,
        exam_subject_id=chinese.pk,
        raw="95.5",
        version=0,
    )
    with pytest.raises(ValidationError, match=r"高于新满分 90（最高 95\.5）"):
        exam_subject_update(
            actor=principal,
            exam_subject=chinese,
            subject="语文",
            full_mark=Decimal("90"),
            step=Decimal("0.5"),
        )
    with pytest.raises(ValidationError, match=r"带 \.5 分"):
        exam_subject_update(
            actor=principal,
            exam_subject=chinese,
            subject="语文",
            full_mark=Decimal("120"),
            step=Decimal("1"),
        )
    with pytest.raises(ValidationError, match="已有 1 条成绩，不能删除"):
        exam_subject_delete(actor=principal, exam_subject=chinese)
    revision = Exam.objects.get(pk=exam.pk).scores_revision
    exam_subject_update(
        actor=principal,
        exam_subject=chinese,
        subject="语文",
        full_mark=Decimal("120"),
        step=Decimal("0.5"),
    )
    assert subject_of(exam, "语文").full_mark == Decimal("120")
    assert Exam.objects.get(pk=exam.pk).scores_revision == revision + 1
    science = exam_subject_add(
        actor=principal, exam=exam, subject="科学", full_mark=Decimal("100"), step=Decimal("1")
    )
    assert science.sort_order == 4
    with pytest.raises(ValidationError, match="已有“科学”科目"):
        exam_subject_add(
            actor=principal, exam=exam, subject="科学", full_mark=Decimal("100"), step=Decimal("1")
        )
    exam_subject_delete(actor=principal, exam_subject=science)
    assert not ExamSubject.objects.filter(exam=exam, subject="科学").exists()


# --------------------------------------------------------------------------- lock
def test_lock_and_unlock_are_for_managers(world: World) -> None:
    exam = school_exam(world)
    with pytest.raises(PermissionDenied):
        exam_lock(actor=world.users["teacher"], exam=exam)
    exam_lock(actor=world.users["principal"], exam=exam)
    assert Exam.objects.get(pk=exam.pk).status == ExamStatus.LOCKED
    with pytest.raises(ValidationError, match="已经锁定"):
        exam_lock(actor=world.users["principal"], exam=exam)
    with pytest.raises(ValidationError, match="考试已锁定，不能修改设置"):
        exam_subject_add(
            actor=world.users["principal"],
            exam=Exam.objects.get(pk=exam.pk),
            subject="科学",
            full_mark=Decimal("100"),
            step=Decimal("1"),
        )
    exam_unlock(actor=world.users["district"], exam=exam)
    assert Exam.objects.get(pk=exam.pk).status == ExamStatus.ENTRY
    assert list(
        AuditEvent.objects.filter(event__in=["exams.exam_lock", "exams.exam_unlock"])
        .order_by("id")
        .values_list("event", "changes__after__status")
    ) == [("exams.exam_lock", "locked"), ("exams.exam_unlock", "entry")]
