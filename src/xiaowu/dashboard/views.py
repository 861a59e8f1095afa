"""Home page: 基本情况 of the user's scope; a guardian sees their own children instead."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from xiaowu.accounts.models import User
from xiaowu.accounts.scoping import scope_for
from xiaowu.dashboard.selectors import basic_facts
from xiaowu.org.selectors import term_current
from xiaowu.students.selectors import student_children_of


@login_required
@require_GET
def home_view(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    scope = scope_for(actor)
    context: dict[str, Any] = {
        "term": term_current(),
        "children": list(student_children_of(guardian=actor)) if scope.sees_own_children else [],
    }
    if scope.is_global or scope.org_roots:
        facts = basic_facts(actor=actor)
        context.update(
            facts=facts,
            chart_school_types=facts.chart_school_types(),
            chart_students=facts.chart_students_by_grade(),
        )
    return render(request, "dashboard/home.html", context)
