"""Organisation tree (教育局 → 学区 → 学校 → 处室/级部/教研组/备课组/班级), calendar and groupings.

The tree is one table, ``OrgUnit``, with an ancestor closure table, ``OrgUnitClosure``: every
(ancestor, descendant) pair is a row, so "everything under this 学区" is one indexed join on
SQLite and PostgreSQL alike, with no collation-dependent ``LIKE`` on a path string.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q
from django.urls import reverse

from xiaowu.accounts.scoping import scope_for, unit_subtree
from xiaowu.core.models import BaseModel

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


class UnitKind(models.TextChoices):
    BUREAU = "bureau", "教育局"
    SCHOOL_DISTRICT = "school_district", "学区"
    SCHOOL = "school", "学校"
    CAMPUS = "campus", "校区"
    ADMIN_OFFICE = "admin_office", "处室"
    GRADE_DIVISION = "grade_division", "级部"
    TEACHING_RESEARCH_GROUP = "teaching_research_group", "教研组"
    LESSON_PREP_GROUP = "lesson_prep_group", "备课组"
    SCHOOL_CLASS = "school_class", "班级"


# Which kinds may sit directly under which: the shape of a real 教育局's tree.
ALLOWED_PARENT_KINDS: dict[str, tuple[str, ...]] = {
    UnitKind.BUREAU: (UnitKind.BUREAU,),  # a city bureau above county bureaus
    UnitKind.SCHOOL_DISTRICT: (UnitKind.BUREAU,),
    UnitKind.SCHOOL: (UnitKind.SCHOOL_DISTRICT, UnitKind.BUREAU),
    UnitKind.CAMPUS: (UnitKind.SCHOOL,),
    UnitKind.ADMIN_OFFICE: (UnitKind.SCHOOL, UnitKind.CAMPUS),
    UnitKind.GRADE_DIVISION: (UnitKind.SCHOOL, UnitKind.CAMPUS),
    UnitKind.TEACHING_RESEARCH_GROUP: (UnitKind.SCHOOL, UnitKind.CAMPUS),
    UnitKind.LESSON_PREP_GROUP: (UnitKind.TEACHING_RESEARCH_GROUP,),
    UnitKind.SCHOOL_CLASS: (UnitKind.GRADE_DIVISION, UnitKind.SCHOOL, UnitKind.CAMPUS),
}

# Kinds that live inside a school and therefore carry its ``school`` reference.
IN_SCHOOL_KINDS = frozenset(
    {
        UnitKind.CAMPUS,
        UnitKind.ADMIN_OFFICE,
        UnitKind.GRADE_DIVISION,
        UnitKind.TEACHING_RESEARCH_GROUP,
        UnitKind.LESSON_PREP_GROUP,
        UnitKind.SCHOOL_CLASS,
    }
)


class SchoolType(models.TextChoices):
    """学校类型 as counted in the work summaries (domain.md §1.2)."""

    JUNIOR_MIDDLE = "junior_middle", "初级中学"
    COMPLETE_PRIMARY = "complete_primary", "完全小学"
    TEACHING_POINT = "teaching_point", "教学点"
    KINDERGARTEN = "kindergarten", "幼儿园"
    NINE_YEAR_SCHOOL = "nine_year_school", "九年一贯制学校"
    COMPLETE_MIDDLE = "complete_middle", "完全中学"
    CENTRAL_PRIMARY = "central_primary", "中心小学"
    SENIOR_MIDDLE = "senior_middle", "高级中学"


class OfficeType(models.TextChoices):
    ACADEMIC_AFFAIRS = "academic_affairs_office", "教导处"
    STUDENT_AFFAIRS = "student_affairs_office", "政教处"
    GENERAL_AFFAIRS = "general_affairs_office", "总务处"
    YOUTH_LEAGUE = "youth_league", "团委"
    PRINCIPAL_OFFICE = "principal_office", "办公室"
    OTHER = "other", "其他处室"


class Grade(models.IntegerChoices):
    """年级. Kindergarten years are negative so that ordering follows age."""

    KG_SMALL = -3, "小班"
    KG_MIDDLE = -2, "中班"
    KG_LARGE = -1, "大班"
    G1 = 1, "一年级"
    G2 = 2, "二年级"
    G3 = 3, "三年级"
    G4 = 4, "四年级"
    G5 = 5, "五年级"
    G6 = 6, "六年级"
    G7 = 7, "七年级"
    G8 = 8, "八年级"
    G9 = 9, "九年级"
    G10 = 10, "高一"
    G11 = 11, "高二"
    G12 = 12, "高三"


class OrgUnitQuerySet(models.QuerySet["OrgUnit"]):
    def visible_to(self, actor: User) -> OrgUnitQuerySet:
        """Return the units inside the actor's organisational scope (fail closed)."""
        scope = scope_for(actor)
        if scope.is_global:
            return self
        if not scope.org_roots:
            return self.none()
        return self.filter(pk__in=unit_subtree(scope.org_roots))

    def under(self, unit_ids: frozenset[int] | set[int] | list[int]) -> OrgUnitQuerySet:
        """Return the units in the subtrees of ``unit_ids`` (the roots included)."""
        return self.filter(pk__in=unit_subtree(unit_ids))

    def schools(self) -> OrgUnitQuerySet:
        return self.filter(kind=UnitKind.SCHOOL)

    def classes(self) -> OrgUnitQuerySet:
        return self.filter(kind=UnitKind.SCHOOL_CLASS)


