"""Absolute session lifetime on top of the sliding idle timeout (security.md AUTHN-05)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

SESSION_LOGIN_AT = "xiaowu_login_at"


class SessionLifetimeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and hasattr(request, "session"):
            login_at = request.session.get(SESSION_LOGIN_AT)
            limit = settings.XIAOWU_SESSION_ABSOLUTE_SECONDS
            if login_at is None or time.time() - float(login_at) > limit:
                logout(request)
                if not request.path.startswith("/api/"):
                    messages.info(request, "登录已超过有效期，请重新登录。")
                    return redirect(settings.LOGIN_URL)
        return self.get_response(request)
