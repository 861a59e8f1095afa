"""The demo district in a real browser: login, dashboard, lists, forms, scoping, phone, unmasking.

Each test logs in through the login form of a fresh browser context; see conftest.py for the
server and for the console / page-error / CSP checks every test gets.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Locator, Page, expect

from xiaowu.core.pinyin import pinyin_keys

if TYPE_CHECKING:
    from tests.e2e.conftest import Browsing, DemoServer

pytestmark = pytest.mark.browser

MASKED_MOBILE = re.compile(r"^1\d{2}\*{4}\d{4}$")
FULL_MOBILE = re.compile(r"^1\d{10}$")


def number(locator: Locator) -> int:
    """The integer shown by ``locator`` (``1,234`` → 1234)."""
    return int(locator.inner_text().strip().replace(",", ""))


def sidebar_link(page: Page, label: str) -> Locator:
    """The navigation link ``label`` (its accessible name starts with the icon's glyph)."""
    return page.locator("#xw-sidebar").get_by_role("link", name=re.compile(rf"^\W*{label}$"))


def column_texts(page: Page, table: str, column: int) -> list[str]:
    return [
        text.strip()
        for text in page.locator(f"{table} tbody tr td:nth-child({column})").all_inner_texts()
    ]


# --------------------------------------------------------------------------- 1. login / logout
def test_login_rejects_wrong_password_then_logs_in_and_out(ui: Browsing, e2e_server: DemoServer):
    page = ui.new_page()
    ui.goto(page, "/")  # anonymous: sent to the login form
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))

    page.get_by_label("用户名或手机号").fill("principal")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    ui.shot(page, "wrong-password")
    expect(page.locator(".alert-danger")).to_have_text("用户名（手机号）或密码错误。")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_label("密码")).to_have_value("")

    page.get_by_label("密码").fill(e2e_server.summary.password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(e2e_server.url("/"))
    ui.shot(page, "dashboard")
    expect(page).to_have_title("首页 · 校务")
    expect(page.locator("main h1")).to_have_text(e2e_server.first_school["name"])
    expect(page.locator("#basic-facts")).to_be_visible()

    page.locator(".xw-topbar").get_by_role("button", name="退出").click()
    page.wait_for_url(re.compile(r"/accounts/login/$"))
    ui.shot(page, "logged-out")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    expect(page.locator(".xw-topbar")).to_have_count(0)
    # The session is gone: the dashboard asks for a login again.
    ui.goto(page, "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))


# --------------------------------------------------------------------------- 2. dashboard
def assert_charts_drawn(page: Page, count: int) -> None:
    charts = page.locator("[data-chart]")
    expect(charts).to_have_count(count)
    for chart in charts.all():
        expect(chart.locator("svg")).to_have_count(1)
        box = chart.bounding_box()
        assert box is not None
        assert box["width"] > 100, box
        assert box["height"] > 100, box


def test_dashboard_numbers_match_the_demo_data(ui: Browsing, e2e_server: DemoServer):
    summary = e2e_server.summary
    added = len(e2e_server.created_classes)  # by the form test, if it ran first

    page = ui.login("district")
    expect(page.locator("main h1")).to_have_text(
        next(u["name"] for u in e2e_server.units if u["kind"] == "school_district")
    )
    facts = page.locator("#basic-facts")
    assert number(facts.locator("[data-fact=school_count]")) == summary.schools == 10
    assert number(facts.locator("[data-fact=class_count]")) == summary.classes + added
    assert summary.classes == 43
    assert number(facts.locator("[data-fact=staff_total]")) == summary.staff
    assert number(facts.locator("[data-fact=teacher_count]")) == summary.teachers
    assert number(facts.locator("[data-fact=student_count]")) == summary.students
    assert number(facts.locator("[data-fact=student_female]")) == summary.students_female
    shown_types = {
        row.locator("td").first.inner_text(): int(
            row.locator("[data-school-type]").inner_text().removesuffix(" 所")
        )
        for row in page.locator("tr:has([data-school-type])").all()
    }
    assert shown_types == summary.schools_by_type
    assert_charts_drawn(page, 2)

    school = e2e_server.first_school
    page = ui.login("principal")
    expect(page.locator("main h1")).to_have_text(school["name"])
    facts = page.locator("#basic-facts")
    assert number(facts.locator("[data-fact=school_count]")) == 1
    classes = len(e2e_server.classes_in(school["code"])) + added
    assert 0 < classes < summary.classes
    assert number(facts.locator("[data-fact=class_count]")) == classes
    assert number(facts.locator("[data-fact=student_count]")) < summary.students
    assert_charts_drawn(page, 2)


# --------------------------------------------------------------------------- 3. lists
def school_found_by_initials(server: DemoServer) -> tuple[dict[str, str], str]:
    """A school whose pinyin initials match no other school, the way the product searches
    (name, full pinyin, initials, code)."""

    def matches(term: str, school: dict[str, str]) -> bool:
        full, initials = pinyin_keys(school["name"])
        return any(term in text for text in (school["name"], full, initials, school["code"]))

    for school in server.schools:
        initials = pinyin_keys(school["name"])[1]
        if [s["code"] for s in server.schools if matches(initials, s)] == [school["code"]]:
            return school, initials
    pytest.fail("No demo school has pinyin initials of its own.")


def test_school_list_pinyin_search_sort_and_user_pagination(ui: Browsing, e2e_server: DemoServer):
    schools = e2e_server.schools
    school, initials = school_found_by_initials(e2e_server)
    page = ui.login("district")
    sidebar_link(page, "学校").click()
    page.wait_for_url(e2e_server.url("/org/schools/"))
    ui.shot(page, "schools")
    names = column_texts(page, "#school-table", 2)
    assert names == [s["name"] for s in schools]  # sorted by code by default

    # Pinyin initials, typed: HTMX replaces the table without reloading the page.
    page.evaluate("window.xwSameDocument = true")
    search = page.get_by_placeholder("校名、拼音首字母或代码")
    with page.expect_response(
        lambda r: f"q={initials}" in r.url and r.request.headers.get("hx-request") == "true"
    ):
        search.press_sequentially(initials, delay=40)
    expect(page.locator("#school-table tbody tr")).to_have_count(1)
    ui.shot(page, f"search-{initials}")
    assert column_texts(page, "#school-table", 2) == [school["name"]]
    assert column_texts(page, "#school-table", 1) == [school["code"]]
    expect(page.locator("#school-table")).to_contain_text("共 1 条")
    expect(page).to_have_url(re.compile(rf"[?&]q={initials}(&|$)"))
    assert page.evaluate("window.xwSameDocument === true"), "the search reloaded the page"

    # Sorting by name follows the pinyin of the name; a second click reverses it.
    ui.goto(page, "/org/schools/")
    by_pinyin = sorted(names, key=lambda name: pinyin_keys(name)[0])
    assert by_pinyin != names
    header = page.locator("#school-table thead").get_by_role("link", name="名称")
    header.click()
    page.wait_for_url(re.compile(r"[?&]sort=name$"))
    ui.shot(page, "schools-by-name")
    assert column_texts(page, "#school-table", 2) == by_pinyin
    expect(header.locator("i.bi-caret-up-fill")).to_have_count(1)
    header.click()
    page.wait_for_url(re.compile(r"[?&]sort=-name$"))
    ui.shot(page, "schools-by-name-descending")
    assert column_texts(page, "#school-table", 2) == by_pinyin[::-1]
    expect(header.locator("i.bi-caret-down-fill")).to_have_count(1)

    # More than one page of users: 30 a page.
    total = e2e_server.summary.accounts
    pages = math.ceil(total / 30)
    assert pages > 1
    page = ui.login("admin")
    sidebar_link(page, "用户与角色").click()
    page.wait_for_url(e2e_server.url("/accounts/users/"))
    ui.shot(page, "users")
    pagination = page.get_by_role("navigation", name="分页")
    expect(pagination).to_contain_text(f"共 {total} 条，第 1 / {pages} 页")
    expect(page.locator("#user-table tbody tr")).to_have_count(30)
    first_page = column_texts(page, "#user-table", 1)
    pagination.get_by_role("link", name="下一页").click()
    page.wait_for_url(re.compile(r"[?&]page=2$"))
    ui.shot(page, "users-page-2")
    expect(pagination).to_contain_text(f"第 2 / {pages} 页")
    expect(page.locator("#user-table tbody tr")).to_have_count(min(30, total - 30))
    assert not set(first_page) & set(column_texts(page, "#user-table", 1))
    pagination.get_by_role("link", name="末页").click()
    page.wait_for_url(re.compile(rf"[?&]page={pages}$"))
    ui.shot(page, "users-last-page")
    expect(page.locator("#user-table tbody tr")).to_have_count(total - 30 * (pages - 1))


# --------------------------------------------------------------------------- 4. forms
def test_new_class_form_shows_chinese_errors_then_creates_the_class(
    ui: Browsing, e2e_server: DemoServer
):
    school = e2e_server.first_school
    class_number = 9
    class_name = f"七年级({class_number})班"
    code = f"{school['code']}-C07{class_number:02d}"
    assert class_name not in {c["name"] for c in e2e_server.classes_in(school["code"])}

    page = ui.login("principal")
    sidebar_link(page, "学校").click()
    page.wait_for_url(e2e_server.url("/org/schools/"))
    ui.shot(page, "schools")
    page.locator("#school-table").get_by_role("link", name=school["name"]).click()
    page.wait_for_url(re.compile(r"/org/units/\d+/$"))
    ui.shot(page, "school")
    expect(page.locator("main h1")).to_contain_text(school["name"])
    page.get_by_role("link", name="新增下级").click()
    page.wait_for_url(re.compile(r"/org/units/\d+/new/$"))
    ui.shot(page, "new-unit")
    expect(page.locator("main h1")).to_have_text(f"在“{school['name']}”下新增")

    form = page.locator("main form")
    form.locator("select[name=kind]").select_option(label="班级")
    form.locator("input[name=code]").fill(code)
    form.locator("input[name=class_number]").fill(str(class_number))
    form.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    ui.shot(page, "grade-missing")
    grade_errors = page.locator("#id_grade ~ .invalid-feedback")
    expect(grade_errors).to_have_text(["班级必须选择年级。"])
    expect(page.locator(".invalid-feedback")).to_have_count(1)
    expect(form.locator("input[name=code]")).to_have_value(code)
    expect(form.locator("select[name=kind]")).to_have_value("school_class")

    form.locator("select[name=grade]").select_option(label="七年级")
    form.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r"/org/units/\d+/$"))
    e2e_server.created_classes.append(code)
    ui.shot(page, "new-class")
    expect(page).to_have_title(f"{class_name} · 校务")
    expect(page.locator("main h1")).to_have_text(re.compile(rf"^{re.escape(class_name)}\s+班级$"))
    expect(page.locator(".alert-success")).to_contain_text(f"已新增班级“{class_name}”。")
    expect(page.get_by_role("navigation", name="breadcrumb")).to_contain_text(school["name"])
    details = page.locator("main dl")
    expect(details).to_contain_text(code)
    expect(details).to_contain_text("七年级")


