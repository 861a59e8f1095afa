"""账号: the current user and the accounts in the caller's scope."""

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
from xiaowu.api.queries import api_user_get, api_user_list, me_role_assignments
from xiaowu.api.responses import AUTH_ERRORS, DETAIL_ERRORS
from xiaowu.api.schemas import (
    MAX_ID,
    MeOut,
    UserFilters,
    UserOut,
    masked_mobile,
)

router = Router(tags=["账号"])

NO_ACCOUNTS_VIEW = "您无权查看账号。"

UserId = PathEx[int, P(ge=1, le=MAX_ID, description="用户 id")]


def _require_accounts_view(actor: User) -> None:
    if not scope_for(actor).has_perm(Perm.ACCOUNTS_VIEW):
        raise PermissionDenied(NO_ACCOUNTS_VIEW)


@router.get(
    "/me",
    response={200: MeOut, **AUTH_ERRORS},
    summary="当前用户",
    description="当前登录用户、其当前有效的角色（角色代码、名称、任职机构）和权限。",
    operation_id="me",
)
def me_view(request: HttpRequest) -> dict[str, Any]:
    actor = actor_of(request)
    scope = scope_for(actor)
    return {
        "id": actor.pk,
        "username": actor.username,
        "full_name": actor.full_name,
        "mobile": masked_mobile(actor),
        "roles": me_role_assignments(actor=actor),
        # A global administrator holds every permission, whatever their role assignments.
        "permissions": sorted(Perm if scope.is_global else scope.perms),
    }


@router.get(
    "/users",
    response={200: list[UserOut], **AUTH_ERRORS, 403: DETAIL_ERRORS[403]},
    summary="用户列表",
    description=(
        "调用者范围内的账号（需要“查看账号”权限，否则 403）。手机号始终脱敏；"
        "只列出调用者范围内可见的角色分配。"
    ),
    operation_id="user_list",
)
@paginate(Pagination)
def user_list_view(request: HttpRequest, filters: Query[UserFilters]) -> Any:
    actor = actor_of(request)
    _require_accounts_view(actor)
    return api_user_list(
        actor=actor,
        search=filters.search,
        role=filters.role or "",
        unit_id=filters.unit_id,
    )


@router.get(
    "/users/{user_id}",
    response={200: UserOut, **AUTH_ERRORS, **DETAIL_ERRORS},
    summary="用户详情",
    description="范围外的账号答 404；范围内但调用者没有“查看账号”权限时答 403。手机号始终脱敏。",
    operation_id="user_get",
)
def user_get_view(
    request: HttpRequest,
    user_id: UserId,
) -> User:
    actor = actor_of(request)
    # Scope first: an account outside the caller's scope is 404 whatever their permissions.
    user = api_user_get(actor=actor, user_id=user_id)
    _require_accounts_view(actor)
    return user
