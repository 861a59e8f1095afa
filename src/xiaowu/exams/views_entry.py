"""Exam pages: list, setup (exam, subjects, participants, 考号, 任课教师), the score-entry grid
and its JSON save endpoint, score import (upload → preview → commit), lock / unlock, and the
口径 pages. Thin views: an id outside the actor's scope answers 404 (scoped selector first),
in scope without the permission 403; the services check permissions again and do the work."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xiaowu.accounts.models import User
from xiaowu.accounts.permissions import ensure_perm, require_perm
from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import scope_for
from xiaowu.core.forms import add_service_errors
from xiaowu.core.listing import listing
from xiaowu.exams import score_import
from xiaowu.exams.forms import (
    CaliberForm,
    CandidatesForm,
    ExamForm,
    NumbersForm,
    ScoreImportForm,
    SubjectForm,
    caliber_brief,
)
from xiaowu.exams.models import Caliber, Exam, ExamKind, ExamStatus, ScoreStatus
from xiaowu.exams.naming import unit_name_as_of
from xiaowu.exams.score_import import (
    MODE_SCORES,
    MODES,
    score_import_commit,
    score_import_preview,
)
from xiaowu.exams.selectors import (
    caliber_choices,
    caliber_get,
    caliber_latest,
    caliber_list,
    caliber_versions,
    class_in_record_scope,
    entered_by_subject,
    exam_candidate_count,
    exam_class_options,
    exam_entered_total,
    exam_filter_schools,
    exam_get,
    exam_grid,
    exam_grid_classes,
    exam_item_counts,
    exam_list,
    exam_numbered_count,
    exam_owner_options,
    exam_progress,
    exam_school_list,
    exam_school_options,
    exam_subject_get,
    exam_subject_list,
    exams_using_caliber,
)
from xiaowu.exams.services import (
    STATUS_HINT,
    ScoreConflictError,
    caliber_can_edit,
    caliber_create,
    caliber_revise,
    exam_can_import,
    exam_can_manage,
    exam_candidates_generate,
    exam_class_remove,
    exam_class_teachers_snapshot,
    exam_create,
    exam_lock,
    exam_numbers_assign,
    exam_score_save,
    exam_subject_add,
    exam_subject_delete,
    exam_subject_update,
    exam_unlock,
    exam_update,
    score_entry_rights,
    score_entry_rights_map,
)
from xiaowu.exchange.safety import UploadRejectedError, check_size
from xiaowu.jobs.registry import JOB_KINDS
from xiaowu.jobs.services import job_enqueue
from xiaowu.org.models import Grade, OrgUnit, UnitKind
from xiaowu.org.selectors import term_current, term_list

ERRORS_SHOWN = 200


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _viewable(actor: User, exam_id: int) -> Exam:
    """The exam in the actor's scope (else 404) for a holder of 考试查看 (else 403)."""
    exam = exam_get(actor=actor, exam_id=exam_id)
    ensure_perm(actor, Perm.EXAMS_VIEW)
    return exam


def _manageable(actor: User, exam_id: int) -> Exam:
    exam = exam_get(actor=actor, exam_id=exam_id)
    if not exam_can_manage(actor=actor, exam=exam):
        raise PermissionDenied("您无权管理该考试。")
    return exam


def _exam_context(actor: User, exam: Exam, tab: str) -> dict[str, Any]:
    """What the shared exam header and tabs need."""
    return {
        "exam": exam,
        "tab": tab,
        "can_manage": exam_can_manage(actor=actor, exam=exam),
        "can_import": exam_can_import(actor=actor, exam=exam),
        "locked": exam.status == ExamStatus.LOCKED,
        "schools": exam_school_list(exam=exam),
    }


# --------------------------------------------------------------------------- list
EXAM_SORTS = {
    "held_on": ("考试日期", "held_on"),
    "name": ("考试名称", "name_pinyin"),
    "grade": ("年级", "grade"),
    "owner": ("组织单位", "owner__code"),
    "status": ("状态", "status"),
}


def _int_param(value: str) -> int | None:
    return int(value) if value.isdigit() else None


