"""A real Chromium pretending to be WeCom's in-app browser on a phone follows the link of a
message to a task page: it goes through WeCom's (fake) OAuth and lands on the task, signed in,
with no password form on the way. The fake authorize page redirects back with a code, as
WeCom does for someone already in the app."""

import pytest

from closeloop.imsignin import services
from closeloop.imsignin.models import Outcome, SignInEvent
from closeloop.imsignin.tests.fakes import FakeWeCom
from closeloop.orgs.models import Membership
from closeloop.testing.browser import ARTIFACTS
from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member, make_task

PHONE = {"width": 390, "height": 844}
WECOM_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 wxwork/4.1.22 MicroMessenger/7.0.1 Language/zh ColorScheme/Light"
)

pytestmark = pytest.mark.browser


def test_a_wecom_message_link_opens_the_task_signed_in_at_phone_width(
    browser, live_server, transactional_db, settings
):
    ARTIFACTS.mkdir(exist_ok=True)
    settings.SITE_URL = live_server.url
    fake = FakeWeCom().start()
    try:
        for name in ("NOTIFY_WECOM_API_BASE", "IMSIGNIN_WECOM_OPEN_BASE", "IMSIGNIN_WECOM_LOGIN_BASE"):
            setattr(settings, name, fake.base)
        fake.redirect_uri = live_server.url + "/im/wecom/callback/"
        admin = UserFactory(username="admin", is_superuser=True, is_staff=True)
        services.setup_save(
            actor=admin,
            platform_key="wecom",
            enabled=True,
            allow_mobile_lookup=False,
            credentials={"corp_id": fake.corp_id, "agent_id": fake.agent_id},
            secret=fake.secret,
        )
        sales = DepartmentFactory(code="SALES", name="销售部")
        owner = UserFactory(username="sales_manager", name="李娜", wecom_id="LiNa")
        add_member(owner, sales, Membership.Role.MANAGER)
        task = make_task(actor=owner, department=sales, title="老用户召回活动")
        fake.next_user = "LiNa"

        context = browser.new_context(viewport=PHONE, user_agent=WECOM_UA, locale="zh-CN", is_mobile=True)
        page = context.new_page()
        seen: list[tuple[str, int]] = []
        page.on(
            "response",
            lambda r: seen.append((r.url, r.status)) if r.request.is_navigation_request() else None,
        )
        link = live_server.url + task.get_absolute_url()
        page.goto(link)
        # WeCom's "#wechat_redirect" fragment may ride along; the path is the task's.
        page.wait_for_url(lambda url: url.split("#")[0] == link)
        assert page.locator("h1").inner_text() == "老用户召回活动"
        # No password form on the way: every hop but the last was a redirect.
        assert [status for _url, status in seen[:-1]] == [302] * (len(seen) - 1), seen
        hops = [url.split("?")[0].replace(live_server.url, "") for url, _status in seen]
        assert hops == [
            task.get_absolute_url(),
            "/login/",
            "/im/wecom/start/",
            f"{fake.base}/connect/oauth2/authorize",
            "/im/wecom/callback/",
            task.get_absolute_url(),
        ], hops
        assert page.locator("input[name=password]").count() == 0
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        page.screenshot(path=str(ARTIFACTS / "imsignin-wecom-task-phone.png"), full_page=True)
        assert fake.problems == []
        assert [p for p in fake.paths() if p != "/cgi-bin/gettoken"] == [
            "/connect/oauth2/authorize",
            "/cgi-bin/auth/getuserinfo",
        ]
        assert SignInEvent.objects.get().outcome == Outcome.SIGNED_IN

        # A normal phone browser gets the login page with the WeCom button and the password form.
        other = browser.new_context(viewport=PHONE, locale="zh-CN")
        login = other.new_page()
        login.goto(link)
        login.wait_for_selector("input[name=password]")
        assert login.locator(".login-alt__btn--wecom").inner_text() == "企业微信扫码登录"
        assert login.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        login.screenshot(path=str(ARTIFACTS / "imsignin-login-phone.png"), full_page=True)
        other.close()
        context.close()
    finally:
        fake.stop()


def test_someone_wecom_does_not_know_in_closeloop_reads_a_clear_page(
    browser, live_server, transactional_db, settings
):
    ARTIFACTS.mkdir(exist_ok=True)
    settings.SITE_URL = live_server.url
    fake = FakeWeCom().start()
    try:
        for name in ("NOTIFY_WECOM_API_BASE", "IMSIGNIN_WECOM_OPEN_BASE", "IMSIGNIN_WECOM_LOGIN_BASE"):
            setattr(settings, name, fake.base)
        fake.redirect_uri = live_server.url + "/im/wecom/callback/"
        admin = UserFactory(username="admin", is_superuser=True, is_staff=True, password="pw-closeloop-1")
        services.setup_save(
            actor=admin,
            platform_key="wecom",
            enabled=True,
            allow_mobile_lookup=False,
            credentials={"corp_id": fake.corp_id, "agent_id": fake.agent_id},
            secret=fake.secret,
        )
        fake.next_user = "stranger"
        context = browser.new_context(viewport=PHONE, user_agent=WECOM_UA, locale="zh-CN", is_mobile=True)
        page = context.new_page()
        page.goto(live_server.url + "/tasks/")
        page.wait_for_selector("[data-testid=imsignin-refused]")
        assert page.locator("[data-testid=imsignin-refused]").inner_text() == "请联系管理员将你加入闭环"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        page.screenshot(path=str(ARTIFACTS / "imsignin-refused-phone.png"), full_page=True)
        # The password form is one tap away and does not bounce back into WeCom.
        page.click("text=用密码登录")
        page.wait_for_selector("input[name=password]")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "pw-closeloop-1")
        page.click("button[type=submit]:not(.visually-hidden)")
        page.wait_for_url(live_server.url + "/tasks/")
        # The admin's settings page: the secret is masked, the test link is there.
        page.goto(live_server.url + "/admin/im-signin/wecom/")
        html = page.content()
        assert fake.secret not in html
        assert page.locator("[data-testid=test-signin]").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        page.screenshot(path=str(ARTIFACTS / "imsignin-admin-wecom-phone.png"), full_page=True)
        context.close()
    finally:
        fake.stop()
