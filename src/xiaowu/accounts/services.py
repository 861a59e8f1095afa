"""Writes to accounts: users, role assignments, passwords and API tokens."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from xiaowu.accounts.models import ApiToken, RoleAssignment, User, token_digest
from xiaowu.accounts.roles import ROLE_SPECS, Perm, Role
from xiaowu.accounts.scoping import forget_scope, has_perm_at, max_rank, scope_for
from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record, diff, sensitive_view_audit, snapshot
from xiaowu.core.identifiers import mobile_is_valid, normalise_mobile
from xiaowu.core.masking import mask_mobile
from xiaowu.core.pinyin import pinyin_keys
from xiaowu.org.models import OrgUnit, UnitKind

USER_AUDIT_FIELDS = ("username", "full_name", "mobile", "is_active")
_MASKS = {"mobile": mask_mobile}


def _clean_mobile(mobile: str | None, *, exclude_pk: int | None = None) -> str | None:
    if not mobile:
        return None
    value = normalise_mobile(mobile)
    if not mobile_is_valid(value):
        raise ValidationError({"mobile": "手机号应为 11 位数字，以 13–19 开头。"})
    clash = User.objects.filter(mobile=value)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"mobile": "该手机号已被其他账号使用。"})
    return value


def user_can_manage(actor: User, user: User) -> bool:
    """Return True when ``actor`` may edit ``user``: every role of the user is inside the
    actor's management scope and ranked below the actor's own highest role."""
    scope = scope_for(actor)
    if scope.is_global:
        return True
    if actor.pk == user.pk or not scope.has_perm(Perm.ACCOUNTS_MANAGE):
        return False
    assignments = list(RoleAssignment.objects.filter(user=user).values_list("role", "org_unit_id"))
    if not assignments:
        return False
    own_rank = max_rank(actor)
    return all(
        ROLE_SPECS[role].rank < own_rank and has_perm_at(actor, Perm.ACCOUNTS_MANAGE, unit_id)
        for role, unit_id in assignments
    )


def _check_role_grant(*, actor: User, role: str, org_unit: OrgUnit) -> None:
    if role not in Role.values:
        raise ValidationError({"role": "未知角色。"})
    if not has_perm_at(actor, Perm.ACCOUNTS_MANAGE, org_unit.pk):
        raise PermissionDenied("您无权在该机构分配角色。")
    spec = ROLE_SPECS[role]
    if not scope_for(actor).is_global and spec.rank >= max_rank(actor):
        raise PermissionDenied(f"您无权分配“{Role(role).label}”角色。")
    if org_unit.kind not in spec.unit_kinds:
        allowed = "、".join(UnitKind(kind).label for kind in spec.unit_kinds)
        raise ValidationError({"org_unit": f"“{Role(role).label}”只能分配在{allowed}。"})


@transaction.atomic
def user_create(
    *,
    actor: User,
    username: str,
    full_name: str,
    role: str,
    org_unit: OrgUnit,
    mobile: str | None = None,
    password: str | None = None,
) -> tuple[User, str]:
    """Create an account with a first role; return it with its initial password.

    A generated initial password is returned so that it can be handed to the person once.
    """
    _check_role_grant(actor=actor, role=role, org_unit=org_unit)
    username = username.strip()
    if not username:
        raise ValidationError({"username": "请填写用户名。"})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": f"用户名“{username}”已存在。"})
    if not full_name.strip():
        raise ValidationError({"full_name": "请填写姓名。"})
    user = User(username=username, full_name=full_name.strip(), mobile=_clean_mobile(mobile))
    user.name_pinyin, user.name_initials = pinyin_keys(user.full_name)
    initial = password or secrets.token_urlsafe(9)
    validate_password(initial, user)
    user.set_password(initial)
    user.password_changed_at = timezone.now()
    user.full_clean(exclude=["password"])
    user.save()
    RoleAssignment.objects.create(user=user, role=role, org_unit=org_unit)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="accounts.user_create",
        target=user,
        org_unit_id=org_unit.pk,
        changes={"after": {**snapshot(user, USER_AUDIT_FIELDS, _MASKS), "role": role}},
    )
    return user, initial


@transaction.atomic
def user_update(
    *, actor: User, user: User, full_name: str, mobile: str | None, is_active: bool
) -> User:
    if not user_can_manage(actor, user):
        raise PermissionDenied("您无权修改该账号。")
    before = snapshot(user, USER_AUDIT_FIELDS, _MASKS)
    user.full_name = full_name.strip()
    if not user.full_name:
        raise ValidationError({"full_name": "请填写姓名。"})
    user.mobile = _clean_mobile(mobile, exclude_pk=user.pk)
    user.is_active = is_active
    user.name_pinyin, user.name_initials = pinyin_keys(user.full_name)
    after = snapshot(user, USER_AUDIT_FIELDS, _MASKS)
    changed = diff(before, after)
    if not changed:
        return user
    user.save(update_fields=["full_name", "mobile", "is_active", "name_pinyin", "name_initials"])
    unit_id = RoleAssignment.objects.filter(user=user).values_list("org_unit_id", flat=True).first()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event="accounts.user_update",
        target=user,
        org_unit_id=unit_id,
        changes=changed,
    )
    return user


@transaction.atomic
def user_set_password(*, actor: User, user: User, password: str) -> None:
    """Set ``user``'s password: by themselves, or by a manager resetting it."""
    if actor.pk != user.pk and not user_can_manage(actor, user):
        raise PermissionDenied("您无权重置该账号的密码。")
    validate_password(password, user)
    user.set_password(password)
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "password_changed_at"])
    audit_record(
        actor=actor,
        action=AuditAction.PASSWORD_CHANGE,
        event="accounts.password_reset" if actor.pk != user.pk else "accounts.password_change",
        target=user,
    )


