from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from xiaowu.accounts.models import ApiToken, RoleAssignment, User, token_digest
from xiaowu.accounts.roles import Role
from xiaowu.accounts.services import (
    api_token_create,
    api_token_revoke,
    role_assign,
    role_revoke,
    sensitive_view_record,
    user_can_manage,
    user_create,
    user_set_password,
    user_update,
)
from xiaowu.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_principal_creates_a_teacher_in_own_school(world):
    user, initial = user_create(
        actor=world.users["principal"],
        username="zhangsan",
        full_name="张三",
        role=Role.SUBJECT_TEACHER,
        org_unit=world.class_b,
        mobile="138 0013 8000",
    )
    assert user.mobile == "13800138000"
    assert (user.name_pinyin, user.name_initials) == ("zhangsan", "zs")
    assert user.check_password(initial)
    assert user.password.startswith("md5$")  # tests use the fast hasher; production uses argon2
    assert list(user.role_assignments.values_list("role", "org_unit_id")) == [
        (Role.SUBJECT_TEACHER, world.class_b.pk)
    ]
    event = AuditEvent.objects.get(event="accounts.user_create")
    assert event.changes["after"]["mobile"] == "138****8000"  # never the full number in the log


def test_create_refuses_role_above_or_equal_own_rank(world):
    with pytest.raises(PermissionDenied, match="您无权分配“校长”角色"):
        user_create(
            actor=world.users["principal"],
            username="x1",
            full_name="某某",
            role=Role.PRINCIPAL,
            org_unit=world.school,
        )
    with pytest.raises(PermissionDenied, match="您无权在该机构分配角色"):
        user_create(
            actor=world.users["principal"],
            username="x2",
            full_name="某某",
            role=Role.SUBJECT_TEACHER,
            org_unit=world.class_other,
        )
    assert not User.objects.filter(username__in=["x1", "x2"]).exists()


def test_create_validates_in_chinese(world):
    actor = world.users["principal"]
    with pytest.raises(ValidationError, match="用户名“Teacher”已存在"):
        user_create(
            actor=actor,
            username="Teacher",
            full_name="某",
            role=Role.SUBJECT_TEACHER,
            org_unit=world.class_a,
        )
    with pytest.raises(ValidationError, match="手机号应为 11 位数字"):
        user_create(
            actor=actor,
            username="m1",
            full_name="某",
            role=Role.SUBJECT_TEACHER,
            org_unit=world.class_a,
            mobile="1234",
        )
    with pytest.raises(ValidationError, match="“班主任”只能分配在班级"):
        user_create(
            actor=actor,
            username="m2",
            full_name="某",
            role=Role.HEAD_TEACHER,
            org_unit=world.school,
        )


def test_role_assign_and_revoke_change_scope_and_are_audited(world):
    principal, teacher = world.users["principal"], world.users["teacher"]
    assignment = role_assign(
        actor=principal, user=teacher, role=Role.HEAD_TEACHER, org_unit=world.class_b
    )
    assert RoleAssignment.objects.filter(user=teacher).count() == 2
    role_revoke(actor=principal, assignment=assignment)
    assert RoleAssignment.objects.filter(user=teacher).count() == 1
    assert list(
        AuditEvent.objects.filter(target_id=str(teacher.pk)).values_list("event", flat=True)
    ) == ["accounts.role_revoke", "accounts.role_assign"]


def test_nobody_manages_someone_ranked_equal_or_higher(world):
    assert user_can_manage(world.users["principal"], world.users["teacher"])
    assert not user_can_manage(world.users["principal"], world.users["district"])
    assert not user_can_manage(world.users["vice"], world.users["teacher"])
    assert not user_can_manage(world.users["principal2"], world.users["teacher"])
    assert user_can_manage(world.users["admin"], world.users["district"])


def test_user_update_deactivation_is_audited(world):
    user_update(
        actor=world.users["principal"],
        user=world.users["teacher"],
        full_name="teacher用户",
        mobile="13900001111",
        is_active=False,
    )
    teacher = User.objects.get(username="teacher")
    assert teacher.is_active is False
    event = AuditEvent.objects.get(event="accounts.user_update")
    assert event.changes == {
        "is_active": {"before": True, "after": False},
        "mobile": {"before": None, "after": "139****1111"},
    }
    with pytest.raises(PermissionDenied):
        user_update(
            actor=world.users["vice"], user=teacher, full_name="x", mobile=None, is_active=True
        )


def test_password_policy_applies(world):
    with pytest.raises(ValidationError):
        user_set_password(
            actor=world.users["teacher"], user=world.users["teacher"], password="12345678"
        )
    user_set_password(
        actor=world.users["teacher"], user=world.users["teacher"], password="长城-Great-Wall-2025"
    )
    assert User.objects.get(username="teacher").check_password("长城-Great-Wall-2025")


def test_api_token_is_stored_as_digest_only(world):
    token, raw = api_token_create(actor=world.users["principal"], name="脚本")
    stored = ApiToken.objects.get(pk=token.pk)
    assert raw.startswith("xw_")
    assert raw not in {stored.digest, stored.prefix}
    assert stored.digest == token_digest(raw)
    api_token_revoke(actor=world.users["principal"], token=stored)
    assert not ApiToken.objects.get(pk=token.pk).is_usable()
    with pytest.raises(PermissionDenied):
        api_token_revoke(actor=world.users["teacher"], token=stored)


def test_unmasking_a_mobile_is_recorded(world):
    teacher = world.users["teacher"]
    teacher.mobile = "13712345678"
    teacher.save()
    assert (
        sensitive_view_record(actor=world.users["principal"], target=teacher, field="mobile")
        == "13712345678"
    )
    event = AuditEvent.objects.get(action="view_sensitive")
    assert (event.event, event.target_id, event.actor_id) == (
        "accounts.user_view_mobile",
        str(teacher.pk),
        world.users["principal"].pk,
    )
    with pytest.raises(PermissionDenied):
        sensitive_view_record(actor=world.users["vice"], target=teacher, field="mobile")
    with pytest.raises(PermissionDenied):
        sensitive_view_record(actor=world.users["principal2"], target=teacher, field="mobile")
