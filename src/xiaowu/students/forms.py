"""Input shapes for the 学籍 pages. Forms validate shape only; ``students.services`` persists
and enforces the register's rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from xiaowu.core.forms import bootstrap_form
from xiaowu.core.masking import mask_id_number
from xiaowu.core.models import Gender
from xiaowu.org.models import OrgUnit, SchoolYear
from xiaowu.students.models import StatusChangeKind, Student
from xiaowu.students.reference import DisabilityType

# The register fields of the national template, grouped as the pages show them.
BASIC_FIELDS = (
    "name",
    "former_name",
    "gender",
    "birth_date",
    "ethnicity",
    "nationality",
    "id_type",
    "id_number",
    "overseas_status",
    "birthplace_region",
    "native_place",
    "hukou_region",
    "address",
)
REGISTER_FIELDS = ("national_student_number", "class_seat_number", "enrolled_on", "study_mode")
# Sensitive personal information: only shown to users who manage the register or may unmask.
SENSITIVE_FIELDS = (
    "health_status",
    "left_behind",
    "is_migrant_child",
    "has_disability",
    "disability_type",
    "is_orphan",
    "is_needy_family",
)
STUDENT_FIELDS = (*BASIC_FIELDS, *REGISTER_FIELDS, *SENSITIVE_FIELDS)
FIELD_GROUPS = (
    ("基本信息", BASIC_FIELDS),
    ("学籍信息", REGISTER_FIELDS),
    ("特殊群体与健康", SENSITIVE_FIELDS),
)
# Identifiers are never put into an edit form in full: an empty input keeps the stored value.
IDENTIFIER_FIELDS = ("id_number", "national_student_number")
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ClassChoiceField(forms.ModelChoiceField[OrgUnit]):
    """A class, labelled with its school when the choices span several schools."""

    def label_from_instance(self, obj: OrgUnit) -> str:
        school = obj.school.name if obj.school is not None else ""
        return f"{school} · {obj.name}" if school else obj.name


class UnitChoiceField(forms.ModelChoiceField[OrgUnit]):
    def label_from_instance(self, obj: OrgUnit) -> str:
        return f"{obj.name}（{obj.get_kind_display()}）"


def _date_widgets(form: forms.Form, names: Iterable[str]) -> None:
    for name in names:
        if name in form.fields:
            form.fields[name].widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class StudentFieldsForm(forms.Form):
    """The register fields, generated from the model so labels and code tables stay in step."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(forms.fields_for_model(Student, fields=STUDENT_FIELDS))
        _date_widgets(self, ("birth_date", "enrolled_on"))
        # Identifiers are normalised by the service (spaces, full-width digits, lower-case x).
        self.fields["id_number"] = forms.CharField(
            label="身份证件号", max_length=30, required=False
        )
        self.fields["national_student_number"] = forms.CharField(
            label="全国学籍号", max_length=30, required=False
        )
        self.fields["id_number"].help_text = "居民身份证号 18 位，末位可为 X。"
        self.fields["national_student_number"].help_text = "G/J 加 18 位，或临时学籍号 L 加 18 位。"
        for name in ("birthplace_region", "native_place", "hukou_region"):
            self.fields[name].help_text = "行政区划代码，如 620102。"
        self.fields["gender"].choices = [("", "请选择"), *Gender.choices]  # type: ignore[attr-defined]
        self.fields["disability_type"].choices = [  # type: ignore[attr-defined]
            ("", "无"),
            *DisabilityType.choices,
        ]
        self.fields["enrolled_on"].help_text = "新生留空时取入学/转入日期。"

    def field_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [
            (title, [self[name] for name in names if name in self.fields])
            for title, names in FIELD_GROUPS
        ]

    def student_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in STUDENT_FIELDS if name in self.fields}


class StudentRegisterForm(StudentFieldsForm):
    """入学 / 转入 of a student new to the register."""

    kind = forms.ChoiceField(
        label="登记方式",
        choices=[
            (StatusChangeKind.ENROLLMENT, StatusChangeKind.ENROLLMENT.label),
            (StatusChangeKind.TRANSFER_IN, StatusChangeKind.TRANSFER_IN.label),
        ],
    )
    school_class = ClassChoiceField(label="班级", queryset=OrgUnit.objects.none())
    effective_on = forms.DateField(label="入学/转入日期", widget=DATE_INPUT)
    counterpart = forms.CharField(
        label="转入来源", max_length=100, required=False, help_text="转入时填写原学校。"
    )
    reason = forms.CharField(label="原因", max_length=200, required=False)

    def __init__(self, *args: Any, classes: QuerySet[OrgUnit], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("effective_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.order_fields(
            ["kind", "school_class", "effective_on", "counterpart", "reason", *STUDENT_FIELDS]
        )
        self.fields["school_class"].queryset = classes  # type: ignore[attr-defined]
        self.fields["school_class"].empty_label = "请选择班级"  # type: ignore[attr-defined]
        bootstrap_form(self)

    def head_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("kind", "school_class", "effective_on", "counterpart")]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "school_class": data["school_class"],
            "effective_on": data["effective_on"],
            "counterpart": data["counterpart"],
            "reason": data["reason"],
            **self.student_fields(),
        }


