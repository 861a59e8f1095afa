"""Shared vocabulary of the URL-permission matrix: actor groups and the Route record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conftest import ROLE_USERS, World

EVERYONE = [*ROLE_USERS]
LEADERS = ["admin", "bureau", "district", "principal"]  # hold *.manage inside the first school
VIEWERS = [*LEADERS, "vice", "office", "gradehead", "research"]  # hold accounts.view there
IN_FIRST_SCHOOL = [*VIEWERS, "headteacher", "teacher", "duty"]  # org scope covers the first school
OUTSIDERS = ["teacher2", "principal2"]  # scope elsewhere: ids from the first school are 404
ANON_LOGIN = {"anonymous": 302}


@dataclass
class Route:
    method: str
    kwargs: Callable[[World], dict[str, Any]] = lambda w: {}
    # username → expected status; "anonymous" for no login. Missing users get ``other``.
    expect: dict[str, int] = field(default_factory=dict)
    other: int = 403
    data: dict[str, Any] = field(default_factory=dict)


def expect(*pairs: tuple[list[str], int]) -> dict[str, int]:
    """Build {username: status} from ([users], status) pairs."""
    result: dict[str, int] = {}
    for users, status in pairs:
        for user in users:
            result[user] = status
    return result
