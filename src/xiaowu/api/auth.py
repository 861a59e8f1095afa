"""Authentication for the REST API: bearer tokens (stored as SHA-256 digests) or the session."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

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


class LoggedInSessionAuth(SessionAuth):
    """The browser session, with ninja's CSRF check on unsafe methods.

    Without a logged-in session the request is simply unauthenticated (401), instead of
    failing the CSRF check first (which would answer 403 to an anonymous POST).
    """

    def _get_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = request.user
        return user if isinstance(user, User) and user.is_active else None


# Token first; otherwise the browser session (which checks CSRF on writes; a bearer token
# needs no CSRF token, as a browser never sends it by itself).
api_auth = [TokenAuth(), LoggedInSessionAuth()]


def actor_of(request: HttpRequest) -> User:
    """Return the authenticated user of an API request (authentication has already run)."""
    user = request.user
    if not isinstance(user, User) or not user.is_active:  # pragma: no cover - defence in depth
        raise PermissionDenied
    return user
