"""学籍 — the student register: national-template fields, guardians, status changes (异动) and
class-membership history, from which every headcount can be asked "as of a date"."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

from xiaowu.accounts.scoping import scope_for, unit_subtree
from xiaowu.core.models import BaseModel, Gender
from xiaowu.students.reference import (
    ETHNICITIES,
    DisabilityType,
    HealthStatus,
    IdDocumentType,
    LeftBehind,
    OverseasStatus,
    StudyMode,
)

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


class StudentStatus(models.TextChoices):
    ENROLLED = "enrolled", "在校"
    SUSPENDED = "suspended", "休学"
    TRANSFERRED_OUT = "transferred_out", "转出"
    GRADUATED = "graduated", "毕业"
    DROPPED_OUT = "dropped_out", "辍学"
    DECEASED = "deceased", "死亡"


def _student_condition(actor: User, prefix: str = "") -> Q:
    """Return the relationship-scope condition on students (AUTHZ-04), through ``prefix``."""
    scope = scope_for(actor)
    condition = Q(pk__in=[]) if not prefix else Q(**{f"{prefix}pk__in": []})
    if scope.record_roots:
        units = unit_subtree(scope.record_roots)
        condition |= Q(**{f"{prefix}school_class__in": units}) | Q(**{f"{prefix}school__in": units})
    if scope.sees_own_children:
        condition |= Q(**{f"{prefix}guardianships__guardian__user_id": actor.pk})
    return condition


class StudentQuerySet(models.QuerySet["Student"]):
    def visible_to(self, actor: User) -> StudentQuerySet:
        """Return the student records the actor may see (AUTHZ-04 relationship scope)."""
        scope = scope_for(actor)
        if scope.is_global:
            return self
        visible = self.filter(_student_condition(actor))
        # The guardian join can repeat a student with two linked guardians.
        return visible.distinct() if scope.sees_own_children else visible

    def enrolled(self) -> StudentQuerySet:
        return self.filter(status=StudentStatus.ENROLLED)


class Student(BaseModel):
    """学生 — one person in the register of one school (全国中小学生学籍信息管理系统 fields).

    ``school``, ``school_class`` and ``status`` are the *current* values, kept in step with
    the status-change history by ``students.services``; history lives in ``StatusChange`` and
    ``ClassMembership``.
    """

    school = models.ForeignKey(
        "org.OrgUnit", verbose_name="学校", on_delete=models.PROTECT, related_name="students"
    )
    school_class = models.ForeignKey(
        "org.OrgUnit",
        verbose_name="班级",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="class_students",
    )
    status = models.CharField(
        "学籍状态", max_length=20, choices=StudentStatus.choices, default=StudentStatus.ENROLLED
    )
    # Basic
    name = models.CharField("姓名", max_length=50)
    former_name = models.CharField("曾用名", max_length=50, blank=True)
    gender = models.CharField("性别", max_length=8, choices=Gender.choices)
    birth_date = models.DateField("出生日期", null=True, blank=True)
    id_type = models.CharField(
        "身份证件类型",
        max_length=1,
        choices=IdDocumentType.choices,
        default=IdDocumentType.RESIDENT_ID,
    )
    id_number = models.CharField("身份证件号", max_length=18, null=True, blank=True, unique=True)
    national_student_number = models.CharField(
        "全国学籍号", max_length=19, null=True, blank=True, unique=True
    )
    ethnicity = models.CharField("民族", max_length=2, choices=ETHNICITIES, default="01")
    nationality = models.CharField("国籍/地区", max_length=3, default="CHN")
    birthplace_region = models.CharField("出生地", max_length=12, blank=True)
    native_place = models.CharField("籍贯", max_length=12, blank=True)
    hukou_region = models.CharField("户口所在地", max_length=12, blank=True)
    overseas_status = models.CharField(
        "港澳台侨外", max_length=2, choices=OverseasStatus.choices, default=OverseasStatus.NONE
    )
    health_status = models.CharField(
        "健康状况", max_length=1, choices=HealthStatus.choices, default=HealthStatus.GOOD
    )
    # School side
    class_seat_number = models.CharField("班内学号", max_length=10, blank=True)
    enrolled_on = models.DateField("入学年月", null=True, blank=True)
    study_mode = models.CharField(
        "就读方式", max_length=1, choices=StudyMode.choices, default=StudyMode.DAY
    )
    address = models.CharField("现住址", max_length=200, blank=True)
    # Special groups (sensitive personal information)
    left_behind = models.CharField(
        "留守儿童", max_length=1, choices=LeftBehind.choices, default=LeftBehind.NO
    )
    is_migrant_child = models.BooleanField("进城务工人员随迁子女", default=False)
    has_disability = models.BooleanField("残疾", default=False)
    disability_type = models.CharField(
        "残疾类型", max_length=1, choices=DisabilityType.choices, blank=True
    )
    is_orphan = models.BooleanField("孤儿", default=False)
    is_needy_family = models.BooleanField("建档立卡/低保家庭", default=False)
    # Optimistic locking for interactive edits (CONC-01).
    version = models.PositiveIntegerField(default=1)
    name_pinyin = models.CharField(max_length=400, blank=True, editable=False)
    name_initials = models.CharField(max_length=100, blank=True, editable=False)

    objects = StudentQuerySet.as_manager()

    class Meta:
        verbose_name = "学生"
        verbose_name_plural = "学生"
        ordering = ["school_class_id", "name"]
        indexes = [
            models.Index(fields=["school", "status"], name="student_school_status_idx"),
            models.Index(fields=["school_class", "status"], name="student_class_status_idx"),
            models.Index(fields=["name_initials"], name="student_initials_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(has_disability=True) | Q(disability_type=""),
                name="student_disability_type_needs_flag",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def age_on(self, day: date) -> int | None:
        """Return the age in whole years on ``day`` (周岁)."""
        if self.birth_date is None:
            return None
        birthday_passed = (day.month, day.day) >= (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - (0 if birthday_passed else 1)


class GuardianRelation(models.TextChoices):
    FATHER = "father", "父亲"
    MOTHER = "mother", "母亲"
    GRANDFATHER = "grandfather", "祖父/外祖父"
    GRANDMOTHER = "grandmother", "祖母/外祖母"
    SIBLING = "sibling", "兄弟姐妹"
    OTHER = "other", "其他监护人"


class GuardianQuerySet(models.QuerySet["Guardian"]):
    def visible_to(self, actor: User) -> GuardianQuerySet:
        """Return the guardians of students the actor may see, and the actor's own record."""
        scope = scope_for(actor)
        if scope.is_global:
            return self
        students = Student.objects.visible_to(actor).values("pk")
        return self.filter(Q(guardianships__student__in=students) | Q(user_id=actor.pk)).distinct()


