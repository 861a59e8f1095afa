"""Import wizard (upload → preview → commit → result) and export pages: thin views."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xiaowu.accounts.models import User
from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import scope_for
from xiaowu.core.forms import add_service_errors
from xiaowu.exchange.forms import ExportForm, ImportUploadForm
from xiaowu.exchange.models import IMPORT_PERMS, ImportKind, ImportStatus
from xiaowu.exchange.safety import UploadRejectedError, check_size
from xiaowu.exchange.selectors import (
    export_class_list,
    import_batch_get,
    import_batch_list,
    import_batch_permitted,
    school_class_get,
    school_get,
    school_with_perm_list,
)
from xiaowu.exchange.services import (
    ExportRateLimitedError,
    import_commit,
    import_preview,
    import_template,
    staff_export,
    student_export,
)
from xiaowu.org.models import OrgUnit

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_PERMS = {"students": Perm.STUDENTS_EXPORT, "staff": Perm.STAFF_MANAGE}
RECENT_BATCHES = 20


def _import_kinds(user: User) -> list[tuple[str, str]]:
    scope = scope_for(user)
    return [
        (kind, label)
        for kind, label in ImportKind.choices
        if scope.has_perm(IMPORT_PERMS[ImportKind(kind)])
    ]


@login_required
@require_http_methods(["GET", "POST"])
def exchange_home_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    kinds = _import_kinds(user)
    can_export = bool(_export_kinds(user))
    if not kinds and not can_export:
        raise PermissionDenied("您没有导入或导出学籍、教职工数据的权限。")
    schools = {
        school.pk: school
        for kind, _label in kinds
        for school in school_with_perm_list(actor=user, perm=IMPORT_PERMS[ImportKind(kind)])
    }
    form = ImportUploadForm(
        request.POST or None, request.FILES or None, kinds=kinds, schools=list(schools.values())
    )
    status = 200
    if request.method == "POST":
        if not kinds:
            raise PermissionDenied("您没有导入数据的权限。")
        if form.is_valid():
            school = school_get(actor=user, school_id=form.cleaned_data["school"])
            upload = form.cleaned_data["file"]
            try:
                check_size(upload.size or 0)
                batch = import_preview(
                    actor=user,
                    school=school,
                    kind=form.cleaned_data["kind"],
                    name=upload.name or "",
                    data=upload.read(),
                )
            except UploadRejectedError as exc:
                form.add_error("file", exc.message)
                status = exc.status
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect("exchange:batch_detail", batch_id=batch.pk)
    context = {
        "form": form,
        "can_import": bool(kinds),
        "can_export": can_export,
        "kinds": kinds,
        "batches": import_batch_list(actor=user)[:RECENT_BATCHES],
    }
    return render(request, "exchange/home.html", context, status=status)


@login_required
@require_GET
def import_batch_detail_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    batch = import_batch_get(actor=user, batch_id=batch_id)
    if not import_batch_permitted(actor=user, batch=batch):
        raise PermissionDenied("您无权查看该导入批次。")
    context = {
        "batch": batch,
        "more_errors": batch.error_count - len(batch.errors),
        "committed": batch.status == ImportStatus.COMMITTED,
    }
    return render(request, "exchange/batch_detail.html", context)


@login_required
@require_POST
def import_batch_commit_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    batch = import_batch_get(actor=user, batch_id=batch_id)
    if not import_batch_permitted(actor=user, batch=batch):
        raise PermissionDenied("您无权提交该导入批次。")
    try:
        batch = import_commit(actor=user, batch=batch)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        if batch.status == ImportStatus.COMMITTED:
            messages.success(
                request,
                f"导入完成：新增 {batch.created_count} 人，更新 {batch.updated_count} 人，"
                f"未变化 {batch.unchanged_count} 人。",
            )
        else:
            messages.error(
                request, "导入失败：数据已在预览后发生变化，出现了新的错误，未写入任何数据。"
            )
    return redirect("exchange:batch_detail", batch_id=batch.pk)


@login_required
@require_GET
def import_template_view(request: HttpRequest, kind: str) -> FileResponse:
    if kind not in ImportKind.values:
        raise Http404("没有这种导入模板。")
    if not scope_for(request.user).has_perm(IMPORT_PERMS[ImportKind(kind)]):
        raise PermissionDenied("您没有导入该类数据的权限。")
    filename, handle = import_template(kind=kind)
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=XLSX_TYPE)


def _export_kinds(user: User) -> list[str]:
    """The kinds of export the user may make somewhere: students (``Perm.STUDENTS_EXPORT``),
    staff (``Perm.STAFF_MANAGE``: staff files are personnel data)."""
    scope = scope_for(user)
    return [kind for kind, perm in EXPORT_PERMS.items() if scope.has_perm(perm)]


def _export_initial(user: User, params: QueryDict, schools: list[OrgUnit]) -> dict[str, object]:
    """Preselect the kind and the school from ``?kind=staff&school=ID`` (a unit inside a
    school selects that school). An id the user may not export from is ignored."""
    initial: dict[str, object] = {}
    if params.get("kind") in EXPORT_PERMS:
        initial["kind"] = params["kind"]
    raw = params.get("school", "")
    if raw.isdigit():
        school_ids = {school.pk for school in schools}
        unit_id = int(raw)
        school_id = (
            unit_id
            if unit_id in school_ids
            else OrgUnit.objects.visible_to(user)
            .filter(pk=unit_id)
            .values_list("school_id", flat=True)
            .first()
        )
        if school_id in school_ids:
            initial["school"] = school_id
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def export_view(request: HttpRequest) -> HttpResponse | FileResponse:
    """学生名单 or 教职工名单 of one school, as .xlsx (AUTHZ-08: permission at the school,
    audit row, rate limit, masking unless the user may unmask)."""
    user: User = request.user  # type: ignore[assignment]
    scope = scope_for(user)
    kinds = _export_kinds(user)
    if not kinds:
        raise PermissionDenied("您没有导出学生或教职工名单的权限。")
    schools = {
        school.pk: school
        for kind in kinds
        for school in school_with_perm_list(actor=user, perm=EXPORT_PERMS[kind])
    }
    ordered = sorted(schools.values(), key=lambda school: (school.sort_order, school.code))
    form = ExportForm(
        request.POST or None,
        initial=_export_initial(user, request.GET, ordered) if request.method == "GET" else None,
        kinds=kinds,
        schools=ordered,
        classes=list(export_class_list(actor=user)) if "students" in kinds else [],
        can_unmask=scope.has_perm(Perm.PII_UNMASK),
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        school = school_get(actor=user, school_id=form.cleaned_data["school"])
        unmasked = form.cleaned_data.get("unmasked", False)
        try:
            if form.cleaned_data["kind"] == "staff":
                export = staff_export(actor=user, school=school, unmasked=unmasked)
            else:
                class_id = form.cleaned_data.get("school_class")
                school_class = (
                    school_class_get(actor=user, school=school, class_id=class_id)
                    if class_id
                    else None
                )
                export = student_export(
                    actor=user, school=school, school_class=school_class, unmasked=unmasked
                )
        except ExportRateLimitedError as exc:
            form.add_error(None, str(exc))
            status = 429
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return FileResponse(
                export.handle, as_attachment=True, filename=export.filename, content_type=XLSX_TYPE
            )
    return render(request, "exchange/export.html", {"form": form}, status=status)
