"""A real Chromium walks the main pages under the Content-Security-Policy (issue 11, item 5)
and reports every violation: htmx, the pickers and the department picker keep working
without 'unsafe-inline'."""

import pytest

from closeloop.orgs.models import Membership
from closeloop.testing.browser import ARTIFACTS, PASSWORD, PHONE, sign_in
from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member

pytestmark = pytest.mark.browser


def test_the_main_pages_run_under_the_csp_without_a_violation(browser, live_server, transactional_db):
    ARTIFACTS.mkdir(exist_ok=True)
    company = DepartmentFactory(code="HQ", name="总公司")
    sales = DepartmentFactory(code="SALES", name="销售部", parent=company)
    DepartmentFactory(code="MKT", name="市场部", parent=company)
    boss = UserFactory(username="boss", name="总经理", password=PASSWORD)
    company.head = boss
    company.save(update_fields=["head"])
    add_member(boss, sales, Membership.Role.MANAGER)

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: (
            violations.append(f"{page.url}: {m.text} {m.location}")
            if "Content Security Policy" in m.text
            else None
        ),
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e =>"
        " console.error('Content Security Policy violated: ' + e.violatedDirective + ' ' + e.blockedURI))"
    )
    sign_in(page, live_server.url, "boss")
    for path in ("/", "/tasks/", "/tasks/new/", "/board/", "/dashboard/", "/notifications/", "/profile/"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
    # htmx still swaps (script-src with the nonce), and the department picker still submits
    # itself without its old inline onchange handler.
    page.goto(live_server.url + "/tasks/new/")
    before = page.locator("input[name=c_text]").count()
    page.click("button[name=add_criterion]")
    page.locator("input[name=c_text]").nth(before).wait_for()
    page.goto(live_server.url + "/board/")
    picker = page.locator("select[data-autosubmit]")
    if picker.count():
        value = picker.locator("option").nth(1).get_attribute("value")
        picker.select_option(value)
        page.wait_for_url(f"**department={value}*")
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(ARTIFACTS / "csp-board-phone.png"), full_page=True)
    assert violations == []


def test_the_lockout_page_reads_well_on_a_phone(browser, live_server, transactional_db):
    """Issue 11, item 4, as a person sees it: after 10 failed logins, a clear page at 390 px."""
    ARTIFACTS.mkdir(exist_ok=True)
    UserFactory(username="li", name="李专员", password=PASSWORD)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    for _ in range(10):
        page.goto(live_server.url + "/login/")
        page.fill("input[name=username]", "li")
        page.fill("input[name=password]", "wrong")
        page.click("button[type=submit]:not(.visually-hidden)")
    assert "连续 10 次登录失败" in page.inner_text("[role=alert]")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(ARTIFACTS / "login-locked-out-phone.png"), full_page=True)
