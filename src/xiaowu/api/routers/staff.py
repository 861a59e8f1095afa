"""教职工: staff files and teaching assignments in the caller's organisational scope."""

# No ``from __future__ import annotations`` here: ninja reads the parameter annotations of the
# (paginated, i.e. wrapped) view functions at run time.
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate
from ninja.params import P, PathEx

from xiaowu.accounts.models import User
from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import scope_for
from xiaowu.api.auth import actor_of
from xiaowu.api.pagination import Pagination
from xiaowu.api.queries import api_staff_get, api_staff_list, api_teaching_assignment_list
from xiaowu.api.responses import AUTH_ERRORS, DETAIL_ERRORS
from xiaowu.api.schemas import (
    MAX_ID,
    StaffDetailOut,
    StaffFilters,
    StaffOut,
    TeachingAssignmentFilters,
    TeachingAssignmentOut,
)
from xiaowu.staff.models import StaffMember

router = Router(tags=["教职工"])

NO_STAFF_VIEW = "您无权查看教职工档案。"

StaffId = PathEx[int, P(ge=1, le=MAX_ID, description="教职工 id")]


def _require_staff_view(actor: User) -> None:
    if not scope_for(actor).has_perm(Perm.STAFF_VIEW):
        raise PermissionDenied(NO_STAFF_VIEW)


@router.get(
    "/staff",
    response={200: list[StaffOut], **AUTH_ERRORS, 403: DETAIL_ERRORS[403]},
    summary="教职工列表",
    description=(
        "调用者范围内的教职工档案（需要“查看教职工”权限，否则 403）。身份证号和手机号始终脱敏。"
    ),
    operation_id="staff_list",
)
@paginate(Pagination)
def staff_list_view(request: HttpRequest, filters: Query[StaffFilters]) -> Any:
    actor = actor_of(request)
    _require_staff_view(actor)
    return api_staff_list(
        actor=actor,
        search=filters.search,
        unit_id=filters.unit_id,
        status=filters.status or "",
        post_category=filters.post_category or "",
        subject=filters.subject,
    )


@router.get(
    "/staff/{staff_id}",
    response={200: StaffDetailOut, **AUTH_ERRORS, **DETAIL_ERRORS},
    summary="教职工详情",
    description=(
        "教职工档案，含人事状态（借调、长病假……）的起止日期和荣誉称号。范围外的答 404；"
        "范围内但调用者没有“查看教职工”权限时答 403。身份证号和手机号始终脱敏。"
    ),
    operation_id="staff_get",
)
def staff_get_view(request: HttpRequest, staff_id: StaffId) -> StaffMember:
    actor = actor_of(request)
    # Scope first: a staff member outside the caller's scope is 404 whatever the permission.
    staff = api_staff_get(actor=actor, staff_id=staff_id)
    _require_staff_view(actor)
    return staff


@router.get(
    "/teaching-assignments",
    response={200: list[TeachingAssignmentOut], **AUTH_ERRORS},
    summary="任课安排",
    description=(
        "调用者范围内的任课安排（教师 × 班级 × 学科 × 学期；班主任一行不含学科），"
        "当前学期在前。可按学期、班级、教职工、学校筛选。"
    ),
    operation_id="teaching_assignment_list",
)
@paginate(Pagination)
def teaching_assignment_list_view(
    request: HttpRequest, filters: Query[TeachingAssignmentFilters]
) -> Any:
    return api_teaching_assignment_list(
        actor=actor_of(request),
        term_id=filters.term_id,
        class_id=filters.class_id,
        staff_id=filters.staff_id,
        school_id=filters.school_id,
    )
