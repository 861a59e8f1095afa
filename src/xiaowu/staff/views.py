"""教职工 pages: the staff list, a staff file, and the forms that keep it (status, honours,
teaching assignments). An id outside the actor's scope answers 404 (the selector), inside it
but without the permission 403 (checked after the lookup)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xiaowu.accounts.models import User
from xiaowu.accounts.permissions import ensure_perm, require_perm
from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import has_perm_at, scope_for, unit_subtree
from xiaowu.core.forms import add_service_errors
from xiaowu.core.listing import listing
from xiaowu.org.models import OrgUnit, UnitKind
from xiaowu.org.selectors import org_unit_list, school_class_list, term_current
from xiaowu.staff.forms import (
    StaffHonourForm,
    StaffMemberCreateForm,
    StaffMemberUpdateForm,
    StaffStatusForm,
    TeachingAssignmentForm,
)
from xiaowu.staff.models import PostCategory, StaffMember, StaffStatus
from xiaowu.staff.selectors import (
    staff_get,
    staff_honour_list,
    staff_list,
    staff_status_history,
    teaching_assignment_get,
    teaching_assignment_list,
)
from xiaowu.staff.services import (
    SENSITIVE_STAFF_FIELDS,
    STAFF_UNIT_KINDS,
    staff_honour_add,
    staff_member_create,
    staff_member_update,
    staff_sensitive_view,
    staff_status_record,
    teaching_assignment_create,
    teaching_assignment_delete,
)


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _units_with(actor: User, perm: Perm) -> QuerySet[Any] | None:
    """Return the subquery of units under which the actor holds ``perm`` (None: everywhere)."""
    scope = scope_for(actor)
    if scope.is_global:
        return None
    return unit_subtree(scope.roots_with_perm(perm))


def _get_viewable(actor: User, staff_id: int) -> StaffMember:
    """Look the staff file up in scope (else 404), then require 教职工查看 there (else 403)."""
    staff = staff_get(actor=actor, staff_id=staff_id)
    ensure_perm(actor, Perm.STAFF_VIEW)
    if not has_perm_at(actor, Perm.STAFF_VIEW, staff.org_unit_id):
        raise PermissionDenied("您没有访问此页面的权限。")
    return staff


def _get_manageable(actor: User, staff_id: int) -> StaffMember:
    staff = staff_get(actor=actor, staff_id=staff_id)
    ensure_perm(actor, Perm.STAFF_MANAGE)
    if not has_perm_at(actor, Perm.STAFF_MANAGE, staff.org_unit_id):
        raise PermissionDenied("您无权管理该教职工的档案。")
    return staff


# --------------------------------------------------------------------------- list
STAFF_SORTS = {
    "name": ("姓名", "name_pinyin"),
    "unit": ("单位", "org_unit__code"),
    "post_category": ("岗位类别", "post_category"),
    "subject": ("任教学科", "subject"),
    "status": ("人事状态", "status"),
    "started_work_on": ("参加工作", "started_work_on"),
}


def _filter_units(actor: User) -> list[OrgUnit]:
    """Districts and schools the list can be narrowed to."""
    return list(
        org_unit_list(actor=actor)
        .filter(kind__in=[UnitKind.SCHOOL_DISTRICT, UnitKind.SCHOOL])
        .order_by("depth", "sort_order", "code")
    )


@require_perm(Perm.STAFF_VIEW)
@require_GET
def staff_list_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    params = request.GET
    units = _filter_units(actor)
    unit = params.get("unit", "")
    unit_id = int(unit) if unit.isdigit() and int(unit) in {u.pk for u in units} else None
    status = params.get("status", "")
    post_category = params.get("post_category", "")
    staff = staff_list(
        actor=actor,
        search=params.get("q", ""),
        unit_id=unit_id,
        status=status if status in StaffStatus.values else "",
        post_category=post_category if post_category in PostCategory.values else "",
        subject=params.get("subject", "").strip(),
    )
    view_units = _units_with(actor, Perm.STAFF_VIEW)
    if view_units is not None:
        staff = staff.filter(org_unit__in=view_units)
    subjects = (
        staff_list(actor=actor)
        .exclude(subject="")
        .order_by("subject")
        .values_list("subject", flat=True)
        .distinct()
    )
    context = {
        "listing": listing(request, staff, sortable=STAFF_SORTS, default_sort="unit"),
        "units": units,
        "statuses": StaffStatus.choices,
        "post_categories": PostCategory.choices,
        "subjects": list(subjects),
        "filters": {
            "q": params.get("q", ""),
            "unit": str(unit_id or ""),
            "status": status,
            "post_category": post_category,
            "subject": params.get("subject", ""),
        },
        "show_unit": len(units) > 1,
        "can_create": scope_for(actor).has_perm(Perm.STAFF_MANAGE),
    }
    template = "staff/_staff_table.html" if request.htmx else "staff/staff_list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


# --------------------------------------------------------------------------- detail
@login_required
@require_GET
def staff_detail_view(request: HttpRequest, staff_id: int) -> HttpResponse:
    actor = _actor(request)
    staff = _get_viewable(actor, staff_id)
    assignments = teaching_assignment_list(actor=actor, staff_id=staff.pk).order_by(
        "-term__start_on", "school_class__grade", "school_class__class_number", "role", "subject"
    )
    can_manage = has_perm_at(actor, Perm.STAFF_MANAGE, staff.org_unit_id)
    context = {
        "staff": staff,
        "periods": staff_status_history(staff=staff),
        "honours": staff_honour_list(staff=staff),
        "assignments": list(assignments),
        "can_manage": can_manage,
        "can_assign": can_manage and staff.org_unit.school_id is not None,
        "can_unmask": has_perm_at(actor, Perm.PII_UNMASK, staff.org_unit_id),
    }
    return render(request, "staff/staff_detail.html", context)


@login_required
@require_POST
def staff_unmask_view(request: HttpRequest, staff_id: int, field: str) -> HttpResponse:
    """Return a full ID or mobile number as an HTML fragment and record the access."""
    actor = _actor(request)
    staff = staff_get(actor=actor, staff_id=staff_id)
    ensure_perm(actor, Perm.PII_UNMASK)
    if field not in SENSITIVE_STAFF_FIELDS:
        raise Http404
    value = staff_sensitive_view(actor=actor, staff=staff, field=field)
    return HttpResponse(format_html('<span class="font-monospace">{}</span>', value or "—"))


# --------------------------------------------------------------------------- staff file forms
def _render_form(
    request: HttpRequest, form: Any, title: str, staff: StaffMember | None = None
) -> HttpResponse:
    return render(request, "staff/staff_form.html", {"form": form, "title": title, "staff": staff})


@require_perm(Perm.STAFF_MANAGE)
@require_http_methods(["GET", "POST"])
def staff_create_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    units = org_unit_list(actor=actor).filter(kind__in=STAFF_UNIT_KINDS)
    manage_units = _units_with(actor, Perm.STAFF_MANAGE)
    if manage_units is not None:
        units = units.filter(pk__in=manage_units)
    form = StaffMemberCreateForm(
        request.POST or None,
        units=units.order_by("depth", "sort_order", "code"),
        initial={"post_category": PostCategory.FULL_TIME_TEACHER},
    )
    if request.method == "POST" and form.is_valid():
        try:
            staff = staff_member_create(actor=actor, **form.service_kwargs())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"已建立“{staff.name}”的教职工档案。")
            return redirect("staff:detail", staff_id=staff.pk)
    return _render_form(request, form, "新建教职工档案")


@login_required
@require_http_methods(["GET", "POST"])
def staff_update_view(request: HttpRequest, staff_id: int) -> HttpResponse:
    actor = _actor(request)
    staff = _get_manageable(actor, staff_id)
    form = StaffMemberUpdateForm(request.POST or None, staff=staff)
    if request.method == "POST" and form.is_valid():
        try:
            staff_member_update(actor=actor, staff=staff, **form.service_kwargs())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "教职工档案已保存。")
            return redirect("staff:detail", staff_id=staff.pk)
    return _render_form(request, form, f"编辑档案：{staff.name}", staff)


@login_required
@require_http_methods(["GET", "POST"])
def staff_status_create_view(request: HttpRequest, staff_id: int) -> HttpResponse:
    actor = _actor(request)
    staff = _get_manageable(actor, staff_id)
    form = StaffStatusForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            staff_status_record(actor=actor, staff=staff, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "人事状态已变更。")
            return redirect("staff:detail", staff_id=staff.pk)
    return _render_form(request, form, f"变更人事状态：{staff.name}", staff)


@login_required
@require_http_methods(["GET", "POST"])
def staff_honour_create_view(request: HttpRequest, staff_id: int) -> HttpResponse:
    actor = _actor(request)
    staff = _get_manageable(actor, staff_id)
    form = StaffHonourForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            staff_honour_add(actor=actor, staff=staff, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "荣誉称号已添加。")
            return redirect("staff:detail", staff_id=staff.pk)
    return _render_form(request, form, f"添加荣誉称号：{staff.name}", staff)


@login_required
@require_http_methods(["GET", "POST"])
def teaching_assignment_create_view(request: HttpRequest, staff_id: int) -> HttpResponse:
    actor = _actor(request)
    staff = _get_manageable(actor, staff_id)
    school_id = staff.org_unit.school_id
    if school_id is None:
        raise PermissionDenied("该教职工不在学校任职，不能安排任课。")
    classes = school_class_list(actor=actor, school_id=school_id).order_by(
        "grade", "class_number", "code"
    )
    term = term_current()
    form = TeachingAssignmentForm(
        request.POST or None,
        classes=classes,
        initial={"term": term.pk if term else None, "subject": staff.subject},
    )
    if request.method == "POST" and form.is_valid():
        try:
            teaching_assignment_create(actor=actor, staff=staff, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "任课安排已添加。")
            return redirect("staff:detail", staff_id=staff.pk)
    return _render_form(request, form, f"安排任课：{staff.name}", staff)


@login_required
@require_POST
def teaching_assignment_delete_view(request: HttpRequest, assignment_id: int) -> HttpResponse:
    actor = _actor(request)
    assignment = teaching_assignment_get(actor=actor, assignment_id=assignment_id)
    ensure_perm(actor, Perm.STAFF_MANAGE)
    staff_id = assignment.staff_id
    teaching_assignment_delete(actor=actor, assignment=assignment)
    messages.success(request, "任课安排已删除。")
    return redirect("staff:detail", staff_id=staff_id)
