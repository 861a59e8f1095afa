"""AUTHZ-01/02/03: every HTML route, every role, including ids from other schools.

``ACCESS`` is the expected-access matrix, merged from one module per domain in
``tests/access/``. ``test_every_route_is_covered`` fails when a route exists that the matrix
does not cover, so a new page cannot ship without a permission test. The REST API has its own
scoping tests in ``xiaowu/api/tests``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from conftest import World
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.access import (
    exam_analysis,
    exams,
    exchange,
    foundation,
    jobs,
    reports,
    staff,
    students,
)
from tests.access.common import EVERYONE, Route
from xiaowu.accounts.models import RoleAssignment

pytestmark = pytest.mark.django_db

ACCESS: dict[str, Route] = {
    **foundation.ACCESS,
    **students.ACCESS,
    **staff.ACCESS,
    **exchange.ACCESS,
    **reports.ACCESS,
    **jobs.ACCESS,
    **exam_analysis.ACCESS,
    **exams.ACCESS,
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


UNIT_ROUTES = [
    "org:unit_detail",
    "org:unit_children",
    "org:unit_update",
    "org:unit_create",
    "org:school_rollover",
]
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
