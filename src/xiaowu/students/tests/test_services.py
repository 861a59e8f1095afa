"""The 异动 engine: transitions, membership history, as-of-date counts, optimistic locking."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from xiaowu.audit.models import AuditEvent
from xiaowu.org.tests.factories import SchoolClassFactory, SchoolYearFactory
from xiaowu.students.models import AgeCohortPopulation, ClassMembership, StatusChange, Student
from xiaowu.students.selectors import (
    dropout_rate,
    enrolled_headcount_on,
    enrollment_rate,
    student_headcount_by_grade_gender,
)
from xiaowu.students.services import status_change_record, student_register, student_update

pytestmark = pytest.mark.django_db
VALID_ID = "110101200801011230"


def register(world, **fields):
    return student_register(
        actor=world.users["principal"],
        school_class=world.class_a,
        effective_on=date(2025, 9, 1),
        name=fields.pop("name", "新生甲"),
        gender=fields.pop("gender", "male"),
        **fields,
    )


def test_register_creates_event_membership_and_audit(world):
    student = register(
        world, id_number="110101200801011230 ", national_student_number="g110101200801011230"
    )
    assert (student.status, student.school_id, student.school_class_id) == (
        "enrolled",
        world.school.pk,
        world.class_a.pk,
    )
    assert student.id_number == VALID_ID
    assert student.national_student_number == "G110101200801011230"
    assert list(student.memberships.values_list("school_class_id", "start_on", "end_on")) == [
        (world.class_a.pk, date(2025, 9, 1), None)
    ]
    assert list(student.status_changes.values_list("kind", flat=True)) == ["enrollment"]
    audit = AuditEvent.objects.get(event="students.student_register")
    assert audit.changes["after"]["id_number"] == "110101********1230"


def test_register_rejects_bad_identifiers_in_chinese(world):
    with pytest.raises(ValidationError, match="校验位不符"):
        register(world, id_number="110101200801011231")
    with pytest.raises(ValidationError, match="全国学籍号应为"):
        register(world, national_student_number="X12345")
    assert not Student.objects.filter(name="新生甲").exists()


def test_register_refused_outside_management_scope(world):
    for username in ("teacher", "vice", "principal2"):
        with pytest.raises(PermissionDenied):
            student_register(
                actor=world.users[username],
                school_class=world.class_a,
                effective_on=date(2025, 9, 1),
                name="某",
                gender="male",
            )
    student_register(
        actor=world.users["office"],
        school_class=world.class_a,
        effective_on=date(2025, 9, 1),
        name="教导处登记",
        gender="female",
    )


def test_class_change_closes_and_opens_memberships(world):
    student = register(world)
    status_change_record(
        actor=world.users["principal"],
        student=student,
        kind="class_change",
        effective_on=date(2025, 11, 3),
        to_class=world.class_b,
        reason="分班调整",
    )
    student.refresh_from_db()
    assert student.school_class_id == world.class_b.pk
    assert student.version == 2
    assert list(
        student.memberships.order_by("start_on").values_list(
            "school_class_id", "start_on", "end_on"
        )
    ) == [
        (world.class_a.pk, date(2025, 9, 1), date(2025, 11, 3)),
        (world.class_b.pk, date(2025, 11, 3), None),
    ]
    event = student.status_changes.get(kind="class_change")
    assert (event.from_class_id, event.to_class_id) == (world.class_a.pk, world.class_b.pk)


def test_headcount_as_of_any_date_follows_history(world):
    student = register(world)
    principal = world.users["principal"]
    status_change_record(
        actor=principal,
        student=student,
        kind="suspension",
        effective_on=date(2025, 10, 8),
        reason="病休",
    )
    status_change_record(
        actor=principal,
        student=student,
        kind="resumption",
        effective_on=date(2026, 3, 2),
        to_class=world.class_a,
    )
    status_change_record(
        actor=principal, student=student, kind="dropout", effective_on=date(2026, 5, 6)
    )
    base = 3  # the world fixture's students of the first school, enrolled since 2024-09-01
    count = lambda day: enrolled_headcount_on(actor=principal, day=day, root_id=world.school.pk)  # noqa: E731
    assert count(date(2025, 8, 31)) == base
    assert count(date(2025, 9, 1)) == base + 1
    assert count(date(2025, 10, 7)) == base + 1
    assert count(date(2025, 10, 8)) == base  # 休学 from that day
    assert count(date(2026, 3, 2)) == base + 1
    assert count(date(2026, 5, 6)) == base
    student.refresh_from_db()
    assert student.status == "dropped_out"
    assert student.school_class_id == world.class_a.pk  # last class is kept for the record


def test_dropout_rate_has_numerator_and_denominator(world):
    student = register(world)
    status_change_record(
        actor=world.users["principal"],
        student=student,
        kind="dropout",
        effective_on=date(2026, 1, 5),
    )
    rate = dropout_rate(
        actor=world.users["district"],
        start_on=date(2025, 9, 1),
        end_on=date(2026, 8, 31),
        root_id=world.district.pk,
    )
    assert (rate.numerator, rate.denominator) == (1, 5)  # 4 world students in D1 + the new one
    assert str(rate) == "20.00%"


def test_enrollment_rate_against_stated_population(world):
    year = SchoolYearFactory()
    for n, birth in enumerate((date(2018, 3, 1), date(2019, 9, 1), date(2013, 1, 1))):
        register(world, name=f"适龄{n}", birth_date=birth)
    cohort = AgeCohortPopulation.objects.create(
        org_unit=world.district,
        school_year=year,
        age_from=6,
        age_to=11,
        headcount=4,
        source="义务教育监测信息库",
    )
    rate = enrollment_rate(actor=world.users["district"], cohort=cohort, on=date(2025, 9, 30))
    # Born 2018-03-01 (7) and 2019-09-01 (6) are in the 6–11 band on 2025-09-30; 2013 (12) is not.
    assert (rate.numerator, rate.denominator, str(rate)) == (2, 4, "50.00%")


def test_transitions_are_checked(world):
    student = register(world)
    principal = world.users["principal"]
    with pytest.raises(ValidationError, match="学籍状态为“在校”的学生不能办理“复学”"):
        status_change_record(
            actor=principal,
            student=student,
            kind="resumption",
            effective_on=date(2025, 10, 1),
            to_class=world.class_a,
        )
    with pytest.raises(ValidationError, match="新班级与原班级相同"):
        status_change_record(
            actor=principal,
            student=student,
            kind="class_change",
            effective_on=date(2025, 10, 1),
            to_class=world.class_a,
        )
    with pytest.raises(ValidationError, match="所选班级不属于该生所在学校"):
        status_change_record(
            actor=principal,
            student=student,
            kind="class_change",
            effective_on=date(2025, 10, 1),
            to_class=world.class_other,
        )
    with pytest.raises(ValidationError, match="异动日期不能早于该生最近一次异动（2025-09-01）"):
        status_change_record(
            actor=principal, student=student, kind="transfer_out", effective_on=date(2025, 8, 1)
        )
    assert StatusChange.objects.filter(student=student).count() == 1


def test_transfer_between_schools_moves_the_record(world):
    student = register(world)
    status_change_record(
        actor=world.users["principal"],
        student=student,
        kind="transfer_out",
        effective_on=date(2025, 12, 1),
        counterpart="白河小学",
    )
    assert not ClassMembership.objects.filter(student=student, end_on__isnull=True).exists()
    with pytest.raises(PermissionDenied):
        status_change_record(
            actor=world.users["principal"],
            student=student,
            kind="transfer_in",
            effective_on=date(2025, 12, 2),
            to_class=world.class_other,
        )
    status_change_record(
        actor=world.users["principal2"],
        student=student,
        kind="transfer_in",
        effective_on=date(2025, 12, 2),
        to_class=world.class_other,
        counterpart="青石小学",
    )
    student.refresh_from_db()
    assert (student.school_id, student.status) == (world.other_school.pk, "enrolled")
    assert (
        enrolled_headcount_on(
            actor=world.users["admin"], day=date(2025, 12, 1), root_id=world.other_school.pk
        )
        == 1
    )


def test_same_day_correction_replaces_the_membership(world):
    student = register(world)
    other = SchoolClassFactory(
        parent=world.school, code="S1-C102", name="一年级(2)班", grade=1, class_number=2
    )
    status_change_record(
        actor=world.users["principal"],
        student=student,
        kind="class_change",
        effective_on=date(2025, 9, 1),
        to_class=other,
    )
    assert list(student.memberships.values_list("school_class_id", "start_on", "end_on")) == [
        (other.pk, date(2025, 9, 1), None)
    ]


def test_stale_edit_is_refused(world):
    student = register(world)
    student_update(actor=world.users["principal"], student=student, version=1, address="青石镇一村")
    with pytest.raises(ValidationError, match="已被他人修改"):
        student_update(
            actor=world.users["office"], student=student, version=1, address="青石镇二村"
        )
    student.refresh_from_db()
    assert (student.address, student.version) == ("青石镇一村", 2)


def test_headcount_by_grade_as_of_date(world):
    rows = student_headcount_by_grade_gender(actor=world.users["district"], on=date(2025, 1, 1))
    assert [(r.grade, r.gender, r.headcount) for r in rows] == [
        (1, "female", 1),
        (1, "male", 1),
        (3, "male", 1),
        (7, "female", 1),
    ]
    assert (
        student_headcount_by_grade_gender(actor=world.users["district"], on=date(2024, 8, 31)) == []
    )


def test_event_cannot_predate_the_current_membership(world):
    """Students without an 入学 event (imported data) are still bounded by their membership."""
    with pytest.raises(ValidationError, match="不能早于该生进入现班级的日期（2024-09-01）"):
        status_change_record(
            actor=world.users["principal"],
            student=world.child,
            kind="class_change",
            effective_on=date(2024, 8, 1),
            to_class=world.class_b,
        )
