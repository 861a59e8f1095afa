"""Fixtures for the API tests: bearer tokens and a GET helper for the world's users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from xiaowu.accounts.services import api_token_create

ApiGet = Callable[..., Any]


@pytest.fixture
def token_for(world) -> Callable[[str], str]:
    """Return a function creating a raw bearer token for one of the world's users."""

    def make(username: str) -> str:
        _token, raw = api_token_create(actor=world.users[username], name=f"{username}-test")
        return raw

    return make


@pytest.fixture
def api_get(token_for) -> ApiGet:
    """Return ``get(username, path, **query)``: a GET with that user's bearer token."""
    tokens: dict[str, str] = {}
    client = Client()

    def get(username: str, path: str, **query: Any) -> Any:
        if username not in tokens:
            tokens[username] = token_for(username)
        return client.get(path, query, HTTP_AUTHORIZATION=f"Bearer {tokens[username]}")

    return get
