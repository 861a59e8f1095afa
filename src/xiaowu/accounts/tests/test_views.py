from __future__ import annotations

import pytest

from xiaowu.accounts.models import RoleAssignment, User
from xiaowu.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_user_search_understands_pinyin_initials(world, client_for):
    User.objects.filter(username="teacher").update(
        full_name="张三", name_pinyin="zhangsan", name_initials="zs"
    )
    client = client_for("principal")
    for term in ("zs", "zhangsan", "张三", "ZS"):
        users = [
            u.username for u in client.get("/accounts/users/", {"q": term}).context["listing"].page
        ]
        assert users == ["teacher"], term


def test_user_list_filters_and_sorts(world, client_for):
    client = client_for("district")
    page = client.get("/accounts/users/", {"role": "subject_teacher"}).context["listing"].page
    assert [u.username for u in page] == ["teacher"]
    page = client.get("/accounts/users/", {"sort": "-username"}).context["listing"].page
    assert [u.username for u in page][:3] == ["vice", "teacher", "research"]


def test_htmx_search_returns_only_the_table(world, client_for):
    response = client_for("principal").get(
        "/accounts/users/", {"q": "vice"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "<table" in body
    assert "<html" not in body


def test_create_user_form_shows_chinese_errors_and_writes_nothing(world, client_for):
    client = client_for("principal")
    count = User.objects.count()
    response = client.post(
        "/accounts/users/new/",
        {
            "username": "teacher",
            "full_name": "重复",
            "mobile": "12",
            "role": "subject_teacher",
            "org_unit": world.class_a.pk,
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "用户名“teacher”已存在" in body
    assert User.objects.count() == count


def test_create_user_then_show_initial_password_once(world, client_for):
    client = client_for("principal")
    response = client.post(
        "/accounts/users/new/",
        {
            "username": "lisi",
            "full_name": "李四",
            "mobile": "",
            "role": "subject_teacher",
            "org_unit": world.class_a.pk,
            "password": "",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "初始密码" in response.content.decode()
    assert User.objects.get(username="lisi").role_assignments.get().org_unit_id == world.class_a.pk


def test_form_does_not_offer_units_outside_scope(world, client_for):
    response = client_for("principal").post(
        "/accounts/users/new/",
        {
            "username": "x",
            "full_name": "某",
            "role": "subject_teacher",
            "org_unit": world.class_other.pk,
        },
    )
    assert "选择一个有效的选项" in response.content.decode()
    assert not User.objects.filter(username="x").exists()


def test_unmask_returns_full_number_and_records_it(world, client_for):
    User.objects.filter(username="teacher").update(mobile="13611112222")
    response = client_for("principal").post(f"/accounts/users/{world.users['teacher'].pk}/mobile/")
    assert "13611112222" in response.content.decode()
    assert AuditEvent.objects.filter(event="accounts.user_view_mobile").count() == 1


def test_profile_creates_api_token_shown_once(world, client_for):
    client = client_for("teacher")
    response = client.post(
        "/accounts/profile/", {"form": "token", "name": "脚本", "valid_days": "30"}
    )
    token = response.context["new_token"]
    assert token.startswith("xw_")
    assert token not in client.get("/accounts/profile/").content.decode()


def test_password_change_checks_current_password(world, client_for):
    client = client_for("teacher")
    response = client.post(
        "/accounts/profile/password/",
        {
            "old_password": "wrong",
            "password1": "长城-Great-Wall-2025",
            "password2": "长城-Great-Wall-2025",
        },
    )
    assert "当前密码不正确" in response.content.decode()


def test_user_list_hides_roles_held_outside_the_viewers_scope(world, client_for):
    RoleAssignment.objects.create(
        user=world.users["teacher"], role="subject_teacher", org_unit=world.class_other
    )
    client = client_for("principal")
    page = client.get("/accounts/users/", {"q": "teacher"}).context["listing"].page
    teacher = next(u for u in page if u.username == "teacher")
    assert [a.org_unit_id for a in teacher.role_assignments.all()] == [world.class_a.pk]
    page = client.get("/accounts/users/", {"unit": world.other_school.pk}).context["listing"].page
    assert list(page) == []
