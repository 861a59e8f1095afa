"""Input shapes for account pages. Forms validate shape only; services persist."""

from __future__ import annotations

from typing import Any

from django import forms

from xiaowu.core.forms import bootstrap_form
from xiaowu.org.models import OrgUnit


class LoginForm(forms.Form):
    username = forms.CharField(label="用户名或手机号", max_length=64)
    password = forms.CharField(label="密码", widget=forms.PasswordInput, strip=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update(
            {"class": "form-control", "autofocus": True, "autocomplete": "username"}
        )
        self.fields["password"].widget.attrs.update(
            {"class": "form-control", "autocomplete": "current-password"}
        )


class UnitChoiceField(forms.ModelChoiceField[OrgUnit]):
    def label_from_instance(self, obj: OrgUnit) -> str:
        return f"{'　' * obj.depth}{obj.name}（{obj.get_kind_display()}）"


class UserCreateForm(forms.Form):
    username = forms.CharField(
        label="用户名", max_length=64, help_text="登录用，字母、数字或下划线。"
    )
    full_name = forms.CharField(label="姓名", max_length=50)
    mobile = forms.CharField(label="手机号", max_length=20, required=False)
    role = forms.ChoiceField(label="角色")
    org_unit = UnitChoiceField(label="所在机构", queryset=OrgUnit.objects.none())
    password = forms.CharField(
        label="初始密码",
        required=False,
        widget=forms.PasswordInput,
        strip=False,
        help_text="留空则自动生成，创建后显示一次。",
    )

    def __init__(self, *args: Any, roles: list[tuple[str, str]], units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = roles  # type: ignore[attr-defined]
        self.fields["org_unit"].queryset = units  # type: ignore[attr-defined]
        bootstrap_form(self)

    def clean_username(self) -> str:
        value: str = self.cleaned_data["username"].strip()
        if not value.replace("_", "").replace(".", "").isalnum() or not value.isascii():
            raise forms.ValidationError("用户名只能包含字母、数字、下划线或点。")
        return value


class UserUpdateForm(forms.Form):
    full_name = forms.CharField(label="姓名", max_length=50)
    mobile = forms.CharField(label="手机号", max_length=20, required=False)
    is_active = forms.BooleanField(label="启用（停用后该账号立即下线）", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap_form(self)


class RoleAssignForm(forms.Form):
    role = forms.ChoiceField(label="角色")
    org_unit = UnitChoiceField(label="机构", queryset=OrgUnit.objects.none())
    valid_from = forms.DateField(
        label="生效日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_until = forms.DateField(
        label="失效日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(label="备注", max_length=200, required=False)

    def __init__(self, *args: Any, roles: list[tuple[str, str]], units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = roles  # type: ignore[attr-defined]
        self.fields["org_unit"].queryset = units  # type: ignore[attr-defined]
        bootstrap_form(self)


class PasswordSetForm(forms.Form):
    password1 = forms.CharField(label="新密码", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="再次输入新密码", widget=forms.PasswordInput, strip=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap_form(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "两次输入的密码不一致。")
        return data


class PasswordChangeForm(PasswordSetForm):
    old_password = forms.CharField(label="当前密码", widget=forms.PasswordInput, strip=False)

    field_order = ["old_password", "password1", "password2"]


class ApiTokenForm(forms.Form):
    name = forms.CharField(label="令牌名称", max_length=50, help_text="如“成绩导入脚本”。")
    valid_days = forms.TypedChoiceField(
        label="有效期",
        coerce=int,
        choices=[(30, "30 天"), (90, "90 天"), (365, "一年")],
        initial=90,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap_form(self)