@require_perm(Perm.EXAMS_VIEW)
@require_GET
def exam_list_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    params = request.GET
    terms = term_list()
    schools = exam_filter_schools(actor=actor)
    term_id = _int_param(params.get("term", ""))
    school_id = _int_param(params.get("school", ""))
    grade = _int_param(params.get("grade", ""))
    kind = params.get("kind", "")
    status = params.get("status", "")
    exams = exam_list(
        actor=actor,
        search=params.get("q", ""),
        term_id=term_id if term_id in {t.pk for t in terms} else None,
        grade=grade if grade in Grade.values else None,
        kind=kind if kind in ExamKind.values else "",
        school_id=school_id if school_id in {s.pk for s in schools} else None,
        status=status if status in ExamStatus.values else "",
    )
    context = {
        "listing": listing(request, exams, sortable=EXAM_SORTS, default_sort="-held_on"),
        "terms": terms,
        "schools": schools,
        "grades": [(v, label) for v, label in Grade.choices if v >= 1],
        "kinds": ExamKind.choices,
        "statuses": ExamStatus.choices,
        "filters": {
            "q": params.get("q", ""),
            "term": str(term_id or ""),
            "school": str(school_id or ""),
            "grade": str(grade or ""),
            "kind": kind,
            "status": status,
        },
        "can_create": scope_for(actor).has_perm(Perm.EXAMS_MANAGE),
    }
    template = (
        "exams/setup_exam_table.html"
        if getattr(request, "htmx", False)
        else "exams/setup_exam_list.html"
    )
    return render(request, template, context)


# --------------------------------------------------------------------------- create / edit
def _exam_form(
    request: HttpRequest, actor: User, *, exam: Exam | None = None, initial: dict[str, Any]
) -> ExamForm:
    owners = exam_owner_options(actor=actor)
    schools = exam_school_options(actor=actor)
    if exam is not None:
        # Keep the exam's own schools selectable even when the editor manages only the owner.
        current = [s for s in exam_school_list(exam=exam) if s.pk not in {x.pk for x in schools}]
        schools = schools + current
    return ExamForm(
        request.POST or None,
        owners=owners,
        schools=schools,
        terms=term_list(),
        calibers=caliber_choices(actor=actor),
        editing=exam is not None,
        initial=initial,
    )


def _units(ids: list[int], options: list[OrgUnit]) -> list[OrgUnit]:
    by_id = {unit.pk: unit for unit in options}
    return [by_id[pk] for pk in ids if pk in by_id]


