"""Work summaries (工作总结): what users add to the generated text, and the goals the
存在问题 → 下一步打算 loop produces."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q

from xiaowu.accounts.scoping import scope_for, unit_subtree
from xiaowu.core.models import BaseModel
from xiaowu.reports.agreement import COMPARATOR_CHOICES

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


class OrgScopedQuerySet(models.QuerySet[Any]):
    """Rows filed under an org unit are visible inside the actor's organisational scope."""

    def visible_to(self, actor: User) -> OrgScopedQuerySet:
        scope = scope_for(actor)
        if scope.is_global:
            return self
        if not scope.org_roots:
            return self.none()
        return self.filter(org_unit__in=unit_subtree(scope.org_roots))


class SummaryVariant(models.TextChoices):
    SUMMARY = "summary", "工作总结"
    AGREEMENT = "agreement", "目标责任书考核汇报材料"


class WorkSummary(BaseModel):
    """工作总结 — one summary of one org unit for one period; the data text is generated on
    demand, the people's text (SummaryText) is stored and versioned."""

    org_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name="单位", on_delete=models.PROTECT, related_name="work_summaries"
    )
    period_kind = models.CharField("期间类型", max_length=20)
    start_on = models.DateField("开始日期")
    end_on = models.DateField("结束日期")
    period_label = models.CharField("期间", max_length=60)
    variant = models.CharField(
        "类型", max_length=20, choices=SummaryVariant.choices, default=SummaryVariant.SUMMARY
    )
    title = models.CharField("标题", max_length=200)
    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name="创建人",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "工作总结"
        verbose_name_plural = "工作总结"
        ordering = ["-end_on", "-id"]
        indexes = [models.Index(fields=["org_unit", "end_on"], name="work_summary_unit_end_idx")]

    def __str__(self) -> str:
        return self.title


class TextSlot(models.TextChoices):
    LEAD = "lead", "导语"
    MAIN = "main", "主要工作及成效"
    HIGHLIGHTS = "highlights", "特色亮点"
    PROBLEMS = "problems", "存在问题"
    PLANS = "plans", "下一步打算"
    CLOSING = "closing", "结尾"


class SummaryText(BaseModel):
    """A paragraph written by a person (特色亮点, context the data cannot know). Regenerating
    the data paragraphs never touches it; every edit keeps the previous text as a version."""

    summary = models.ForeignKey(WorkSummary, on_delete=models.CASCADE, related_name="texts")
    slot = models.CharField("位置", max_length=20, choices=TextSlot.choices)
    position = models.PositiveIntegerField("顺序", default=0)
    body = models.TextField("内容")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = "总结段落"
        verbose_name_plural = "总结段落"
        ordering = ["slot", "position", "id"]

    def __str__(self) -> str:
        return self.body[:30]


