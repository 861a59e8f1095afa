"""Error responses: one Chinese ``{"detail": …}`` body for every failure, documented in OpenAPI."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from xiaowu.api.schemas import ErrorOut, ValidationErrorOut

UNAUTHENTICATED = "未认证：请在请求头提供有效的令牌（Authorization: Bearer <令牌>）或先登录。"
FORBIDDEN = "您无权执行此操作。"
NOT_FOUND = "未找到该对象，或您无权查看。"
INVALID = "请求参数不合法。"
BODY_NOT_JSON = "请求体不是有效的 JSON。"
CSRF_FAILED = "CSRF 校验失败：使用登录会话提交时请带上 X-CSRFToken 请求头，或改用令牌认证。"

# Every operation authenticates and validates its parameters.
AUTH_ERRORS: dict[int, Any] = {401: ErrorOut, 422: ValidationErrorOut}
# Operations that look an object up, or check a permission.
DETAIL_ERRORS: dict[int, Any] = {403: ErrorOut, 404: ErrorOut}


def _detail(api: NinjaAPI, request: HttpRequest, message: str, status: int) -> HttpResponse:
    return api.create_response(request, {"detail": message}, status=status)


def service_error_body(
    exc: DjangoValidationError, *, field_names: dict[str, str] | None = None
) -> dict[str, Any]:
    """Return the 422 body for a service's ``ValidationError``: its Chinese messages as
    ``detail`` and one ``errors`` item per message, located at the request body field.

    ``field_names`` maps the service's field names to the request's (e.g. ``to_class`` →
    ``to_class_id``).
    """
    names = field_names or {}
    errors: list[dict[str, Any]] = []
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            loc: list[str] = (
                ["body"] if field == NON_FIELD_ERRORS else ["body", names.get(field, field)]
            )
            errors += [{"loc": loc, "msg": message, "type": "invalid"} for message in messages]
    else:
        errors = [{"loc": ["body"], "msg": message, "type": "invalid"} for message in exc.messages]
    return {"detail": "".join(error["msg"] for error in errors) or INVALID, "errors": errors}


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

    def http_error(request: HttpRequest, exc: object) -> HttpResponse:
        status = exc.status_code if isinstance(exc, HttpError) else 400
        message = exc.message if isinstance(exc, HttpError) else str(exc)
        # ninja's session authentication raises HttpError(403, "CSRF check Failed").
        if status == 403 and message.startswith("CSRF"):
            message = CSRF_FAILED
        # An unparsable request body is invalid input like any other (422, documented).
        if status == 400 and message.startswith("Cannot parse request body"):
            error = {"loc": ["body"], "msg": BODY_NOT_JSON, "type": "json_invalid"}
            return api.create_response(request, {"detail": INVALID, "errors": [error]}, status=422)
        return _detail(api, request, message, status)

    api.add_exception_handler(AuthenticationError, unauthenticated)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(AuthorizationError, forbidden)
    api.add_exception_handler(PermissionDenied, forbidden)
    api.add_exception_handler(Http404, not_found)
    api.add_exception_handler(ValidationError, invalid)
