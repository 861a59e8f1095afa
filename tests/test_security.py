"""The security baseline of security.md §1, one test per checklist item where it applies."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import Client
from django.utils import timezone

from xiaowu import settings as project_settings
from xiaowu.accounts.middleware import SESSION_LOGIN_AT
from xiaowu.accounts.tests.factories import TEST_PASSWORD
from xiaowu.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
SRC = Path(__file__).resolve().parent.parent / "src" / "xiaowu"


def login(client: Client, username: str, password: str, ip: str = "10.1.1.1") -> int:
    response = client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )
    return response.status_code


def test_authn_03_production_hashes_with_argon2():
    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    assert Argon2PasswordHasher().encode("x", Argon2PasswordHasher().salt()).startswith("argon2$")


def test_login_by_username_or_mobile_is_audited(world):
    world.users["teacher"].mobile = "13800001234"
    world.users["teacher"].save()
    client = Client()
    assert login(client, "TEACHER", TEST_PASSWORD) == 302
    client.post("/accounts/logout/")
    assert login(client, "138 0000 1234", TEST_PASSWORD) == 302
    events = list(AuditEvent.objects.order_by("id").values_list("event", flat=True))
    assert events == ["accounts.login", "accounts.logout", "accounts.login"]


def test_authn_04_same_answer_for_unknown_user_and_wrong_password(world):
    unknown = Client().post("/accounts/login/", {"username": "nobody", "password": "x"})
    wrong = Client().post("/accounts/login/", {"username": "teacher", "password": "x"})
    assert unknown.status_code == wrong.status_code == 200
    assert "用户名（手机号）或密码错误" in unknown.content.decode()
    assert "用户名（手机号）或密码错误" in wrong.content.decode()
    assert AuditEvent.objects.filter(event="accounts.login_failed").count() == 2


def test_authn_04_lockout_is_per_account_and_ip_not_per_ip(world):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(Client(), "teacher", "wrong-password", ip="10.9.9.9")
    # The account is locked on that address, even with the right password …
    assert login(Client(), "teacher", TEST_PASSWORD, ip="10.9.9.9") == 429
    # … but a colleague behind the same school NAT address still logs in,
    assert login(Client(), "principal", TEST_PASSWORD, ip="10.9.9.9") == 302
    # and the same account from another address is not locked.
    assert login(Client(), "teacher", TEST_PASSWORD, ip="10.8.8.8") == 302
    # The fifth failure and the refused sixth attempt are both recorded as lockouts.
    assert AuditEvent.objects.filter(event="accounts.lockout").count() == 2


def test_authn_04_lockout_expires(world):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(Client(), "teacher", "wrong-password")
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        assert login(Client(), "teacher", TEST_PASSWORD) == 302


def test_authn_05_idle_timeout(world, client_for):
    client = client_for("teacher")
    assert client.get("/").status_code == 200
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_authn_05_absolute_lifetime(world, client_for):
    client = client_for("teacher")
    session = client.session
    session[SESSION_LOGIN_AT] = time.time() - 13 * 3600
    session.save()
    response = client.get("/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # the session is gone, not just redirected once


def test_authn_05_session_key_rotates_at_login(world):
    client = Client()
    client.get("/accounts/login/")
    before = client.cookies.get(settings.SESSION_COOKIE_NAME)
    login(client, "teacher", TEST_PASSWORD)
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert before is None or before.value != after


def test_authn_08_disabling_an_account_ends_its_sessions(world, client_for):
    client = client_for("teacher")
    assert client.get("/").status_code == 200
    world.users["teacher"].is_active = False
    world.users["teacher"].save()
    assert client.get("/").status_code == 302


def test_logout_requires_post(world, client_for):
    assert client_for("teacher").get("/accounts/logout/").status_code == 405


def test_priv_11_and_headers_on_authenticated_pages(world, client_for):
    response = client_for("principal").get("/")
    assert response["Cache-Control"] == "no-store"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_priv_10_no_external_hosts_in_templates_or_static():
    """Intranet deployments have no internet: pages reference only this origin."""
    external = re.compile(r"""(?:src|href)\s*=\s*["']\s*(?:https?:)?//""", re.IGNORECASE)
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.html")
        if external.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_inp_02_upload_size_limit(world):
    big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = Client().post("/accounts/login/", {"username": "teacher", "password": big})
    assert response.status_code == 400


def test_inp_07_names_are_escaped(world, client_for):
    world.users["teacher"].full_name = "<script>alert(1)</script>"
    world.users["teacher"].save()
    body = (
        client_for("principal")
        .get(f"/accounts/users/{world.users['teacher'].pk}/")
        .content.decode()
    )
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_priv_05_mobile_masked_in_lists(world, client_for):
    world.users["teacher"].mobile = "13912345678"
    world.users["teacher"].save()
    body = client_for("principal").get("/accounts/users/").content.decode()
    assert "139****5678" in body
    assert "13912345678" not in body


def test_authn_07_check_deploy_is_clean_with_production_values(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"XIAOWU_INSECURE_HTTP", "DEBUG", "DATABASE_URL"}
    }
    env.update(
        SECRET_KEY="q8Zr2-production-secret-key-with-enough-entropy-5vN!x0pL7wT3",
        ALLOWED_HOSTS="xiaowu.example.edu.cn",
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        XIAOWU_VAR_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "-m", "xiaowu.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_priv_10_api_docs_load_only_local_assets(world, client_for):
    body = client_for("principal").get("/api/docs").content.decode()
    assets = re.findall(r"""<(?:script|link)[^>]+(?:src|href)="([^"]+)\"""", body)
    assert "/static/ninja/swagger-ui-bundle.js" in assets
    assert [a for a in assets if not a.startswith("/static/")] == []
