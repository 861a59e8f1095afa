"""考试与成绩 — exams, their subjects and candidates, scores (with absence codes and optional
item scores), the 口径 (``Caliber``) every analysis is computed under, and the cached results.

Scores are stored once, long (candidate × subject); every indicator is computed columnar from
them by ``exams.analytics`` and cached per (exam, 口径 version, ``Exam.scores_revision``), so a
score change invalidates the cache by bumping the revision.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q

from xiaowu.accounts.scoping import scope_for, unit_subtree
from xiaowu.core.models import BaseModel
from xiaowu.org.models import Grade, OrgUnitClosure

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


class ExamKind(models.TextChoices):
    MIDTERM = "midterm", "期中考试"
    FINAL = "final", "期末考试"
    MONTHLY = "monthly", "月考"
    UNIFIED = "unified", "统考/联考"
    MOCK = "mock", "中考模拟"
    ENTRY = "entry", "入学/分班考试"
    OTHER = "other", "其他"


class ExamStatus(models.TextChoices):
    DRAFT = "draft", "设置中"
    ENTRY = "entry", "成绩录入中"
    LOCKED = "locked", "已锁定"


class ExamQuerySet(models.QuerySet["Exam"]):
    def visible_to(self, actor: User) -> ExamQuerySet:
        """Exams organised inside the actor's scope, or sat by a school inside it."""
        scope = scope_for(actor)
        if scope.is_global:
            return self
        roots = set(scope.org_roots) | set(scope.record_roots)
        if not roots:
            return self.none()
        units = unit_subtree(roots)
        return self.filter(Q(owner__in=units) | Q(schools__in=units)).distinct()


class Exam(BaseModel):
    """考试 — one sitting (期中/期末/月考/统考…) of one grade, organised by a school, 学区 or 局."""

    name = models.CharField("考试名称", max_length=100)
    kind = models.CharField("类型", max_length=20, choices=ExamKind.choices)
    owner = models.ForeignKey(
        "org.OrgUnit",
        verbose_name="组织单位",
        on_delete=models.PROTECT,
        related_name="organised_exams",
        help_text="学校自主考试为学校；统考/联考为学区或教育局",
    )
    schools = models.ManyToManyField(
        "org.OrgUnit", verbose_name="参考学校", related_name="sat_exams", blank=True
    )
    term = models.ForeignKey(
        "org.Term", verbose_name="学期", null=True, blank=True, on_delete=models.PROTECT
    )
    grade = models.SmallIntegerField("年级", choices=Grade.choices)
    held_on = models.DateField("考试日期")
    status = models.CharField(
        "状态", max_length=10, choices=ExamStatus.choices, default=ExamStatus.DRAFT
    )
    default_caliber = models.ForeignKey(
        "exams.Caliber",
        verbose_name="默认分析口径",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Bumped (F() + 1) by every score write; the analysis cache is keyed on it.
    scores_revision = models.PositiveIntegerField("成绩版本", default=0)
    version = models.PositiveIntegerField("版本", default=1)  # optimistic lock on exam edits
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Pinyin search keys of ``name`` (see ``core.pinyin``), kept by ``exams.services``.
    name_pinyin = models.CharField(max_length=400, blank=True, editable=False)
    name_initials = models.CharField(max_length=100, blank=True, editable=False)

    objects = ExamQuerySet.as_manager()

    class Meta:
        verbose_name = "考试"
        verbose_name_plural = "考试"
        ordering = ["-held_on", "-pk"]
        indexes = [models.Index(fields=["owner", "grade", "held_on"])]

    def __str__(self) -> str:
        return self.name


class ExamSubject(BaseModel):
    """考试科目 — a paper of the exam, with its 满分 and entry step (1 or 0.5 points)."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="subjects")
    subject = models.CharField("学科", max_length=20)
    full_mark = models.DecimalField("满分", max_digits=5, decimal_places=1)
    step = models.DecimalField(
        "最小分值", max_digits=3, decimal_places=1, default=Decimal("0.5"), help_text="1 或 0.5"
    )
    sort_order = models.PositiveSmallIntegerField("排序", default=0)

    class Meta:
        verbose_name = "考试科目"
        verbose_name_plural = "考试科目"
        ordering = ["exam", "sort_order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["exam", "subject"], name="exam_subject_unique"),
            models.CheckConstraint(condition=Q(full_mark__gt=0), name="exam_subject_full_mark_pos"),
            models.CheckConstraint(condition=Q(step__gt=0), name="exam_subject_step_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.exam} {self.subject}"


class ItemKind(models.TextChoices):
    OBJECTIVE = "objective", "客观题"
    SUBJECTIVE = "subjective", "主观题"


class ExamItem(BaseModel):
    """小题 — an item of a paper, for item analysis (难度, 区分度, α) when item scores exist."""

    exam_subject = models.ForeignKey(ExamSubject, on_delete=models.CASCADE, related_name="items")
    label = models.CharField("题号", max_length=20)
    kind = models.CharField("题型", max_length=12, choices=ItemKind.choices)
    full_mark = models.DecimalField("满分", max_digits=5, decimal_places=1)
    sort_order = models.PositiveSmallIntegerField("排序", default=0)

    class Meta:
        verbose_name = "小题"
        verbose_name_plural = "小题"
        ordering = ["exam_subject", "sort_order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["exam_subject", "label"], name="exam_item_unique"),
        ]


class ExamCandidateQuerySet(models.QuerySet["ExamCandidate"]):
    def visible_to(self, actor: User) -> ExamCandidateQuerySet:
        """Candidates whose student record the actor may see (relationship scope)."""
        from xiaowu.students.models import Student  # noqa: PLC0415 — students imports org only

        return self.filter(student__in=Student.objects.visible_to(actor))


class ExamCandidate(BaseModel):
    """考生 — a student sitting the exam, with the school and class they sat it in (a snapshot:
    later transfers do not move old results)."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="candidates")
    student = models.ForeignKey(
        "students.Student", on_delete=models.PROTECT, related_name="exam_candidacies"
    )
    school = models.ForeignKey(
        "org.OrgUnit", verbose_name="学校", on_delete=models.PROTECT, related_name="+"
    )
    school_class = models.ForeignKey(
        "org.OrgUnit", verbose_name="班级", on_delete=models.PROTECT, related_name="+"
    )
    exam_number = models.CharField("考号", max_length=30, blank=True)
    is_visiting = models.BooleanField("借读生", default=False)

    objects = ExamCandidateQuerySet.as_manager()

    class Meta:
        verbose_name = "考生"
        verbose_name_plural = "考生"
        ordering = ["exam", "school_class", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["exam", "student"], name="exam_candidate_unique"),
            models.UniqueConstraint(
                fields=["exam", "exam_number"],
                condition=~Q(exam_number=""),
                name="exam_candidate_number_unique",
            ),
        ]
        indexes = [models.Index(fields=["exam", "school_class"])]


