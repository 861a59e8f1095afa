"""Account pages: thin views that parse input, call selectors/services and render."""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from xiaowu.accounts.forms import (
    ApiTokenForm,
    LoginForm,
    PasswordChangeForm,
    PasswordSetForm,
    RoleAssignForm,
    UserCreateForm,
    UserUpdateForm,
)
from xiaowu.accounts.middleware import SESSION_LOGIN_AT
from xiaowu.accounts.models import ApiToken, User
from xiaowu.accounts.permissions import ensure_perm, require_perm
from xiaowu.accounts.roles import Perm, Role
from xiaowu.accounts.scoping import scope_for
from xiaowu.accounts.selectors import (
    api_token_list,
    grantable_roles,
    grantable_units,
    role_assignment_get,
    user_get,
    user_list,
    user_role_assignments,
)
from xiaowu.accounts.services import (
    api_token_create,
    api_token_revoke,
    role_assign,
    role_revoke,
    sensitive_view_record,
    user_can_manage,
    user_create,
    user_set_password,
    user_update,
)
from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record
from xiaowu.core.forms import add_service_errors
from xiaowu.core.listing import listing
from xiaowu.org.selectors import school_list


# --------------------------------------------------------------------------- session
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard:home")
    form = LoginForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
        if getattr(request, "axes_locked_out", False):
            audit_record(
                actor=None,
                action=AuditAction.LOCKOUT,
                event="accounts.lockout",
                outcome="denied",
                actor_label=form.cleaned_data["username"][:64],
            )
            return render(request, "accounts/locked_out.html", status=429)
        if user is None:
            audit_record(
                actor=None,
                action=AuditAction.LOGIN_FAILED,
                event="accounts.login_failed",
                outcome="denied",
                actor_label=form.cleaned_data["username"][:64],
            )
            # The same message for an unknown account and a wrong password (AUTHN-04).
            form.add_error(None, "用户名（手机号）或密码错误。")
        else:
            login(request, user, backend="xiaowu.accounts.backends.UsernameOrMobileBackend")
            request.session[SESSION_LOGIN_AT] = time.time()
            audit_record(actor=user, action=AuditAction.LOGIN, event="accounts.login")
            if next_url and url_has_allowed_host_and_scheme(
                next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                return redirect(next_url)
            return redirect("dashboard:home")
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit_record(actor=request.user, action=AuditAction.LOGOUT, event="accounts.logout")
    logout(request)
    messages.info(request, "您已安全退出。")
    return redirect("accounts:login")


# --------------------------------------------------------------------------- own profile
@login_required
@require_http_methods(["GET", "POST"])
def profile_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    token_form = ApiTokenForm(request.POST if request.POST.get("form") == "token" else None)
    new_token = ""
    if token_form.is_bound and token_form.is_valid():
        _token, new_token = api_token_create(
            actor=user,
            name=token_form.cleaned_data["name"],
            valid_days=token_form.cleaned_data["valid_days"],
        )
        token_form = ApiTokenForm()
    context = {
        "profile_user": user,
        "assignments": user_role_assignments(actor=user, user=user),
        "tokens": api_token_list(actor=user),
        "token_form": token_form,
        "new_token": new_token,
    }
    return render(request, "accounts/profile.html", context)


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    api_token_revoke(actor=request.user, token=token)  # type: ignore[arg-type]
    messages.success(request, f"令牌“{token.name}”已撤销。")
    return redirect("accounts:profile")


@login_required
@require_http_methods(["GET", "POST"])
def password_change_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not user.check_password(form.cleaned_data["old_password"]):
            form.add_error("old_password", "当前密码不正确。")
        else:
            try:
                user_set_password(actor=user, user=user, password=form.cleaned_data["password1"])
            except ValidationError as exc:
                form.add_error("password1", exc)
            else:
                update_session_auth_hash(request, user)
                messages.success(request, "密码已修改。")
                return redirect("accounts:profile")
    return render(request, "accounts/password_change.html", {"form": form})


# --------------------------------------------------------------------------- user management
USER_SORTS = {
    "username": ("用户名", "username"),
    "full_name": ("姓名", "name_pinyin"),
    "date_joined": ("创建时间", "date_joined"),
}


@require_perm(Perm.ACCOUNTS_VIEW)
@require_http_methods(["GET"])
def user_list_view(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    role = request.GET.get("role", "")
    unit = request.GET.get("unit", "")
    status = request.GET.get("status", "")
    users = user_list(
        actor=actor,
        search=request.GET.get("q", ""),
        role=role if role in Role.values else "",
        unit_id=int(unit) if unit.isdigit() else None,
        is_active={"active": True, "inactive": False}.get(status),
    )
    context = {
        "listing": listing(request, users, sortable=USER_SORTS, default_sort="username"),
        "roles": Role.choices,
        "schools": school_list(actor=actor),
        "filters": {"q": request.GET.get("q", ""), "role": role, "unit": unit, "status": status},
        "can_create": bool(grantable_roles(actor=actor)),
    }
    template = "accounts/_user_table.html" if request.htmx else "accounts/user_list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@login_required
@require_http_methods(["GET"])
def user_detail_view(request: HttpRequest, user_id: int) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    target = user_get(actor=actor, user_id=user_id)
    ensure_perm(actor, Perm.ACCOUNTS_VIEW)
    context = {
        "target": target,
        "assignments": user_role_assignments(actor=actor, user=target),
        "can_manage": user_can_manage(actor, target),
        "can_unmask": scope_for(actor).has_perm(Perm.PII_UNMASK),
    }
    return render(request, "accounts/user_detail.html", context)


@require_perm(Perm.ACCOUNTS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_create_view(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    form = UserCreateForm(
        request.POST or None, roles=grantable_roles(actor=actor), units=grantable_units(actor=actor)
    )
    if request.method == "POST" and form.is_valid():
        try:
            user, initial = user_create(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if form.cleaned_data["password"]:
                messages.success(request, f"账号“{user.username}”已创建。")
            else:
                messages.success(
                    request,
                    format_html(
                        "账号“{}”已创建。初始密码：<code>{}</code>（仅显示一次，请转交本人）",
                        user.username,
                        initial,
                    ),
                )
            return redirect("accounts:user_detail", user_id=user.pk)
    return render(request, "accounts/user_form.html", {"form": form, "title": "新建用户"})


@login_required
@require_http_methods(["GET", "POST"])
def user_update_view(request: HttpRequest, user_id: int) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    target = user_get(actor=actor, user_id=user_id)
    ensure_perm(actor, Perm.ACCOUNTS_MANAGE)
    if not user_can_manage(actor, target):
        raise PermissionDenied("您无权修改该账号。")
    initial = {
        "full_name": target.full_name,
        "mobile": target.mobile or "",
        "is_active": target.is_active,
    }
    form = UserUpdateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            user_update(actor=actor, user=target, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "账号信息已保存。")
            return redirect("accounts:user_detail", user_id=target.pk)
    return render(
        request,
        "accounts/user_form.html",
        {"form": form, "title": f"编辑用户：{target.full_name}", "target": target},
    )


@login_required
@require_http_methods(["GET", "POST"])
def user_password_reset_view(request: HttpRequest, user_id: int) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    target = user_get(actor=actor, user_id=user_id)
    ensure_perm(actor, Perm.ACCOUNTS_MANAGE)
    if not user_can_manage(actor, target):
        raise PermissionDenied("您无权重置该账号的密码。")
    form = PasswordSetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user_set_password(actor=actor, user=target, password=form.cleaned_data["password1"])
        except ValidationError as exc:
            form.add_error("password1", exc)
        else:
            messages.success(request, "密码已重置。")
            return redirect("accounts:user_detail", user_id=target.pk)
    return render(
        request,
        "accounts/user_form.html",
        {"form": form, "title": f"重置密码：{target.full_name}", "target": target},
    )


@login_required
@require_http_methods(["GET", "POST"])
def role_assign_view(request: HttpRequest, user_id: int) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    target = user_get(actor=actor, user_id=user_id)
    ensure_perm(actor, Perm.ACCOUNTS_MANAGE)
    form = RoleAssignForm(
        request.POST or None, roles=grantable_roles(actor=actor), units=grantable_units(actor=actor)
    )
    if request.method == "POST" and form.is_valid():
        try:
            role_assign(actor=actor, user=target, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "角色已分配。")
            return redirect("accounts:user_detail", user_id=target.pk)
    return render(
        request,
        "accounts/user_form.html",
        {"form": form, "title": f"分配角色：{target.full_name}", "target": target},
    )


@login_required
@require_POST
def role_revoke_view(request: HttpRequest, assignment_id: int) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    assignment = role_assignment_get(actor=actor, assignment_id=assignment_id)
    ensure_perm(actor, Perm.ACCOUNTS_MANAGE)
    user_id = assignment.user_id
    try:
        role_revoke(actor=actor, assignment=assignment)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, "角色已撤销。")
    return redirect("accounts:user_detail", user_id=user_id)


@login_required
@require_POST
def user_mobile_unmask_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """Return the full mobile number as an HTML fragment and record the access (PRIV-05)."""
    actor: User = request.user  # type: ignore[assignment]
    target = user_get(actor=actor, user_id=user_id)
    ensure_perm(actor, Perm.PII_UNMASK)
    value = sensitive_view_record(actor=actor, target=target, field="mobile")
    return HttpResponse(format_html('<span class="font-monospace">{}</span>', value or "—"))
