"""Input shapes for the work-summary pages."""

from __future__ import annotations

from typing import Any

from django import forms

from xiaowu.core.forms import bootstrap_form
from xiaowu.org.models import OrgUnit
from xiaowu.reports.models import GoalStatus, SummaryVariant, TextSlot
from xiaowu.reports.period import Period, calendar_year_period, custom_period, school_year_period


class UnitField(forms.ModelChoiceField[OrgUnit]):
    def label_from_instance(self, obj: OrgUnit) -> str:
        return f"{obj.name}（{obj.get_kind_display()}）"


class SummaryCreateForm(forms.Form):
    unit = UnitField(label="单位", queryset=OrgUnit.objects.none())
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
    variant = forms.ChoiceField(label="类型", choices=SummaryVariant.choices)

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        bootstrap_form(self)

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
