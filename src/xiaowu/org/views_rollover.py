"""学年升级 page: preview a school's rollover (GET) and confirm it (POST)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from xiaowu.accounts.models import User
from xiaowu.accounts.permissions import ensure_perm
from xiaowu.accounts.roles import Perm
from xiaowu.core.forms import add_service_errors
from xiaowu.org.forms import SchoolYearRolloverForm
from xiaowu.org.models import SchoolYear
from xiaowu.org.rollover import (
    default_graduated_on,
    default_school_year,
    rollover_allowed,
    rollover_plan,
    school_year_rollover,
)
from xiaowu.org.selectors import org_unit_ancestors, org_unit_get


@login_required
@require_http_methods(["GET", "POST"])
def school_rollover_view(request: HttpRequest, unit_id: int) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    school = org_unit_get(actor=actor, unit_id=unit_id)
    if not school.is_school:
        raise Http404("学年升级只针对学校。")
    ensure_perm(actor, Perm.ORG_MANAGE)
    if not rollover_allowed(actor, school):
        raise PermissionDenied("您无权对该校进行学年升级。")
    if request.method == "POST":
        form = SchoolYearRolloverForm(request.POST)
    elif "school_year" in request.GET:
        form = SchoolYearRolloverForm(request.GET)
    else:
        year = default_school_year(school=school)
        initial = (
            {"school_year": year, "graduated_on": default_graduated_on(school_year=year)}
            if year is not None
            else {}
        )
        form = SchoolYearRolloverForm(initial=initial)
    if form.is_bound:
        valid = form.is_valid()
        school_year: SchoolYear | None = form.cleaned_data.get("school_year")
        graduated_on = form.cleaned_data.get("graduated_on")
    else:
        school_year = form.initial.get("school_year")
        graduated_on = form.initial.get("graduated_on")
        valid = school_year is not None
    if request.method == "POST" and valid and school_year is not None and graduated_on is not None:
        try:
            record = school_year_rollover(
                actor=actor,
                school=school,
                school_year=school_year,
                graduated_on=graduated_on,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            summary = record.summary
            messages.success(
                request,
                f"已完成{school_year}的学年升级：{len(summary['promoted'])}个班级升级，"
                f"{len(summary['graduated_classes'])}个班级毕业（{summary['graduated_students']}名学生）。",
            )
            return redirect("org:unit_detail", unit_id=school.pk)
    plan = rollover_plan(school=school, school_year=school_year) if school_year else None
    context = {
        "school": school,
        "ancestors": org_unit_ancestors(actor=actor, unit=school),
        "form": form,
        "plan": plan,
        "confirm": (
            {"school_year": school_year, "graduated_on": graduated_on}
            if plan is not None and plan.ok and graduated_on is not None
            else None
        ),
        "has_years": SchoolYear.objects.exists(),
    }
    return render(request, "org/school_rollover.html", context)
