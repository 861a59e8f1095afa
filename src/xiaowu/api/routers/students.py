"""学籍: students, guardians and status changes (异动) in the caller's record scope.

Students are relationship-scoped (security.md AUTHZ-04): a 班主任 or 任课教师 sees the students
of their classes, a 级部主任 those of the grade, a 校长 those of the school, a 家长 only their
own children. Every read starts from the selectors in ``students.selectors``.
"""

# No ``from __future__ import annotations`` here: ninja reads the parameter annotations of the
# (paginated, i.e. wrapped) view functions at run time.
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate
from ninja.params import P, PathEx

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import scope_for
from xiaowu.api.auth import actor_of
from xiaowu.api.pagination import Pagination
from xiaowu.api.queries import (
    api_guardian_get,
    api_guardian_list,
    api_status_change_list,
    api_student_list,
    api_unit_for_status_change,
    open_membership_start,
)
from xiaowu.api.responses import AUTH_ERRORS, DETAIL_ERRORS, service_error_body
from xiaowu.api.schemas import (
    MAX_ID,
    GuardianFilters,
    GuardianOut,
    StatusChangeFilters,
    StatusChangeIn,
    StatusChangeOut,
    StudentFilters,
    StudentGuardianOut,
    StudentOut,
)
from xiaowu.students.models import Guardian, Guardianship, StatusChange, Student
from xiaowu.students.selectors import student_get, student_guardianships, student_history
from xiaowu.students.services import status_change_record

router = Router(tags=["学籍"])

NO_STUDENTS_MANAGE = "您无权管理学籍。"
NOT_FOUND_404 = {404: DETAIL_ERRORS[404]}
# Service field names that differ from the request's.
SERVICE_FIELDS = {"to_class": "to_class_id"}

StudentId = PathEx[int, P(ge=1, le=MAX_ID, description="学生 id")]
GuardianId = PathEx[int, P(ge=1, le=MAX_ID, description="监护人 id")]


@router.get(
    "/students",
    response={200: list[StudentOut], **AUTH_ERRORS, 403: DETAIL_ERRORS[403]},
    summary="学生列表",
    description=(
        "调用者可见的学生（班主任、任课教师：所任班级；级部主任：本级部；校长等：全校；家长："
        "自己的子女）。身份证件号、全国学籍号始终脱敏；特殊群体字段仅对有“学籍管理”或"
        "“查看完整个人信息”权限的调用者返回，否则为 null。"
    ),
    operation_id="student_list",
)
@paginate(Pagination)
def student_list_view(request: HttpRequest, filters: Query[StudentFilters]) -> Any:
    return api_student_list(
        actor=actor_of(request),
        search=filters.search,
        school_id=filters.school_id,
        class_id=filters.class_id,
        grade=filters.grade,
        status=filters.status or "",
        groups=list(filters.group),
    )


@router.get(
    "/students/{student_id}",
    response={200: StudentOut, **AUTH_ERRORS, **NOT_FOUND_404},
    summary="学生详情",
    description="全国学籍信息模板的字段。调用者不可见的学生答 404。",
    operation_id="student_get",
)
def student_get_view(request: HttpRequest, student_id: StudentId) -> Student:
    return student_get(actor=actor_of(request), student_id=student_id)


@router.get(
    "/students/{student_id}/status-changes",
    response={200: list[StatusChangeOut], **AUTH_ERRORS, **NOT_FOUND_404},
    summary="学生的学籍异动",
    description="该生的全部异动（入学、转入、转出、休学、复学、调班……），早的在前。",
    operation_id="student_status_changes",
)
def student_status_changes_view(request: HttpRequest, student_id: StudentId) -> list[StatusChange]:
    student = student_get(actor=actor_of(request), student_id=student_id)
    return student_history(student=student)


@router.get(
    "/students/{student_id}/guardians",
    response={200: list[StudentGuardianOut], **AUTH_ERRORS, **NOT_FOUND_404},
    summary="学生的监护人",
    description="该生的监护人及关系。联系电话和身份证件号始终脱敏。",
    operation_id="student_guardians",
)
def student_guardians_view(request: HttpRequest, student_id: StudentId) -> list[Guardianship]:
    student = student_get(actor=actor_of(request), student_id=student_id)
    return student_guardianships(student=student)


