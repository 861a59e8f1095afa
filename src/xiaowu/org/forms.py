"""Input shapes for organisation pages."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms

from xiaowu.core.forms import bootstrap_form
from xiaowu.org.models import (
    ALLOWED_PARENT_KINDS,
    Grade,
    OfficeType,
    OrgUnit,
    SchoolType,
    SchoolYear,
    UnitKind,
)

# Which optional attributes each kind of unit uses.
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    UnitKind.BUREAU: ("address",),
    UnitKind.SCHOOL_DISTRICT: ("address",),
    UnitKind.SCHOOL: ("school_type", "address"),
    UnitKind.CAMPUS: ("address",),
    UnitKind.ADMIN_OFFICE: ("office_type",),
    UnitKind.GRADE_DIVISION: ("grade",),
    UnitKind.TEACHING_RESEARCH_GROUP: ("subject",),
    UnitKind.LESSON_PREP_GROUP: ("subject", "grade"),
    UnitKind.SCHOOL_CLASS: ("grade", "class_number", "entry_year"),
}
OPTIONAL_FIELDS = (
    "school_type",
    "office_type",
    "grade",
    "class_number",
    "entry_year",
    "subject",
    "address",
)


class _UnitFields(forms.Form):
    name = forms.CharField(
        label="名称",
        max_length=100,
        required=False,
        help_text="班级可留空，按“七年级(2)班”自动命名。",
    )
    school_type = forms.ChoiceField(
        label="学校类型", choices=[("", "—"), *SchoolType.choices], required=False
    )
    office_type = forms.ChoiceField(
        label="处室类型", choices=[("", "—"), *OfficeType.choices], required=False
    )
    grade = forms.TypedChoiceField(
        label="年级",
        choices=[("", "—"), *Grade.choices],
        coerce=int,
        required=False,
        empty_value=None,
    )
    class_number = forms.IntegerField(label="班号", min_value=1, max_value=99, required=False)
    entry_year = forms.IntegerField(
        label="入学年份", min_value=1990, max_value=2100, required=False
    )
    subject = forms.CharField(label="学科", max_length=20, required=False)
    address = forms.CharField(label="地址", max_length=200, required=False)
    sort_order = forms.IntegerField(label="排序", required=False, initial=0)


class OrgUnitCreateForm(_UnitFields):
    kind = forms.ChoiceField(label="类型")
    code = forms.CharField(label="代码", max_length=32, help_text="全系统唯一，如 S0101-C0701。")

    field_order = ["kind", "code", "name"]

    def __init__(self, *args: Any, parent: OrgUnit, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k, UnitKind(k).label) for k in self.kinds_under(parent)]  # type: ignore[attr-defined]
        bootstrap_form(self)

    @staticmethod
    def kinds_under(parent: OrgUnit) -> list[str]:
        return [kind for kind, parents in ALLOWED_PARENT_KINDS.items() if parent.kind in parents]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        kind = data["kind"]
        kwargs: dict[str, Any] = {
            "kind": kind,
            "code": data["code"],
            "name": data["name"].strip(),
            "sort_order": data.get("sort_order") or 0,
        }
        for name in KIND_FIELDS[kind]:
            value = data.get(name)
            if value not in (None, ""):
                kwargs[name] = value
        return kwargs


class OrgUnitUpdateForm(_UnitFields):
    is_active = forms.BooleanField(label="启用", required=False)

    def __init__(self, *args: Any, unit: OrgUnit, **kwargs: Any) -> None:
        initial = {
            name: getattr(unit, name)
            for name in ("name", "sort_order", "is_active", *OPTIONAL_FIELDS)
        }
        kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        keep = {"name", "sort_order", "is_active", *KIND_FIELDS[unit.kind]}
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        self.fields["name"].required = True
        self.fields["name"].help_text = ""
        bootstrap_form(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("school_type", "office_type", "subject", "address"):
            if name in data and data[name] is None:
                data[name] = ""
        if "sort_order" in data and data["sort_order"] is None:
            data["sort_order"] = 0
        return data


class SchoolYearForm(forms.Form):
    name = forms.RegexField(
        label="学年",
        regex=r"^\d{4}-\d{4}$",
        help_text="如 2025-2026",
        error_messages={"invalid": "学年格式应为“2025-2026”。"},
    )
    start_on = forms.DateField(label="学年开始", widget=forms.DateInput(attrs={"type": "date"}))
    end_on = forms.DateField(label="学年结束", widget=forms.DateInput(attrs={"type": "date"}))
    term1_start = forms.DateField(
        label="第一学期开始", widget=forms.DateInput(attrs={"type": "date"})
    )
    term1_end = forms.DateField(
        label="第一学期结束", widget=forms.DateInput(attrs={"type": "date"})
    )
    term2_start = forms.DateField(
        label="第二学期开始", widget=forms.DateInput(attrs={"type": "date"})
    )
    term2_end = forms.DateField(
        label="第二学期结束", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap_form(self)

    def clean_name(self) -> str:
        value: str = self.cleaned_data["name"]
        first, second = (int(part) for part in value.split("-"))
        if second != first + 1:
            raise forms.ValidationError("学年的两个年份应相差一年，如“2025-2026”。")
        return value

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        terms: list[tuple[date, date]] = [
            (data["term1_start"], data["term1_end"]),
            (data["term2_start"], data["term2_end"]),
        ]
        return {
            "name": data["name"],
            "start_on": data["start_on"],
            "end_on": data["end_on"],
            "terms": terms,
        }


class SchoolYearRolloverForm(forms.Form):
    """学年升级: the target school year and the 毕业日期 of the top grade."""

    school_year = forms.ModelChoiceField(
        label="升入学年",
        queryset=SchoolYear.objects.order_by("-start_on"),
        empty_label=None,
        error_messages={"invalid_choice": "请选择有效的学年。", "required": "请选择学年。"},
    )
    graduated_on = forms.DateField(
        label="毕业日期",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="毕业年级学生的毕业（学籍异动）日期，不能晚于新学年开始日期。",
        error_messages={"required": "请填写毕业日期。", "invalid": "请输入有效的日期。"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap_form(self)
