"""组织机构 and 校历: the org tree, classes, schools and terms in the caller's scope."""

# No ``from __future__ import annotations`` here: ninja reads the parameter annotations of the
# (paginated, i.e. wrapped) view functions at run time.
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate
from ninja.params import P, PathEx

from xiaowu.api.auth import actor_of
from xiaowu.api.pagination import Pagination
from xiaowu.api.queries import api_class_get, api_class_list, api_school_list
from xiaowu.api.responses import AUTH_ERRORS, DETAIL_ERRORS
from xiaowu.api.schemas import (
    MAX_ID,
    ClassFilters,
    ClassOut,
    OrgUnitChildOut,
    OrgUnitFilters,
    OrgUnitOut,
    SchoolFilters,
    SchoolOut,
    TermOut,
)
from xiaowu.org.models import OrgUnit
from xiaowu.org.selectors import (
    org_unit_children,
    org_unit_get,
    org_unit_list,
    term_current,
    term_list,
)

router = Router(tags=["组织机构"])

NOT_FOUND_404 = {404: DETAIL_ERRORS[404]}


UnitId = PathEx[int, P(ge=1, le=MAX_ID, description="机构 id")]
ClassId = PathEx[int, P(ge=1, le=MAX_ID, description="班级 id")]


@router.get(
    "/org-units",
    response={200: list[OrgUnitOut], **AUTH_ERRORS},
    summary="组织机构列表",
    description="调用者范围内启用的组织机构（教育局、学区、学校、处室、级部、教研组、班级…）。",
    operation_id="org_unit_list",
)
@paginate(Pagination)
def org_unit_list_view(request: HttpRequest, filters: Query[OrgUnitFilters]) -> Any:
    return org_unit_list(
        actor=actor_of(request),
        kind=filters.kind or "",
        school_id=filters.school_id,
        under_id=filters.under_id,
        search=filters.search,
    )


@router.get(
    "/org-units/{unit_id}",
    response={200: OrgUnitOut, **AUTH_ERRORS, **NOT_FOUND_404},
    summary="组织机构详情",
    description="范围外的机构答 404。",
    operation_id="org_unit_get",
)
def org_unit_get_view(request: HttpRequest, unit_id: UnitId) -> OrgUnit:
    return org_unit_get(actor=actor_of(request), unit_id=unit_id)


@router.get(
    "/org-units/{unit_id}/children",
    response={200: list[OrgUnitChildOut], **AUTH_ERRORS, **NOT_FOUND_404},
    summary="下级机构",
    description="机构的直接下级（含停用的）；范围外的机构答 404。",
    operation_id="org_unit_children",
)
@paginate(Pagination)
def org_unit_children_view(request: HttpRequest, unit_id: UnitId) -> Any:
    actor = actor_of(request)
    unit = org_unit_get(actor=actor, unit_id=unit_id)
    return org_unit_children(actor=actor, unit=unit)


@router.get(
    "/classes",
    response={200: list[ClassOut], **AUTH_ERRORS},
    summary="班级列表",
    description="调用者范围内启用的班级，含班主任和在校学生数。",
    operation_id="class_list",
)
@paginate(Pagination)
def class_list_view(request: HttpRequest, filters: Query[ClassFilters]) -> Any:
    return api_class_list(
        actor=actor_of(request),
        school_id=filters.school_id,
        grade=filters.grade,
        search=filters.search,
    )


@router.get(
    "/classes/{class_id}",
    response={200: ClassOut, **AUTH_ERRORS, **NOT_FOUND_404},
    summary="班级详情",
    description="不是班级或在范围外时答 404。",
    operation_id="class_get",
)
def class_get_view(request: HttpRequest, class_id: ClassId) -> OrgUnit:
    return api_class_get(actor=actor_of(request), class_id=class_id)


@router.get(
    "/schools",
    response={200: list[SchoolOut], **AUTH_ERRORS},
    summary="学校列表",
    description="调用者范围内启用的学校，含班级数和在校学生数。",
    operation_id="school_list",
)
@paginate(Pagination)
def school_list_view(request: HttpRequest, filters: Query[SchoolFilters]) -> Any:
    return api_school_list(
        actor=actor_of(request), school_type=filters.school_type, search=filters.search
    )


@router.get(
    "/terms",
    response={200: list[TermOut], **AUTH_ERRORS},
    summary="学年学期",
    tags=["校历"],
    description="全部学年学期，最近的在前；`is_current` 标出当前学期。",
    operation_id="term_list",
)
def term_list_view(request: HttpRequest) -> list[TermOut]:
    actor_of(request)
    current = term_current()
    return [
        TermOut(
            id=term.pk,
            name=str(term),
            school_year_id=term.school_year_id,
            school_year_name=term.school_year.name,
            number=term.number,
            start_on=term.start_on,
            end_on=term.end_on,
            is_current=current is not None and term.pk == current.pk,
        )
        for term in term_list()
    ]
