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
