"""Tenant isolation through the API (security.md AUTHZ-02): foreign ids answer 404, lists never
contain them, and every detail endpoint agrees with its list endpoint."""

from __future__ import annotations

import pytest

from xiaowu.accounts.models import RoleAssignment, User
from xiaowu.accounts.roles import Role
from xiaowu.accounts.tests.factories import RoleAssignmentFactory, UserFactory
from xiaowu.api.responses import NOT_FOUND
from xiaowu.api.tests.utils import ids, items
from xiaowu.org.models import OrgUnit, UnitKind
from xiaowu.staff.models import StaffMember
from xiaowu.students.models import Guardian, Student

pytestmark = pytest.mark.django_db

LIST_PATHS = ["/api/org-units", "/api/classes", "/api/schools", "/api/users"]


def _units_under(unit: OrgUnit) -> set[int]:
    return set(OrgUnit.objects.under({unit.pk}).values_list("pk", flat=True))


def _users_with_roles_under(unit: OrgUnit) -> set[int]:
    return set(
        RoleAssignment.objects.filter(org_unit__in=_units_under(unit)).values_list(
            "user_id", flat=True
        )
    )


def _all_ids(api_get, username: str, path: str, **query) -> set[int]:
    response = api_get(username, path, limit=500, **query)
    assert response.status_code == 200, (path, response.content)
    return ids(response)


def test_principal_sees_exactly_the_first_school(world, api_get):
    expected = {
        world.school.pk,
        world.office.pk,
        world.grade_division.pk,
        world.research_group.pk,
        world.class_a.pk,
        world.class_b.pk,
    }

    assert _all_ids(api_get, "principal", "/api/org-units") == expected
    assert _all_ids(api_get, "principal", "/api/schools") == {world.school.pk}
    assert _all_ids(api_get, "principal", "/api/classes") == {world.class_a.pk, world.class_b.pk}


def test_district_leader_sees_both_schools_and_not_the_other_district(world, api_get):
    units = _all_ids(api_get, "district", "/api/org-units")

    assert units == _units_under(world.district)
    assert {world.district.pk, world.school.pk, world.school_b.pk} <= units
    assert not units & _units_under(world.other_district)
    assert world.bureau.pk not in units
    assert _all_ids(api_get, "district", "/api/schools") == {world.school.pk, world.school_b.pk}


def test_teacher2_gets_404_for_every_id_of_the_first_school(world, api_get):
    unit_ids = _units_under(world.school)
    class_ids = set(
        OrgUnit.objects.filter(pk__in=unit_ids, kind=UnitKind.SCHOOL_CLASS).values_list(
            "pk", flat=True
        )
    )
    user_ids = _users_with_roles_under(world.school)
    assert len(unit_ids) == 6
    assert len(class_ids) == 2
    assert len(user_ids) == 9

    paths = (
        [f"/api/org-units/{pk}" for pk in unit_ids]
        + [f"/api/org-units/{pk}/children" for pk in unit_ids]
        + [f"/api/classes/{pk}" for pk in class_ids]
        + [f"/api/users/{pk}" for pk in user_ids]
    )
    for path in paths:
        response = api_get("teacher2", path)

        assert response.status_code == 404, path
        assert response.json() == {"detail": NOT_FOUND}


@pytest.mark.parametrize("username", ["teacher2", "principal2"])
def test_lists_never_contain_ids_of_the_other_district(world, api_get, username):
    foreign_units = _units_under(world.district)
    foreign_users = _users_with_roles_under(world.district)

    for path in ("/api/org-units", "/api/classes", "/api/schools"):
        seen = _all_ids(api_get, username, path)
        assert seen, path
        assert not seen & foreign_units, path
    unit_list = api_get(username, "/api/org-units", limit=500)
    assert not {item["school_id"] for item in items(unit_list)} & foreign_units
    if username == "principal2":
        users = api_get(username, "/api/users", limit=500)
        assert ids(users) == {world.users["teacher2"].pk, world.users["principal2"].pk}
        assert not ids(users) & foreign_users
        assert (
            not {role["org_unit_id"] for user in items(users) for role in user["roles"]}
            & foreign_units
        )