# --------------------------------------------------------------------------- 5. scoping
def test_other_schools_unit_page_is_404_for_teacher2(ui: Browsing, e2e_server: DemoServer):
    school = e2e_server.first_school
    page = ui.login("principal")
    ui.goto(page, "/org/schools/")
    href = (
        page.locator("#school-table").get_by_role("link", name=school["name"]).get_attribute("href")
    )
    assert href is not None
    assert re.fullmatch(r"/org/units/\d+/", href), href
    ui.goto(page, href)
    expect(page.locator("main h1")).to_contain_text(school["name"])

    page = ui.login("teacher2")
    ui.goto(page, href, status=404)
    expect(page).to_have_title("页面不存在 · 校务")
    expect(page.locator("main h1")).to_have_text("404 · 页面不存在")
    expect(page.locator("main")).not_to_contain_text(school["name"])
    # teacher2 does see a school of their own: the 404 is the scope, not a broken page.
    ui.goto(page, "/org/schools/")
    own = column_texts(page, "#school-table", 2)
    assert len(own) == 1, own
    assert own != [school["name"]]


# --------------------------------------------------------------------------- 6. phone
def test_parent_on_a_phone_sees_their_child_and_a_menu_button(ui: Browsing, e2e_server: DemoServer):
    school = e2e_server.first_school
    page = ui.login(
        "parent", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    children = page.locator(".card", has_text="我的孩子")
    expect(children).to_be_visible()
    expect(children.locator("li")).to_have_count(1)
    child = children.locator("li").inner_text()
    assert school["name"] in child, child
    assert any(c["name"] in child for c in e2e_server.classes_in(school["code"])), child
    expect(page.locator("#basic-facts")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll

    sidebar = page.locator("#xw-sidebar")
    menu = page.get_by_role("button", name="菜单")
    expect(sidebar).to_be_hidden()
    expect(menu).to_be_visible()
    menu.tap()
    expect(sidebar).to_be_visible()
    expect(sidebar_link(page, "首页")).to_be_visible()
    page.wait_for_timeout(400)  # the slide-in transition, for the screenshot
    ui.shot(page, "menu-open")
    sidebar.get_by_role("button", name="关闭").tap()
    expect(sidebar).to_be_hidden()


# --------------------------------------------------------------------------- 7. unmasking
def test_principal_unmasks_a_teachers_mobile(ui: Browsing, e2e_server: DemoServer):
    page = ui.login("principal")
    ui.goto(page, "/accounts/users/")
    with page.expect_response(lambda r: "q=teacher" in r.url):
        page.get_by_placeholder("姓名、拼音或首字母（如 zs）、用户名").fill("teacher")
    page.locator("#user-table").get_by_role("link", name="teacher", exact=True).click()
    page.wait_for_url(re.compile(r"/accounts/users/\d+/$"))
    ui.shot(page, "teacher")
    expect(page.locator("main h1")).to_contain_text("teacher")

    mobile = page.locator("[id^=mobile-]")
    expect(mobile).to_have_count(1)
    masked = mobile.locator(".font-monospace").inner_text().strip()
    assert MASKED_MOBILE.fullmatch(masked), masked
    with page.expect_response(lambda r: r.request.method == "POST" and "/mobile/" in r.url):
        mobile.get_by_role("button", name="显示").click()
    expect(mobile.locator(".font-monospace")).to_have_text(FULL_MOBILE)
    ui.shot(page, "unmasked")
    full = mobile.inner_text().strip()
    assert FULL_MOBILE.fullmatch(full), full
    assert (full[:3], full[-4:]) == (masked[:3], masked[-4:])
    expect(mobile.get_by_role("button", name="显示")).to_have_count(0)
