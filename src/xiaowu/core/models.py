"""Kernel models every domain may build on. Imports no domain."""

from __future__ import annotations

from django.db import models


class BaseModel(models.Model):
    """Abstract base: creation and update timestamps on every domain row."""

    created_at = models.DateTimeField("创建时间", auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        abstract = True


class Gender(models.TextChoices):
    """性别 (GB/T 2261.1 codes 1 and 2)."""

    MALE = "male", "男"
    FEMALE = "female", "女"