class ExamClassTeacher(BaseModel):
    """任课教师 of a class × subject at the time of the exam (a snapshot of the teaching
    assignment, so teacher-level analysis survives later changes)."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="class_teachers")
    school_class = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    subject = models.CharField("学科", max_length=20)
    staff = models.ForeignKey("staff.StaffMember", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "考试任课教师"
        verbose_name_plural = "考试任课教师"
        constraints = [
            models.UniqueConstraint(
                fields=["exam", "school_class", "subject"], name="exam_class_teacher_unique"
            ),
        ]


class ScoreStatus(models.TextChoices):
    """Why a score is missing or not counted; the 口径 decides how each is treated."""

    NORMAL = "", "正常"
    ABSENT = "absent", "缺考"
    CHEATED = "cheated", "作弊"
    EXEMPT = "exempt", "免考"
    NOT_COUNTED = "not_counted", "借读不计"


class Score(models.Model):
    """成绩 — one candidate's score on one paper. ``version`` is the optimistic lock: a write
    names the version it read, and a stale version is refused, never silently overwritten."""

    exam_subject = models.ForeignKey(ExamSubject, on_delete=models.CASCADE, related_name="scores")
    candidate = models.ForeignKey(ExamCandidate, on_delete=models.CASCADE, related_name="scores")
    value = models.DecimalField("分数", max_digits=5, decimal_places=1, null=True, blank=True)
    status = models.CharField(
        "状态", max_length=12, choices=ScoreStatus.choices, default=ScoreStatus.NORMAL, blank=True
    )
    version = models.PositiveIntegerField("版本", default=1)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "成绩"
        verbose_name_plural = "成绩"
        constraints = [
            models.UniqueConstraint(fields=["exam_subject", "candidate"], name="score_unique"),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | Q(value__gte=0), name="score_value_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.candidate_id}/{self.exam_subject_id}: {self.value}"


class ItemScore(models.Model):
    """小题得分 — optional item-level score of a candidate."""

    item = models.ForeignKey(ExamItem, on_delete=models.CASCADE, related_name="scores")
    candidate = models.ForeignKey(
        ExamCandidate, on_delete=models.CASCADE, related_name="item_scores"
    )
    value = models.DecimalField("得分", max_digits=5, decimal_places=1)
    # For objective items: the option chosen ("A", "BD"…), for distractor analysis.
    answer = models.CharField("作答", max_length=10, blank=True)

    class Meta:
        verbose_name = "小题得分"
        verbose_name_plural = "小题得分"
        constraints = [
            models.UniqueConstraint(fields=["item", "candidate"], name="item_score_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.candidate_id}/{self.item_id}: {self.value}"


class CaliberQuerySet(models.QuerySet["Caliber"]):
    def visible_to(self, actor: User) -> CaliberQuerySet:
        """Presets (no owner) plus the 口径 of units in, or above, the actor's scope."""
        scope = scope_for(actor)
        if scope.is_global:
            return self
        roots = list(set(scope.org_roots) | set(scope.record_roots))
        above = OrgUnitClosure.objects.filter(descendant_id__in=roots).values("ancestor_id")
        return self.filter(
            Q(owner__isnull=True) | Q(owner__in=unit_subtree(roots)) | Q(owner__in=above)
        )

    def current(self) -> CaliberQuerySet:
        return self.filter(superseded_by__isnull=True)


