"""Organisation pages: tree, unit detail and forms, schools, classes, alliances, calendar."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from xiaowu.accounts.models import User
from xiaowu.accounts.permissions import ensure_perm, require_perm
from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import has_perm_at
from xiaowu.core.forms import add_service_errors
from xiaowu.core.listing import listing
from xiaowu.org.forms import OrgUnitCreateForm, OrgUnitUpdateForm, SchoolYearForm
from xiaowu.org.models import Grade, SchoolType, UnitKind
from xiaowu.org.rollover import rollover_allowed
from xiaowu.org.selectors import (
    org_roots_for,
    org_unit_ancestors,
    org_unit_children,
    org_unit_get,
    org_unit_list,
    research_cluster_list,
    school_alliance_get,
    school_alliance_list,
    school_alliance_members,
    school_class_list,
    school_list,
    term_current,
    term_list,
    unit_people,
)
from xiaowu.org.services import (
    calendar_editable_by,
    org_unit_create,
    org_unit_update,
    school_year_create,
)


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@require_perm(Perm.ORG_VIEW)
@require_GET
def tree_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    roots = list(org_roots_for(actor=actor).annotate(child_count=Count("children")))
    return render(request, "org/tree.html", {"roots": roots})


@login_required
@require_GET
def unit_children_view(request: HttpRequest, unit_id: int) -> HttpResponse:
    """HTMX fragment: the children of one tree node."""
    actor = _actor(request)
    unit = org_unit_get(actor=actor, unit_id=unit_id)
    ensure_perm(actor, Perm.ORG_VIEW)
    return render(
        request, "org/_tree_nodes.html", {"nodes": org_unit_children(actor=actor, unit=unit)}
    )


@login_required
@require_GET
def unit_detail_view(request: HttpRequest, unit_id: int) -> HttpResponse:
    actor = _actor(request)
    unit = org_unit_get(actor=actor, unit_id=unit_id)
    ensure_perm(actor, Perm.ORG_VIEW)
    context = {
        "unit": unit,
        "ancestors": org_unit_ancestors(actor=actor, unit=unit),
        "children": org_unit_children(actor=actor, unit=unit),
        "people": unit_people(actor=actor, unit=unit),
        "can_manage": has_perm_at(actor, Perm.ORG_MANAGE, unit.pk),
        "can_rollover": unit.is_school and rollover_allowed(actor, unit),
        "child_kinds": OrgUnitCreateForm.kinds_under(unit),
    }
    return render(request, "org/unit_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def unit_create_view(request: HttpRequest, parent_id: int) -> HttpResponse:
    actor = _actor(request)
    parent = org_unit_get(actor=actor, unit_id=parent_id)
    ensure_perm(actor, Perm.ORG_MANAGE)
    if not has_perm_at(actor, Perm.ORG_MANAGE, parent.pk):
        raise PermissionDenied("您无权在该机构下新增下级机构。")
    form = OrgUnitCreateForm(
        request.POST or None, parent=parent, initial={"kind": request.GET.get("kind", "")}
    )
    if request.method == "POST" and form.is_valid():
        try:
            unit = org_unit_create(actor=actor, parent=parent, **form.service_kwargs())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"已新增{unit.get_kind_display()}“{unit.name}”。")
            return redirect("org:unit_detail", unit_id=unit.pk)
    return render(
        request,
        "org/unit_form.html",
        {"form": form, "parent": parent, "title": f"在“{parent.name}”下新增"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def unit_update_view(request: HttpRequest, unit_id: int) -> HttpResponse:
    actor = _actor(request)
    unit = org_unit_get(actor=actor, unit_id=unit_id)
    ensure_perm(actor, Perm.ORG_MANAGE)
    if not has_perm_at(actor, Perm.ORG_MANAGE, unit.pk):
        raise PermissionDenied("您无权修改该机构。")
    form = OrgUnitUpdateForm(request.POST or None, unit=unit)
    if request.method == "POST" and form.is_valid():
        try:
            org_unit_update(actor=actor, unit=unit, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "已保存。")
            return redirect("org:unit_detail", unit_id=unit.pk)
    return render(
        request, "org/unit_form.html", {"form": form, "unit": unit, "title": f"编辑：{unit.name}"}
    )


SCHOOL_SORTS = {
    "code": ("代码", "code"),
    "name": ("名称", "name_pinyin"),
    "school_type": ("类型", "school_type"),
    "class_count": ("班级数", "class_count"),
    "student_count": ("在校生", "student_count"),
}


@require_perm(Perm.ORG_VIEW)
@require_GET
def school_list_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    school_type = request.GET.get("type", "")
    schools = org_unit_list(actor=actor, kind=UnitKind.SCHOOL, search=request.GET.get("q", ""))
    if school_type in SchoolType.values:
        schools = schools.filter(school_type=school_type)
    schools = schools.annotate(
        class_count=Count(
            "school_units",
            filter=Q(school_units__kind=UnitKind.SCHOOL_CLASS, school_units__is_active=True),
            distinct=True,
        ),
        student_count=Count("students", filter=Q(students__status="enrolled"), distinct=True),
    )
    context = {
        "listing": listing(request, schools, sortable=SCHOOL_SORTS, default_sort="code"),
        "school_types": SchoolType.choices,
        "filters": {"q": request.GET.get("q", ""), "type": school_type},
    }
    template = "org/_school_table.html" if request.htmx else "org/school_list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


CLASS_SORTS = {
    "name": ("班级", "grade"),
    "school": ("学校", "school__code"),
    "student_count": ("人数", "student_count"),
}


@require_perm(Perm.ORG_VIEW)
@require_GET
def class_list_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    school = request.GET.get("school", "")
    grade = request.GET.get("grade", "")
    classes = school_class_list(
        actor=actor,
        school_id=int(school) if school.isdigit() else None,
        grade=int(grade) if grade.lstrip("-").isdigit() else None,
        search=request.GET.get("q", ""),
    ).annotate(student_count=Count("class_students", filter=Q(class_students__status="enrolled")))
    context = {
        "listing": listing(request, classes, sortable=CLASS_SORTS, default_sort="school"),
        "schools": school_list(actor=actor),
        "grades": Grade.choices,
        "filters": {"q": request.GET.get("q", ""), "school": school, "grade": grade},
    }
    template = "org/_class_table.html" if request.htmx else "org/class_list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@require_perm(Perm.ORG_VIEW)
@require_GET
def alliance_list_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    context = {
        "alliances": school_alliance_list(actor=actor),
        "clusters": research_cluster_list(actor=actor),
    }
    return render(request, "org/alliance_list.html", context)


@login_required
@require_GET
def alliance_detail_view(request: HttpRequest, alliance_id: int) -> HttpResponse:
    alliance = school_alliance_get(actor=_actor(request), alliance_id=alliance_id)
    ensure_perm(request.user, Perm.ORG_VIEW)
    members = school_alliance_members(alliance=alliance)
    return render(request, "org/alliance_detail.html", {"alliance": alliance, "members": members})


@require_perm(Perm.ORG_VIEW)
@require_http_methods(["GET", "POST"])
def term_list_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form = SchoolYearForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            school_year_create(actor=actor, **form.service_kwargs())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "学年已创建。")
            return redirect("org:term_list")
    context = {
        "terms": term_list(),
        "current": term_current(),
        "form": form,
        "can_edit": calendar_editable_by(actor),
    }
    return render(request, "org/term_list.html", context)
