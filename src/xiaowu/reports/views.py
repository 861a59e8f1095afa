"""Work-summary pages: list and create, preview with traceable numbers, people's paragraphs,
consistency findings, improvement goals, downloads (JSON, .docx in 公文 layout or a school's
own template, PDF), 目标责任书 with their items, and school templates."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
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
from xiaowu.reports.agreement import ItemStatus
from xiaowu.reports.consistency import check_document
from xiaowu.reports.docx_render import (
    SECTION_PLACEHOLDERS,
    TABLE_PLACEHOLDERS,
    TEMPLATE_PLACEHOLDERS,
    render_docx,
    render_with_template,
)
from xiaowu.reports.forms import (
    AgreementCreateForm,
    AgreementItemForm,
    GoalForm,
    GoalUpdateForm,
    SummaryCreateForm,
    SummaryImportForm,
    SummaryTextEditForm,
    SummaryTextForm,
    TemplateUploadForm,
)
from xiaowu.reports.goal_import import summary_goals_import
from xiaowu.reports.models import AgreementItem, GoalSource, GoalStatus, SummaryTemplate
from xiaowu.reports.pdf import docx_to_pdf, libreoffice_available
from xiaowu.reports.school_templates import EXAMPLE_TEMPLATE_NAME, describe, example_template
from xiaowu.reports.selectors import (
    agreement_evaluation,
    agreement_get,
    agreement_item_get,
    agreement_list,
    agreement_metrics,
    agreement_summary,
    figure_payload,
    improvement_goal_get,
    improvement_goal_list,
    summary_template_get,
    summary_template_inherited,
    summary_template_list,
    summary_template_usable,
    summary_template_versions,
    summary_templates_for_unit,
    summary_text_get,
    summary_text_versions,
    summary_texts,
    summary_writable_units,
    template_figure_keys,
    work_summary_get,
    work_summary_list,
    work_summary_render,
)
from xiaowu.reports.services import (
    agreement_create,
    agreement_delete,
    agreement_item_create,
    agreement_item_delete,
    agreement_item_update,
    agreement_report_create,
    improvement_goal_create,
    improvement_goal_update,
    summary_template_retire,
    summary_template_upload,
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
        "templates": summary_templates_for_unit(unit=summary.org_unit),
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
    template_id = request.GET.get("template", "")
    if not template_id:
        return _download(render_docx(document), f"{summary.title}.docx", DOCX_TYPE)
    template = (
        summary_template_usable(unit=summary.org_unit, template_id=int(template_id))
        if template_id.isdigit()
        else None
    )
    if template is None:
        raise Http404("没有可用于该总结的此模板。")
    try:
        data = render_with_template(document, bytes(template.content))
    except ValueError as exc:
        messages.error(request, f"用模板“{template.name}”生成失败：{exc}")
        return redirect("reports:summary_detail", summary_id=summary.pk)
    return _download(data, f"{summary.title}（{template.name}）.docx", DOCX_TYPE)


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


# --------------------------------------------------------------------------- 目标责任书

AGREEMENT_SORTS = {
    "end_on": ("期间", "end_on"),
    "unit": ("责任单位", "org_unit__code"),
}


@require_perm(Perm.REPORTS_VIEW)
@require_http_methods(["GET", "POST"])
def agreement_list_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    writable = summary_writable_units(actor=actor)
    term = term_current()
    initial = {
        "unit": getattr(writable.first(), "pk", None),
        "period_kind": "school_year",
        "school_year": term.school_year.name if term else "",
        "year": timezone.localdate().year,
    }
    agreements = agreement_list(actor=actor)
    form = AgreementCreateForm(
        request.POST or None, units=writable, agreements=agreements, initial=initial
    )
    if request.method == "POST":
        ensure_perm(actor, Perm.REPORTS_MANAGE)
        if form.is_valid():
            data = form.cleaned_data
            try:
                agreement = agreement_create(
                    actor=actor,
                    unit=data["unit"],
                    period=form.period(),
                    title=data["title"],
                    signed_on=data["signed_on"],
                    issuer=data["issuer"],
                    note=data["note"],
                    copy_from=data["copy_from"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "目标责任书已建立，请录入或核对考核项目。")
                return redirect("reports:agreement_detail", agreement_id=agreement.pk)
    context = {
        "listing": listing(request, agreements, sortable=AGREEMENT_SORTS, default_sort="-end_on"),
        "form": form,
        "can_create": writable.exists(),
    }
    return render(request, "reports/agreement_list.html", context)


@login_required
@require_GET
def agreement_detail_view(request: HttpRequest, agreement_id: int) -> HttpResponse:
    actor = _actor(request)
    agreement = agreement_get(actor=actor, agreement_id=agreement_id)
    ensure_perm(actor, Perm.REPORTS_VIEW)
    evaluation = agreement_evaluation(actor=actor, agreement=agreement)
    can_edit = has_perm_at(actor, Perm.REPORTS_MANAGE, agreement.org_unit_id)
    counts = dict.fromkeys(ItemStatus, 0)
    for result in evaluation.results:
        counts[result.status] += 1
    context = {
        "agreement": agreement,
        "evaluation": evaluation,
        "counts": [(status, counts[status]) for status in ItemStatus],
        "can_edit": can_edit,
        "item_form": AgreementItemForm(metrics=agreement_metrics()),
        "report": agreement_summary(actor=actor, agreement=agreement),
    }
    return render(request, "reports/agreement_detail.html", context)


@login_required
@require_POST
def agreement_delete_view(request: HttpRequest, agreement_id: int) -> HttpResponse:
    actor = _actor(request)
    agreement = agreement_get(actor=actor, agreement_id=agreement_id)
    ensure_perm(actor, Perm.REPORTS_MANAGE)
    agreement_delete(actor=actor, agreement=agreement)
    messages.success(request, "目标责任书已删除。")
    return redirect("reports:agreement_list")


@login_required
@require_POST
def agreement_report_view(request: HttpRequest, agreement_id: int) -> HttpResponse:
    """Open the agreement's 考核汇报材料, writing it first if it does not exist yet."""
    actor = _actor(request)
    agreement = agreement_get(actor=actor, agreement_id=agreement_id)
    ensure_perm(actor, Perm.REPORTS_MANAGE)
    try:
        summary = agreement_report_create(
            actor=actor,
            agreement=agreement,
            existing=agreement_summary(actor=actor, agreement=agreement),
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("reports:agreement_detail", agreement_id=agreement.pk)
    return redirect("reports:summary_detail", summary_id=summary.pk)


@login_required
@require_POST
def agreement_item_create_view(request: HttpRequest, agreement_id: int) -> HttpResponse:
    actor = _actor(request)
    agreement = agreement_get(actor=actor, agreement_id=agreement_id)
    ensure_perm(actor, Perm.REPORTS_MANAGE)
    form = AgreementItemForm(request.POST, metrics=agreement_metrics())
    if form.is_valid():
        try:
            agreement_item_create(actor=actor, agreement=agreement, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "考核项目已添加。")
            return redirect("reports:agreement_detail", agreement_id=agreement.pk)
    evaluation = agreement_evaluation(actor=actor, agreement=agreement)
    context = {
        "agreement": agreement,
        "evaluation": evaluation,
        "counts": [],
        "can_edit": True,
        "item_form": form,
        "report": agreement_summary(actor=actor, agreement=agreement),
    }
    return render(request, "reports/agreement_detail.html", context, status=200)


@login_required
@require_http_methods(["GET", "POST"])
def agreement_item_edit_view(request: HttpRequest, item_id: int) -> HttpResponse:
    actor = _actor(request)
    item = agreement_item_get(actor=actor, item_id=item_id)
    ensure_perm(actor, Perm.REPORTS_MANAGE)
    initial = {name: getattr(item, name) for name in AgreementItemForm.base_fields}
    form = AgreementItemForm(request.POST or None, metrics=agreement_metrics(), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            agreement_item_update(actor=actor, item=item, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "考核项目已保存。")
            return redirect("reports:agreement_detail", agreement_id=item.agreement_id)
    return render(request, "reports/agreement_item_form.html", {"form": form, "item": item})


@login_required
@require_POST
def agreement_item_delete_view(request: HttpRequest, item_id: int) -> HttpResponse:
    actor = _actor(request)
    item: AgreementItem = agreement_item_get(actor=actor, item_id=item_id)
    ensure_perm(actor, Perm.REPORTS_MANAGE)
    agreement_id = item.agreement_id
    agreement_item_delete(actor=actor, item=item)
    messages.success(request, "考核项目已删除。")
    return redirect("reports:agreement_detail", agreement_id=agreement_id)


# --------------------------------------------------------------------------- school templates


@require_perm(Perm.REPORTS_VIEW)
@require_http_methods(["GET", "POST"])
def template_list_view(request: HttpRequest) -> HttpResponse:
    """The unit's own .docx templates: upload (validated and tried on the unit's data), the
    versions, and the placeholders a template can use (generated from the code)."""
    actor = _actor(request)
    writable = summary_writable_units(actor=actor)
    first_unit = writable.first()
    form = TemplateUploadForm(
        request.POST or None,
        request.FILES or None,
        units=writable,
        initial={"unit": getattr(first_unit, "pk", None)},
    )
    if request.method == "POST":
        ensure_perm(actor, Perm.REPORTS_MANAGE)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                template = summary_template_upload(
                    actor=actor,
                    unit=form.cleaned_data["unit"],
                    name=form.cleaned_data["name"],
                    filename=upload.name or "",
                    data=upload.read(),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    f"模板“{template.name}”第 {template.version} 版已保存，下载 Word 时可选用。",
                )
                return redirect("reports:template_list")
    unit = first_unit
    context = {
        "form": form,
        "can_upload": first_unit is not None,
        "templates": summary_template_list(actor=actor),
        "inherited": summary_template_inherited(actor=actor),
        "placeholders": describe(TEMPLATE_PLACEHOLDERS),
        "section_fields": describe(SECTION_PLACEHOLDERS),
        "table_fields": describe(TABLE_PLACEHOLDERS),
        "figure_unit": unit,
        "figure_keys": template_figure_keys(actor=actor, unit=unit) if unit else [],
    }
    return render(request, "reports/template_list.html", context)


@login_required
@require_GET
def template_download_view(request: HttpRequest, template_id: int) -> HttpResponse:
    actor = _actor(request)
    template = summary_template_get(actor=actor, template_id=template_id)
    ensure_perm(actor, Perm.REPORTS_VIEW)
    data = bytes(SummaryTemplate.objects.values_list("content", flat=True).get(pk=template.pk))
    return _download(data, f"{template.name}-v{template.version}.docx", DOCX_TYPE)


@login_required
@require_http_methods(["GET", "POST"])
def template_versions_view(request: HttpRequest, template_id: int) -> HttpResponse:
    actor = _actor(request)
    template = summary_template_get(actor=actor, template_id=template_id)
    ensure_perm(actor, Perm.REPORTS_VIEW)
    can_manage = has_perm_at(actor, Perm.REPORTS_MANAGE, template.org_unit_id)
    if request.method == "POST":
        ensure_perm(actor, Perm.REPORTS_MANAGE)
        summary_template_retire(actor=actor, template=template)
        messages.success(request, f"模板“{template.name}”已停用，各版本文件仍保留。")
        return redirect("reports:template_list")
    context = {
        "template": template,
        "versions": summary_template_versions(template=template),
        "can_manage": can_manage,
    }
    return render(request, "reports/template_versions.html", context)


@require_perm(Perm.REPORTS_VIEW)
@require_GET
def template_example_view(request: HttpRequest) -> HttpResponse:
    return _download(example_template(), EXAMPLE_TEMPLATE_NAME, DOCX_TYPE)
