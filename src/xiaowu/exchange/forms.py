"""Input shape of the import and export pages. Schools and classes arrive as ids; the views
resolve them through scoped selectors, so an id outside the user's scope answers 404."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from xiaowu.org.models import OrgUnit


def _select(choices: Sequence[tuple[Any, str]]) -> forms.Select:
    return forms.Select(choices=list(choices), attrs={"class": "form-select"})


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label="导入内容")
    school = forms.IntegerField(label="学校")
    file = forms.FileField(
        label="文件",
        help_text="支持 .xlsx、.xls、.csv，不超过 10 MB；第一行为列名（可下载导入模板）。",
        widget=forms.ClearableFileInput(
            attrs={"class": "form-control", "accept": ".xlsx,.xls,.csv"}
        ),
    )

    def __init__(
        self,
        *args: Any,
        kinds: Sequence[tuple[str, str]],
        schools: Sequence[OrgUnit],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"] = forms.ChoiceField(
            label="导入内容", choices=list(kinds), widget=_select(kinds)
        )
        self.fields["school"].widget = _select([(school.pk, school.name) for school in schools])


EXPORT_KINDS = (
    ("students", "学生名单（全国学籍系统模板）"),
    ("staff", "教职工名单（教职工导入表）"),
)


class ExportForm(forms.Form):
    kind = forms.ChoiceField(label="导出内容")
    school = forms.IntegerField(label="学校")
    school_class = forms.IntegerField(
        label="班级", required=False, help_text="仅导出学生名单时适用；教职工名单按全校导出。"
    )
    unmasked = forms.BooleanField(
        label="导出完整的证件号和电话号码（用于上报或重新导入）",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
        help_text="未勾选时证件号和电话号码按规定脱敏。导出会记入审计日志。",
    )

    def __init__(
        self,
        *args: Any,
        kinds: Sequence[str],
        schools: Sequence[OrgUnit],
        classes: Sequence[OrgUnit],
        can_unmask: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        kind_choices = [(value, label) for value, label in EXPORT_KINDS if value in kinds]
        # Without a choice (an older link or script), the first kind the user may export.
        self.fields["kind"] = forms.ChoiceField(
            label="导出内容", choices=kind_choices, widget=_select(kind_choices), required=False
        )
        self.default_kind = kind_choices[0][0] if kind_choices else ""
        self.fields["school"].widget = _select([(school.pk, school.name) for school in schools])
        if "students" in kinds:
            self.fields["school_class"].widget = _select(
                [("", "全校（不限班级）")]
                + [
                    (unit.pk, f"{unit.school.name if unit.school else ''} · {unit.name}")
                    for unit in classes
                ]
            )
        else:
            del self.fields["school_class"]
        if not can_unmask:
            del self.fields["unmasked"]

    def clean_kind(self) -> str:
        kind: str = self.cleaned_data.get("kind") or self.default_kind
        return kind
