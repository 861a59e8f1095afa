"""学籍 — the student register. Issue 3 adds the national-template fields and status history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

from xiaowu.accounts.scoping import scope_for, unit_subtree
from xiaowu.core.models import BaseModel, Gender

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


class StudentStatus(models.TextChoices):
    ENROLLED = "enrolled", "在校"
    SUSPENDED = "suspended", "休学"
    TRANSFERRED_OUT = "transferred_out", "转出"
    GRADUATED = "graduated", "毕业"
    DROPPED_OUT = "dropped_out", "辍学"
    DECEASED = "deceased", "死亡"


class StudentQuerySet(models.QuerySet["Student"]):
    def visible_to(self, actor: User) -> StudentQuerySet:
        """Return the student records the actor may see (AUTHZ-04 relationship scope)."""
        scope = scope_for(actor)
        if scope.is_global:
            return self
        condition = Q(pk__in=[])
        if scope.record_roots:
            units = unit_subtree(scope.record_roots)
            condition |= Q(school_class__in=units) | Q(school__in=units)
        if scope.sees_own_children:
            condition |= Q(guardianships__guardian_id=actor.pk)
        return (
            self.filter(condition).distinct() if scope.sees_own_children else self.filter(condition)
        )

    def enrolled(self) -> StudentQuerySet:
        return self.filter(status=StudentStatus.ENROLLED)


class Student(BaseModel):
    """学生 — one person in the register of one school."""

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
    name = models.CharField("姓名", max_length=50)
    gender = models.CharField("性别", max_length=8, choices=Gender.choices)
    birth_date = models.DateField("出生日期", null=True, blank=True)
    id_number = models.CharField("身份证件号", max_length=18, null=True, blank=True, unique=True)
    status = models.CharField(
        "学籍状态", max_length=20, choices=StudentStatus.choices, default=StudentStatus.ENROLLED
    )
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
        ]

    def __str__(self) -> str:
        return self.name


class GuardianRelation(models.TextChoices):
    FATHER = "father", "父亲"
    MOTHER = "mother", "母亲"
    GRANDPARENT = "grandparent", "祖父母/外祖父母"
    OTHER = "other", "其他监护人"


class Guardianship(BaseModel):
    """监护关系 — links a guardian's account to a student (a guardian may have several)."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="guardianships")
    guardian = models.ForeignKey(
        "accounts.User",
        verbose_name="监护人账号",
        on_delete=models.CASCADE,
        related_name="guardianships",
    )
    relation = models.CharField("关系", max_length=16, choices=GuardianRelation.choices)

    class Meta:
        verbose_name = "监护关系"
        verbose_name_plural = "监护关系"
        constraints = [
            models.UniqueConstraint(fields=["student", "guardian"], name="guardianship_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.guardian_id}→{self.student_id}"
