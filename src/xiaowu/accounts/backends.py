"""Log in by username or by mobile number."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db.models import Q
from django.http import HttpRequest

from xiaowu.accounts.models import User
from xiaowu.core.identifiers import mobile_is_valid, normalise_mobile


class UsernameOrMobileBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or not password:
            return None
        login = username.strip()
        mobile = normalise_mobile(login)
        condition = Q(username__iexact=login)
        if mobile_is_valid(mobile):
            condition |= Q(mobile=mobile)
        user = User.objects.filter(condition).first()
        if user is None:
            # Run the hasher anyway so that unknown accounts take as long as wrong passwords.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
