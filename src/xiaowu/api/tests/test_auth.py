"""Authentication of the REST API: bearer tokens, the browser session, and 401 otherwise."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from xiaowu.accounts.middleware import SESSION_LOGIN_AT
from xiaowu.accounts.models import ApiToken
from xiaowu.accounts.services import api_token_create, api_token_revoke
from xiaowu.api.api import api
from xiaowu.api.responses import UNAUTHENTICATED
from xiaowu.staff.models import StaffMember

pytestmark = pytest.mark.django_db

BACKEND = "xiaowu.accounts.backends.UsernameOrMobileBackend"


def _bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _assert_401(response) -> None:
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": UNAUTHENTICATED}


def _every_get_path(world) -> list[str]:
    """Return every GET operation of the schema, with path ids filled in."""
    paths = []
    for path, operations in api.get_openapi_schema()["paths"].items():
        if "get" in operations:
            paths.append(
                path.replace("{unit_id}", str(world.school.pk))
                .replace("{class_id}", str(world.class_a.pk))
                .replace("{user_id}", str(world.users["teacher"].pk))
                .replace("{student_id}", str(world.child.pk))
                .replace("{guardian_id}", str(world.child.guardianships.get().guardian_id))
                .replace("{staff_id}", str(StaffMember.objects.get(name="孙老师").pk))
            )
    return paths


def test_token_auth_returns_the_token_owner(world):
    principal = world.users["principal"]
    _token, raw = api_token_create(actor=principal, name="脚本")

    response = Client().get("/api/me", **_bearer(raw))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == principal.pk
    assert body["username"] == "principal"
    assert body["full_name"] == "principal用户"
    assert body["mobile"] is None
    assert [
        (role["role"], role["role_label"], role["org_unit_id"], role["org_unit_name"])
        for role in body["roles"]
    ] == [("principal", "校长", world.school.pk, "青石小学")]
    assert "accounts.view" in body["permissions"]


def test_token_use_is_recorded(world):
    token, raw = api_token_create(actor=world.users["principal"], name="脚本")
    assert token.last_used_at is None

    Client().get("/api/me", **_bearer(raw))

    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoked_token_is_401(world):
    principal = world.users["principal"]
    token, raw = api_token_create(actor=principal, name="脚本")
    api_token_revoke(actor=principal, token=token)

    _assert_401(Client().get("/api/me", **_bearer(raw)))


def test_expired_token_is_401(world):
    token, raw = api_token_create(actor=world.users["principal"], name="脚本", valid_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    _assert_401(Client().get("/api/me", **_bearer(raw)))


def test_token_of_deactivated_user_is_401(world):
    principal = world.users["principal"]
    _token, raw = api_token_create(actor=principal, name="脚本")
    principal.is_active = False
    principal.save(update_fields=["is_active"])

    _assert_401(Client().get("/api/me", **_bearer(raw)))


@pytest.mark.parametrize(
    "header",
    ["Bearer xw_not-a-real-token", "Bearer ", "Basic cHJpbmNpcGFsOnB3", "xw_no-scheme"],
)
def test_unknown_or_malformed_credentials_are_401(world, header):
    _assert_401(Client().get("/api/me", HTTP_AUTHORIZATION=header))


def test_every_operation_without_credentials_is_401(world):
    paths = _every_get_path(world)
    assert len(paths) == 20

    for path in paths:
        _assert_401(Client().get(path))


def test_session_auth_works(world):
    client = Client()
    client.force_login(world.users["district"], backend=BACKEND)
    session = client.session
    session[SESSION_LOGIN_AT] = time.time()
    session.save()

    response = client.get("/api/me")

    assert response.status_code == 200
    assert response.json()["username"] == "district"


def test_session_past_its_absolute_lifetime_is_401(world, settings):
    client = Client()
    client.force_login(world.users["district"], backend=BACKEND)
    session = client.session
    session[SESSION_LOGIN_AT] = time.time() - settings.XIAOWU_SESSION_ABSOLUTE_SECONDS - 1
    session.save()

    _assert_401(client.get("/api/me"))


def test_token_and_session_see_the_same_data(world, client_for, api_get):
    path = "/api/org-units"

    by_token = api_get("principal", path).json()
    by_session = client_for("principal").get(path).json()

    assert by_token == by_session
    assert by_token["count"] == 6


def test_openapi_and_docs_are_served(db):
    client = Client()

    schema = client.get("/api/openapi.json")
    docs = client.get("/api/docs")

    assert schema.status_code == 200
    body = schema.json()
    assert body["info"]["title"] == "校务 API"
    assert set(body["paths"]) == {
        "/api/me",
        "/api/users",
        "/api/users/{user_id}",
        "/api/org-units",
        "/api/org-units/{unit_id}",
        "/api/org-units/{unit_id}/children",
        "/api/classes",
        "/api/classes/{class_id}",
        "/api/schools",
        "/api/terms",
        "/api/students",
        "/api/students/{student_id}",
        "/api/students/{student_id}/status-changes",
        "/api/students/{student_id}/guardians",
        "/api/status-changes",
        "/api/guardians",
        "/api/guardians/{guardian_id}",
        "/api/staff",
        "/api/staff/{staff_id}",
        "/api/teaching-assignments",
    }
    assert set(body["paths"]["/api/students/{student_id}/status-changes"]) == {"get", "post"}
    assert docs.status_code == 200


def test_unsafe_method_is_not_allowed(world, token_for):
    response = Client().post("/api/me", **_bearer(token_for("principal")))

    assert response.status_code == 405
