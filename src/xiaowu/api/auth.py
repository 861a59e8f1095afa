"""Authentication for the REST API: bearer tokens (stored as SHA-256 digests) or the session."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
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


# Token first; otherwise the browser session (ninja's ``django_auth`` checks CSRF on writes).
api_auth = [TokenAuth(), django_auth]


def actor_of(request: HttpRequest) -> User:
    """Return the authenticated user of an API request (authentication has already run)."""
    user = request.user
    if not isinstance(user, User) or not user.is_active:  # pragma: no cover - defence in depth
        raise PermissionDenied
    return user
