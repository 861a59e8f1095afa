"""学籍 pages: the register list, a student's file, register / edit / 异动 forms and 学籍统计.

Views parse the request, call selectors and services and render. Student pages follow the
relationship scope: an id outside it answers 404 (the selector), inside it but without the
permission 403 (``ensure_perm`` after the lookup).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xiaowu.accounts.models import User
from xiaowu.accounts.permissions import ensure_perm, require_perm
from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import has_perm_at, scope_for, unit_subtree
from xiaowu.core.forms import add_service_errors
from xiaowu.core.listing import listing
from xiaowu.core.models import Gender
from xiaowu.org.models import Grade, OrgUnit, UnitKind
from xiaowu.org.selectors import org_unit_list, school_class_list, school_list, term_current
from xiaowu.students.forms import (
    AgeCohortPopulationForm,
    StatusChangeForm,
    StudentRegisterForm,
    StudentStatsForm,
    StudentUpdateForm,
)
from xiaowu.students.models import (
    AgeCohortPopulation,
    StatusChangeAttachment,
    StatusChangeKind,
    Student,
    StudentStatus,
)
from xiaowu.students.reference import PROVINCES
from xiaowu.students.selectors import (
    SPECIAL_GROUPS,
    age_cohort_population_list,
    dropout_rate,
    enrollment_rate,
    student_children_of,
    student_get,
    student_guardianships,
    student_headcount_by_grade_gender,
    student_history,
    student_list,
    student_memberships,
)
from xiaowu.students.services import (
    ALLOWED_FROM,
    SENSITIVE_STUDENT_FIELDS,
    age_cohort_population_record,
    guardian_sensitive_view,
    size_label,
    status_change_attachment_open,
    status_change_record_with_attachment,
    student_register,
    student_sensitive_view,
    student_update,
)


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _units_with(actor: User, *perms: Perm) -> QuerySet[Any] | None:
    """Return the subquery of units under which the actor holds any of ``perms`` (None: all)."""
    scope = scope_for(actor)
    if scope.is_global:
        return None
    roots: frozenset[int] = frozenset()
    for perm in perms:
        roots |= scope.roots_with_perm(perm)
    return unit_subtree(roots)


# --------------------------------------------------------------------------- list
STUDENT_SORTS = {
    "name": ("姓名", "name_pinyin"),
    "school": ("学校", "school__code"),
    "class": ("班级", "class_order"),
    "status": ("学籍状态", "status"),
    "enrolled_on": ("入学年月", "enrolled_on"),
}
STATUS_ALL = "all"


def _int_or_none(value: str) -> int | None:
    return int(value) if value.lstrip("-").isdigit() else None


@require_perm(Perm.STUDENTS_VIEW)
@require_GET
def student_list_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    params = request.GET
    schools = list(school_list(actor=actor))
    school_id = _int_or_none(params.get("school", ""))
    if school_id not in {s.pk for s in schools}:
        school_id = None
    grade = _int_or_none(params.get("grade", ""))
    if grade not in Grade.values:
        grade = None
    classes = list(
        school_class_list(actor=actor, school_id=school_id, grade=grade)
        .select_related("school")
        .order_by("school__sort_order", "school__code", "grade", "class_number", "code")
    )
    class_id = _int_or_none(params.get("class", ""))
    if class_id not in {c.pk for c in classes}:
        class_id = None
    status = params.get("status", StudentStatus.ENROLLED)
    if status not in StudentStatus.values:
        status = STATUS_ALL
    # Filtering by a special group discloses who belongs to it: only for users who may see
    # the special-group fields, and only in the schools where they may.
    sensitive_units = _units_with(actor, Perm.STUDENTS_MANAGE, Perm.PII_UNMASK)
    scope = scope_for(actor)
    can_filter_groups = scope.has_perm(Perm.STUDENTS_MANAGE) or scope.has_perm(Perm.PII_UNMASK)
    groups = (
        [g for g in params.getlist("group") if g in SPECIAL_GROUPS] if can_filter_groups else []
    )
    students = student_list(
        actor=actor,
        search=params.get("q", ""),
        school_id=school_id,
        class_id=class_id,
        grade=grade,
        status="" if status == STATUS_ALL else status,
        groups=groups,
    )
    view_units = _units_with(actor, Perm.STUDENTS_VIEW)
    if view_units is not None:
        students = students.filter(school__in=view_units)
    if groups and sensitive_units is not None:
        students = students.filter(school__in=sensitive_units)
    students = students.annotate(
        class_order=F("school_class__grade") * 1000 + F("school_class__class_number")
    )
    context = {
        "listing": listing(request, students, sortable=STUDENT_SORTS, default_sort="class"),
        "schools": schools,
        "classes": classes,
        "grades": Grade.choices,
        "statuses": StudentStatus.choices,
        "special_groups": [(key, label) for key, (label, _q) in SPECIAL_GROUPS.items()]
        if can_filter_groups
        else [],
        "filters": {
            "q": params.get("q", ""),
            "school": str(school_id or ""),
            "class": str(class_id or ""),
            "grade": "" if grade is None else str(grade),
            "status": status,
            "groups": groups,
        },
        "can_register": scope.has_perm(Perm.STUDENTS_MANAGE),
    }
    template = "students/_student_table.html" if request.htmx else "students/student_list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


# --------------------------------------------------------------------------- detail
def _region(code: str) -> str:
    province = PROVINCES.get(code[:2], "") if code else ""
    return f"{code}（{province}）" if province else code


@dataclass(frozen=True)
class Access:
    """What the viewer may see and do on one student's pages."""

    limited: bool  # a guardian looking at their own child: no internal details
    can_manage: bool
    can_unmask: bool

    @property
    def shows_special_groups(self) -> bool:
        return self.can_manage or self.can_unmask