class Caliber(BaseModel):
    """口径 — a named, versioned analysis configuration (thresholds, denominators, exclusions,
    subject sets, composite, lines, ranking). ``config`` is validated by
    ``exams.analytics.caliber.CaliberSpec``; editing a 口径 creates a new version, and every
    stored result names the exact version it was computed with."""

    code = models.SlugField("代码", max_length=50)
    name = models.CharField("名称", max_length=100)
    owner = models.ForeignKey(
        "org.OrgUnit",
        verbose_name="所属单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="为空表示系统预置口径",
    )
    version = models.PositiveIntegerField("版本", default=1)
    previous = models.OneToOneField(
        "self",
        verbose_name="上一版本",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
    )
    description = models.TextField("说明", blank=True)
    config = models.JSONField("配置")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = CaliberQuerySet.as_manager()

    class Meta:
        verbose_name = "分析口径"
        verbose_name_plural = "分析口径"
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="caliber_code_version"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（第{self.version}版）"


class AnalysisStatus(models.TextChoices):
    PENDING = "pending", "等待中"
    RUNNING = "running", "计算中"
    DONE = "done", "已完成"
    FAILED = "failed", "失败"


class ExamAnalysis(BaseModel):
    """A cached analysis of one exam under one 口径 version at one scores revision. The
    indicator tables live in ``result_path`` (Parquet under VAR_DIR); ``summary`` holds the
    small headline figures. A newer ``Exam.scores_revision`` makes the row stale."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="analyses")
    caliber = models.ForeignKey(Caliber, on_delete=models.PROTECT, related_name="+")
    scores_revision = models.PositiveIntegerField("成绩版本")
    status = models.CharField(
        "状态", max_length=10, choices=AnalysisStatus.choices, default=AnalysisStatus.PENDING
    )
    result_path = models.CharField("结果文件", max_length=300, blank=True)
    summary = models.JSONField("摘要", default=dict, blank=True)
    error = models.TextField("错误", blank=True)
    elapsed_ms = models.PositiveIntegerField("耗时（毫秒）", null=True, blank=True)

    class Meta:
        verbose_name = "成绩分析结果"
        verbose_name_plural = "成绩分析结果"
        constraints = [
            models.UniqueConstraint(
                fields=["exam", "caliber", "scores_revision"], name="exam_analysis_unique"
            ),
        ]


class ValueAddedMethod(models.TextChoices):
    RESIDUAL_EB = "residual_eb", "残差增值（经验贝叶斯收缩）"
    SGP = "sgp", "学生成长百分位（SGP）"
    Z_GAIN = "z_gain", "标准分增量"
    PERCENTILE_GAIN = "percentile_gain", "百分等级进退"


class ValueAddedAnalysis(BaseModel):
    """增值评价 — students matched between an entry exam and a later exam, one model, one subject
    (or 总分). Matched/dropped/joined counts are kept with the result."""

    entry_exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="+")
    exit_exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="value_added")
    subject = models.CharField("学科", max_length=20, help_text="“总分”表示总分")
    method = models.CharField("模型", max_length=20, choices=ValueAddedMethod.choices)
    params = models.JSONField("参数", default=dict, blank=True)
    entry_revision = models.PositiveIntegerField("入口成绩版本")
    exit_revision = models.PositiveIntegerField("出口成绩版本")
    status = models.CharField(
        "状态", max_length=10, choices=AnalysisStatus.choices, default=AnalysisStatus.PENDING
    )
    matched = models.PositiveIntegerField("匹配人数", default=0)
    dropped = models.PositiveIntegerField("退出人数", default=0)
    joined = models.PositiveIntegerField("新增人数", default=0)
    result_path = models.CharField("结果文件", max_length=300, blank=True)
    summary = models.JSONField("摘要", default=dict, blank=True)
    error = models.TextField("错误", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "增值评价"
        verbose_name_plural = "增值评价"