class SummaryTextVersion(models.Model):
    """An earlier text of a SummaryText, kept when it was edited or deleted."""

    text = models.ForeignKey(
        SummaryText, null=True, on_delete=models.SET_NULL, related_name="versions"
    )
    summary = models.ForeignKey(WorkSummary, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField()
    body = models.TextField()
    edited_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    edited_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "段落历史版本"
        ordering = ["-edited_at", "-id"]

    def __str__(self) -> str:
        return f"v{self.version}"


class GoalStatus(models.TextChoices):
    OPEN = "open", "推进中"
    DONE = "done", "已完成"
    DROPPED = "dropped", "已取消"


class GoalSource(models.TextChoices):
    SIGNAL = "signal", "数据提示"
    MANUAL = "manual", "人工填写"
    IMPORTED = "imported", "从往期总结导入"


class ImprovementGoal(BaseModel):
    """改进目标 — a 存在问题 with its measure (下一步打算), owned and due; the next period's
    summary reports how many were done."""

    org_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name="单位",
        on_delete=models.PROTECT,
        related_name="improvement_goals",
    )
    summary = models.ForeignKey(
        WorkSummary,
        verbose_name="提出于",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="goals",
    )
    problem = models.TextField("存在问题")
    measure = models.TextField("改进措施")
    owner = models.ForeignKey(
        "accounts.User",
        verbose_name="负责人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    raised_on = models.DateField("提出日期")
    due_on = models.DateField("完成期限", null=True, blank=True)
    status = models.CharField(
        "状态", max_length=16, choices=GoalStatus.choices, default=GoalStatus.OPEN
    )
    completed_on = models.DateField("完成日期", null=True, blank=True)
    source = models.CharField("来源", max_length=16, choices=GoalSource.choices)
    signal_key = models.CharField(max_length=80, blank=True)
    source_reference = models.CharField("出处", max_length=200, blank=True)
    note = models.TextField("进展说明", blank=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "改进目标"
        verbose_name_plural = "改进目标"
        ordering = ["status", "due_on", "id"]
        indexes = [models.Index(fields=["org_unit", "raised_on"], name="goal_unit_raised_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="done") | Q(completed_on__isnull=False),
                name="goal_done_has_date",
            )
        ]

    def __str__(self) -> str:
        return self.measure[:30]


class AgreementCategory(models.TextChoices):
    """考核类别 of a 目标责任书 item (the clauses of 003-3 二、責任書落實情況)."""

    PARTY_LEADERSHIP = "party_leadership", "党建与班子建设"
    SCHOOL_CONDUCT = "school_conduct", "办学行为"
    STAFF_DEVELOPMENT = "staff_development", "队伍建设"
    TEACHING_QUALITY = "teaching_quality", "教育教学"
    STUDENT_ENROLMENT = "student_enrolment", "学籍管理与控辍保学"
    SAFETY = "safety", "安全稳定"
    FUNDING = "funding", "经费与后勤保障"
    FEATURE = "feature", "特色工作"
    OTHER = "other", "其他"


class TargetResponsibilityAgreement(BaseModel):
    """目标责任书 — the targets a 学区 sets a school (or the 教育局 a 学区) for a period
    (domain.md B01: signed 年初/开学初, assessed at year end)."""

    org_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name="责任单位",
        on_delete=models.PROTECT,
        related_name="target_agreements",
    )
    title = models.CharField("名称", max_length=200)
    period_kind = models.CharField("期间类型", max_length=20)
    start_on = models.DateField("开始日期")
    end_on = models.DateField("结束日期")
    period_label = models.CharField("期间", max_length=60)
    signed_on = models.DateField("签订日期", null=True, blank=True)
    issuer = models.CharField("签订（考核）单位", max_length=100, blank=True)
    note = models.TextField("说明", blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "目标责任书"
        verbose_name_plural = "目标责任书"
        ordering = ["-end_on", "org_unit_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["org_unit", "start_on", "end_on"], name="agreement_one_per_unit_period"
            ),
            models.CheckConstraint(
                condition=Q(end_on__gte=models.F("start_on")), name="agreement_dates_ordered"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class AgreementItem(BaseModel):
    """考核项目 — one item of a 目标责任书: its target, weight, the figure that measures it
    (when the data knows it), and what the unit reports and scores itself."""

    agreement = models.ForeignKey(
        TargetResponsibilityAgreement, on_delete=models.CASCADE, related_name="items"
    )
    category = models.CharField("考核类别", max_length=32, choices=AgreementCategory.choices)
    position = models.PositiveIntegerField("顺序", default=0)
    title = models.CharField("考核项目", max_length=100)
    target_text = models.CharField("目标要求", max_length=300, blank=True)
    weight = models.DecimalField("分值", max_digits=5, decimal_places=1)
    metric = models.CharField("数据指标", max_length=100, blank=True)
    comparator = models.CharField("比较", max_length=8, choices=COMPARATOR_CHOICES, blank=True)
    target_value = models.DecimalField(
        "目标值", max_digits=12, decimal_places=2, null=True, blank=True
    )
    achieved_text = models.TextField("完成情况（人工填写）", blank=True)
    self_score = models.DecimalField(
        "自评得分", max_digits=5, decimal_places=1, null=True, blank=True
    )

    class Meta:
        verbose_name = "考核项目"
        verbose_name_plural = "考核项目"
        ordering = ["agreement_id", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(weight__gt=0), name="agreement_item_weight_pos"),
            models.CheckConstraint(
                condition=Q(self_score__isnull=True)
                | (Q(self_score__gte=0) & Q(self_score__lte=models.F("weight"))),
                name="agreement_item_score_in_range",
            ),
            models.CheckConstraint(
                condition=Q(metric="") | (~Q(comparator="") & Q(target_value__isnull=False)),
                name="agreement_item_metric_has_target",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class SummaryTemplate(BaseModel):
    """A school's own .docx template for its summaries (docxtpl placeholders). Uploading a
    file under an existing name adds a version; the newest version of a name is the one used.
    Stored in the database: templates are small, and every worker sees the same bytes."""

    org_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name="单位",
        on_delete=models.PROTECT,
        related_name="summary_templates",
    )
    name = models.CharField("模板名称", max_length=60)
    version = models.PositiveIntegerField("版本", default=1)
    is_current = models.BooleanField("当前版本", default=True)
    original_name = models.CharField("文件名", max_length=200)
    content = models.BinaryField("文件内容")
    size = models.PositiveIntegerField("大小")
    sha256 = models.CharField("SHA-256", max_length=64)
    placeholders = models.JSONField("使用的占位符", default=list, blank=True)
    uploaded_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "总结模板"
        verbose_name_plural = "总结模板"
        ordering = ["org_unit_id", "name", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["org_unit", "name", "version"], name="summary_template_unique_version"
            ),
            models.UniqueConstraint(
                fields=["org_unit", "name"],
                condition=Q(is_current=True),
                name="summary_template_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"