@transaction.atomic
def role_assign(
    *,
    actor: User,
    user: User,
    role: str,
    org_unit: OrgUnit,
    valid_from: date | None = None,
    valid_until: date | None = None,
    note: str = "",
) -> RoleAssignment:
    """Give ``user`` a role at ``org_unit`` (optionally for a period, e.g. one term)."""
    _check_role_grant(actor=actor, role=role, org_unit=org_unit)
    if valid_from and valid_until and valid_until < valid_from:
        raise ValidationError({"valid_until": "失效日期不能早于生效日期。"})
    if RoleAssignment.objects.filter(
        user=user, role=role, org_unit=org_unit, valid_from=valid_from
    ).exists():
        raise ValidationError({"role": "该用户在此机构已有相同角色。"})
    assignment = RoleAssignment(
        user=user,
        role=role,
        org_unit=org_unit,
        valid_from=valid_from,
        valid_until=valid_until,
        note=note,
    )
    assignment.full_clean()
    assignment.save()
    forget_scope(user)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        event="accounts.role_assign",
        target=user,
        org_unit_id=org_unit.pk,
        changes={
            "after": {
                "role": role,
                "org_unit": org_unit.pk,
                "valid_from": valid_from,
                "valid_until": valid_until,
            }
        },
    )
    return assignment


@transaction.atomic
def role_revoke(*, actor: User, assignment: RoleAssignment) -> None:
    """Remove a role assignment; the audit log keeps its history."""
    unit = assignment.org_unit
    _check_role_grant(actor=actor, role=assignment.role, org_unit=unit)
    if assignment.user_id == actor.pk:
        raise ValidationError("不能撤销自己的角色。")
    user = assignment.user
    before = {
        "role": assignment.role,
        "org_unit": unit.pk,
        "valid_from": assignment.valid_from,
        "valid_until": assignment.valid_until,
    }
    assignment.delete()
    forget_scope(user)
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        event="accounts.role_revoke",
        target=user,
        org_unit_id=unit.pk,
        changes={"before": before},
    )


@transaction.atomic
def api_token_create(
    *, actor: User, name: str, valid_days: int | None = 90
) -> tuple[ApiToken, str]:
    """Create an API token for ``actor``; the raw token is returned once and never stored."""
    if not name.strip():
        raise ValidationError({"name": "请填写令牌名称。"})
    raw = "xw_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=actor,
        name=name.strip(),
        prefix=raw[3:11],
        digest=token_digest(raw),
        expires_at=timezone.now() + timedelta(days=valid_days) if valid_days else None,
    )
    audit_record(
        actor=actor, action=AuditAction.TOKEN, event="accounts.api_token_create", target=token
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> None:
    if token.user_id != actor.pk:
        raise PermissionDenied("只能撤销自己的令牌。")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at", "updated_at"])
    audit_record(
        actor=actor, action=AuditAction.TOKEN, event="accounts.api_token_revoke", target=token
    )


def sensitive_view_record(*, actor: User, target: User, field: str) -> str:
    """Return the unmasked value of ``field`` and record that ``actor`` viewed it (PRIV-05)."""
    if not scope_for(actor).has_perm(Perm.PII_UNMASK):
        raise PermissionDenied("您无权查看完整号码。")
    unit_ids = list(
        RoleAssignment.objects.filter(user=target).values_list("org_unit_id", flat=True)
    )
    if actor.pk != target.pk and not any(has_perm_at(actor, Perm.PII_UNMASK, u) for u in unit_ids):
        raise PermissionDenied("您无权查看完整号码。")
    sensitive_view_audit(
        actor=actor,
        target=target,
        event=f"accounts.user_view_{field}",
        org_unit_id=unit_ids[0] if unit_ids else None,
    )
    return str(getattr(target, field) or "")
