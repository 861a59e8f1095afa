"""教职工档案 — staff files. Issue 3 adds dated statuses, honours and teaching assignments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q

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
    TRANSFERRED_IN = "transferred_in", "调入"
    SECONDED_OUT = "seconded_out", "借调在外"
    SECONDED_IN = "seconded_in", "外来借调"
    INTERNAL_RETIREMENT = "internal_retirement", "内退"
    SUBSTITUTE = "substitute", "代课"
    LONG_SICK_LEAVE = "long_sick_leave", "长病假"
    RETIRED = "retired", "退休"
    TRANSFERRED_OUT = "transferred_out", "调出"


# Statuses that count as 现有教师 in a 基本情况 headcount: people working here now.
CURRENT_STATUSES = (
    StaffStatus.ON_POST,
    StaffStatus.TRANSFERRED_IN,
    StaffStatus.SECONDED_IN,
    StaffStatus.SUBSTITUTE,
    StaffStatus.LONG_SICK_LEAVE,
)
# Statuses after which the person no longer belongs to the unit.
LEAVING_STATUSES = (StaffStatus.RETIRED, StaffStatus.TRANSFERRED_OUT)


class Education(models.TextChoices):
    DOCTORATE = "doctorate", "博士研究生"
    MASTER = "master", "硕士研究生"
    BACHELOR = "bachelor", "大学本科"
    ASSOCIATE = "associate", "大学专科"
    SECONDARY = "secondary", "中专/高中"
    BELOW = "below", "高中以下"


class ProfessionalTitle(models.TextChoices):
    """职称 (中小学教师职称, 2015 reform names)."""

    SENIOR_PLUS = "senior_plus", "正高级教师"
    SENIOR = "senior", "高级教师"
    FIRST = "first", "一级教师"
    SECOND = "second", "二级教师"
    THIRD = "third", "三级教师"
    NONE = "none", "未定级"


class HonourTitle(models.TextChoices):
    KEY_TEACHER = "key_teacher", "骨干教师"
    SUBJECT_LEADER = "subject_leader", "学科带头人"
    TEACHING_EXPERT = "teaching_expert", "教学能手"
    RISING_STAR = "rising_star", "教坛新秀"
    EXCELLENT_TEACHER = "excellent_teacher", "优秀教师"
    EXCELLENT_HEAD_TEACHER = "excellent_head_teacher", "优秀班主任"
    OTHER = "other", "其他荣誉"


class HonourLevel(models.TextChoices):
    """级别 of an honour or award (glossary ``level``)."""

    SCHOOL = "school", "校级"
    COUNTY = "county", "县区级"
    CITY = "city", "市级"
    PROVINCE = "province", "省级"
    NATIONAL = "national", "国家级"


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
    education = models.CharField("学历", max_length=16, choices=Education.choices, blank=True)
    professional_title = models.CharField(
        "职称", max_length=16, choices=ProfessionalTitle.choices, default=ProfessionalTitle.NONE
    )
    started_work_on = models.DateField("参加工作时间", null=True, blank=True)
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


class StaffScopedQuerySet(models.QuerySet[Any]):
    """Rows that belong to a staff member are visible when the staff member is."""

    def visible_to(self, actor: User) -> StaffScopedQuerySet:
        if scope_for(actor).is_global:
            return self
        return self.filter(staff__in=StaffMember.objects.visible_to(actor).values("pk"))


class StaffStatusPeriod(BaseModel):
    """人事状态 — a dated period in one status (借调, 长病假, 内退 …); the open one is current."""

    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="status_periods")
    status = models.CharField("人事状态", max_length=32, choices=StaffStatus.choices)
    start_on = models.DateField("起始日期")
    end_on = models.DateField("结束日期", null=True, blank=True)
    counterpart = models.CharField("借调/调动单位", max_length=100, blank=True)
    note = models.CharField("备注", max_length=200, blank=True)

    objects = StaffScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "人事状态"
        verbose_name_plural = "人事状态"
        ordering = ["start_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_on__isnull=True) | Q(end_on__gt=models.F("start_on")),
                name="staff_status_dates_ordered",
            ),
            models.UniqueConstraint(
                fields=["staff"], condition=Q(end_on__isnull=True), name="staff_status_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} {self.start_on}–{self.end_on or ''}"


class StaffHonour(BaseModel):
    """荣誉称号 — 骨干教师, 学科带头人, 教学能手, 教坛新秀 … at a level (校级 … 国家级)."""

    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="honours")
    title = models.CharField("称号", max_length=32, choices=HonourTitle.choices)
    title_text = models.CharField("称号全称", max_length=100, blank=True)
    level = models.CharField("级别", max_length=16, choices=HonourLevel.choices)
    subject = models.CharField("学科", max_length=20, blank=True)
    awarded_on = models.DateField("授予日期")
    issuer = models.CharField("授予单位", max_length=100, blank=True)

    objects = StaffScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "荣誉称号"
        verbose_name_plural = "荣誉称号"
        ordering = ["-awarded_on"]

    def __str__(self) -> str:
        return f"{self.get_level_display()}{self.title_text or self.get_title_display()}"


class TeachingRole(models.TextChoices):
    SUBJECT_TEACHER = "subject_teacher", "任课教师"
    HEAD_TEACHER = "head_teacher", "班主任"


class TeachingAssignment(BaseModel):
    """任课安排 — teacher × class × subject × term; a 班主任 row has no subject.

    Exams, routine checks and value-added read these; they also grant the teacher's scope
    (a role assignment for the term), kept in step by ``staff.services``.
    """

    staff = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="teaching_assignments"
    )
    school_class = models.ForeignKey(
        "org.OrgUnit",
        verbose_name="班级",
        on_delete=models.PROTECT,
        related_name="teaching_assignments",
    )
    term = models.ForeignKey(
        "org.Term", verbose_name="学期", on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField("类型", max_length=20, choices=TeachingRole.choices)
    subject = models.CharField("学科", max_length=20, blank=True)
    weekly_periods = models.PositiveSmallIntegerField("周课时", null=True, blank=True)

    objects = StaffScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "任课安排"
        verbose_name_plural = "任课安排"
        ordering = ["term_id", "school_class_id", "role", "subject"]
        constraints = [
            models.UniqueConstraint(
                fields=["school_class", "term"],
                condition=Q(role="head_teacher"),
                name="teaching_one_head_teacher_per_class_term",
            ),
            models.UniqueConstraint(
                fields=["staff", "school_class", "term", "subject"],
                condition=Q(role="subject_teacher"),
                name="teaching_unique_subject_assignment",
            ),
            models.CheckConstraint(
                condition=Q(role="head_teacher", subject="")
                | Q(role="subject_teacher") & ~Q(subject=""),
                name="teaching_subject_matches_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff_id} {self.get_role_display()} {self.subject} @ {self.school_class_id}"