def test_filters_on_foreign_ids_give_empty_lists(world, api_get):
    for query in (
        {"school_id": world.school.pk},
        {"under_id": world.district.pk},
        {"under_id": world.class_a.pk},
    ):
        assert _all_ids(api_get, "principal2", "/api/org-units", **query) == set()
    assert _all_ids(api_get, "principal2", "/api/classes", school_id=world.school.pk) == set()
    assert _all_ids(api_get, "principal2", "/api/users", unit_id=world.school.pk) == set()


def test_parent_gets_empty_lists_and_403_for_users(world, api_get):
    for path in ("/api/org-units", "/api/classes", "/api/schools"):
        response = api_get("parent", path)
        assert response.status_code == 200
        assert response.json() == {"items": [], "count": 0}
    for path in ("/api/users", f"/api/users/{world.users['parent'].pk}"):
        response = api_get("parent", path)
        assert response.status_code == 403
        assert response.json() == {"detail": "您无权查看账号。"}
    for unit in (world.school, world.class_a):
        assert api_get("parent", f"/api/org-units/{unit.pk}").status_code == 404
    me = api_get("parent", "/api/me").json()
    assert [role["role"] for role in me["roles"]] == ["guardian"]
    assert me["permissions"] == []


@pytest.mark.parametrize(
    "username",
    ["admin", "district", "principal", "vice", "gradehead", "teacher", "parent", "teacher2"],
)
def test_detail_endpoints_agree_with_list_endpoints(world, api_get, username):
    """For every unit id, the detail answers 200 exactly when the list contains the id."""
    listed_units = _all_ids(api_get, username, "/api/org-units")
    listed_classes = _all_ids(api_get, username, "/api/classes")
    all_units = set(OrgUnit.objects.values_list("pk", flat=True))

    for pk in all_units:
        unit_status = api_get(username, f"/api/org-units/{pk}").status_code
        class_status = api_get(username, f"/api/classes/{pk}").status_code

        assert unit_status == (200 if pk in listed_units else 404), pk
        assert class_status == (200 if pk in listed_classes else 404), pk


@pytest.mark.parametrize("username", ["admin", "district", "principal", "vice", "principal2"])
def test_user_detail_agrees_with_user_list(world, api_get, username):
    listed = _all_ids(api_get, username, "/api/users")

    for pk in User.objects.values_list("pk", flat=True):
        status = api_get(username, f"/api/users/{pk}").status_code

        assert status == (200 if pk in listed else 404), pk


def test_users_show_only_role_assignments_inside_the_callers_scope(world, api_get):
    """A teacher of the first school who also teaches at the other district's school: the
    principal sees the account, but not the assignment elsewhere, and cannot find it by it."""
    teacher = UserFactory(username="both", full_name="两校教师")
    RoleAssignmentFactory(user=teacher, role=Role.SUBJECT_TEACHER, org_unit=world.class_a)
    RoleAssignmentFactory(user=teacher, role=Role.SUBJECT_TEACHER, org_unit=world.class_other)

    detail = api_get("principal", f"/api/users/{teacher.pk}").json()
    listed = {user["id"]: user for user in items(api_get("principal", "/api/users", limit=500))}

    assert [role["org_unit_id"] for role in detail["roles"]] == [world.class_a.pk]
    assert [role["org_unit_id"] for role in listed[teacher.pk]["roles"]] == [world.class_a.pk]
    assert ids(api_get("principal", "/api/users", unit_id=world.class_other.pk)) == set()
    assert ids(api_get("principal", "/api/users", unit_id=world.class_a.pk)) == {
        world.users["headteacher"].pk,
        world.users["teacher"].pk,
        teacher.pk,
    }
    # principal2 sees the same account from the other side.
    other = api_get("principal2", f"/api/users/{teacher.pk}").json()
    assert [role["org_unit_id"] for role in other["roles"]] == [world.class_other.pk]


# --------------------------------------------------------------------------- 学籍 and staff


def _students_named(*names: str) -> set[int]:
    return set(Student.objects.filter(name__in=names).values_list("pk", flat=True))


