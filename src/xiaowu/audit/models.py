"""审计日志 — append-only, hash-chained record of who did what, when, to which record."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import scope_for, unit_subtree

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


class AuditAction(models.TextChoices):
    CREATE = "create", "新增"
    UPDATE = "update", "修改"
    DELETE = "delete", "删除"
    VIEW_SENSITIVE = "view_sensitive", "查看敏感信息"
    LOGIN = "login", "登录"
    LOGIN_FAILED = "login_failed", "登录失败"
    LOGOUT = "logout", "退出"
    LOCKOUT = "lockout", "账号锁定"
    PASSWORD_CHANGE = "password_change", "修改密码"
    EXPORT = "export", "导出"
    IMPORT = "import", "导入"
    TOKEN = "token", "接口令牌"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def visible_to(self, actor: User) -> AuditEventQuerySet:
        """Return events about org units in the actor's scope, plus the actor's own events."""
        scope = scope_for(actor)
        if scope.is_global:
            return self
        roots = scope.roots_with_perm(Perm.AUDIT_VIEW)
        if not roots:
            return self.filter(actor_id=actor.pk)
        return self.filter(models.Q(org_unit__in=unit_subtree(roots)) | models.Q(actor_id=actor.pk))


class AuditEvent(models.Model):
    """One audit row. Never updated or deleted: database triggers refuse both."""

    at = models.DateTimeField("时间", default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="操作人",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,  # audit rows outlive the accounts they name
        related_name="+",
    )
    actor_label = models.CharField("操作人", max_length=120, blank=True)
    actor_roles = models.CharField("角色", max_length=200, blank=True)
    org_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name="所属机构",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    action = models.CharField("动作", max_length=32, choices=AuditAction.choices, db_index=True)
    event = models.CharField("事件", max_length=80, db_index=True)
    target_type = models.CharField("对象类型", max_length=80, blank=True)
    target_id = models.CharField("对象编号", max_length=64, blank=True)
    target_label = models.CharField("对象", max_length=200, blank=True)
    changes = models.JSONField("变更内容", default=dict, blank=True)
    outcome = models.CharField("结果", max_length=16, default="success")
    ip_address = models.GenericIPAddressField("IP 地址", null=True, blank=True)
    request_id = models.CharField("请求编号", max_length=32, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    row_hash = models.CharField(max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = "审计日志"
        verbose_name_plural = "审计日志"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["org_unit", "at"], name="audit_event_unit_at_idx"),
            models.Index(fields=["target_type", "target_id"], name="audit_event_target_idx"),
            models.Index(fields=["actor", "at"], name="audit_event_actor_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.event}"
