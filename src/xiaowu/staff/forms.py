"""Input shapes for the 教职工 pages. Forms validate shape only; ``staff.services`` persists
and enforces the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from xiaowu.core.forms import bootstrap_form
from xiaowu.core.masking import mask_id_number, mask_mobile
from xiaowu.core.models import Gender
from xiaowu.org.models import OrgUnit, Term
from xiaowu.staff.models import Education, StaffHonour, StaffMember, StaffStatus, TeachingRole

STAFF_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "id_number",
    "mobile",
    "post_category",
    "subject",
    "education",
    "professional_title",
    "started_work_on",
)
# Never put into an edit form in full: an empty input keeps the stored value.
IDENTIFIER_FIELDS = {"id_number": mask_id_number, "mobile": mask_mobile}
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class UnitChoiceField(forms.ModelChoiceField[OrgUnit]):
    def label_from_instance(self, obj: OrgUnit) -> str:
        return f"{'　' * obj.depth}{obj.name}（{obj.get_kind_display()}）"


class ClassChoiceField(forms.ModelChoiceField[OrgUnit]):
    def label_from_instance(self, obj: OrgUnit) -> str:
        return obj.name


class TermChoiceField(forms.ModelChoiceField[Term]):
    def label_from_instance(self, obj: Term) -> str:
        return str(obj)


class StaffMemberForm(forms.Form):
    """The fields of a staff file, generated from the model (labels and code tables)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(forms.fields_for_model(StaffMember, fields=STAFF_FIELDS))
        for name in ("birth_date", "started_work_on"):
            self.fields[name].widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        # Identifiers are normalised by the service (spaces, full-width digits, +86).
        self.fields["id_number"] = forms.CharField(label="身份证号", max_length=30, required=False)
        self.fields["mobile"] = forms.CharField(label="手机", max_length=20, required=False)
        self.fields["gender"].choices = [("", "请选择"), *Gender.choices]  # type: ignore[attr-defined]
        self.fields["education"].choices = [("", "未填写"), *Education.choices]  # type: ignore[attr-defined]
        self.fields["birth_date"].help_text = "留空时按身份证号自动填写。"
        self.fields["subject"].help_text = "专任教师填写主教学科，如“语文”。"

    def staff_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in STAFF_FIELDS}


class StaffMemberCreateForm(StaffMemberForm):
    org_unit = UnitChoiceField(label="所在单位", queryset=OrgUnit.objects.none())

    def __init__(self, *args: Any, units: QuerySet[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["org_unit"].empty_label = "请选择单位"  # type: ignore[attr-defined]
        self.order_fields(["org_unit", *STAFF_FIELDS])
        bootstrap_form(self)

    def service_kwargs(self) -> dict[str, Any]:
        return {"org_unit": self.cleaned_data["org_unit"], **self.staff_fields()}


class StaffMemberUpdateForm(StaffMemberForm):
    def __init__(self, *args: Any, staff: StaffMember, **kwargs: Any) -> None:
        initial = {name: getattr(staff, name) for name in STAFF_FIELDS}
        for name in IDENTIFIER_FIELDS:
            initial[name] = ""
        super().__init__(*args, initial=initial, **kwargs)
        for name, mask in IDENTIFIER_FIELDS.items():
            current = getattr(staff, name)
            self.fields[name].help_text = "留空则保持不变。"
            if current:
                self.fields[name].widget.attrs["placeholder"] = f"当前：{mask(current)}"
        bootstrap_form(self)

    def service_kwargs(self) -> dict[str, Any]:
        changes = self.staff_fields()
        for name in IDENTIFIER_FIELDS:
            if not changes.get(name):
                changes.pop(name, None)
        return changes


class StaffStatusForm(forms.Form):
    status = forms.ChoiceField(label="新的人事状态", choices=StaffStatus.choices)
    start_on = forms.DateField(label="起始日期", widget=DATE_INPUT)
    counterpart = forms.CharField(
        label="借调/调动单位", max_length=100, required=False, help_text="借调、调入、调出时填写。"
    )
    note = forms.CharField(label="备注", max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("start_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        bootstrap_form(self)


class StaffHonourForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(
            forms.fields_for_model(
                StaffHonour,
                fields=("title", "title_text", "level", "subject", "awarded_on", "issuer"),
            )
        )
        self.fields["awarded_on"].widget = forms.DateInput(
            attrs={"type": "date"}, format="%Y-%m-%d"
        )
        self.fields["title_text"].help_text = "如“市级骨干教师（小学语文）”；留空则用称号。"
        bootstrap_form(self)


class TeachingAssignmentForm(forms.Form):
    term = TermChoiceField(
        label="学期", queryset=Term.objects.select_related("school_year").order_by("-start_on")
    )
    school_class = ClassChoiceField(label="班级", queryset=OrgUnit.objects.none())
    role = forms.ChoiceField(label="类型", choices=TeachingRole.choices)
    subject = forms.CharField(
        label="学科", max_length=20, required=False, help_text="任课教师必填；班主任不填。"
    )
    weekly_periods = forms.IntegerField(label="周课时", required=False, min_value=1, max_value=40)

    def __init__(self, *args: Any, classes: QuerySet[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school_class"].queryset = classes  # type: ignore[attr-defined]
        self.fields["school_class"].empty_label = "请选择班级"  # type: ignore[attr-defined]
        bootstrap_form(self)
