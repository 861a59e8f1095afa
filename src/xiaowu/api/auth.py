"""Bearer-token authentication for the REST API (tokens are stored as SHA-256 digests)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, django_auth

from xiaowu.accounts.models import ApiToken, User, token_digest


class TokenAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        row = ApiToken.objects.select_related("user").filter(digest=token_digest(token)).first()
        if row is None or not row.is_usable() or not row.user.is_active:
            return None
        now = timezone.now()
        # Record use at most once a minute, to keep reads from turning into writes.
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


def session_auth(request: HttpRequest) -> Any:
    """Session authentication (with CSRF) for calls from the browser UI."""
    return django_auth(request)


api_auth = [TokenAuth(), django_auth]
