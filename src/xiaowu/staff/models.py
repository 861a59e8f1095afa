"""教职工档案 — staff files. Issue 3 adds dated statuses, honours and teaching assignments."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from xiaowu.accounts.scoping import scope_for, unit_subtree
from xiaowu.core.models import BaseModel, Gender

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


class PostCategory(models.TextChoices):
    """岗位类别, as counted in 基本情况 ("教师155人，其中专任教师154人")."""

    FULL_TIME_TEACHER = "full_time_teacher", "专任教师"
    ADMINISTRATIVE = "administrative", "行政人员"
    TEACHING_SUPPORT = "teaching_support", "教辅人员"
    WORKER = "worker", "工勤人员"


class StaffStatus(models.TextChoices):
    ON_POST = "on_post", "在编在岗"
    SECONDED_OUT = "seconded_out", "借调在外"
    SECONDED_IN = "seconded_in", "外来借调"
    INTERNAL_RETIREMENT = "internal_retirement", "内退"
    SUBSTITUTE = "substitute", "代课"
    LONG_SICK_LEAVE = "long_sick_leave", "长病假"
    RETIRED = "retired", "退休"
    TRANSFERRED_OUT = "transferred_out", "调出"


# Statuses that count as 现有教师 in a 基本情况 headcount.
CURRENT_STATUSES = (
    StaffStatus.ON_POST,
    StaffStatus.SECONDED_IN,
    StaffStatus.SUBSTITUTE,
    StaffStatus.LONG_SICK_LEAVE,
)


class StaffMemberQuerySet(models.QuerySet["StaffMember"]):
    def visible_to(self, actor: User) -> StaffMemberQuerySet:
        scope = scope_for(actor)
        if scope.is_global:
            return self
        if not scope.org_roots:
            return self.filter(user_id=actor.pk)
        return self.filter(org_unit__in=unit_subtree(scope.org_roots))

    def current(self) -> StaffMemberQuerySet:
        return self.filter(status__in=CURRENT_STATUSES)


class StaffMember(BaseModel):
    """教职工 — one person on the staff of a school (or of a 学区 office)."""

    org_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name="所在单位",
        on_delete=models.PROTECT,
        related_name="staff_members",
    )
    user = models.OneToOneField(
        "accounts.User",
        verbose_name="账号",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="staff_member",
    )
    name = models.CharField("姓名", max_length=50)
    gender = models.CharField("性别", max_length=8, choices=Gender.choices)
    birth_date = models.DateField("出生日期", null=True, blank=True)
    id_number = models.CharField("身份证号", max_length=18, null=True, blank=True, unique=True)
    mobile = models.CharField("手机", max_length=11, blank=True)
    post_category = models.CharField("岗位类别", max_length=32, choices=PostCategory.choices)
    status = models.CharField(
        "人事状态", max_length=32, choices=StaffStatus.choices, default=StaffStatus.ON_POST
    )
    subject = models.CharField("任教学科", max_length=20, blank=True)
    name_pinyin = models.CharField(max_length=400, blank=True, editable=False)
    name_initials = models.CharField(max_length=100, blank=True, editable=False)

    objects = StaffMemberQuerySet.as_manager()

    class Meta:
        verbose_name = "教职工"
        verbose_name_plural = "教职工"
        ordering = ["org_unit_id", "name"]
        indexes = [models.Index(fields=["org_unit", "status"], name="staff_unit_status_idx")]

    def __str__(self) -> str:
        return self.name