class Guardian(BaseModel):
    """监护人 — a parent or guardian; one guardian may have several children in the register."""

    name = models.CharField("姓名", max_length=50)
    mobile = models.CharField("联系电话", max_length=20, blank=True)
    employer = models.CharField("工作单位", max_length=100, blank=True)
    id_type = models.CharField(
        "身份证件类型", max_length=1, choices=IdDocumentType.choices, blank=True
    )
    id_number = models.CharField("身份证件号", max_length=18, blank=True)
    user = models.OneToOneField(
        "accounts.User",
        verbose_name="家长账号",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="guardian_record",
    )

    objects = GuardianQuerySet.as_manager()

    class Meta:
        verbose_name = "监护人"
        verbose_name_plural = "监护人"
        indexes = [models.Index(fields=["name", "mobile"], name="guardian_name_mobile_idx")]

    def __str__(self) -> str:
        return self.name


class Guardianship(BaseModel):
    """监护关系 — links a guardian to a student, with the relation as stated in the register."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="guardianships")
    guardian = models.ForeignKey(Guardian, on_delete=models.CASCADE, related_name="guardianships")
    relation = models.CharField("关系", max_length=16, choices=GuardianRelation.choices)
    is_custodian = models.BooleanField("是否监护人", default=True)

    class Meta:
        verbose_name = "监护关系"
        verbose_name_plural = "监护关系"
        constraints = [
            models.UniqueConstraint(fields=["student", "guardian"], name="guardianship_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.guardian_id}→{self.student_id}"


class StatusChangeKind(models.TextChoices):
    ENROLLMENT = "enrollment", "入学"
    TRANSFER_IN = "transfer_in", "转入"
    TRANSFER_OUT = "transfer_out", "转出"
    SUSPENSION = "suspension", "休学"
    RESUMPTION = "resumption", "复学"
    REPEAT_GRADE = "repeat_grade", "留级"
    SKIP_GRADE = "skip_grade", "跳级"
    GRADUATION = "graduation", "毕业"
    DROPOUT = "dropout", "辍学"
    DEATH = "death", "死亡"
    CLASS_CHANGE = "class_change", "调班"


class StatusChangeQuerySet(models.QuerySet["StatusChange"]):
    def visible_to(self, actor: User) -> StatusChangeQuerySet:
        scope = scope_for(actor)
        if scope.is_global:
            return self
        return self.filter(student__in=Student.objects.visible_to(actor).values("pk"))


class StatusChange(BaseModel):
    """学籍异动 — one dated event in a student's register history."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="status_changes")
    school = models.ForeignKey(
        "org.OrgUnit", verbose_name="学校", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField("异动类型", max_length=20, choices=StatusChangeKind.choices)
    effective_on = models.DateField("异动日期")
    reason = models.CharField("原因", max_length=200, blank=True)
    from_class = models.ForeignKey(
        "org.OrgUnit",
        verbose_name="原班级",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    to_class = models.ForeignKey(
        "org.OrgUnit",
        verbose_name="新班级",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    counterpart = models.CharField("转入来源/转出去向", max_length=100, blank=True)
    document_number = models.CharField("文号", max_length=50, blank=True)
    note = models.TextField("备注", blank=True)
    recorded_by = models.ForeignKey(
        "accounts.User",
        verbose_name="登记人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = StatusChangeQuerySet.as_manager()

    class Meta:
        verbose_name = "学籍异动"
        verbose_name_plural = "学籍异动"
        ordering = ["effective_on", "id"]
        indexes = [
            models.Index(
                fields=["school", "kind", "effective_on"], name="status_change_school_kind_idx"
            ),
            models.Index(fields=["student", "effective_on"], name="status_change_student_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.effective_on} {self.get_kind_display()}"


def status_change_attachment_path(instance: StatusChangeAttachment, filename: str) -> str:
    # Stored names are generated; the user's file name is kept only as data (INP-09).
    return f"status_changes/{instance.status_change_id}/{instance.sha256[:16]}"


class StatusChangeAttachment(BaseModel):
    """异动材料 — e.g. a transfer certificate scan."""

    status_change = models.ForeignKey(
        StatusChange, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField("文件", upload_to=status_change_attachment_path)
    original_name = models.CharField("文件名", max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField("大小")
    sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = "异动材料"
        verbose_name_plural = "异动材料"

    def __str__(self) -> str:
        return self.original_name


class ClassMembership(models.Model):
    """在班记录 — a student sat in ``school_class`` from ``start_on`` (inclusive) until
    ``end_on`` (exclusive; null while current). Headcounts "as of a date" read this table."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="memberships")
    school = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    school_class = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    start_on = models.DateField("起始日期")
    end_on = models.DateField("结束日期", null=True, blank=True)

    class Meta:
        verbose_name = "在班记录"
        verbose_name_plural = "在班记录"
        ordering = ["start_on", "id"]
        indexes = [
            models.Index(
                fields=["school", "start_on", "end_on"], name="membership_school_dates_idx"
            ),
            models.Index(fields=["school_class", "start_on"], name="membership_class_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_on__isnull=True) | Q(end_on__gt=models.F("start_on")),
                name="membership_dates_ordered",
            ),
            models.UniqueConstraint(
                fields=["student"],
                condition=Q(end_on__isnull=True),
                name="membership_one_open_per_student",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student_id}@{self.school_class_id} {self.start_on}–{self.end_on or ''}"


class AgeCohortPopulation(BaseModel):
    """适龄人口 — a stated population figure (e.g. from the 义务教育监测信息库) that rates such
    as 入学率 divide by. Kept with its source because the system cannot count it itself."""

    org_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name="机构", on_delete=models.PROTECT, related_name="+"
    )
    school_year = models.ForeignKey(
        "org.SchoolYear", verbose_name="学年", on_delete=models.PROTECT, related_name="+"
    )
    age_from = models.PositiveSmallIntegerField("起始年龄")
    age_to = models.PositiveSmallIntegerField("截止年龄")
    headcount = models.PositiveIntegerField("人数")
    source = models.CharField("数据来源", max_length=200)

    class Meta:
        verbose_name = "适龄人口"
        verbose_name_plural = "适龄人口"
        constraints = [
            models.UniqueConstraint(
                fields=["org_unit", "school_year", "age_from", "age_to"], name="age_cohort_unique"
            ),
            models.CheckConstraint(
                condition=Q(age_to__gte=models.F("age_from")), name="age_cohort_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.age_from}–{self.age_to}周岁 {self.headcount}人"
