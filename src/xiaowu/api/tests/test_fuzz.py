"""Schemathesis over the OpenAPI schema, in process (security.md INP-10).

Every operation is called with generated valid and invalid parameters as a 学区领导 (bearer
token); no call may answer 5xx and every documented response must match its schema.
Examples are capped per operation so that the run stays short enough for the default suite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from xiaowu.org.models import OrgUnit, UnitKind
from xiaowu.students.models import ClassMembership, Student, StudentStatus

MAX_EXAMPLES = 25
# Operations whose items (or whose one object) are org units.
UNIT_PATHS = {
    "/api/org-units",
    "/api/org-units/{unit_id}",
    "/api/org-units/{unit_id}/children",
    "/api/classes",
    "/api/classes/{class_id}",
    "/api/schools",
}


@pytest.fixture
def _keep_test_transaction() -> Iterator[None]:
    """Keep the test's database connection open across the in-process WSGI calls.

    The calls run in this thread on the test's connection, inside the transaction of the
    ``db`` fixture (through ``world``), so they see the test data. Django closes "old"
    connections when a request finishes, which inside that transaction would abort it; Django's
    own test client disconnects the handler in the same way. Both signals matter: at
    ``request_started`` the handler sees the test transaction's autocommit state and closes the
    connection — harmless for SQLite's in-memory test database, fatal on PostgreSQL.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def district_token(world, token_for: Callable[[str], str]) -> str:
    return token_for("district")


@pytest.fixture
def foreign_unit_ids(world) -> set[int]:
    """The units of the other 学区, which the 学区领导 of 青石学区 must never receive."""
    return set(OrgUnit.objects.under({world.other_district.pk}).values_list("pk", flat=True))


def _unit_ids(body: object) -> set[int]:
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        return {item["id"] for item in body["items"]}
    if isinstance(body, dict) and "id" in body:
        return {body["id"]}
    return set()


# The schema as served: the anonymous GET of /api/openapi.json needs no database.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@pytest.mark.fuzz
@pytest.mark.usefixtures("_keep_test_transaction")
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_conforms_to_its_schema(case, district_token, foreign_unit_ids):
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {district_token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
    if response.status_code == 200 and case.operation.path in UNIT_PATHS:
        assert not _unit_ids(response.json()) & foreign_unit_ids


# --------------------------------------------------------------------------- 学籍 writes

WRITE_EXAMPLES = 40
STUDENT_PATHS = {"/api/students", "/api/status-changes", "/api/guardians"}


@pytest.fixture
def world_ids(world) -> dict[str, list[int]]:
    """Ids of the world's students and classes, to aim generated requests at real rows."""
    return {
        "students": list(Student.objects.order_by("pk").values_list("pk", flat=True)),
        "classes": list(
            OrgUnit.objects.filter(kind=UnitKind.SCHOOL_CLASS)
            .order_by("pk")
            .values_list("pk", flat=True)
        ),
    }


def _assert_register_is_consistent() -> None:
    """Every enrolled student has exactly one open class membership, in their current class;
    no other student has one (what ``status_change_record`` keeps in step)."""
    open_class = dict(
        ClassMembership.objects.filter(end_on__isnull=True).values_list(
            "student_id", "school_class_id"
        )
    )
    for pk, status, school_class in Student.objects.values_list("pk", "status", "school_class"):
        if status == StudentStatus.ENROLLED:
            assert open_class.get(pk) == school_class, pk
        else:
            assert pk not in open_class, pk


@pytest.mark.fuzz
@pytest.mark.usefixtures("_keep_test_transaction")
@schema.include(method="POST").parametrize()
@settings(
    max_examples=WRITE_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_recording_status_changes_of_real_students_never_fails(case, district_token, world_ids):
    """Generated 异动 bodies aimed at the world's students and classes: every answer is a
    documented 201 or 4xx, and the register stays consistent whatever was recorded."""
    students, classes = world_ids["students"], world_ids["classes"]
    pick = str(case.path_parameters.get("student_id", ""))
    if pick.isdigit():
        case.path_parameters["student_id"] = students[int(pick) % len(students)]
    if isinstance(case.body, dict) and isinstance(case.body.get("to_class_id"), int):
        case.body["to_class_id"] = classes[case.body["to_class_id"] % len(classes)]

    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {district_token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )

    # (The coverage phase also tries other methods, hence 405 among the answers.)
    assert response.status_code < 500, response.text
    _assert_register_is_consistent()


@pytest.mark.fuzz
@pytest.mark.usefixtures("_keep_test_transaction")
@schema.include(path_regex="^/api/(students|status-changes|guardians)$").parametrize()
@settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_student_lists_never_leak_the_other_district(case, district_token):
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {district_token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
    if response.status_code == 200:
        body = response.json()
        assert "钱小军" not in response.text, case.operation.path  # the other district's pupil
        assert case.operation.path in STUDENT_PATHS
        assert isinstance(body["items"], list)
