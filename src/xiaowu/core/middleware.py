"""Request-wide middleware that belongs to no domain."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from xiaowu.core.context import RequestMeta, current_request_meta

REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Give every request an id, echoed in the response and stored on audit rows."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = uuid.uuid4().hex  # type: ignore[attr-defined]
        # REMOTE_ADDR only: behind a reverse proxy, the proxy must rewrite it (trusted hop).
        token = current_request_meta.set(
            RequestMeta(ip_address=request.META.get("REMOTE_ADDR"), request_id=request.request_id)  # type: ignore[attr-defined]
        )
        try:
            response = self.get_response(request)
        finally:
            current_request_meta.reset(token)
        response[REQUEST_ID_HEADER] = request.request_id  # type: ignore[attr-defined]
        return response


class NoStoreMiddleware:
    """Forbid caching of every authenticated response: they may carry personal data (PRIV-11)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = "no-store"
        return response
