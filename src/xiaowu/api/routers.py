"""API endpoints, grouped by domain."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from xiaowu.accounts.models import User
from xiaowu.accounts.scoping import scope_for

router = Router()


class MeOut(Schema):
    id: int
    username: str
    full_name: str
    roles: list[str]


@router.get("/me", response=MeOut, tags=["账号"], summary="当前用户")
def me(request: HttpRequest) -> MeOut:
    user: User = request.user  # type: ignore[assignment]
    return MeOut(
        id=user.pk,
        username=user.username,
        full_name=user.full_name,
        roles=sorted(scope_for(user).roles()),
    )
