"""Work-summary pages: list and create, preview with traceable numbers, people's paragraphs,
consistency findings, improvement goals, and downloads (JSON, .docx)."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xiaowu.accounts.models import User
from xiaowu.accounts.permissions import ensure_perm, require_perm
from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import has_perm_at
from xiaowu.core.forms import add_service_errors
from xiaowu.core.listing import listing
from xiaowu.org.selectors import term_current
from xiaowu.reports.consistency import check_document
from xiaowu.reports.docx_render import render_docx
from xiaowu.reports.forms import (
    GoalForm,
    GoalUpdateForm,
    SummaryCreateForm,
    SummaryImportForm,
    SummaryTextEditForm,
    SummaryTextForm,
)
from xiaowu.reports.goal_import import summary_goals_import
from xiaowu.reports.models import GoalSource, GoalStatus
from xiaowu.reports.pdf import docx_to_pdf, libreoffice_available
from xiaowu.reports.selectors import (
    figure_payload,
    improvement_goal_get,
    improvement_goal_list,
    summary_text_get,
    summary_text_versions,
    summary_texts,
    summary_writable_units,
    work_summary_get,
    work_summary_list,
    work_summary_render,
)
from xiaowu.reports.services import (
    improvement_goal_create,
    improvement_goal_update,
    summary_text_add,
    summary_text_delete,
    summary_text_update,
    work_summary_create,
)

SUMMARY_SORTS = {
    "end_on": ("期间", "end_on"),
    "unit": ("单位", "org_unit__code"),
    "created_at": ("创建时间", "created_at"),
}
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@require_perm(Perm.REPORTS_VIEW)
@require_http_methods(["GET", "POST"])
def summary_list_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    writable = summary_writable_units(actor=actor)
    first_unit = writable.first()
    term = term_current()
    initial = {
        "unit": first_unit.pk if first_unit else None,
        "period_kind": "term",
        "school_year": term.school_year.name if term else "",
        "term": term.number if term else 1,
        "year": timezone.localdate().year,
    }
    form = SummaryCreateForm(
        request.POST or None,
        units=writable,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            summary = work_summary_create(
                actor=actor,
                unit=form.cleaned_data["unit"],
                period=form.period(),
                variant=form.cleaned_data["variant"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("reports:summary_detail", summary_id=summary.pk)
    context = {
        "listing": listing(
            request, work_summary_list(actor=actor), sortable=SUMMARY_SORTS, default_sort="-end_on"
        ),
        "form": form,
        "can_create": first_unit is not None,
    }
    return render(request, "reports/summary_list.html", context)


@login_required
@require_GET
def summary_detail_view(request: HttpRequest, summary_id: int) -> HttpResponse:
    actor = _actor(request)
    summary = work_summary_get(actor=actor, summary_id=summary_id)
    ensure_perm(actor, Perm.REPORTS_VIEW)
    generated = work_summary_render(actor=actor, summary=summary)
    can_edit = has_perm_at(actor, Perm.REPORTS_MANAGE, summary.org_unit_id)
    raised = {goal.signal_key for goal in summary.goals.all() if goal.signal_key}
    context = {
        "summary": summary,
        "document": generated.document,
        "figures": generated.document.figures,
        "findings": check_document(generated.document),
        "signals": [s for s in generated.signals if s.key not in raised],
        "texts": summary_texts(summary=summary),
        "goals": list(summary.goals.select_related("owner")),
        "can_edit": can_edit,
        "text_form": SummaryTextForm(),
        "goal_form": GoalForm(),
    }
    return render(request, "reports/summary_detail.html", context)


@login_required
@require_GET
def summary_json_view(request: HttpRequest, summary_id: int) -> JsonResponse:
    actor = _actor(request)
    summary = work_summary_get(actor=actor, summary_id=summary_id)
    ensure_perm(actor, Perm.REPORTS_VIEW)
    generated = work_summary_render(actor=actor, summary=summary)
    payload = figure_payload(generated)
    payload["findings"] = [
        {"kind": f.kind, "message": f.message, "snippet": f.snippet, "figure": f.figure_key}
        for f in check_document(generated.document)
    ]
    return JsonResponse(payload, json_dumps_params={"ensure_ascii": False, "indent": 2})


def _download(data: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    # RFC 6266/5987: Chinese file names survive in every current browser.
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@login_required
@require_GET
def summary_docx_view(request: HttpRequest, summary_id: int) -> HttpResponse:
    actor = _actor(request)
    summary = work_summary_get(actor=actor, summary_id=summary_id)
    ensure_perm(actor, Perm.REPORTS_VIEW)
    document = work_summary_render(actor=actor, summary=summary).document
    return _download(render_docx(document), f"{summary.title}.docx", DOCX_TYPE)


@login_required
@require_GET
def summary_pdf_view(request: HttpRequest, summary_id: int) -> HttpResponse:
    actor = _actor(request)
    summary = work_summary_get(actor=actor, summary_id=summary_id)
    ensure_perm(actor, Perm.REPORTS_VIEW)
    document = work_summary_render(actor=actor, summary=summary).document
    pdf = docx_to_pdf(render_docx(document)) if libreoffice_available() else None
    if pdf is None:
        messages.error(request, "服务器未安装 LibreOffice，暂不能导出 PDF，请下载 Word 版。")
        return redirect("reports:summary_detail", summary_id=summary.pk)
    return _download(pdf, f"{summary.title}.pdf", "application/pdf")


@login_required
@require_POST
def summary_text_add_view(request: HttpRequest, summary_id: int) -> HttpResponse:
    actor = _actor(request)
    summary = work_summary_get(actor=actor, summary_id=summary_id)
    ensure_perm(actor, Perm.REPORTS_MANAGE)
    form = SummaryTextForm(request.POST)
    if form.is_valid():
        try:
            summary_text_add(actor=actor, summary=summary, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, "段落已添加。")
    else:
        messages.error(request, "请填写段落内容。")
    return redirect("reports:summary_detail", summary_id=summary.pk)


@login_required
@require_http_methods(["GET", "POST"])
def summary_text_edit_view(request: HttpRequest, text_id: int) -> HttpResponse:
    actor = _actor(request)
    text = summary_text_get(actor=actor, text_id=text_id)
    ensure_perm(actor, Perm.REPORTS_MANAGE)
    form = SummaryTextEditForm(
        request.POST or None, initial={"body": text.body, "version": text.version}
    )
    if request.method == "POST" and form.is_valid():
        try:
            summary_text_update(actor=actor, text=text, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "段落已保存，原文已存为历史版本。")
            return redirect("reports:summary_detail", summary_id=text.summary_id)
    context = {"form": form, "text": text, "versions": summary_text_versions(text=text)}
    return render(request, "reports/summary_text_form.html", context)


@login_required
@require_POST
def summary_text_delete_view(request: HttpRequest, text_id: int) -> HttpResponse:
    actor = _actor(request)
    text = summary_text_get(actor=actor, text_id=text_id)
    ensure_perm(actor, Perm.REPORTS_MANAGE)
    summary_id = text.summary_id
    summary_text_delete(actor=actor, text=text)
    messages.success(request, "段落已删除（内容保留在历史版本中）。")
    return redirect("reports:summary_detail", summary_id=summary_id)


@login_required
@require_POST
def goal_create_view(request: HttpRequest, summary_id: int) -> HttpResponse:
    actor = _actor(request)
    summary = work_summary_get(actor=actor, summary_id=summary_id)
    ensure_perm(actor, Perm.REPORTS_MANAGE)
    form = GoalForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            improvement_goal_create(
                actor=actor,
                unit=summary.org_unit,
                summary=summary,
                problem=data["problem"],
                measure=data["measure"],
                due_on=data["due_on"],
                owner=actor,
                source=GoalSource.SIGNAL if data["signal_key"] else GoalSource.MANUAL,
                signal_key=data["signal_key"],
                raised_on=summary.end_on,
            )
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, "已设为改进目标，下期总结将报告其完成情况。")
    else:
        messages.error(request, "请填写存在问题和改进措施。")
    return redirect("reports:summary_detail", summary_id=summary.pk)


@require_perm(Perm.REPORTS_MANAGE)
@require_http_methods(["GET", "POST"])
def summary_import_view(request: HttpRequest) -> HttpResponse:
    """Upload a previous paper summary; extract its 存在问题 and 下一步 as improvement goals."""
    actor = _actor(request)
    units = summary_writable_units(actor=actor)
    form = SummaryImportForm(request.POST or None, request.FILES or None, units=units)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = summary_goals_import(
                actor=actor,
                unit=form.cleaned_data["unit"],
                data=upload.read(),
                filename=upload.name,
                dry_run=form.cleaned_data["dry_run"],
            )
        except ValueError as exc:
            form.add_error("file", str(exc))
        else:
            if result.created_goal_ids:
                messages.success(request, f"已建立 {len(result.created_goal_ids)} 项改进目标。")
    return render(request, "reports/summary_import.html", {"form": form, "result": result})


GOAL_SORTS = {
    "due_on": ("完成期限", "due_on"),
    "raised_on": ("提出日期", "raised_on"),
    "status": ("状态", "status"),
}


@require_perm(Perm.REPORTS_VIEW)
@require_GET
def goal_list_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    unit = request.GET.get("unit", "")
    status = request.GET.get("status", "")
    goals = improvement_goal_list(
        actor=actor,
        unit_id=int(unit) if unit.isdigit() else None,
        status=status if status in GoalStatus.values else "",
    )
    context = {
        "listing": listing(request, goals, sortable=GOAL_SORTS, default_sort="due_on"),
        "statuses": GoalStatus.choices,
        "filters": {"status": status, "unit": unit},
    }
    return render(request, "reports/goal_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def goal_update_view(request: HttpRequest, goal_id: int) -> HttpResponse:
    actor = _actor(request)
    goal = improvement_goal_get(actor=actor, goal_id=goal_id)
    ensure_perm(actor, Perm.REPORTS_MANAGE)
    initial = {"status": goal.status, "completed_on": goal.completed_on, "note": goal.note}
    form = GoalUpdateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            improvement_goal_update(actor=actor, goal=goal, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "目标进展已更新。")
            return redirect("reports:goal_list")
    return render(request, "reports/goal_form.html", {"form": form, "goal": goal})
