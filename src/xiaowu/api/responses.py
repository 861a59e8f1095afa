"""Error responses: one Chinese ``{"detail": …}`` body for every failure, documented in OpenAPI."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, ValidationError

from xiaowu.api.schemas import ErrorOut, ValidationErrorOut

UNAUTHENTICATED = "未认证：请在请求头提供有效的令牌（Authorization: Bearer <令牌>）或先登录。"
FORBIDDEN = "您无权执行此操作。"
NOT_FOUND = "未找到该对象，或您无权查看。"
INVALID = "请求参数不合法。"

# Every operation authenticates and validates its parameters.
AUTH_ERRORS: dict[int, Any] = {401: ErrorOut, 422: ValidationErrorOut}
# Operations that look an object up, or check a permission.
DETAIL_ERRORS: dict[int, Any] = {403: ErrorOut, 404: ErrorOut}


def _detail(api: NinjaAPI, request: HttpRequest, message: str, status: int) -> HttpResponse:
    return api.create_response(request, {"detail": message}, status=status)


def install_error_handlers(api: NinjaAPI) -> None:
    """Replace ninja's English defaults, and turn Django's 403/404 exceptions into JSON."""

    def unauthenticated(request: HttpRequest, exc: object) -> HttpResponse:
        response = _detail(api, request, UNAUTHENTICATED, 401)
        response["WWW-Authenticate"] = "Bearer"
        return response

    def forbidden(request: HttpRequest, exc: object) -> HttpResponse:
        message = str(exc) if isinstance(exc, PermissionDenied) and str(exc) else FORBIDDEN
        return _detail(api, request, message, 403)

    def not_found(request: HttpRequest, exc: object) -> HttpResponse:
        return _detail(api, request, NOT_FOUND, 404)

    def invalid(request: HttpRequest, exc: object) -> HttpResponse:
        raw = exc.errors if isinstance(exc, ValidationError) else []
        errors = [
            {
                "loc": list(error.get("loc", ())),
                "msg": str(error.get("msg", "")),
                "type": str(error.get("type", "")),
            }
            for error in raw
        ]
        return api.create_response(request, {"detail": INVALID, "errors": errors}, status=422)

    api.add_exception_handler(AuthenticationError, unauthenticated)
    api.add_exception_handler(AuthorizationError, forbidden)
    api.add_exception_handler(PermissionDenied, forbidden)
    api.add_exception_handler(Http404, not_found)
    api.add_exception_handler(ValidationError, invalid)
