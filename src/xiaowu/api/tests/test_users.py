"""The account endpoints: permission, masking of mobile numbers, filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from xiaowu.accounts.models import User
from xiaowu.accounts.roles import Perm, Role
from xiaowu.accounts.scoping import scope_for
from xiaowu.accounts.tests.factories import RoleAssignmentFactory, UserFactory
from xiaowu.api.tests.conftest import ApiGet
from xiaowu.api.tests.utils import FULL_MOBILE, ids, items

pytestmark = pytest.mark.django_db

MOBILES = {
    "principal": "13812345678",
    "teacher": "15900001111",
    "parent": "18655556666",
    "district": "19912340000",
}


@pytest.fixture
def with_mobiles(world) -> None:
    for username, mobile in MOBILES.items():
        User.objects.filter(pk=world.users[username].pk).update(mobile=mobile)


def _get_all(api_get: ApiGet, world, username: str) -> list[str]:
    """Return the bodies of every account-bearing response the user may read."""
    bodies = [api_get(username, "/api/me").content.decode()]
    listing = api_get(username, "/api/users", limit=500)
    if listing.status_code == 200:
        bodies.append(listing.content.decode())
        bodies += [
            api_get(username, f"/api/users/{user['id']}").content.decode()
            for user in listing.json()["items"]
        ]
    return bodies


@pytest.mark.parametrize("username", ["admin", "district", "principal", "vice", "parent"])
def test_no_full_mobile_number_in_any_response(world, api_get, with_mobiles, username):
    bodies = _get_all(api_get, world, username)

    assert len(bodies) >= 1
    for body in bodies:
        assert not FULL_MOBILE.search(body), body


def test_mobile_numbers_are_masked_not_dropped(world, api_get, with_mobiles):
    listed = {user["username"]: user for user in items(api_get("district", "/api/users"))}
    detail = api_get("district", f"/api/users/{world.users['teacher'].pk}").json()
    me = api_get("principal", "/api/me").json()

    assert listed["principal"]["mobile"] == "138****5678"
    assert listed["teacher"]["mobile"] == "159****1111"
    assert listed["vice"]["mobile"] is None
    assert detail["mobile"] == "159****1111"
    assert me["mobile"] == "138****5678"


def test_user_detail(world, api_get):
    teacher = world.users["teacher"]

    response = api_get("principal", f"/api/users/{teacher.pk}")

    assert response.status_code == 200
    role = teacher.role_assignments.get()
    assert response.json() == {
        "id": teacher.pk,
        "username": "teacher",
        "full_name": "teacher用户",
        "mobile": None,
        "is_active": True,
        "roles": [
            {
                "id": role.pk,
                "role": "subject_teacher",
                "role_label": "任课教师",
                "org_unit_id": world.class_a.pk,
                "org_unit_name": "一年级(1)班",
                "valid_from": None,
                "valid_until": None,
                "is_current": True,
            }
        ],
    }


def test_principal_lists_the_accounts_of_the_school(world, api_get):
    response = api_get("principal", "/api/users", limit=500)

    assert response.status_code == 200
    assert {user["username"] for user in items(response)} == {
        "principal",
        "vice",
        "office",
        "gradehead",
        "research",
        "headteacher",
        "teacher",
        "duty",
        "parent",
    }
    assert response.json()["count"] == 9


@pytest.mark.parametrize("username", ["headteacher", "teacher", "duty", "parent", "teacher2"])
def test_users_need_the_accounts_view_permission(world, api_get, username):
    """Without 查看账号 the list and every visible account are 403 (a foreign one stays 404)."""
    assert not scope_for(world.users[username]).has_perm(Perm.ACCOUNTS_VIEW)
    colleague = world.users["principal2" if username == "teacher2" else "principal"]
    paths = ["/api/users", f"/api/users/{world.users[username].pk}"]
    if username != "parent":  # a 家长 has no organisational scope, hence no colleagues
        paths.append(f"/api/users/{colleague.pk}")

    for path in paths:
        response = api_get(username, path)

        assert response.status_code == 403, path
        assert response.json() == {"detail": "您无权查看账号。"}


def test_users_filter_by_role_and_unit(world, api_get):
    assert ids(api_get("district", "/api/users", role="principal")) == {world.users["principal"].pk}
    assert ids(api_get("district", "/api/users", unit_id=world.grade_division.pk)) == {
        world.users["gradehead"].pk
    }
    assert ids(api_get("district", "/api/users", role="head_teacher", unit_id=world.school.pk)) == {
        world.users["headteacher"].pk
    }
    assert api_get("district", "/api/users", role="king").status_code == 422


def test_users_search_by_name_pinyin_and_username(world, api_get):
    zhang = UserFactory(username="zhang3", full_name="张三")
    world.users["teacher"].role_assignments.update(user=zhang)

    assert ids(api_get("principal", "/api/users", search="zs")) == {zhang.pk}
    assert ids(api_get("principal", "/api/users", search="zhangsan")) == {zhang.pk}
    assert ids(api_get("principal", "/api/users", search="张")) == {zhang.pk}
    assert ids(api_get("principal", "/api/users", search="zhang3")) == {zhang.pk}


def test_me_lists_only_the_roles_in_force(world, api_get):
    principal = world.users["principal"]
    today = timezone.localdate()
    RoleAssignmentFactory(
        user=principal,
        role=Role.VICE_PRINCIPAL,
        org_unit=world.school_b,
        valid_until=today - timedelta(days=1),
    )
    RoleAssignmentFactory(
        user=principal,
        role=Role.SUBJECT_TEACHER,
        org_unit=world.class_a,
        valid_from=today + timedelta(days=1),
    )

    me = api_get("principal", "/api/me").json()

    assert [(role["role"], role["org_unit_id"]) for role in me["roles"]] == [
        ("principal", world.school.pk)
    ]
    # The user detail lists every visible assignment, with whether it is in force today.
    detail = api_get("district", f"/api/users/{principal.pk}").json()
    assert sorted((role["role"], role["is_current"]) for role in detail["roles"]) == [
        ("principal", True),
        ("subject_teacher", False),
        ("vice_principal", False),
    ]
