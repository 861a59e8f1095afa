"""Helpers shared by the API tests."""

from __future__ import annotations

import re
from typing import Any

# A full mainland mobile number anywhere in a response body.
FULL_MOBILE = re.compile(r"\b1[3-9]\d{9}\b")
# Stricter, for bodies with personal records: no word boundary needed, and a full 18-character
# ID number (also inside a 全国学籍号 such as G620102…).
ANY_MOBILE = re.compile(r"1[3-9]\d{9}")
FULL_ID_NUMBER = re.compile(r"\d{17}[\dX]")


def assert_no_full_numbers(body: str) -> None:
    """Fail when a response body contains an unmasked ID or mobile number."""
    assert not FULL_ID_NUMBER.search(body), body
    assert not ANY_MOBILE.search(body), body


def ids(response: Any) -> set[int]:
    """Return the ids of a (paginated or plain) list response."""
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    return {item["id"] for item in items}


def items(response: Any) -> list[dict[str, Any]]:
    body = response.json()
    result: list[dict[str, Any]] = body["items"]
    return result