def _access(actor: User, student: Student) -> Access:
    """Decide, after the scoped lookup, what ``actor`` may see of ``student`` (else 403)."""
    staff_view = has_perm_at(actor, Perm.STUDENTS_VIEW, student.school_id)
    if not staff_view:
        own_child = (
            scope_for(actor).sees_own_children
            and student_children_of(guardian=actor).filter(pk=student.pk).exists()
        )
        if not own_child:
            raise PermissionDenied("您没有访问此页面的权限。")
    return Access(
        limited=not staff_view,
        can_manage=has_perm_at(actor, Perm.STUDENTS_MANAGE, student.school_id),
        can_unmask=has_perm_at(actor, Perm.PII_UNMASK, student.school_id),
    )


def _status_change_kinds(student: Student) -> list[tuple[str, str]]:
    """Return the 异动 that may follow the student's current status (入学 only for new ones)."""
    return [
        (kind, label)
        for kind, label in StatusChangeKind.choices
        if kind != StatusChangeKind.ENROLLMENT and student.status in ALLOWED_FROM[kind]
    ]


@login_required
@require_GET
def student_detail_view(request: HttpRequest, student_id: int) -> HttpResponse:
    actor = _actor(request)
    student = student_get(actor=actor, student_id=student_id)
    access = _access(actor, student)
    context = {
        "student": student,
        "access": access,
        "regions": {
            "birthplace": _region(student.birthplace_region),
            "native_place": _region(student.native_place),
            "hukou": _region(student.hukou_region),
        },
        "guardianships": student_guardianships(student=student),
        "history": student_history(student=student),
        "memberships": student_memberships(student=student),
        "can_change_status": access.can_manage and bool(_status_change_kinds(student)),
        "can_view_scores": has_perm_at(actor, Perm.EXAMS_VIEW, student.school_id),
    }
    return render(request, "students/student_detail.html", context)


@login_required
@require_POST
def student_unmask_view(request: HttpRequest, student_id: int, field: str) -> HttpResponse:
    """Return one full identifier as an HTML fragment and record the access (PRIV-05)."""
    actor = _actor(request)
    student = student_get(actor=actor, student_id=student_id)
    ensure_perm(actor, Perm.PII_UNMASK)
    if field not in SENSITIVE_STUDENT_FIELDS:
        raise Http404
    value = student_sensitive_view(actor=actor, student=student, field=field)
    return HttpResponse(format_html('<span class="font-monospace">{}</span>', value or "—"))


@login_required
@require_POST
def guardian_mobile_unmask_view(
    request: HttpRequest, student_id: int, guardian_id: int
) -> HttpResponse:
    actor = _actor(request)
    student = student_get(actor=actor, student_id=student_id)
    guardian = next(
        (
            g.guardian
            for g in student_guardianships(student=student)
            if g.guardian_id == guardian_id
        ),
        None,
    )
    if guardian is None:
        raise Http404
    ensure_perm(actor, Perm.PII_UNMASK)
    value = guardian_sensitive_view(actor=actor, student=student, guardian=guardian)
    return HttpResponse(format_html('<span class="font-monospace">{}</span>', value or "—"))


