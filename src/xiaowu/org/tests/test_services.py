from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from xiaowu.audit.models import AuditEvent
from xiaowu.org.models import OrgUnit, OrgUnitClosure, SchoolType, SchoolYear, UnitKind
from xiaowu.org.services import (
    closure_rebuild,
    org_unit_create,
    org_unit_update,
    school_year_create,
)

pytestmark = pytest.mark.django_db


def test_class_create_names_it_and_records_ancestry(world):
    class_ = org_unit_create(
        actor=world.users["principal"],
        parent=world.school,
        kind=UnitKind.SCHOOL_CLASS,
        code="S1-C102",
        grade=1,
        class_number=2,
    )
    assert class_.name == "一年级(2)班"
    assert class_.school_id == world.school.pk
    assert class_.depth == world.school.depth + 1
    ancestors = set(
        OrgUnitClosure.objects.filter(descendant=class_).values_list("ancestor_id", "distance")
    )
    assert ancestors == {
        (class_.pk, 0),
        (world.school.pk, 1),
        (world.district.pk, 2),
        (world.bureau.pk, 3),
    }
    event = AuditEvent.objects.get(event="org.unit_create", target_id=str(class_.pk))
    assert event.changes["after"]["name"] == "一年级(2)班"
    assert event.org_unit_id == class_.pk


def test_subtree_query_is_one_query(world, django_assert_num_queries):
    with django_assert_num_queries(1):
        names = set(OrgUnit.objects.under({world.district.pk}).values_list("code", flat=True))
    assert names == {"D1", "S1", "S2", "S1-O1", "S1-G3", "S1-R1", "S1-C101", "S1-C301", "S2-C701"}


def test_school_requires_type_and_right_parent(world):
    with pytest.raises(ValidationError, match="学校必须选择学校类型"):
        org_unit_create(
            actor=world.users["admin"],
            parent=world.district,
            kind=UnitKind.SCHOOL,
            code="S9",
            name="新校",
        )
    with pytest.raises(ValidationError, match="学校不能设在班级之下"):
        org_unit_create(
            actor=world.users["admin"],
            parent=world.class_a,
            kind=UnitKind.SCHOOL,
            code="S9",
            name="新校",
            school_type=SchoolType.KINDERGARTEN,
        )
    assert not OrgUnit.objects.filter(code="S9").exists()


def test_duplicate_code_and_name_are_refused_in_chinese(world):
    with pytest.raises(ValidationError, match="代码“S1-C101”已被使用"):
        org_unit_create(
            actor=world.users["principal"],
            parent=world.school,
            kind=UnitKind.SCHOOL_CLASS,
            code="S1-C101",
            grade=2,
            class_number=1,
        )
    with pytest.raises(ValidationError, match="同一上级下已有名为“一年级\\(1\\)班”的机构"):
        org_unit_create(
            actor=world.users["principal"],
            parent=world.school,
            kind=UnitKind.SCHOOL_CLASS,
            code="S1-CX",
            grade=1,
            class_number=1,
        )


def test_principal_cannot_create_in_another_school(world):
    before = OrgUnit.objects.count()
    with pytest.raises(PermissionDenied):
        org_unit_create(
            actor=world.users["principal"],
            parent=world.other_school,
            kind=UnitKind.SCHOOL_CLASS,
            code="S3-C102",
            grade=1,
            class_number=2,
        )
    with pytest.raises(PermissionDenied):
        org_unit_create(
            actor=world.users["teacher"],
            parent=world.school,
            kind=UnitKind.SCHOOL_CLASS,
            code="S1-C103",
            grade=1,
            class_number=3,
        )
    assert OrgUnit.objects.count() == before
    assert not AuditEvent.objects.filter(event="org.unit_create").exists()


def test_update_records_before_and_after(world):
    org_unit_update(
        actor=world.users["principal"], unit=world.class_a, name="一年级(1)班（实验班）"
    )
    world.class_a.refresh_from_db()
    assert world.class_a.name == "一年级(1)班（实验班）"
    assert world.class_a.name_initials.startswith("ynj")
    event = AuditEvent.objects.get(event="org.unit_update")
    assert event.changes == {"name": {"before": "一年级(1)班", "after": "一年级(1)班（实验班）"}}


def test_update_refuses_structural_fields(world):
    with pytest.raises(ValidationError, match="不可修改的字段：kind"):
        org_unit_update(actor=world.users["admin"], unit=world.class_a, kind=UnitKind.SCHOOL)


def test_closure_rebuild_matches_incremental_closure(world):
    before = set(OrgUnitClosure.objects.values_list("ancestor_id", "descendant_id", "distance"))
    count = closure_rebuild(OrgUnit.objects.values_list("pk", "parent_id"))
    after = set(OrgUnitClosure.objects.values_list("ancestor_id", "descendant_id", "distance"))
    assert after == before
    assert count == len(before)


def test_calendar_is_bureau_level(world):
    with pytest.raises(PermissionDenied):
        school_year_create(
            actor=world.users["principal"],
            name="2026-2027",
            start_on=date(2026, 9, 1),
            end_on=date(2027, 8, 31),
        )
    year = school_year_create(
        actor=world.users["bureau"],
        name="2026-2027",
        start_on=date(2026, 9, 1),
        end_on=date(2027, 8, 31),
        terms=[(date(2026, 9, 1), date(2027, 1, 22)), (date(2027, 2, 22), date(2027, 7, 9))],
    )
    assert [t.number for t in year.terms.order_by("number")] == [1, 2]
    with pytest.raises(ValidationError, match="第1学期的日期必须在学年之内"):
        school_year_create(
            actor=world.users["bureau"],
            name="2027-2028",
            start_on=date(2027, 9, 1),
            end_on=date(2028, 8, 31),
            terms=[(date(2027, 8, 1), date(2028, 1, 20))],
        )
    assert not SchoolYear.objects.filter(name="2027-2028").exists()


def test_one_active_class_per_grade_and_number_in_a_school(world):
    with pytest.raises(ValidationError, match="本校已有在用的三年级\\(1\\)班"):
        org_unit_create(
            actor=world.users["principal"],
            parent=world.school,
            kind=UnitKind.SCHOOL_CLASS,
            code="S1-CDUP",
            grade=3,
            class_number=1,
        )
