"""Input shapes for the work-summary pages."""

from __future__ import annotations

from typing import Any

from django import forms

from xiaowu.core.forms import bootstrap_form
from xiaowu.org.models import OrgUnit
from xiaowu.reports.agreement import COMPARATOR_CHOICES
from xiaowu.reports.docx_render import MAX_TEMPLATE_BYTES
from xiaowu.reports.models import (
    AgreementCategory,
    GoalStatus,
    SummaryVariant,
    TargetResponsibilityAgreement,
    TextSlot,
)
from xiaowu.reports.period import Period, calendar_year_period, custom_period, school_year_period


class UnitField(forms.ModelChoiceField[OrgUnit]):
    def label_from_instance(self, obj: OrgUnit) -> str:
        return f"{obj.name}（{obj.get_kind_display()}）"


class PeriodForm(forms.Form):
    """期间: 学期, 学年, 自然年 or custom dates."""

    period_kind = forms.ChoiceField(
        label="期间",
        choices=[
            ("term", "学期"),
            ("school_year", "学年"),
            ("calendar_year", "自然年"),
            ("custom", "自定义"),
        ],
    )
    school_year = forms.RegexField(
        label="学年", regex=r"^\d{4}-\d{4}$", required=False, help_text="如 2025-2026"
    )
    term = forms.TypedChoiceField(
        label="学期", choices=[(1, "第一学期"), (2, "第二学期")], coerce=int, required=False
    )
    year = forms.IntegerField(label="年份", min_value=2000, max_value=2100, required=False)
    start_on = forms.DateField(
        label="开始日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end_on = forms.DateField(
        label="结束日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("period_kind")
        if kind in ("term", "school_year") and not data.get("school_year"):
            self.add_error("school_year", "请填写学年，如 2025-2026。")
        if kind == "term" and not data.get("term"):
            self.add_error("term", "请选择学期。")
        if kind == "calendar_year" and not data.get("year"):
            self.add_error("year", "请填写年份。")
        if kind == "custom" and not (data.get("start_on") and data.get("end_on")):
            self.add_error("start_on", "请填写开始和结束日期。")
        return data

    def period(self) -> Period:
        data = self.cleaned_data
        kind = data["period_kind"]
        if kind == "term":
            return school_year_period(data["school_year"], data["term"])
        if kind == "school_year":
            return school_year_period(data["school_year"])
        if kind == "calendar_year":
            return calendar_year_period(data["year"])
        return custom_period(data["start_on"], data["end_on"])


class SummaryCreateForm(PeriodForm):
    unit = UnitField(label="单位", queryset=OrgUnit.objects.none())
    variant = forms.ChoiceField(label="类型", choices=SummaryVariant.choices)
    field_order = ["unit", "period_kind"]

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        bootstrap_form(self)


class SummaryTextForm(forms.Form):
    slot = forms.ChoiceField(label="位置", choices=TextSlot.choices)
    body = forms.CharField(label="内容", widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap_form(self)


class SummaryTextEditForm(forms.Form):
    body = forms.CharField(label="内容", widget=forms.Textarea(attrs={"rows": 5}))
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap_form(self)


class GoalForm(forms.Form):
    problem = forms.CharField(label="存在问题", widget=forms.Textarea(attrs={"rows": 2}))
    measure = forms.CharField(label="改进措施", widget=forms.Textarea(attrs={"rows": 2}))
    due_on = forms.DateField(
        label="完成期限", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    signal_key = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap_form(self)


class GoalUpdateForm(forms.Form):
    status = forms.ChoiceField(label="状态", choices=GoalStatus.choices)
    completed_on = forms.DateField(
        label="完成日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(
        label="进展说明", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap_form(self)


class SummaryImportForm(forms.Form):
    unit = UnitField(label="单位", queryset=OrgUnit.objects.none())
    file = forms.FileField(label="往期工作总结（.docx 或 .txt，繁体、简体均可）")
    dry_run = forms.BooleanField(label="仅预览，不建立改进目标", required=False, initial=True)

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        bootstrap_form(self)


class AgreementCreateForm(PeriodForm):
    unit = UnitField(label="责任单位", queryset=OrgUnit.objects.none())
    title = forms.CharField(
        label="名称", required=False, max_length=200, help_text="留空则为“单位+期间+目标责任书”"
    )
    issuer = forms.CharField(
        label="签订（考核）单位", required=False, max_length=100, help_text="留空则为上级单位"
    )
    signed_on = forms.DateField(
        label="签订日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    copy_from = forms.ModelChoiceField(
        label="沿用考核项目",
        queryset=TargetResponsibilityAgreement.objects.none(),
        required=False,
        empty_label="不沿用（逐项录入）",
        help_text="复制所选责任书的考核项目、目标和分值",
    )
    note = forms.CharField(label="说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    field_order = ["unit", "period_kind"]

    def __init__(self, *args: Any, units: Any, agreements: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["copy_from"].queryset = agreements  # type: ignore[attr-defined]
        bootstrap_form(self)


class AgreementItemForm(forms.Form):
    category = forms.ChoiceField(label="考核类别", choices=AgreementCategory.choices)
    title = forms.CharField(label="考核项目", max_length=100)
    weight = forms.DecimalField(label="分值", max_digits=5, decimal_places=1, min_value=0)
    metric = forms.ChoiceField(label="数据指标", required=False)
    comparator = forms.ChoiceField(
        label="比较", required=False, choices=[("", "—"), *COMPARATOR_CHOICES]
    )
    target_value = forms.DecimalField(
        label="目标值", required=False, max_digits=12, decimal_places=2
    )
    target_text = forms.CharField(
        label="目标要求",
        required=False,
        max_length=300,
        help_text="有数据指标时可留空，系统按“指标+比较+目标值”写出",
    )
    achieved_text = forms.CharField(
        label="完成情况（人工填写）",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="系统无数据的项目请在此据实填写；有数据的项目可补充说明",
    )
    self_score = forms.DecimalField(
        label="自评得分",
        required=False,
        max_digits=5,
        decimal_places=1,
        min_value=0,
        help_text="留空时：有数据的项目达成计满分、未达成计0分",
    )

    def __init__(self, *args: Any, metrics: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = [  # type: ignore[attr-defined]
            ("", "无（人工填报完成情况）"),
            *((m.key, f"{m.label}（{m.unit}）") for m in metrics),
        ]
        bootstrap_form(self)


class TemplateUploadForm(forms.Form):
    unit = UnitField(label="单位", queryset=OrgUnit.objects.none())
    name = forms.CharField(
        label="模板名称",
        max_length=60,
        help_text="同名上传视为新版本，旧版本保留",
    )
    file = forms.FileField(label="模板文件（.docx）")

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        bootstrap_form(self)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_TEMPLATE_BYTES:  # refused before the file is read into memory
            raise forms.ValidationError(
                f"模板文件过大（上限 {MAX_TEMPLATE_BYTES // 1024 // 1024} MB）。"
            )
        return upload