class OrgUnit(BaseModel):
    """组织机构 — one node of the organisation tree (教育局, 学区, 学校, 处室, 班级 …)."""

    code = models.CharField("代码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=32, choices=UnitKind.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # The nearest school at or above this unit; null above school level. Denormalised because
    # nearly every school-level rule asks "which school is this in?".
    school = models.ForeignKey(
        "self",
        verbose_name="所属学校",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="school_units",
    )
    depth = models.PositiveSmallIntegerField("层级", default=0)
    school_type = models.CharField(
        "学校类型", max_length=32, choices=SchoolType.choices, blank=True
    )
    office_type = models.CharField(
        "处室类型", max_length=32, choices=OfficeType.choices, blank=True
    )
    grade = models.SmallIntegerField("年级", choices=Grade.choices, null=True, blank=True)
    class_number = models.PositiveSmallIntegerField("班号", null=True, blank=True)
    entry_year = models.PositiveSmallIntegerField("入学年份", null=True, blank=True)
    subject = models.CharField("学科", max_length=20, blank=True)
    address = models.CharField("地址", max_length=200, blank=True)
    sort_order = models.IntegerField("排序", default=0)
    is_active = models.BooleanField("启用", default=True)
    name_pinyin = models.CharField(max_length=400, blank=True, editable=False)
    name_initials = models.CharField(max_length=100, blank=True, editable=False)

    objects = OrgUnitQuerySet.as_manager()

    class Meta:
        verbose_name = "组织机构"
        verbose_name_plural = "组织机构"
        ordering = ["depth", "sort_order", "code"]
        indexes = [
            models.Index(fields=["kind", "school"], name="org_unit_kind_school_idx"),
            models.Index(fields=["school", "grade"], name="org_unit_school_grade_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="school") | Q(school_type=""),
                name="org_unit_school_type_only_on_school",
            ),
            models.CheckConstraint(
                condition=Q(kind="school_class") | Q(class_number__isnull=True),
                name="org_unit_class_number_only_on_class",
            ),
            models.UniqueConstraint(
                fields=["parent", "name"], name="org_unit_unique_name_per_parent"
            ),
            # A school has one active 七年级(1)班, whether it sits under the school or a 级部.
            models.UniqueConstraint(
                fields=["school", "grade", "class_number"],
                condition=Q(kind="school_class", is_active=True),
                name="org_unit_unique_active_class_per_school",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("org:unit_detail", args=[self.pk])

    @property
    def kind_label(self) -> str:
        return UnitKind(self.kind).label

    @property
    def is_school(self) -> bool:
        return self.kind == UnitKind.SCHOOL

    @property
    def owning_school_id(self) -> int:
        """Return the id of the school this unit sits in; units above school level have none."""
        if self.school_id is None:
            raise ValueError(f"{self.code} is not inside a school")
        return self.school_id


class OrgUnitClosure(models.Model):
    """祖先关系 — one row per (ancestor, descendant) pair, including each unit with itself."""

    ancestor = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    descendant = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    distance = models.PositiveSmallIntegerField()

    class Meta:
        verbose_name = "组织机构祖先关系"
        constraints = [
            models.UniqueConstraint(
                fields=["ancestor", "descendant"], name="org_closure_unique_pair"
            ),
        ]
        indexes = [models.Index(fields=["descendant", "ancestor"], name="org_closure_desc_idx")]

    def __str__(self) -> str:
        return f"{self.ancestor_id}→{self.descendant_id} ({self.distance})"


class SchoolYear(BaseModel):
    """学年 — e.g. 2024—2025学年, from September to the following summer."""

    name = models.CharField("名称", max_length=20, unique=True, help_text="如 2024-2025")
    start_on = models.DateField("开始日期")
    end_on = models.DateField("结束日期")

    class Meta:
        verbose_name = "学年"
        verbose_name_plural = "学年"
        ordering = ["-start_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_on__gt=models.F("start_on")), name="school_year_dates_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name.replace('-', '—')}学年"


class SchoolYearRollover(BaseModel):
    """学年升级记录 — one school's annual rollover into ``school_year`` (the new year)."""

    school = models.ForeignKey(
        OrgUnit, verbose_name="学校", on_delete=models.PROTECT, related_name="rollovers"
    )
    school_year = models.ForeignKey(
        SchoolYear, verbose_name="新学年", on_delete=models.PROTECT, related_name="rollovers"
    )
    graduated_on = models.DateField("毕业日期")
    # Null when run by an operator at the command line.
    performed_by = models.ForeignKey(
        "accounts.User",
        verbose_name="执行人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    performed_at = models.DateTimeField("执行时间")
    summary = models.JSONField("变更摘要", default=dict)

    class Meta:
        verbose_name = "学年升级记录"
        verbose_name_plural = "学年升级记录"
        ordering = ["-performed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "school_year"], name="school_year_rollover_once_per_year"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_id}:{self.school_year_id}"


class Term(BaseModel):
    """学期 — the first (autumn) or second (spring) term of a school year."""

    school_year = models.ForeignKey(
        SchoolYear, verbose_name="学年", on_delete=models.PROTECT, related_name="terms"
    )
    number = models.PositiveSmallIntegerField("学期", choices=[(1, "第一学期"), (2, "第二学期")])
    start_on = models.DateField("开始日期")
    end_on = models.DateField("结束日期")

    class Meta:
        verbose_name = "学期"
        verbose_name_plural = "学期"
        ordering = ["-start_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["school_year", "number"], name="term_unique_number_per_year"
            ),
            models.CheckConstraint(
                condition=Q(end_on__gt=models.F("start_on")), name="term_dates_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_year}{self.get_number_display()}"


class AllianceKind(models.TextChoices):
    DISTRICT_ALLIANCE = "district_alliance", "大学区"
    SCHOOL_GROUP = "school_group", "集团化教育联盟"


class SchoolAllianceQuerySet(models.QuerySet["SchoolAlliance"]):
    def visible_to(self, actor: User) -> SchoolAllianceQuerySet:
        """Return alliances owned inside the actor's scope or with a member school inside it."""
        scope = scope_for(actor)
        if scope.is_global:
            return self
        if not scope.org_roots:
            return self.none()
        visible = unit_subtree(scope.org_roots)
        return self.filter(Q(owner__in=visible) | Q(memberships__school__in=visible)).distinct()


class SchoolAlliance(BaseModel):
    """大学区 / 集团化教育联盟 — schools grouped across the tree, led by a 引领校."""

    code = models.CharField("代码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=32, choices=AllianceKind.choices)
    owner = models.ForeignKey(
        OrgUnit, verbose_name="主管单位", on_delete=models.PROTECT, related_name="owned_alliances"
    )
    lead_school = models.ForeignKey(
        OrgUnit, verbose_name="引领校", on_delete=models.PROTECT, related_name="led_alliances"
    )
    founded_on = models.DateField("成立日期", null=True, blank=True)

    objects = SchoolAllianceQuerySet.as_manager()

    class Meta:
        verbose_name = "学校联盟"
        verbose_name_plural = "学校联盟"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class AllianceMembership(BaseModel):
    """联盟成员校."""

    alliance = models.ForeignKey(
        SchoolAlliance, on_delete=models.CASCADE, related_name="memberships"
    )
    school = models.ForeignKey(
        OrgUnit, verbose_name="成员校", on_delete=models.PROTECT, related_name="+"
    )
    joined_on = models.DateField("加入日期", null=True, blank=True)

    class Meta:
        verbose_name = "联盟成员校"
        constraints = [
            models.UniqueConstraint(
                fields=["alliance", "school"], name="alliance_membership_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.alliance_id}:{self.school_id}"


class ResearchClusterQuerySet(models.QuerySet["ResearchCluster"]):
    def visible_to(self, actor: User) -> ResearchClusterQuerySet:
        scope = scope_for(actor)
        if scope.is_global:
            return self
        if not scope.org_roots:
            return self.none()
        visible = unit_subtree(scope.org_roots)
        return self.filter(Q(owner__in=visible) | Q(member_schools__in=visible)).distinct()


class ResearchCluster(BaseModel):
    """连片教研组 — same-grade, same-subject teachers of several schools; one school leads."""

    code = models.CharField("代码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=100)
    owner = models.ForeignKey(
        OrgUnit, verbose_name="主管单位", on_delete=models.PROTECT, related_name="+"
    )
    subject = models.CharField("学科", max_length=20)
    grade = models.SmallIntegerField("年级", choices=Grade.choices, null=True, blank=True)
    lead_school = models.ForeignKey(
        OrgUnit, verbose_name="牵头学校", on_delete=models.PROTECT, related_name="+"
    )
    member_schools = models.ManyToManyField(
        OrgUnit, verbose_name="成员学校", related_name="research_clusters"
    )

    objects = ResearchClusterQuerySet.as_manager()

    class Meta:
        verbose_name = "连片教研组"
        verbose_name_plural = "连片教研组"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name