@login_required
@require_GET
def attachment_download_view(
    request: HttpRequest, student_id: int, attachment_id: int
) -> FileResponse:
    actor = _actor(request)
    student = student_get(actor=actor, student_id=student_id)
    attachment: StatusChangeAttachment | None = next(
        (
            a
            for event in student_history(student=student)
            for a in event.attachments.all()
            if a.pk == attachment_id
        ),
        None,
    )
    if attachment is None:
        raise Http404
    ensure_perm(actor, Perm.STUDENTS_VIEW)
    handle = status_change_attachment_open(actor=actor, attachment=attachment)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )


# --------------------------------------------------------------------------- forms
def _manageable_classes(actor: User) -> QuerySet[OrgUnit]:
    classes = school_class_list(actor=actor).select_related("school")
    units = _units_with(actor, Perm.STUDENTS_MANAGE)
    if units is not None:
        classes = classes.filter(pk__in=units)
    return classes.order_by("school__sort_order", "school__code", "grade", "class_number", "code")


@require_perm(Perm.STUDENTS_MANAGE)
@require_http_methods(["GET", "POST"])
def student_create_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    initial: dict[str, Any] = {}
    class_id = _int_or_none(request.GET.get("class", ""))
    if class_id is not None:
        initial["school_class"] = class_id
    form = StudentRegisterForm(
        request.POST or None, classes=_manageable_classes(actor), initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            student = student_register(actor=actor, **form.service_kwargs())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"已登记学生“{student.name}”。")
            return redirect("students:detail", student_id=student.pk)
    return render(
        request, "students/student_form.html", {"form": form, "title": "登记新生（入学/转入）"}
    )


