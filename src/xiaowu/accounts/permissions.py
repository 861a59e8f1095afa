"""View decorators for coarse permission checks. Fine-grained rules live in services."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import scope_for

View = TypeVar("View", bound=Callable[..., HttpResponse])


def require_perm(perm: Perm) -> Callable[[View], View]:
    """Require a signed-in user holding ``perm`` somewhere in their scope (else login / 403)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not scope_for(request.user).has_perm(perm):
                raise PermissionDenied("您没有访问此页面的权限。")
            return view(request, *args, **kwargs)

        wrapper.required_perm = perm  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def ensure_perm(user: object, perm: Perm) -> None:
    """Raise PermissionDenied unless ``user`` holds ``perm`` somewhere in their scope.

    Views that take an id look the object up through its scoped selector first (so an id
    outside the user's scope answers 404) and only then call this (in-scope but not
    permitted answers 403).
    """
    if not scope_for(user).has_perm(perm):  # type: ignore[arg-type]
        raise PermissionDenied("您没有访问此页面的权限。")
