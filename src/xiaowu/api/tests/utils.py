"""Helpers shared by the API tests."""

from __future__ import annotations

import re
from typing import Any

# A full mainland mobile number anywhere in a response body.
FULL_MOBILE = re.compile(r"\b1[3-9]\d{9}\b")


def ids(response: Any) -> set[int]:
    """Return the ids of a (paginated or plain) list response."""
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    return {item["id"] for item in items}


def items(response: Any) -> list[dict[str, Any]]:
    body = response.json()
    result: list[dict[str, Any]] = body["items"]
    return result