class StudentUpdateForm(StudentFieldsForm):
    """Edit register fields; ``version`` carries the version the user loaded (CONC-01)."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, student: Student, **kwargs: Any) -> None:
        initial = {name: getattr(student, name) for name in STUDENT_FIELDS}
        for name in IDENTIFIER_FIELDS:
            initial[name] = ""
        initial["version"] = student.version
        super().__init__(*args, initial=initial, **kwargs)
        for name in IDENTIFIER_FIELDS:
            current = getattr(student, name)
            field = self.fields[name]
            field.help_text = "留空则保持不变。" + str(field.help_text)
            if current:
                field.widget.attrs["placeholder"] = f"当前：{mask_id_number(current)}"
        bootstrap_form(self)

    def service_kwargs(self) -> dict[str, Any]:
        changes = self.student_fields()
        for name in IDENTIFIER_FIELDS:
            if not changes.get(name):
                changes.pop(name, None)
        return {"version": self.cleaned_data["version"], **changes}


class StatusChangeForm(forms.Form):
    """One 异动 with its supporting document."""

    kind = forms.ChoiceField(label="异动类型")
    effective_on = forms.DateField(label="异动日期", widget=DATE_INPUT)
    to_class = ClassChoiceField(
        label="新班级",
        queryset=OrgUnit.objects.none(),
        required=False,
        help_text="入学、转入、复学、留级、跳级、调班时必填。",
    )
    reason = forms.CharField(label="原因", max_length=200, required=False)
    counterpart = forms.CharField(
        label="转入来源 / 转出去向", max_length=100, required=False, help_text="如原学校、新学校。"
    )
    document_number = forms.CharField(label="文号", max_length=50, required=False)
    note = forms.CharField(
        label="备注", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    attachment = forms.FileField(
        label="证明材料",
        required=False,
        widget=forms.FileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )

    def __init__(
        self,
        *args: Any,
        kinds: Sequence[tuple[str, str]],
        classes: QuerySet[OrgUnit],
        max_upload_label: str,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("initial", {}).setdefault("effective_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "请选择"), *kinds]  # type: ignore[attr-defined]
        self.fields["to_class"].queryset = classes  # type: ignore[attr-defined]
        self.fields["to_class"].empty_label = "不进入班级"  # type: ignore[attr-defined]
        self.fields[
            "attachment"
        ].help_text = f"可选。PDF、JPG 或 PNG，不超过 {max_upload_label}，如转学证明扫描件。"
        bootstrap_form(self)

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "effective_on": data["effective_on"],
            "to_class": data["to_class"],
            "reason": data["reason"],
            "counterpart": data["counterpart"],
            "document_number": data["document_number"],
            "note": data["note"],
            "attachment": data["attachment"] or None,
        }


class StudentStatsForm(forms.Form):
    """The date and period the 学籍统计 page reports on."""

    on = forms.DateField(label="统计日期", required=False, widget=DATE_INPUT)
    unit = UnitChoiceField(label="范围", queryset=OrgUnit.objects.none(), required=False)
    start_on = forms.DateField(label="辍学统计起", required=False, widget=DATE_INPUT)
    end_on = forms.DateField(label="辍学统计止", required=False, widget=DATE_INPUT)

    def __init__(self, *args: Any, units: QuerySet[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["unit"].empty_label = "全部可见范围"  # type: ignore[attr-defined]
        bootstrap_form(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start_on: date | None = data.get("start_on")
        end_on: date | None = data.get("end_on")
        if start_on and end_on and start_on > end_on:
            self.add_error("end_on", "统计止日不能早于起日。")
        return data


class AgeCohortPopulationForm(forms.Form):
    """A stated 适龄人口 figure (e.g. from the 义务教育入学监测信息库)."""

    org_unit = UnitChoiceField(label="机构", queryset=OrgUnit.objects.none())
    school_year = forms.ModelChoiceField(
        label="学年", queryset=SchoolYear.objects.order_by("-start_on")
    )
    age_from = forms.IntegerField(label="起始年龄（周岁）", min_value=0, max_value=30)
    age_to = forms.IntegerField(label="截止年龄（周岁）", min_value=0, max_value=30)
    headcount = forms.IntegerField(label="适龄人口（人）", min_value=0)
    source = forms.CharField(
        label="数据来源", max_length=200, help_text="如“2025年义务教育入学监测信息库”。"
    )

    def __init__(
        self,
        *args: Any,
        units: QuerySet[OrgUnit],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = units  # type: ignore[attr-defined]
        bootstrap_form(self)
