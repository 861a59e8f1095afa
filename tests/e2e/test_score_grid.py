"""The score-entry grid in a real browser: typing, keyboard navigation, autosave on leaving a
cell, and a conflict after another user changed the same cell (optimistic locking)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Locator, Page, expect

if TYPE_CHECKING:
    from tests.e2e.conftest import Browsing

pytestmark = pytest.mark.browser

SAVED = re.compile(r"已保存$")


def open_grid(ui: Browsing, page: Page) -> str:
    """From the exam list to the 七年级(1)班 grid of the current 七年级期中考试; return its path."""
    ui.goto(page, "/exams/?q=七年级期中考试&sort=-held_on")
    page.locator("#exam-list tbody tr").first.get_by_role("link").click()
    page.wait_for_load_state()
    ui.shot(page, "exam-detail")
    row = page.locator("table.xw-progress tbody tr", has_text="七年级(1)班")
    row.get_by_role("link", name=re.compile("录入")).click()
    page.wait_for_url(re.compile(r"/exams/\d+/grid/\d+/$"))
    ui.shot(page, "grid")
    path = re.sub(r"^https?://[^/]+", "", page.url)
    return path


def cell(page: Page, row: int, subject: str) -> Locator:
    """The input of the ``row``-th pupil (1-based) for ``subject``."""
    return (
        page.locator("#xw-score-grid tbody tr")
        .nth(row - 1)
        .locator(f'input.xw-score[aria-label$=" {subject}"]')
    )


def focused_label(page: Page) -> str:
    return str(page.evaluate("document.activeElement.getAttribute('aria-label')"))


def test_grid_keyboard_autosave_and_conflict(ui: Browsing) -> None:
    teacher = ui.login("teacher")  # 班主任 of 七年级(1)班: may enter every subject
    path = open_grid(ui, teacher)
    exam_path = path.split("grid/")[0]
    ui.allow_http_error(exam_path + "scores/", 409)  # the conflict below
    ui.allow_http_error(exam_path + "scores/", 400)  # the refused value below
    status = teacher.locator("#xw-grid-status")

    # type a score and move down with Enter: the cell is saved as it is left
    first = cell(teacher, 1, "语文")
    first_name = str(first.get_attribute("aria-label")).split(" ")[0]
    first.click()
    first.fill("88.5")
    teacher.keyboard.press("Enter")
    assert focused_label(teacher) == f"{cell(teacher, 2, '语文').get_attribute('aria-label')}"
    expect(status).to_have_text(f"{first_name} 语文：已保存")
    expect(first).to_have_attribute("data-version", re.compile(r"^[1-9]\d*$"))
    # right arrow (the whole text is selected) moves to 数学; a status letter is saved as 缺考
    teacher.keyboard.press("ArrowRight")
    second_math = cell(teacher, 2, "数学")
    assert focused_label(teacher) == second_math.get_attribute("aria-label")
    teacher.keyboard.type("q")
    teacher.keyboard.press("Tab")
    expect(second_math).to_have_value("缺考")
    assert focused_label(teacher) == cell(teacher, 2, "英语").get_attribute("aria-label")
    teacher.keyboard.press("ArrowUp")
    assert focused_label(teacher) == cell(teacher, 1, "英语").get_attribute("aria-label")
    # a bad value is refused in place, with the reason
    teacher.keyboard.type("130")
    teacher.keyboard.press("ArrowDown")
    expect(status).to_have_text(re.compile(r"英语：分数 130 超过满分 120。$"))
    expect(cell(teacher, 1, "英语").locator("xpath=..")).to_have_class(re.compile("xw-error"))
    teacher.keyboard.press("ArrowUp")
    teacher.keyboard.press("Escape")
    ui.shot(teacher, "grid-typed")

    # the values are stored: a fresh page shows them
    ui.goto(teacher, path)
    expect(cell(teacher, 1, "语文")).to_have_value("88.5")
    expect(cell(teacher, 2, "数学")).to_have_value("缺考")
    version = cell(teacher, 1, "语文").get_attribute("data-version")

    # the principal changes the same cell meanwhile
    principal = ui.login("principal")
    principal_name = principal.locator(".xw-topbar a[title='个人中心']").inner_text().strip()
    ui.goto(principal, path)
    theirs = cell(principal, 1, "语文")
    theirs.click()
    theirs.fill("60")
    principal.keyboard.press("Tab")
    expect(principal.locator("#xw-grid-status")).to_have_text(SAVED)

    # the teacher, still on the old page, overwrites it: refused, and told who changed it
    mine = cell(teacher, 1, "语文")
    assert mine.get_attribute("data-version") == version
    mine.click()
    mine.fill("70")
    teacher.keyboard.press("Enter")
    box = teacher.locator(".xw-conflict-box")
    expect(box).to_be_visible()
    expect(box.locator(".xw-conflict-text")).to_contain_text(
        re.compile(rf"{principal_name}（\d\d:\d\d:\d\d）已改为“60”，您的“70”未保存。")
    )
    ui.shot(teacher, "grid-conflict")
    # keeping one's own value saves it on top of the version now known
    box.get_by_role("button", name="用我的值覆盖").click()
    expect(box).to_have_count(0)
    expect(status).to_have_text(f"{first_name} 语文：已保存")
    ui.goto(principal, path)
    expect(cell(principal, 1, "语文")).to_have_value("70")