@router.post(
    "/students/{student_id}/status-changes",
    response={201: StatusChangeOut, **AUTH_ERRORS, **DETAIL_ERRORS},
    summary="办理学籍异动",
    description=(
        "登记一次异动（转入、转出、休学、复学、留级、跳级、调班、辍学、毕业、死亡），同时更新"
        "在班记录和学生的当前学校、班级、学籍状态，并写审计日志。需要“学籍管理”权限（否则 "
        "403）；调用者不可见的学生或班级答 404；不符合异动规则（如学籍状态不允许、日期早于"
        "最近一次异动、班级不属于该校）答 422，`detail` 为中文说明，`errors` 逐项列出；出错时"
        "不写入任何数据。用登录会话调用时须带 CSRF 令牌（X-CSRFToken），令牌认证不需要。"
    ),
    operation_id="student_status_change_create",
)
def status_change_create_view(
    request: HttpRequest, student_id: StudentId, payload: StatusChangeIn
) -> tuple[int, Any]:
    actor = actor_of(request)
    # Scope first: a student or class outside the caller's scope is 404 whatever the permission.
    student = student_get(actor=actor, student_id=student_id)
    to_class = (
        api_unit_for_status_change(actor=actor, unit_id=payload.to_class_id)
        if payload.to_class_id is not None
        else None
    )
    if not scope_for(actor).has_perm(Perm.STUDENTS_MANAGE):
        raise PermissionDenied(NO_STUDENTS_MANAGE)
    # Guard against history whose class membership began after the requested date (e.g.
    # imported without an 入学 event): the service would try to close the membership before it
    # began, which the database refuses. TODO(students): move this check into the service.
    started = open_membership_start(student=student)
    if started is not None and payload.effective_on < started:
        error = DjangoValidationError(
            {"effective_on": f"异动日期不能早于该生进入现班级的日期（{started:%Y-%m-%d}）。"}
        )
        return 422, service_error_body(error)
    try:
        event = status_change_record(
            actor=actor,
            student=student,
            kind=payload.kind,
            effective_on=payload.effective_on,
            to_class=to_class,
            reason=payload.reason,
            counterpart=payload.counterpart,
            document_number=payload.document_number,
            note=payload.note,
        )
    except DjangoValidationError as exc:
        return 422, service_error_body(exc, field_names=SERVICE_FIELDS)
    # The caller's own new record (a 转入 may move the student out of their sight).
    return 201, event


@router.get(
    "/status-changes",
    response={200: list[StatusChangeOut], **AUTH_ERRORS},
    summary="学籍异动列表",
    description="调用者可见学生的异动，新的在前。可按学校、类型和日期范围（含两端）筛选。",
    operation_id="status_change_list",
)
@paginate(Pagination)
def status_change_list_view(request: HttpRequest, filters: Query[StatusChangeFilters]) -> Any:
    return api_status_change_list(
        actor=actor_of(request),
        school_id=filters.school_id,
        kind=filters.kind or "",
        start_on=filters.start_on,
        end_on=filters.end_on,
    )


@router.get(
    "/guardians",
    response={200: list[GuardianOut], **AUTH_ERRORS},
    summary="监护人列表",
    description=(
        "调用者可见学生的监护人（家长：本人及子女的其他监护人），每人只列出调用者可见的子女。"
        "联系电话和身份证件号始终脱敏。"
    ),
    operation_id="guardian_list",
)
@paginate(Pagination)
def guardian_list_view(request: HttpRequest, filters: Query[GuardianFilters]) -> Any:
    return api_guardian_list(actor=actor_of(request), search=filters.search)


@router.get(
    "/guardians/{guardian_id}",
    response={200: GuardianOut, **AUTH_ERRORS, **NOT_FOUND_404},
    summary="监护人详情",
    description="调用者不可见的监护人答 404。",
    operation_id="guardian_get",
)
def guardian_get_view(request: HttpRequest, guardian_id: GuardianId) -> Guardian:
    return api_guardian_get(actor=actor_of(request), guardian_id=guardian_id)
