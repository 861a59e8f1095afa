"""Fixtures for the browser tests: a throwaway xiaowu server with the demo district, and chromium.

The server is the real thing (``xiaowu serve``: gunicorn, WhiteNoise, production settings over
plain HTTP) in a temporary directory with its own SQLite database, whatever ``DATABASE_URL``
the rest of the suite runs with, so the PostgreSQL run is not disturbed. The tests drive it
with Playwright's sync API and Debian's chromium (``make browser-deps``); pytest-playwright is
not used. Every console error, uncaught page error, CSP violation and unexpected HTTP error a
page produces fails the test that opened it.

Set ``XIAOWU_SCREENSHOTS=<dir>`` to keep a screenshot of every page the tests visit.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    sync_playwright,
)

SRC_DIR = Path(__file__).resolve().parents[2] / "src"
XIAOWU = [sys.executable, "-m", "xiaowu.cli"]  # works in any venv, installed or not
SERVER_START_TIMEOUT = 90.0  # a loaded 2-core CI machine starts gunicorn + worker slowly
COMMAND_TIMEOUT = 180.0
ACTION_TIMEOUT_MS = 10_000  # fail fast: every page here answers within a second
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Reports CSP violations even if chromium's own "Refused to …" message changes wording.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


# --------------------------------------------------------------------------- the demo server
@dataclass(frozen=True)
class DemoSummary:
    """The numbers ``xiaowu demo_data`` printed."""

    districts: int
    schools: int
    classes: int
    schools_by_type: dict[str, int]
    students: int
    students_female: int
    staff: int
    staff_female: int
    teachers: int
    teachers_female: int
    accounts: int
    password: str


def parse_demo_summary(output: str) -> DemoSummary:
    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            pytest.fail(f"`xiaowu demo_data` printed no line matching {pattern!r}:\n{output}")
        return match

    totals = find(r"(\d+) 个学区，(\d+) 所学校，(\d+) 个教学班")
    by_type = find(r"^\s*学校：(.+)$").group(1)
    students = find(r"学生：(\d+) 人（女 (\d+) 人）")
    staff = find(r"教职工：(\d+) 人（女 (\d+) 人），其中专任教师 (\d+) 人（女 (\d+) 人）")
    return DemoSummary(
        districts=int(totals[1]),
        schools=int(totals[2]),
        classes=int(totals[3]),
        schools_by_type={  # "初级中学 2 所，完全小学 5 所，…"
            label: int(count) for label, count in re.findall(r"([^\s，]+) (\d+) 所", by_type)
        },
        students=int(students[1]),
        students_female=int(students[2]),
        staff=int(staff[1]),
        staff_female=int(staff[2]),
        teachers=int(staff[3]),
        teachers_female=int(staff[4]),
        accounts=int(find(r"账号：(\d+) 个")[1]),
        password=find(r"密码均为 ([^）\s]+)")[1],
    )


@dataclass
class DemoServer:
    base_url: str  # without the trailing slash
    summary: DemoSummary
    units: list[dict[str, Any]]  # `xiaowu orgs --format json` right after demo_data
    log_path: Path
    # Classes the tests add (codes), so that the counts stay right whatever the test order.
    created_classes: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return sorted((u for u in self.units if u["kind"] == kind), key=lambda u: u["code"])

    @property
    def schools(self) -> list[dict[str, Any]]:
        return self.of_kind("school")

    @property
    def first_school(self) -> dict[str, Any]:
        """The school with the lowest code: where principal, teacher and parent work."""
        return self.schools[0]

    def classes_in(self, school_code: str) -> list[dict[str, Any]]:
        """The classes anywhere under ``school_code`` (directly or under a 级部)."""
        parent_of = {u["code"]: u["parent_code"] for u in self.units}

        def inside(code: str | None) -> bool:
            while code is not None:
                if code == school_code:
                    return True
                code = parent_of.get(code)
            return False

        return [u for u in self.of_kind("school_class") if inside(u["code"])]


def _server_env(var_dir: Path) -> dict[str, str]:
    # Start from the caller's environment without anything that would change the server's
    # behaviour (a DEBUG=1 shell, a PostgreSQL DATABASE_URL, other XIAOWU_* tuning).
    dropped = {"DEBUG", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("XIAOWU_")}
    env.update(
        DJANGO_SETTINGS_MODULE="xiaowu.settings",
        XIAOWU_INSECURE_HTTP="1",
        XIAOWU_VAR_DIR=str(var_dir),
        DATABASE_URL=f"sqlite:///{var_dir / 'e2e.sqlite3'}",
        SECRET_KEY=f"e2e-{secrets.token_hex(32)}",
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(SRC_DIR), env.get("PYTHONPATH")) if p),
    )
    return env


def _xiaowu(args: list[str], env: dict[str, str]) -> str:
    """Run ``xiaowu <args>`` with this interpreter; return its output or fail the session."""
    completed = subprocess.run(  # noqa: S603 — our own interpreter and command
        [*XIAOWU, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        pytest.fail(
            f"`xiaowu {' '.join(args)}` exited with {completed.returncode}:\n"
            f"{completed.stdout}\n{completed.stderr}"
        )
    return completed.stdout


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server's process group (gunicorn's master and its workers)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _wait_until_healthy(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(f"`xiaowu serve` exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 — http://127.0.0.1
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            _stop(process)
            pytest.fail(
                f"{url} did not answer 200 within {SERVER_START_TIMEOUT:.0f} s:\n"
                f"{log_path.read_text()}"
            )
        time.sleep(0.2)


@pytest.fixture(scope="session")
def e2e_server() -> Iterator[DemoServer]:
    """A migrated server with the demo district, on a free port of 127.0.0.1."""
    var_dir = Path(tempfile.mkdtemp(prefix="xiaowu-e2e-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        env = _server_env(var_dir)
        _xiaowu(["migrate", "--noinput"], env)
        summary = parse_demo_summary(_xiaowu(["demo_data"], env))
        units = json.loads(_xiaowu(["orgs", "--format", "json"], env))
        port = _free_port()
        log_path = var_dir / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(  # noqa: S603 — our own interpreter and command
                [*XIAOWU, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, ended as a whole below
            )
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_healthy(process, f"{base_url}/healthz", log_path)
        yield DemoServer(base_url=base_url, summary=summary, units=units, log_path=log_path)
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(var_dir, ignore_errors=True)


# --------------------------------------------------------------------------- the browser
@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        message = (
            "chromium is not installed: the browser tests need Debian's chromium "
            "(`make browser-deps`, or `apt-get install chromium fonts-noto-cjk`)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run them.")
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Browsing:
    """The pages one test opens, and every problem the browser reported on them."""

    def __init__(
        self, browser: Browser, server: DemoServer, test_name: str, shots: Path | None
    ) -> None:
        self.browser = browser
        self.server = server
        self.problems: list[str] = []
        self._name = re.sub(r"[^\w.-]+", "_", test_name)
        self._shots = shots
        self._shot_count = 0
        self._allowed: set[tuple[str, int]] = set()
        self._contexts: list[BrowserContext] = []

    # ----- opening pages
    def new_page(self, **context_options: Any) -> Page:
        context = self.browser.new_context(
            base_url=self.server.base_url,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            **context_options,
        )
        self._contexts.append(context)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("response", self._on_response)
        return page

    def goto(self, page: Page, path: str, *, status: int = 200) -> Response:
        """Open ``path`` and check the status of the final response; take a screenshot."""
        if status >= 400:
            self.allow_http_error(path, status)
        response = page.goto(path)
        assert response is not None
        assert response.status == status, f"GET {path}: {response.status}, expected {status}"
        self.shot(page, path)
        return response

    def login(self, username: str, **context_options: Any) -> Page:
        """A new browser context logged in as ``username`` through the login form."""
        page = self.new_page(**context_options)
        self.goto(page, "/accounts/login/")
        page.get_by_label("用户名或手机号").fill(username)
        page.get_by_label("密码").fill(self.server.summary.password)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(self.server.url("/"))
        self.shot(page, f"{username}-home")
        return page

    def shot(self, page: Page, label: str) -> None:
        """Save a full-page screenshot when XIAOWU_SCREENSHOTS names a directory."""
        if self._shots is None:
            return
        self._shot_count += 1
        slug = re.sub(r"[^\w-]+", "-", label).strip("-") or "page"
        page.screenshot(
            path=self._shots / f"{self._name}-{self._shot_count:02d}-{slug}.png", full_page=True
        )

    # ----- problems
    def allow_http_error(self, path: str, status: int) -> None:
        """Expect ``status`` for ``path`` (e.g. a 404 page): neither the response nor
        chromium's "Failed to load resource" message for it is a problem."""
        self._allowed.add((self.server.url(path), status))

    def _on_console(self, message: ConsoleMessage) -> None:
        text = message.text
        if message.type != "error" and "Content Security Policy" not in text:
            return
        url = message.location.get("url", "")
        failed = re.search(r"status of (\d{3})", text)
        if failed and (url, int(failed[1])) in self._allowed:
            return
        self.problems.append(f"console {message.type} at {url}: {text}")

    def _on_response(self, response: Response) -> None:
        if response.status >= 400 and (response.url, response.status) not in self._allowed:
            self.problems.append(
                f"HTTP {response.status} for {response.request.method} {response.url}"
            )

    def settle(self) -> None:
        """Let pending browser events reach the listeners."""
        for context in self._contexts:
            for page in context.pages:
                if not page.is_closed():
                    page.evaluate("0")

    def close(self) -> None:
        for context in self._contexts:
            context.close()


@pytest.fixture
def ui(
    request: pytest.FixtureRequest, browser: Browser, e2e_server: DemoServer
) -> Iterator[Browsing]:
    shots_dir = os.environ.get("XIAOWU_SCREENSHOTS")
    shots = Path(shots_dir) if shots_dir else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    browsing = Browsing(browser, e2e_server, request.node.name, shots)
    try:
        yield browsing
    finally:
        browsing.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a test whose pages logged errors, even when its own assertions passed."""
    browsing = getattr(item, "funcargs", {}).get("ui")
    if not isinstance(browsing, Browsing):
        return (yield)
    try:
        result = yield
    except BaseException:
        if browsing.problems:
            item.add_report_section("call", "browser problems", "\n".join(browsing.problems))
        raise
    browsing.settle()
    if browsing.problems:
        pytest.fail(
            "The browser reported problems:\n  " + "\n  ".join(browsing.problems), pytrace=False
        )
    return result