STUDENT_SCOPE = {
    "admin": ("张小明", "李小红", "王小刚", "赵小丽", "钱小军"),
    "district": ("张小明", "李小红", "王小刚", "赵小丽"),
    "principal": ("张小明", "李小红", "王小刚"),
    "vice": ("张小明", "李小红", "王小刚"),
    "office": ("张小明", "李小红", "王小刚"),
    "gradehead": ("王小刚",),
    "headteacher": ("张小明", "李小红"),
    "teacher": ("张小明", "李小红"),
    "research": (),
    "duty": (),
    "parent": ("张小明",),
    "teacher2": ("钱小军",),
    "principal2": ("钱小军",),
}


@pytest.mark.parametrize(("username", "names"), STUDENT_SCOPE.items())
def test_students_are_scoped_per_role(world, api_get, username, names):
    expected = _students_named(*names)

    assert _all_ids(api_get, username, "/api/students") == expected
    for pk in Student.objects.values_list("pk", flat=True):
        status = api_get(username, f"/api/students/{pk}").status_code

        assert status == (200 if pk in expected else 404), (username, pk)


def test_parent_sees_only_the_own_child(world, api_get):
    assert _all_ids(api_get, "parent", "/api/students") == {world.child.pk}
    assert _all_ids(api_get, "parent", "/api/status-changes") == set()
    guardians = items(api_get("parent", "/api/guardians", limit=500))
    assert {child["student_id"] for g in guardians for child in g["children"]} == {world.child.pk}
    assert _all_ids(api_get, "parent", "/api/teaching-assignments") == set()


def test_teacher2_gets_404_for_every_student_staff_and_guardian_of_the_first_school(world, api_get):
    school_students = set(Student.objects.filter(school=world.school).values_list("pk", flat=True))
    school_staff = set(
        StaffMember.objects.filter(org_unit__in=_units_under(world.school)).values_list(
            "pk", flat=True
        )
    )
    school_guardians = set(
        Guardian.objects.filter(guardianships__student__in=school_students).values_list(
            "pk", flat=True
        )
    )
    assert len(school_students) == 3
    assert len(school_staff) == 1
    assert len(school_guardians) == 1

    paths = (
        [f"/api/students/{pk}" for pk in school_students]
        + [f"/api/students/{pk}/status-changes" for pk in school_students]
        + [f"/api/students/{pk}/guardians" for pk in school_students]
        + [f"/api/staff/{pk}" for pk in school_staff]
        + [f"/api/guardians/{pk}" for pk in school_guardians]
    )
    for path in paths:
        response = api_get("teacher2", path)

        assert response.status_code == 404, path
        assert response.json() == {"detail": NOT_FOUND}
    for path in ("/api/students", "/api/guardians", "/api/status-changes"):
        assert not _all_ids(api_get, "teacher2", path) & (school_students | school_guardians)


@pytest.mark.parametrize("username", ["teacher2", "principal2"])
def test_student_lists_never_contain_the_other_district(world, api_get, username):
    foreign = set(
        Student.objects.filter(school__in=_units_under(world.district)).values_list("pk", flat=True)
    )

    assert foreign
    for query in ({}, {"school_id": world.school.pk}, {"class_id": world.class_a.pk}):
        assert not _all_ids(api_get, username, "/api/students", **query) & foreign
    assert not _all_ids(api_get, username, "/api/guardians") & set(
        Guardian.objects.filter(guardianships__student__in=foreign).values_list("pk", flat=True)
    )
    if username == "principal2":
        staff = _all_ids(api_get, username, "/api/staff")
        assert staff == set(
            StaffMember.objects.filter(org_unit=world.other_school).values_list("pk", flat=True)
        )


@pytest.mark.parametrize("username", ["admin", "district", "principal", "vice", "principal2"])
def test_staff_detail_agrees_with_staff_list(world, api_get, username):
    listed = _all_ids(api_get, username, "/api/staff")

    for pk in StaffMember.objects.values_list("pk", flat=True):
        status = api_get(username, f"/api/staff/{pk}").status_code

        assert status == (200 if pk in listed else 404), pk


@pytest.mark.parametrize(
    "username", ["admin", "district", "principal", "gradehead", "teacher", "parent", "teacher2"]
)
def test_guardian_detail_agrees_with_guardian_list(world, api_get, username):
    listed = _all_ids(api_get, username, "/api/guardians")

    for pk in Guardian.objects.values_list("pk", flat=True):
        status = api_get(username, f"/api/guardians/{pk}").status_code

        assert status == (200 if pk in listed else 404), pk
