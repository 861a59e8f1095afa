"""The org endpoints: units, children, classes, schools and terms."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from xiaowu.accounts.roles import Role
from xiaowu.accounts.tests.factories import RoleAssignmentFactory, UserFactory
from xiaowu.api.responses import INVALID, NOT_FOUND
from xiaowu.api.tests.utils import ids, items
from xiaowu.org.models import OrgUnit
from xiaowu.org.tests.factories import (
    SchoolClassFactory,
    SchoolFactory,
    SchoolYearFactory,
    TermFactory,
)
from xiaowu.students.models import StudentStatus
from xiaowu.students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db


def _first_school_units(world) -> set[int]:
    return {
        world.school.pk,
        world.office.pk,
        world.grade_division.pk,
        world.research_group.pk,
        world.class_a.pk,
        world.class_b.pk,
    }


# --------------------------------------------------------------------------- org units


def test_org_unit_list_items(world, api_get):
    response = api_get("principal", "/api/org-units", kind="school")

    assert response.status_code == 200
    assert response.json() == {
        "items": [
            {
                "id": world.school.pk,
                "code": "S1",
                "name": "青石小学",
                "kind": "school",
                "kind_label": "学校",
                "parent_id": world.district.pk,
                "school_id": world.school.pk,
                "school_type": "complete_primary",
                "grade": None,
                "class_number": None,
                "is_active": True,
            }
        ],
        "count": 1,
    }


def test_org_unit_list_filters(world, api_get):
    assert ids(api_get("district", "/api/org-units", kind="school_class")) == {
        world.class_a.pk,
        world.class_b.pk,
        OrgUnit.objects.get(code="S2-C701").pk,
    }
    assert ids(api_get("district", "/api/org-units", school_id=world.school_b.pk)) == {
        world.school_b.pk,
        OrgUnit.objects.get(code="S2-C701").pk,
    }
    assert ids(api_get("district", "/api/org-units", under_id=world.grade_division.pk)) == {
        world.grade_division.pk,
        world.class_b.pk,
    }
    assert ids(api_get("district", "/api/org-units", search="S1-C")) == {
        world.class_a.pk,
        world.class_b.pk,
    }


def test_org_unit_search_by_pinyin(world, api_get):
    assert ids(api_get("district", "/api/org-units", search="qsxx")) == {world.school.pk}
    assert ids(api_get("district", "/api/org-units", search="QSZX")) == {world.school_b.pk}
    assert ids(api_get("district", "/api/org-units", search="qingshi")) == {
        world.district.pk,
        world.school.pk,
        world.school_b.pk,
    }
    # Outside the caller's scope a matching name is not found.
    assert ids(api_get("district", "/api/org-units", search="bhxx")) == set()
    assert ids(api_get("principal2", "/api/org-units", search="bhxx")) == {world.other_school.pk}


def test_org_unit_list_leaves_out_inactive_units(world, api_get):
    OrgUnit.objects.filter(pk=world.office.pk).update(is_active=False)

    assert world.office.pk not in ids(api_get("principal", "/api/org-units"))


def test_org_unit_list_paginates(world, api_get):
    first = api_get("district", "/api/org-units", limit=3).json()
    rest = api_get("district", "/api/org-units", limit=3, offset=3).json()
    everything = api_get("district", "/api/org-units", limit=500).json()

    assert first["count"] == rest["count"] == everything["count"] == 9
    assert len(first["items"]) == 3
    assert [item["id"] for item in first["items"] + rest["items"]] == [
        item["id"] for item in everything["items"][:6]
    ]


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ({"limit": 501}, ["query", "limit"]),
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": "ten"}, ["query", "limit"]),
        ({"offset": -1}, ["query", "offset"]),
        ({"offset": 2**31}, ["query", "offset"]),
        ({"school_id": "abc"}, ["query", "school_id"]),
        ({"school_id": 0}, ["query", "school_id"]),
        ({"under_id": 2**64}, ["query", "under_id"]),
        ({"kind": "nursery"}, ["query", "kind"]),
        ({"search": "x" * 101}, ["query", "search"]),
        ({"search": "青石\x00"}, ["query", "search"]),
    ],
)
def test_org_unit_list_rejects_bad_parameters_with_422(world, api_get, query, loc):
    response = api_get("district", "/api/org-units", **query)

    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == INVALID
    assert [error["loc"] for error in body["errors"]] == [loc]


def test_org_unit_detail(world, api_get):
    response = api_get("principal", f"/api/org-units/{world.class_b.pk}")

    assert response.status_code == 200
    assert response.json() == {
        "id": world.class_b.pk,
        "code": "S1-C301",
        "name": "三年级(1)班",
        "kind": "school_class",
        "kind_label": "班级",
        "parent_id": world.grade_division.pk,
        "school_id": world.school.pk,
        "school_type": None,
        "grade": 3,
        "class_number": 1,
        "is_active": True,
    }


@pytest.mark.parametrize("unit_id", ["abc", "0", "-1", str(2**63)])
def test_org_unit_detail_rejects_bad_ids_with_422(world, api_get, unit_id):
    response = api_get("principal", f"/api/org-units/{unit_id}")

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["path", "unit_id"]


def test_org_unit_detail_of_missing_id_is_404(world, api_get):
    response = api_get("admin", f"/api/org-units/{2**63 - 1}")

    assert response.status_code == 404
    assert response.json() == {"detail": NOT_FOUND}


def test_org_unit_children(world, api_get):
    response = api_get("principal", f"/api/org-units/{world.school.pk}/children")

    assert response.status_code == 200
    children = {item["id"]: item["child_count"] for item in items(response)}
    assert children == {
        world.office.pk: 0,
        world.grade_division.pk: 1,
        world.research_group.pk: 0,
        world.class_a.pk: 0,
    }
    assert response.json()["count"] == 4


# --------------------------------------------------------------------------- classes


def test_class_list_has_head_teachers_and_student_counts(world, api_get):
    StudentFactory(school_class=world.class_a, status=StudentStatus.TRANSFERRED_OUT)

    response = api_get("principal", "/api/classes")

    assert response.status_code == 200
    by_id = {item["id"]: item for item in items(response)}
    assert set(by_id) == {world.class_a.pk, world.class_b.pk}
    headteacher = world.users["headteacher"]
    assert by_id[world.class_a.pk] == {
        "id": world.class_a.pk,
        "code": "S1-C101",
        "name": "一年级(1)班",
        "grade": 1,
        "grade_label": "一年级",
        "class_number": 1,
        "parent_id": world.school.pk,
        "school_id": world.school.pk,
        "school_name": "青石小学",
        "is_active": True,
        "head_teachers": [{"id": headteacher.pk, "full_name": "headteacher用户"}],
        "student_count": 2,
    }
    assert by_id[world.class_b.pk]["head_teachers"] == []
    assert by_id[world.class_b.pk]["student_count"] == 1


def test_class_head_teachers_are_only_the_current_ones(world, api_get):
    today = timezone.localdate()
    former = UserFactory(full_name="往届班主任")
    RoleAssignmentFactory(
        user=former,
        role=Role.HEAD_TEACHER,
        org_unit=world.class_b,
        valid_until=today - timedelta(days=1),
    )
    current = UserFactory(full_name="现任班主任")
    RoleAssignmentFactory(user=current, role=Role.HEAD_TEACHER, org_unit=world.class_b)

    response = api_get("principal", f"/api/classes/{world.class_b.pk}")

    assert response.json()["head_teachers"] == [{"id": current.pk, "full_name": "现任班主任"}]


def test_class_list_is_ordered_by_school_grade_and_number(world, api_get):
    response = api_get("district", "/api/classes")

    assert [item["code"] for item in items(response)] == ["S1-C101", "S1-C301", "S2-C701"]


def test_class_list_filters(world, api_get):
    class_b_school = OrgUnit.objects.get(code="S2-C701")

    assert ids(api_get("district", "/api/classes", grade=1)) == {world.class_a.pk}
    assert ids(api_get("district", "/api/classes", school_id=world.school_b.pk)) == {
        class_b_school.pk
    }
    assert ids(api_get("district", "/api/classes", search="三年级")) == {world.class_b.pk}
    assert api_get("district", "/api/classes", grade=13).status_code == 422


def test_class_detail_of_a_unit_that_is_no_class_is_404(world, api_get):
    for unit in (world.school, world.grade_division, world.office):
        response = api_get("principal", f"/api/classes/{unit.pk}")

        assert response.status_code == 404
        assert response.json() == {"detail": NOT_FOUND}


def test_class_list_query_count_does_not_grow_with_rows(world, api_get):
    api_get("district", "/api/classes")  # the first call also records the token's use
    with CaptureQueriesContext(connection) as few:
        api_get("district", "/api/classes")
    for number in range(2, 6):
        klass = SchoolClassFactory(parent=world.school, grade=2, class_number=number)
        teacher = UserFactory()
        RoleAssignmentFactory(user=teacher, role=Role.HEAD_TEACHER, org_unit=klass)
        StudentFactory(school_class=klass)

    with CaptureQueriesContext(connection) as many:
        response = api_get("district", "/api/classes")

    assert response.json()["count"] == 7
    assert len(many) == len(few)


# --------------------------------------------------------------------------- schools


def test_school_list_has_class_and_student_counts(world, api_get):
    SchoolClassFactory(parent=world.school, grade=2, class_number=1, is_active=False)
    StudentFactory(school_class=world.class_b, status=StudentStatus.GRADUATED)

    response = api_get("district", "/api/schools")

    assert response.status_code == 200
    assert items(response) == [
        {
            "id": world.school.pk,
            "code": "S1",
            "name": "青石小学",
            "school_type": "complete_primary",
            "school_type_label": "完全小学",
            "parent_id": world.district.pk,
            "address": "",
            "is_active": True,
            "class_count": 2,
            "student_count": 3,
        },
        {
            "id": world.school_b.pk,
            "code": "S2",
            "name": "青石中学",
            "school_type": "junior_middle",
            "school_type_label": "初级中学",
            "parent_id": world.district.pk,
            "address": "",
            "is_active": True,
            "class_count": 1,
            "student_count": 1,
        },
    ]


def test_school_list_filters_by_type(world, api_get):
    assert ids(api_get("district", "/api/schools", school_type="junior_middle")) == {
        world.school_b.pk
    }
    assert ids(api_get("district", "/api/schools", school_type="kindergarten")) == set()
    assert api_get("district", "/api/schools", school_type="university").status_code == 422


def test_school_list_search(world, api_get):
    assert ids(api_get("district", "/api/schools", search="qszx")) == {world.school_b.pk}
    assert ids(api_get("district", "/api/schools", search="青石")) == {
        world.school.pk,
        world.school_b.pk,
    }
    # A class name matches no school.
    assert ids(api_get("district", "/api/schools", search="三年级")) == set()


def test_school_list_query_count_does_not_grow_with_rows(world, api_get):
    api_get("admin", "/api/schools")
    with CaptureQueriesContext(connection) as few:
        api_get("admin", "/api/schools")
    for _ in range(3):
        school = SchoolFactory(parent=world.other_district)
        StudentFactory(school_class=SchoolClassFactory(parent=school))

    with CaptureQueriesContext(connection) as many:
        response = api_get("admin", "/api/schools")

    assert response.json()["count"] == 6
    assert len(many) == len(few)


# --------------------------------------------------------------------------- terms


def test_terms_flag_the_current_term(world, api_get):
    today = timezone.localdate()
    year = SchoolYearFactory(
        name="2024-2025", start_on=today - timedelta(days=200), end_on=today + timedelta(days=165)
    )
    first = TermFactory(
        school_year=year,
        number=1,
        start_on=today - timedelta(days=200),
        end_on=today - timedelta(days=40),
    )
    second = TermFactory(
        school_year=year,
        number=2,
        start_on=today - timedelta(days=20),
        end_on=today + timedelta(days=100),
    )

    response = api_get("parent", "/api/terms")

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": second.pk,
            "name": "2024—2025学年第二学期",
            "school_year_id": year.pk,
            "school_year_name": "2024-2025",
            "number": 2,
            "start_on": second.start_on.isoformat(),
            "end_on": second.end_on.isoformat(),
            "is_current": True,
        },
        {
            "id": first.pk,
            "name": "2024—2025学年第一学期",
            "school_year_id": year.pk,
            "school_year_name": "2024-2025",
            "number": 1,
            "start_on": first.start_on.isoformat(),
            "end_on": first.end_on.isoformat(),
            "is_current": False,
        },
    ]
