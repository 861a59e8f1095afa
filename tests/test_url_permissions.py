"""AUTHZ-01/02/03: every HTML route, every role, including ids from other schools.

``ACCESS`` is the expected-access matrix. ``test_every_route_is_covered`` fails when a route
exists that the matrix does not cover, so a new page cannot ship without a permission test.
The REST API has its own scoping tests in ``xiaowu/api/tests``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import ROLE_USERS, World
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from xiaowu.accounts.models import RoleAssignment
from xiaowu.accounts.services import api_token_create
from xiaowu.org.models import AllianceKind
from xiaowu.org.services import school_alliance_create

pytestmark = pytest.mark.django_db

EVERYONE = [*ROLE_USERS]
LEADERS = ["admin", "bureau", "district", "principal"]  # hold *.manage inside the first school
VIEWERS = [*LEADERS, "vice", "office", "gradehead", "research"]  # hold accounts.view there
IN_FIRST_SCHOOL = [*VIEWERS, "headteacher", "teacher", "duty"]  # org scope covers the first school
OUTSIDERS = ["teacher2", "principal2"]  # scope elsewhere: ids from the first school are 404


@dataclass
class Route:
    method: str
    kwargs: Callable[[World], dict[str, Any]] = lambda w: {}
    # username → expected status; "anonymous" for no login. Missing users default to ``other``.
    expect: dict[str, int] = field(default_factory=dict)
    other: int = 403
    data: dict[str, Any] = field(default_factory=dict)


def expect(*pairs: tuple[list[str], int]) -> dict[str, int]:
    result: dict[str, int] = {}
    for users, status in pairs:
        for user in users:
            result[user] = status
    return result


def _first_teacher_id(w: World) -> dict[str, Any]:
    return {"user_id": w.users["teacher"].pk}


def _teacher_assignment(w: World) -> dict[str, Any]:
    assignment = RoleAssignment.objects.get(user=w.users["teacher"])
    return {"assignment_id": assignment.pk}


def _principal_token(w: World) -> dict[str, Any]:
    token, _raw = api_token_create(actor=w.users["principal"], name="脚本")
    return {"token_id": token.pk}


def _alliance(w: World) -> dict[str, Any]:
    alliance = school_alliance_create(
        actor=w.users["admin"],
        owner=w.district,
        code="A1",
        name="青石大学区",
        kind=AllianceKind.DISTRICT_ALLIANCE,
        lead_school=w.school,
        members=[w.school_b],
    )
    return {"alliance_id": alliance.pk}


ANON_LOGIN = {"anonymous": 302}

ACCESS: dict[str, Route] = {
    "healthz": Route("get", expect={"anonymous": 200}, other=200),
    "dashboard:home": Route("get", expect=ANON_LOGIN, other=200),
    "accounts:login": Route("get", expect={"anonymous": 200}, other=302),
    "accounts:logout": Route("post", expect={"anonymous": 302}, other=302),
    "accounts:profile": Route("get", expect=ANON_LOGIN, other=200),
    "accounts:password_change": Route("get", expect=ANON_LOGIN, other=200),
    "accounts:api_token_revoke": Route(
        "post", _principal_token, expect={**ANON_LOGIN, "principal": 302}, other=404
    ),
    "accounts:user_list": Route(
        "get", expect={**ANON_LOGIN, **expect((VIEWERS, 200), (["principal2"], 200))}
    ),
    "accounts:user_create": Route(
        "get", expect={**ANON_LOGIN, **expect((LEADERS, 200), (["principal2"], 200))}
    ),
    "accounts:user_detail": Route(
        "get",
        _first_teacher_id,
        expect={**ANON_LOGIN, **expect((VIEWERS, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "accounts:user_update": Route(
        "get",
        _first_teacher_id,
        expect={**ANON_LOGIN, **expect((LEADERS, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "accounts:user_password_reset": Route(
        "get",
        _first_teacher_id,
        expect={**ANON_LOGIN, **expect((LEADERS, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "accounts:role_assign": Route(
        "get",
        _first_teacher_id,
        expect={**ANON_LOGIN, **expect((LEADERS, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "accounts:user_mobile_unmask": Route(
        "post",
        _first_teacher_id,
        expect={**ANON_LOGIN, **expect((LEADERS, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "accounts:role_revoke": Route(
        "post",
        _teacher_assignment,
        expect={**ANON_LOGIN, **expect((LEADERS, 302), (["parent", *OUTSIDERS], 404))},
    ),
    "org:tree": Route("get", expect={**ANON_LOGIN, "parent": 403}, other=200),
    "org:school_list": Route("get", expect={**ANON_LOGIN, "parent": 403}, other=200),
    "org:class_list": Route("get", expect={**ANON_LOGIN, "parent": 403}, other=200),
    "org:alliance_list": Route("get", expect={**ANON_LOGIN, "parent": 403}, other=200),
    "org:term_list": Route("get", expect={**ANON_LOGIN, "parent": 403}, other=200),
    "org:unit_detail": Route(
        "get",
        lambda w: {"unit_id": w.class_a.pk},
        expect={**ANON_LOGIN, **expect((IN_FIRST_SCHOOL, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "org:unit_children": Route(
        "get",
        lambda w: {"unit_id": w.school.pk},
        expect={**ANON_LOGIN, **expect((IN_FIRST_SCHOOL, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "org:unit_update": Route(
        "get",
        lambda w: {"unit_id": w.class_a.pk},
        expect={**ANON_LOGIN, **expect((LEADERS, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "org:unit_create": Route(
        "get",
        lambda w: {"parent_id": w.school.pk},
        expect={**ANON_LOGIN, **expect((LEADERS, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "org:alliance_detail": Route(
        "get",
        _alliance,
        expect={**ANON_LOGIN, **expect((IN_FIRST_SCHOOL, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "audit:event_list": Route(
        "get", expect={**ANON_LOGIN, **expect((LEADERS, 200), (["principal2"], 200))}
    ),
}


def _walk(
    resolver: URLResolver, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            full_ns = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else ns
            yield from _walk(entry, prefix + str(entry.pattern), full_ns or "")
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or "")
            yield prefix + str(entry.pattern), name


def html_routes() -> list[tuple[str, str]]:
    return [(path, name) for path, name in _walk(get_resolver()) if not path.startswith("api/")]


def test_every_route_is_covered() -> None:
    """A route without an entry in ACCESS fails the suite (AUTHZ-01)."""
    routes = html_routes()
    unnamed = [path for path, name in routes if not name]
    missing = sorted(name for _path, name in routes if name and name not in ACCESS)
    stale = sorted(set(ACCESS) - {name for _path, name in routes})
    assert unnamed == []
    assert missing == []
    assert stale == []


CASES = [(name, user) for name in ACCESS for user in ["anonymous", *EVERYONE]]


@pytest.mark.parametrize(("url_name", "username"), CASES)
def test_route_access(
    world: World, client_for: Callable[[str], Client], url_name: str, username: str
) -> None:
    route = ACCESS[url_name]
    url = reverse(url_name, kwargs=route.kwargs(world))
    client = Client() if username == "anonymous" else client_for(username)
    response = getattr(client, route.method)(url, route.data)
    expected = route.expect.get(username, route.other)
    assert response.status_code == expected, f"{username} {route.method.upper()} {url}"


UNIT_ROUTES = ["org:unit_detail", "org:unit_children", "org:unit_update", "org:unit_create"]
USER_ROUTES = [
    "accounts:user_detail",
    "accounts:user_update",
    "accounts:user_password_reset",
    "accounts:role_assign",
    "accounts:user_mobile_unmask",
]


@pytest.mark.parametrize("username", ["teacher2", "principal2", "parent"])
def test_every_first_school_id_is_404_outside_scope(
    world: World, client_for: Callable[[str], Client], username: str
) -> None:
    """AUTHZ-02: any id from the first school, on any id-bearing page, answers 404."""
    client = client_for(username)
    unit_ids = list(
        world.school.school_units.values_list("pk", flat=True)  # the school and every unit in it
    )
    user_ids = list(
        RoleAssignment.objects.filter(org_unit__school=world.school)
        .exclude(user__username=username)
        .values_list("user_id", flat=True)
    )
    assignment_ids = list(
        RoleAssignment.objects.filter(org_unit__school=world.school)
        .exclude(user__username=username)
        .values_list("pk", flat=True)
    )
    answers: set[int] = set()
    for name in UNIT_ROUTES:
        kwarg = "parent_id" if name == "org:unit_create" else "unit_id"
        for unit_id in unit_ids:
            answers.add(client.get(reverse(name, kwargs={kwarg: unit_id})).status_code)
    for name in USER_ROUTES:
        method = ACCESS[name].method
        for user_id in user_ids:
            answers.add(
                getattr(client, method)(reverse(name, kwargs={"user_id": user_id})).status_code
            )
    for assignment_id in assignment_ids:
        answers.add(
            client.post(
                reverse("accounts:role_revoke", kwargs={"assignment_id": assignment_id})
            ).status_code
        )
    assert len(unit_ids) == 6
    assert answers == {404}
    assert RoleAssignment.objects.filter(pk__in=assignment_ids).count() == len(assignment_ids)
