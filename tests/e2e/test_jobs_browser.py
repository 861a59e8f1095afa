"""Background jobs in a real browser: ``xiaowu serve`` runs the worker, the job page's progress
panel is polled by HTMX (no inline script), and the result downloads.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

if TYPE_CHECKING:
    from tests.e2e.conftest import Browsing, DemoServer

pytestmark = pytest.mark.browser

# The worker starts with the server; under load the first job may wait for it.
JOB_TIMEOUT_MS = 120_000


def test_summary_generated_in_the_background_and_downloaded(
    ui: Browsing, e2e_server: DemoServer, tmp_path: Path
) -> None:
    page = ui.login("district")
    ui.goto(page, "/reports/")
    page.get_by_role("button", name="生成", exact=True).click()
    page.wait_for_url(re.compile(r"/reports/\d+/$"))
    title = page.locator("h1.xw-summary-title").inner_text()
    ui.shot(page, "summary")

    page.get_by_role("button", name="后台生成").click()

    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    ui.shot(page, "job-queued")
    panel = page.locator("#job-progress")
    expect(panel).to_have_attribute("hx-trigger", "every 2s")
    expect(panel.locator(".badge").first).to_have_text("已完成", timeout=JOB_TIMEOUT_MS)
    expect(panel).to_contain_text("所学校")
    expect(panel.locator(".progress-bar")).to_have_text("100%")
    ui.shot(page, "job-done")

    with page.expect_download() as download_info:
        panel.get_by_role("link", name=re.compile("下载")).click()
    download = download_info.value
    assert download.suggested_filename == f"{title}.docx"
    saved = tmp_path / "summary.docx"
    download.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"

    page.locator("#xw-sidebar").get_by_role("link", name=re.compile(r"我的任务$")).click()
    expect(page.locator("table tbody")).to_contain_text(title)
    expect(page.locator("table tbody")).to_contain_text("已完成")
    ui.shot(page, "job-list")
