"""User accounts, role assignments and API tokens."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from xiaowu.accounts.roles import Role
from xiaowu.accounts.scoping import scope_for, unit_subtree
from xiaowu.core.models import BaseModel


class UserQuerySet(models.QuerySet["User"]):
    def visible_to(self, actor: User) -> UserQuerySet:
        """Return the accounts holding a role inside the actor's scope, and the actor."""
        scope = scope_for(actor)
        if scope.is_global:
            return self
        if not scope.org_roots:
            return self.filter(pk=actor.pk)
        in_scope = RoleAssignment.objects.filter(org_unit__in=unit_subtree(scope.org_roots)).values(
            "user_id"
        )
        return self.filter(Q(pk__in=in_scope) | Q(pk=actor.pk))


class UserManager(DjangoUserManager["User"]):
    def get_queryset(self) -> UserQuerySet:
        return UserQuerySet(self.model, using=self._db)

    def visible_to(self, actor: User) -> UserQuerySet:
        return self.get_queryset().visible_to(actor)


class User(AbstractBaseUser, PermissionsMixin):
    """用户 — one account per person; log in by username or mobile number."""

    username = models.CharField("用户名", max_length=64, unique=True)
    full_name = models.CharField("姓名", max_length=50)
    mobile = models.CharField("手机号", max_length=11, null=True, blank=True, unique=True)
    is_active = models.BooleanField("启用", default=True)
    is_staff = models.BooleanField(
        default=False
    )  # Django admin flag; the admin site is not installed
    date_joined = models.DateTimeField("创建时间", default=timezone.now)
    password_changed_at = models.DateTimeField("密码修改时间", null=True, blank=True)
    name_pinyin = models.CharField(max_length=400, blank=True, editable=False)
    name_initials = models.CharField(max_length=100, blank=True, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name}（{self.username}）"

    def get_absolute_url(self) -> str:
        return reverse("accounts:user_detail", args=[self.pk])


class RoleAssignmentQuerySet(models.QuerySet["RoleAssignment"]):
    def active_on(self, day: date) -> RoleAssignmentQuerySet:
        return self.filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=day),
            Q(valid_until__isnull=True) | Q(valid_until__gte=day),
        )

    def active(self) -> RoleAssignmentQuerySet:
        return self.active_on(timezone.localdate())

    def visible_to(self, actor: User) -> RoleAssignmentQuerySet:
        scope = scope_for(actor)
        if scope.is_global:
            return self
        if not scope.org_roots:
            return self.filter(user=actor)
        return self.filter(Q(org_unit__in=unit_subtree(scope.org_roots)) | Q(user=actor))


class RoleAssignment(BaseModel):
    """角色分配 — a user holds a role at an org unit, optionally for a period (e.g. a term)."""

    user = models.ForeignKey(
        User, verbose_name="用户", on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.CharField("角色", max_length=32, choices=Role.choices)
    org_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name="组织机构",
        on_delete=models.PROTECT,
        related_name="role_assignments",
    )
    valid_from = models.DateField("生效日期", null=True, blank=True)
    valid_until = models.DateField("失效日期", null=True, blank=True)
    note = models.CharField("备注", max_length=200, blank=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = "角色分配"
        verbose_name_plural = "角色分配"
        ordering = ["user_id", "role"]
        indexes = [models.Index(fields=["org_unit", "role"], name="role_assignment_unit_role_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "org_unit", "valid_from"], name="role_assignment_unique"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_until__gte=models.F("valid_from")),
                name="role_assignment_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.get_role_display()} @ {self.org_unit_id}"


def token_digest(raw: str) -> str:
    """Return the stored digest of an API token; the raw token is shown once and never stored."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(BaseModel):
    """接口令牌 — a bearer token for the REST API, stored as a SHA-256 digest."""

    user = models.ForeignKey(
        User, verbose_name="用户", on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField("名称", max_length=50)
    prefix = models.CharField("前缀", max_length=8, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField("过期时间", null=True, blank=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)

    class Meta:
        verbose_name = "接口令牌"
        verbose_name_plural = "接口令牌"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now: Any = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