@login_required
@require_http_methods(["GET", "POST"])
def student_update_view(request: HttpRequest, student_id: int) -> HttpResponse:
    actor = _actor(request)
    student = student_get(actor=actor, student_id=student_id)
    ensure_perm(actor, Perm.STUDENTS_MANAGE)
    if not has_perm_at(actor, Perm.STUDENTS_MANAGE, student.school_id):
        raise PermissionDenied("您无权修改该生学籍。")
    form = StudentUpdateForm(request.POST or None, student=student)
    if request.method == "POST" and form.is_valid():
        try:
            student_update(actor=actor, student=student, **form.service_kwargs())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "学籍信息已保存。")
            return redirect("students:detail", student_id=student.pk)
    return render(
        request,
        "students/student_form.html",
        {"form": form, "student": student, "title": f"编辑学籍：{student.name}"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def status_change_create_view(request: HttpRequest, student_id: int) -> HttpResponse:
    actor = _actor(request)
    student = student_get(actor=actor, student_id=student_id)
    ensure_perm(actor, Perm.STUDENTS_MANAGE)
    if not has_perm_at(actor, Perm.STUDENTS_MANAGE, student.school_id):
        raise PermissionDenied("您无权办理该生的学籍异动。")
    if student.status == StudentStatus.TRANSFERRED_OUT:
        # 转入 may bring the student into another school the actor manages.
        classes = _manageable_classes(actor)
    else:
        classes = (
            school_class_list(actor=actor, school_id=student.school_id)
            .select_related("school")
            .order_by("grade", "class_number", "code")
        )
    kinds = _status_change_kinds(student)
    form = StatusChangeForm(
        request.POST or None,
        request.FILES or None,
        kinds=kinds,
        classes=classes,
        max_upload_label=size_label(settings.XIAOWU_UPLOAD_MAX_BYTES),
    )
    if request.method == "POST" and kinds and form.is_valid():
        try:
            status_change_record_with_attachment(
                actor=actor, student=student, **form.service_kwargs()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "学籍异动已记录。")
            return redirect("students:detail", student_id=student.pk)
    return render(
        request,
        "students/status_change_form.html",
        {"form": form, "student": student, "kinds": kinds},
    )


# --------------------------------------------------------------------------- 学籍统计
@dataclass(frozen=True)
class GradeRow:
    label: str
    male: int
    female: int

    @property
    def total(self) -> int:
        return self.male + self.female


def _grade_rows(actor: User, *, root_id: int | None, on: date) -> list[GradeRow]:
    rows: dict[int | None, dict[str, int]] = {}
    for count in student_headcount_by_grade_gender(actor=actor, root_id=root_id, on=on):
        rows.setdefault(count.grade, {Gender.MALE: 0, Gender.FEMALE: 0})[count.gender] = (
            count.headcount
        )
    return [
        GradeRow(
            label=Grade(grade).label if grade is not None else "未分班",
            male=counts[Gender.MALE],
            female=counts[Gender.FEMALE],
        )
        for grade, counts in sorted(rows.items(), key=lambda item: (item[0] is None, item[0] or 0))
    ]


def _grade_chart(rows: list[GradeRow]) -> dict[str, Any]:
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": ["男", "女"], "bottom": 0},
        "grid": {"left": 40, "right": 16, "top": 32, "bottom": 48},
        "xAxis": {"type": "category", "data": [row.label for row in rows]},
        "yAxis": {"type": "value", "name": "人"},
        "series": [
            {"name": "男", "type": "bar", "stack": "g", "data": [row.male for row in rows]},
            {"name": "女", "type": "bar", "stack": "g", "data": [row.female for row in rows]},
        ],
    }


def _stat_units(actor: User) -> QuerySet[OrgUnit]:
    """Units the statistics can be narrowed to: visible bureaus, districts and schools."""
    return org_unit_list(actor=actor).filter(
        kind__in=[UnitKind.BUREAU, UnitKind.SCHOOL_DISTRICT, UnitKind.SCHOOL]
    )


def _cohorts(actor: User, *, school_year_id: int | None) -> list[AgeCohortPopulation]:
    if school_year_id is None:
        return []
    return age_cohort_population_list(actor=actor, school_year_id=school_year_id)


def _default_period_start(on: date) -> date:
    term = term_current(on=on)
    if term is not None and term.school_year.start_on <= on:
        return term.school_year.start_on
    return date(on.year if on.month >= 9 else on.year - 1, 9, 1)


@require_perm(Perm.STUDENTS_VIEW)
@require_GET
def student_stats_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    units = _stat_units(actor)
    form = StudentStatsForm(request.GET or None, units=units)
    data = form.cleaned_data if form.is_valid() else {}
    on: date = data.get("on") or timezone.localdate()
    unit: OrgUnit | None = data.get("unit")
    root_id = unit.pk if unit is not None else None
    start_on: date = data.get("start_on") or _default_period_start(on)
    end_on: date = data.get("end_on") or on
    if start_on > end_on:
        start_on, end_on = _default_period_start(on), on
    if not form.is_bound or form.is_valid():
        # Show the dates the numbers are for, defaults included.
        form = StudentStatsForm(
            initial={"on": on, "unit": unit, "start_on": start_on, "end_on": end_on}, units=units
        )
    rows = _grade_rows(actor, root_id=root_id, on=on)
    term = term_current(on=on)
    school_year = term.school_year if term is not None else None
    cohorts = _cohorts(actor, school_year_id=school_year.pk if school_year else None)
    if root_id is not None:
        cohort_units = set(
            units.filter(pk__in=unit_subtree({root_id})).values_list("pk", flat=True)
        )
        cohorts = [c for c in cohorts if c.org_unit_id in cohort_units]
    context = {
        "form": form,
        "on": on,
        "unit": unit,
        "start_on": start_on,
        "end_on": end_on,
        "rows": rows,
        "total_male": sum(row.male for row in rows),
        "total_female": sum(row.female for row in rows),
        "total": sum(row.total for row in rows),
        "chart": _grade_chart(rows),
        "dropout": dropout_rate(actor=actor, start_on=start_on, end_on=end_on, root_id=root_id),
        "school_year": school_year,
        "enrollment": [
            (cohort, enrollment_rate(actor=actor, cohort=cohort, on=on)) for cohort in cohorts
        ],
        "can_record_population": scope_for(actor).has_perm(Perm.STUDENTS_MANAGE),
        "show_unit_filter": units.count() > 1,
    }
    return render(request, "students/stats.html", context)


@require_perm(Perm.STUDENTS_MANAGE)
@require_http_methods(["GET", "POST"])
def age_cohort_population_create_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    units = _stat_units(actor)
    manage_units = _units_with(actor, Perm.STUDENTS_MANAGE)
    if manage_units is not None:
        units = units.filter(pk__in=manage_units)
    term = term_current()
    form = AgeCohortPopulationForm(
        request.POST or None,
        units=units.order_by("depth", "sort_order", "code"),
        initial={
            "school_year": term.school_year_id if term else None,
            "age_from": 6,
            "age_to": 11,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            cohort = age_cohort_population_record(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"已登记{cohort.org_unit.name} {cohort.school_year} {cohort.age_from}—"
                f"{cohort.age_to} 周岁适龄人口 {cohort.headcount} 人。",
            )
            return redirect("students:stats")
    return render(request, "students/population_form.html", {"form": form})
