"""数据导入 — one uploaded roster file and what became of it (previewed, committed, failed)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import scope_for, unit_subtree
from xiaowu.core.models import BaseModel

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


class ImportKind(models.TextChoices):
    STUDENTS = "students", "学生学籍"
    STAFF = "staff", "教职工"


# The permission an import of each kind needs at the school.
IMPORT_PERMS = {ImportKind.STUDENTS: Perm.STUDENTS_MANAGE, ImportKind.STAFF: Perm.STAFF_MANAGE}


class ImportStatus(models.TextChoices):
    PREVIEWED = "previewed", "待确认"
    COMMITTED = "committed", "已导入"
    FAILED = "failed", "导入失败"


class FileFormat(models.TextChoices):
    XLSX = "xlsx", "Excel 工作簿 (.xlsx)"
    XLS = "xls", "Excel 97-2003 工作簿 (.xls)"
    CSV = "csv", "CSV 文本 (.csv)"


def import_batch_path(instance: ImportBatch, filename: str) -> str:
    # The stored name is generated; the user's file name is kept only as data (INP-09).
    return f"imports/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{instance.file_format}"


class ImportBatchQuerySet(models.QuerySet["ImportBatch"]):
    def visible_to(self, actor: User) -> ImportBatchQuerySet:
        """Return the batches of schools inside the actor's organisational scope."""
        scope = scope_for(actor)
        if scope.is_global:
            return self
        if not scope.org_roots:
            return self.none()
        return self.filter(school__in=unit_subtree(scope.org_roots))


class ImportBatch(BaseModel):
    """导入批次 — an uploaded 学籍 or 教职工 file: its preview, then its all-or-nothing commit."""

    school = models.ForeignKey(
        "org.OrgUnit", verbose_name="学校", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField("导入内容", max_length=16, choices=ImportKind.choices)
    status = models.CharField(
        "状态", max_length=16, choices=ImportStatus.choices, default=ImportStatus.PREVIEWED
    )
    original_name = models.CharField("文件名", max_length=200)
    file_format = models.CharField("文件格式", max_length=4, choices=FileFormat.choices)
    file = models.FileField("文件", upload_to=import_batch_path, max_length=200)
    size = models.PositiveIntegerField("大小")
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    row_count = models.PositiveIntegerField("数据行数", default=0)
    created_count = models.PositiveIntegerField("新增", default=0)
    updated_count = models.PositiveIntegerField("更新", default=0)
    unchanged_count = models.PositiveIntegerField("未变化", default=0)
    error_count = models.PositiveIntegerField("错误数", default=0)
    # [{"row": 3, "column": "身份证件号", "message": "…"}]; at most ERRORS_STORED entries.
    errors = models.JSONField("错误", default=list, blank=True)
    # The first rows as the preview shows them (identifiers masked).
    preview = models.JSONField("预览", default=list, blank=True)
    ignored_columns = models.JSONField("未识别的列", default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="上传人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    committed_at = models.DateTimeField("导入时间", null=True, blank=True)

    objects = ImportBatchQuerySet.as_manager()

    class Meta:
        verbose_name = "导入批次"
        verbose_name_plural = "导入批次"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["school", "created_at"], name="import_batch_school_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}导入 {self.original_name}"

    @property
    def can_commit(self) -> bool:
        return self.status == ImportStatus.PREVIEWED and self.error_count == 0