@require_perm(Perm.EXAMS_MANAGE)
@require_http_methods(["GET", "POST"])
def exam_create_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    owners = exam_owner_options(actor=actor)
    if not owners:
        raise PermissionDenied("您没有可以组织考试的单位。")
    term = term_current()
    form = _exam_form(
        request,
        actor,
        initial={
            "kind": ExamKind.MIDTERM,
            "owner": owners[-1].pk if len(owners) else None,
            "term": term.pk if term else None,
            "held_on": timezone.localdate(),
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        owner = next((unit for unit in owners if unit.pk == data["owner"]), None)
        schools = _units(data["schools"], exam_school_options(actor=actor))
        terms = {t.pk: t for t in term_list()}
        calibers = {c.pk: c for c in caliber_choices(actor=actor)}
        try:
            if owner is None:
                raise ValidationError({"owner": "请选择组织单位。"})
            exam = exam_create(
                actor=actor,
                name=data["name"],
                kind=data["kind"],
                owner=owner,
                schools=schools,
                term=terms.get(data["term"]) if data["term"] else None,
                grade=data["grade"],
                held_on=data["held_on"],
                default_caliber=calibers.get(data["default_caliber"])
                if data["default_caliber"]
                else None,
                subjects=data["subjects"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"已建立考试“{exam.name}”。下一步：生成考生。")
            return redirect("exams:participants", exam_id=exam.pk)
    return render(request, "exams/setup_exam_form.html", {"form": form, "title": "新建考试"})


@login_required
@require_http_methods(["GET", "POST"])
def exam_edit_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    actor = _actor(request)
    exam = _manageable(actor, exam_id)
    form = _exam_form(
        request,
        actor,
        exam=exam,
        initial={
            "name": exam.name,
            "kind": exam.kind,
            "schools": [s.pk for s in exam_school_list(exam=exam)],
            "term": exam.term_id,
            "grade": exam.grade,
            "held_on": exam.held_on,
            "default_caliber": exam.default_caliber_id,
            "version": exam.version,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        options = exam_school_options(actor=actor) + exam_school_list(exam=exam)
        terms = {t.pk: t for t in term_list()}
        calibers = {c.pk: c for c in caliber_choices(actor=actor)}
        try:
            exam_update(
                actor=actor,
                exam=exam,
                version=data.get("version") or 0,
                name=data["name"],
                kind=data["kind"],
                term=terms.get(data["term"]) if data["term"] else None,
                grade=data["grade"],
                held_on=data["held_on"],
                default_caliber=calibers.get(data["default_caliber"])
                if data["default_caliber"]
                else None,
                schools=_units(data["schools"], options)
                if exam.owner.kind != UnitKind.SCHOOL
                else None,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "考试信息已保存。")
            return redirect("exams:exam_detail", exam_id=exam.pk)
    return render(
        request,
        "exams/setup_exam_form.html",
        {"form": form, "title": f"编辑考试：{exam.name}", "exam": exam},
    )


# --------------------------------------------------------------------------- detail
@login_required
@require_GET
def exam_detail_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    actor = _actor(request)
    exam = _viewable(actor, exam_id)
    subjects = exam_subject_list(exam=exam)
    progress = exam_progress(exam=exam, subjects=subjects)
    class_ids = [row.school_class.pk for school in progress for row in school.classes]
    rights = score_entry_rights_map(actor=actor, exam=exam, class_ids=class_ids)
    for school in progress:
        for row in school.classes:
            row.rights = rights[row.school_class.pk]
    candidates = sum(school.candidates for school in progress)
    entered = exam_entered_total(exam=exam)
    context = {
        **_exam_context(actor, exam, "detail"),
        "subjects": subjects,
        "progress": progress,
        "candidate_count": candidates,
        "entered": entered,
        "expected": candidates * len(subjects),
        "entered_by_subject": entered_by_subject(exam=exam),
        "item_counts": exam_item_counts(exam=exam),
        "numbered": exam_numbered_count(exam=exam),
    }
    return render(request, "exams/setup_exam_detail.html", context)


# --------------------------------------------------------------------------- lock
def _lock_action(
    request: HttpRequest, exam_id: int, service: Callable[..., object], done: str
) -> HttpResponse:
    """Lock or unlock an exam's scores (POST), then back to the exam."""
    actor = _actor(request)
    exam = _manageable(actor, exam_id)
    try:
        service(actor=actor, exam=exam)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect("exams:exam_detail", exam_id=exam.pk)


@login_required
@require_POST
def exam_lock_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    done = "成绩已锁定：在解除锁定之前，不能再录入或导入成绩。"
    return _lock_action(request, exam_id, exam_lock, done)


@login_required
@require_POST
def exam_unlock_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    return _lock_action(request, exam_id, exam_unlock, "已解除锁定，可以继续录入成绩。")


# --------------------------------------------------------------------------- subjects
@login_required
@require_http_methods(["GET", "POST"])
def subject_add_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    actor = _actor(request)
    exam = _manageable(actor, exam_id)
    form = SubjectForm(request.POST or None, initial={"full_mark": 100, "step": "1"})
    if request.method == "POST" and form.is_valid():
        try:
            subject = exam_subject_add(actor=actor, exam=exam, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"已添加科目“{subject.subject}”。")
            return redirect("exams:exam_detail", exam_id=exam.pk)
    context = {**_exam_context(actor, exam, "detail"), "form": form, "title": "添加科目"}
    return render(request, "exams/setup_subject_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def subject_edit_view(request: HttpRequest, exam_id: int, subject_id: int) -> HttpResponse:
    actor = _actor(request)
    exam = _manageable(actor, exam_id)
    subject = exam_subject_get(exam=exam, subject_id=subject_id)
    form = SubjectForm(
        request.POST or None,
        initial={
            "subject": subject.subject,
            "full_mark": subject.full_mark,
            "step": str(subject.step.normalize()),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            exam_subject_update(actor=actor, exam_subject=subject, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "科目已保存。")
            return redirect("exams:exam_detail", exam_id=exam.pk)
    context = {
        **_exam_context(actor, exam, "detail"),
        "form": form,
        "title": f"编辑科目：{subject.subject}",
        "subject": subject,
    }
    return render(request, "exams/setup_subject_form.html", context)


@login_required
@require_POST
def subject_delete_view(request: HttpRequest, exam_id: int, subject_id: int) -> HttpResponse:
    actor = _actor(request)
    exam = _manageable(actor, exam_id)
    subject = exam_subject_get(exam=exam, subject_id=subject_id)
    try:
        exam_subject_delete(actor=actor, exam_subject=subject)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, f"已删除科目“{subject.subject}”。")
    return redirect("exams:exam_detail", exam_id=exam.pk)


# --------------------------------------------------------------------------- participants
@login_required
@require_http_methods(["GET", "POST"])
def participants_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    actor = _actor(request)
    exam = _viewable(actor, exam_id)
    can_manage = exam_can_manage(actor=actor, exam=exam)
    if request.method == "POST" and not can_manage:
        raise PermissionDenied("您无权管理该考试的考生。")
    options = exam_class_options(exam=exam)
    choices = [
        (
            option.school_class.pk,
            f"{option.school_class.school.name if option.school_class.school else ''} "
            f"{unit_name_as_of(exam, option.school_class)}",
        )
        for option in options
    ]
    form = CandidatesForm(
        request.POST or None,
        classes=choices,
        initial={"classes": [o.school_class.pk for o in options if not o.candidates]},
    )
    if request.method == "POST" and form.is_valid():
        try:
            added = exam_candidates_generate(
                actor=actor, exam=exam, class_ids=form.cleaned_data["classes"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"已新增考生 {added} 人。")
            return redirect("exams:participants", exam_id=exam.pk)
    context = {
        **_exam_context(actor, exam, "participants"),
        "form": form,
        "options": options,
        "numbers_form": NumbersForm(
            initial={"number_prefix": f"{exam.held_on:%y%m}", "only_missing": False}
        ),
        "candidate_count": exam_candidate_count(exam=exam),
        "numbered": exam_numbered_count(exam=exam),
    }
    return render(request, "exams/setup_participants.html", context)


@login_required
@require_POST
def numbers_assign_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    actor = _actor(request)
    exam = _manageable(actor, exam_id)
    form = NumbersForm(request.POST)
    if form.is_valid():
        try:
            count = exam_numbers_assign(
                actor=actor,
                exam=exam,
                prefix=form.cleaned_data["number_prefix"] or "",
                only_missing=form.cleaned_data["only_missing"],
            )
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, f"已为 {count} 名考生编排考号。")
    else:
        messages.error(request, "考号前缀格式不对。")
    return redirect("exams:participants", exam_id=exam.pk)


@login_required
@require_POST
def class_remove_view(request: HttpRequest, exam_id: int, class_id: int) -> HttpResponse:
    actor = _actor(request)
    exam = _manageable(actor, exam_id)
    try:
        removed = exam_class_remove(actor=actor, exam=exam, school_class_id=class_id)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, f"已移除该班考生 {removed} 人。")
    return redirect("exams:participants", exam_id=exam.pk)


@login_required
@require_http_methods(["GET", "POST"])
def class_teachers_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    actor = _actor(request)
    exam = _viewable(actor, exam_id)
    if request.method == "POST":
        if not exam_can_manage(actor=actor, exam=exam):
            raise PermissionDenied("您无权管理该考试。")
        try:
            count = exam_class_teachers_snapshot(actor=actor, exam=exam)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, f"已按任课安排记录 {count} 条班级科目的任课教师。")
        return redirect("exams:class_teachers", exam_id=exam.pk)
    subjects = exam_subject_list(exam=exam)
    context = {
        **_exam_context(actor, exam, "teachers"),
        "subjects": subjects,
        "progress": exam_progress(exam=exam, subjects=subjects),
    }
    return render(request, "exams/setup_class_teachers.html", context)


# --------------------------------------------------------------------------- grid
STATUS_LEGEND = [
    (ScoreStatus(code).label, keys)
    for code, keys in (
        ("absent", "缺 / q"),
        ("cheated", "弊 / z"),
        ("exempt", "免 / m"),
        ("not_counted", "借 / j"),
    )
]


@login_required
@require_GET
def score_grid_view(request: HttpRequest, exam_id: int, class_id: int) -> HttpResponse:
    """The entry grid of one class (all subjects, or ``?subject=ID``): editable cells where the
    actor may enter, read-only where they may only look."""
    actor = _actor(request)
    exam = _viewable(actor, exam_id)
    classes = exam_grid_classes(exam=exam)
    school_class = next((unit for unit in classes if unit.pk == class_id), None)
    if school_class is None:
        raise Http404("该班级没有参加本次考试。")
    rights = score_entry_rights(actor=actor, exam=exam, class_id=class_id)
    if not rights.any and not class_in_record_scope(actor=actor, class_id=class_id):
        raise PermissionDenied("您无权查看该班的成绩。")
    subjects = exam_subject_list(exam=exam)
    chosen = _int_param(request.GET.get("subject", ""))
    shown = [s for s in subjects if s.pk == chosen] or subjects
    rows = exam_grid(actor=actor, exam=exam, class_id=class_id, subjects=shown, rights=rights)
    reachable = score_entry_rights_map(
        actor=actor, exam=exam, class_ids=[unit.pk for unit in classes]
    )
    switch = [unit for unit in classes if reachable[unit.pk].any or unit.pk == class_id]
    context = {
        **_exam_context(actor, exam, "grid"),
        "school_class": school_class,
        "subjects": subjects,
        "shown": shown,
        "chosen": chosen if len(shown) == 1 and len(subjects) > 1 else None,
        "rows": rows,
        "rights": rights,
        "editable": any(rights.allows(s.subject) for s in shown),
        "classes": switch,
        "save_url": reverse("exams:score_save", kwargs={"exam_id": exam.pk}),
        "status_legend": STATUS_LEGEND,
        "status_hint": STATUS_HINT,
    }
    return render(request, "exams/entry_grid.html", context)


def _json_error(message: str, status: int, **extra: Any) -> JsonResponse:
    return JsonResponse(
        {"ok": False, "error": message, **extra},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


@login_required
@require_POST
def score_save_view(request: HttpRequest, exam_id: int) -> JsonResponse:
    """Save one grid cell. Body: ``{"candidate": id, "subject": id, "value": text,
    "version": n}``. Answers 200 with the new version, 409 with the current value and who
    changed it when the cell changed since it was read, 400 for a bad value or a locked exam,
    403 when the actor may not enter this cell."""
    actor = _actor(request)
    exam = _viewable(actor, exam_id)
    try:
        body = json.loads(request.body or b"{}")
        candidate_id = int(body["candidate"])
        subject_id = int(body["subject"])
        version = int(body.get("version") or 0)
        raw = body.get("value", "")
    except (ValueError, KeyError, TypeError):
        return _json_error("请求格式不正确。", 400)
    if raw is not None and not isinstance(raw, str | int | float):
        return _json_error("请求格式不正确。", 400)
    try:
        saved = exam_score_save(
            actor=actor,
            exam=exam,
            candidate_id=candidate_id,
            exam_subject_id=subject_id,
            raw=raw,
            version=version,
        )
    except ScoreConflictError as conflict:
        return JsonResponse(
            {
                "ok": False,
                "conflict": True,
                "error": conflict.message,
                "version": conflict.version,
                "display": conflict.display,
                "by": conflict.by,
                "at": timezone.localtime(conflict.at).strftime("%H:%M:%S") if conflict.at else "",
            },
            status=409,
            json_dumps_params={"ensure_ascii": False},
        )
    except PermissionDenied as exc:
        return _json_error(str(exc) or "您无权录入该成绩。", 403)
    except ValidationError as exc:
        return _json_error("；".join(exc.messages), 400)
    return JsonResponse(
        {
            "ok": True,
            "version": saved.version,
            "display": saved.display,
            "status": saved.status,
            "changed": saved.changed,
        },
        json_dumps_params={"ensure_ascii": False},
    )


# --------------------------------------------------------------------------- import
def _import_form(request: HttpRequest, exam: Exam) -> ScoreImportForm:
    subjects = [(s.pk, s.subject) for s in exam_subject_list(exam=exam)]
    return ScoreImportForm(
        request.POST or None,
        request.FILES or None,
        subjects=subjects,
        initial={"mode": MODE_SCORES, "update_totals": True},
    )


@login_required
@require_http_methods(["GET", "POST"])
def score_import_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    actor = _actor(request)
    exam = _manageable_or_school(actor, exam_id)
    form = _import_form(request, exam)
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            check_size(upload.size or 0)
            preview = score_import_preview(
                actor=actor,
                exam=exam,
                name=upload.name or "",
                data=upload.read(),
                mode=form.cleaned_data["mode"],
                subject_id=form.cleaned_data.get("subject"),
                update_totals=bool(form.cleaned_data.get("update_totals")),
            )
        except UploadRejectedError as exc:
            form.add_error("file", exc.message)
            status = exc.status
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            context = {
                **_exam_context(actor, exam, "import"),
                "preview": preview,
                "plan": preview.plan,
                "errors": preview.plan.errors[:ERRORS_SHOWN],
                "more_errors": max(len(preview.plan.errors) - ERRORS_SHOWN, 0),
                "mode_label": MODES[preview.plan.mode],
            }
            return render(request, "exams/import_preview.html", context)
    context = {
        **_exam_context(actor, exam, "import"),
        "form": form,
        "subjects": exam_subject_list(exam=exam),
    }
    return render(request, "exams/import_upload.html", context, status=status)


def _manageable_or_school(actor: User, exam_id: int) -> Exam:
    """Importers: managers of the exam's owner, or of one of its schools (their own pupils)."""
    exam = exam_get(actor=actor, exam_id=exam_id)
    if not exam_can_import(actor=actor, exam=exam):
        raise PermissionDenied("您无权导入该考试的成绩。")
    return exam


def _import_in_background(actor: User, exam: Exam, token: str) -> int | None:
    """Queue a large previewed file as a background job (when the job kind is registered and
    the actor may start it at the exam's unit); return the job id, or None to import now."""
    if score_import.KIND not in JOB_KINDS:
        return None
    try:
        payload = score_import.score_import_token(actor=actor, exam=exam, token=token)
    except ValidationError:
        return None  # the synchronous path reports the problem
    if int(payload.get("rows") or 0) < score_import.BACKGROUND_ROWS:
        return None
    try:
        job = job_enqueue(
            actor=actor,
            kind=score_import.KIND,
            unit=exam.owner,
            params={"exam_id": exam.pk, "token": token},
            title=f"导入成绩：{exam.name}（{payload.get('name', '')}）",
        )
    except (PermissionDenied, ValidationError):
        return None
    return job.pk


@login_required
@require_POST
def score_import_commit_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    actor = _actor(request)
    exam = _manageable_or_school(actor, exam_id)
    token = request.POST.get("token", "")
    job_id = _import_in_background(actor, exam, token)
    if job_id is not None:
        messages.info(request, "文件较大，已转入后台导入；完成后可在“我的任务”中查看结果。")
        return redirect("jobs:detail", job_id=job_id)
    try:
        outcome = score_import_commit(actor=actor, exam=exam, token=token)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("exams:score_import", exam_id=exam.pk)
    if not outcome.committed:
        context = {
            **_exam_context(actor, exam, "import"),
            "preview": None,
            "plan": outcome.plan,
            "errors": outcome.plan.errors[:ERRORS_SHOWN],
            "more_errors": max(len(outcome.plan.errors) - ERRORS_SHOWN, 0),
            "mode_label": MODES[outcome.plan.mode],
            "failed": True,
        }
        return render(request, "exams/import_preview.html", context, status=400)
    counts = outcome.counts
    assert counts is not None  # noqa: S101 — committed outcomes carry counts
    message = (
        f"导入完成：新增成绩 {counts.created} 个，修改 {counts.updated} 个，"
        f"未变化 {counts.unchanged} 个"
    )
    if counts.item_scores or counts.items_created:
        message += f"；小题得分 {counts.item_scores} 个（新建小题 {counts.items_created} 道）"
    messages.success(request, message + "。")
    return redirect("exams:exam_detail", exam_id=exam.pk)


# --------------------------------------------------------------------------- 口径
@require_perm(Perm.EXAMS_VIEW)
@require_GET
def caliber_list_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    calibers = [
        (caliber, caliber_brief(caliber))
        for caliber in caliber_list(actor=actor, search=request.GET.get("q", ""))
    ]
    context = {
        "presets": [row for row in calibers if row[0].owner_id is None],
        "owned": [row for row in calibers if row[0].owner_id is not None],
        "q": request.GET.get("q", ""),
        "can_create": scope_for(actor).has_perm(Perm.EXAMS_MANAGE),
    }
    return render(request, "exams/caliber_list.html", context)


@login_required
@require_GET
def caliber_detail_view(request: HttpRequest, caliber_id: int) -> HttpResponse:
    actor = _actor(request)
    caliber = caliber_get(actor=actor, caliber_id=caliber_id)
    ensure_perm(actor, Perm.EXAMS_VIEW)
    latest = caliber_latest(caliber=caliber)
    initial = CaliberForm.initial_from(caliber)
    context = {
        "caliber": caliber,
        "latest": latest,
        "is_latest": latest.pk == caliber.pk,
        "versions": caliber_versions(caliber=caliber),
        "summary": initial,
        "brief": caliber_brief(caliber),
        "config_json": json.dumps(caliber.config, ensure_ascii=False, indent=2),
        "can_edit": caliber_can_edit(actor=actor, caliber=caliber) and latest.pk == caliber.pk,
        "can_copy": scope_for(actor).has_perm(Perm.EXAMS_MANAGE),
        "exam_count": exams_using_caliber(actor=actor, caliber=caliber),
    }
    return render(request, "exams/caliber_detail.html", context)


@require_perm(Perm.EXAMS_MANAGE)
@require_http_methods(["GET", "POST"])
def caliber_create_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    owners = exam_owner_options(actor=actor)
    if not owners:
        raise PermissionDenied("您没有可以建立分析口径的单位。")
    source: Caliber | None = None
    source_id = _int_param(request.GET.get("from", ""))
    if source_id:
        source = caliber_get(actor=actor, caliber_id=source_id)
    initial = CaliberForm.initial_from(source)
    if source is not None:
        initial["name"] = f"{source.name}（副本）"
    initial["owner"] = owners[-1].pk
    form = CaliberForm(request.POST or None, owners=owners, initial=initial)
    if request.method == "POST" and form.is_valid():
        owner = next((unit for unit in owners if unit.pk == form.cleaned_data["owner"]), None)
        try:
            if owner is None:
                raise ValidationError({"owner": "请选择所属单位。"})
            caliber = caliber_create(
                actor=actor,
                owner=owner,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                config=form.config,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"已建立分析口径“{caliber.name}”。")
            return redirect("exams:caliber_detail", caliber_id=caliber.pk)
    context = {"form": form, "title": "新建分析口径", "source": source}
    return render(request, "exams/caliber_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def caliber_edit_view(request: HttpRequest, caliber_id: int) -> HttpResponse:
    actor = _actor(request)
    caliber = caliber_get(actor=actor, caliber_id=caliber_id)
    ensure_perm(actor, Perm.EXAMS_VIEW)
    if not caliber_can_edit(actor=actor, caliber=caliber):
        raise PermissionDenied("您无权修改该分析口径。")
    latest = caliber_latest(caliber=caliber)
    if latest.pk != caliber.pk:
        messages.info(request, f"已转到最新的第 {latest.version} 版进行修改。")
        return redirect("exams:caliber_edit", caliber_id=latest.pk)
    form = CaliberForm(request.POST or None, initial=CaliberForm.initial_from(caliber))
    if request.method == "POST" and form.is_valid():
        try:
            revised = caliber_revise(
                actor=actor,
                caliber=caliber,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                config=form.config,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, f"已保存为第 {revised.version} 版；第 {caliber.version} 版仍保留。"
            )
            return redirect("exams:caliber_detail", caliber_id=revised.pk)
    context = {
        "form": form,
        "title": f"修改分析口径：{caliber.name}（将保存为第 {caliber.version + 1} 版）",
        "caliber": caliber,
    }
    return render(request, "exams/caliber_form.html", context)
