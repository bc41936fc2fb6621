"""Sign-in through each platform against its local fake OAuth server: the whole round trip
(start → authorize → callback → code exchange → person), and every way it must refuse."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client

from closeloop.imsignin.models import Outcome, SignInEvent, SignInSetup
from closeloop.orgs.models import User
from closeloop.testing.factories import UserFactory

WECOM_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 wxwork/4.1.22 MicroMessenger/7.0.1 Language/zh ColorScheme/Light"
)
DINGTALK_UA = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 Chrome/116 Mobile Safari/537.36 AliApp(DingTalk/7.5.0)"
FEISHU_UA = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 Lark/7.1.0 LarkLocale/zh_CN"
DESKTOP_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"

pytestmark = pytest.mark.django_db


def _client(**headers) -> Client:
    """A browser that prefers English, so assertions read the English messages."""
    return Client(HTTP_ACCEPT_LANGUAGE="en", **headers)


def _follow_to_platform(client: Client, fake, url: str):
    """GET `url` on Closeloop, then the platform's authorize page (real HTTP to the fake):
    returns (state, code) the platform sent back."""
    resp = client.get(url)
    assert resp.status_code == 302, resp.content[:300]
    location = resp["Location"]
    assert location.startswith(fake.base), location
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(location.split("#")[0], timeout=5)
    except urllib.error.HTTPError as exc:
        assert exc.code == 302
        back = exc.headers["Location"]
    else:
        raise AssertionError("the fake authorize page did not redirect")
    assert back.startswith(fake.redirect_uri)
    q = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
    return q["state"], q.get("code") or q.get("authCode"), back


def _callback(client, platform, **params):
    return client.get(f"/im/{platform}/callback/", params)


# -- success per platform ----------------------------------------------------------------


def test_wecom_in_client_link_signs_in_and_lands_on_the_page(wecom):
    person = UserFactory(username="zhang", wecom_id="zhangsan")
    wecom.next_user = "zhangsan"
    client = _client(HTTP_USER_AGENT=WECOM_UA)
    # A message link to a login-required page, signed out, inside WeCom.
    resp = client.get("/profile/")
    assert resp.status_code == 302 and resp["Location"].startswith("/login/")
    resp = client.get(resp["Location"])
    assert resp.status_code == 302 and resp["Location"].startswith("/im/wecom/start/")
    state, code, back = _follow_to_platform(client, wecom, resp["Location"])
    resp = client.get(back.replace("http://testserver", ""))
    assert resp.status_code == 302 and resp["Location"] == "/profile/"
    assert client.session[SESSION_KEY] == str(person.pk)
    assert client.session.get_expire_at_browser_close()
    assert client.get("/profile/").status_code == 200
    assert wecom.problems == []
    assert "/connect/oauth2/authorize" in wecom.paths()
    assert "/cgi-bin/auth/getuserinfo" in wecom.paths()
    event = SignInEvent.objects.get()
    assert (event.outcome, event.person, event.platform_user_id) == (Outcome.SIGNED_IN, person, "zhangsan")


def test_wecom_qr_login_in_a_desktop_browser(wecom):
    person = UserFactory(username="li", wecom_id="lisi")
    wecom.next_user = "lisi"
    client = _client(HTTP_USER_AGENT=DESKTOP_UA)
    page = client.get("/login/?next=/profile/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="password"' in html
    assert "Scan with WeCom" in html
    assert "DingTalk" not in html and "Feishu" not in html  # only configured platforms
    state, code, back = _follow_to_platform(client, wecom, "/im/wecom/start/?mode=qr&next=/profile/")
    assert "/wwlogin/sso/login" in wecom.paths()
    resp = client.get(back.replace("http://testserver", ""))
    assert resp["Location"] == "/profile/"
    assert client.session[SESSION_KEY] == str(person.pk)
    assert wecom.problems == []


def test_the_session_key_changes_at_sign_in(wecom):
    UserFactory(username="zhang", wecom_id="zhangsan")
    wecom.next_user = "zhangsan"
    client = _client(HTTP_USER_AGENT=WECOM_UA)
    state, code, back = _follow_to_platform(client, wecom, "/im/wecom/start/?next=/profile/")
    before = client.session.session_key
    client.get(back.replace("http://testserver", ""))
    assert client.session.session_key != before


def test_dingtalk_oauth_signs_in(dingtalk):
    person = UserFactory(username="wang", dingtalk_id="manager4711")
    dingtalk.next_user = "manager4711"
    client = _client(HTTP_USER_AGENT=DINGTALK_UA)
    resp = client.get("/login/?next=/profile/")
    assert resp["Location"].startswith("/im/dingtalk/start/")
    state, code, back = _follow_to_platform(client, dingtalk, resp["Location"])
    resp = client.get(back.replace("http://testserver", ""))
    assert resp["Location"] == "/profile/"
    assert client.session[SESSION_KEY] == str(person.pk)
    assert dingtalk.problems == []
    assert dingtalk.paths()[1:] == [
        "/v1.0/oauth2/userAccessToken",
        "/v1.0/contact/users/me",
        "/gettoken",
        "/topapi/user/getbyunionid",
    ]


def test_feishu_oauth_signs_in(feishu):
    person = UserFactory(username="zhao", feishu_id="ou_zhao")
    feishu.next_user = "ou_zhao"
    client = _client(HTTP_USER_AGENT=FEISHU_UA)
    resp = client.get("/login/?next=/profile/")
    assert resp["Location"].startswith("/im/feishu/start/")
    state, code, back = _follow_to_platform(client, feishu, resp["Location"])
    resp = client.get(back.replace("http://testserver", ""))
    assert resp["Location"] == "/profile/"
    assert client.session[SESSION_KEY] == str(person.pk)
    assert feishu.problems == []
    assert feishu.paths()[1:] == ["/open-apis/authen/v2/oauth/token", "/open-apis/authen/v1/user_info"]


# -- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["wecom", "dingtalk", "feishu"])
def test_an_unknown_platform_id_gets_the_ask_your_admin_page(platform, request):
    fake = request.getfixturevalue(platform)
    fake.next_user = "stranger"
    client = _client()
    state, code, back = _follow_to_platform(client, fake, f"/im/{platform}/start/?next=/profile/")
    users_before = User.objects.count()
    resp = client.get(back.replace("http://testserver", ""), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert resp.status_code == 403
    assert "请联系管理员将你加入闭环" in resp.content.decode()
    assert SESSION_KEY not in client.session
    assert User.objects.count() == users_before  # never an automatic account
    assert SignInEvent.objects.get().outcome == Outcome.UNKNOWN
    assert fake.problems == []


def test_a_wechat_outsider_without_userid_is_unknown(wecom):
    wecom.next_user = "o-outsider"
    client = _client()
    state, code, back = _follow_to_platform(client, wecom, "/im/wecom/start/")
    resp = client.get(back.replace("http://testserver", ""), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert resp.status_code == 403 and "请联系管理员将你加入闭环" in resp.content.decode()


@pytest.mark.parametrize(
    "platform,field", [("wecom", "wecom_id"), ("dingtalk", "dingtalk_id"), ("feishu", "feishu_id")]
)
def test_a_deactivated_person_is_refused(platform, field, request):
    fake = request.getfixturevalue(platform)
    UserFactory(username="gone", is_active=False, **{field: "gone-id"})
    fake.next_user = "gone-id"
    client = _client()
    state, code, back = _follow_to_platform(client, fake, f"/im/{platform}/start/")
    resp = client.get(back.replace("http://testserver", ""))
    assert resp.status_code == 403
    assert "deactivated" in resp.content.decode()
    assert SESSION_KEY not in client.session
    assert SignInEvent.objects.get().outcome == Outcome.DEACTIVATED


def test_an_id_shared_by_two_people_is_refused(wecom):
    UserFactory(username="a", wecom_id="dup")
    UserFactory(username="b", wecom_id="dup")
    wecom.next_user = "dup"
    client = _client()
    state, code, back = _follow_to_platform(client, wecom, "/im/wecom/start/")
    resp = client.get(back.replace("http://testserver", ""))
    assert resp.status_code == 403
    assert "more than one person" in resp.content.decode()
    assert SESSION_KEY not in client.session
    assert SignInEvent.objects.get().outcome == Outcome.AMBIGUOUS


def test_a_code_is_accepted_once(wecom):
    UserFactory(username="zhang", wecom_id="zhangsan")
    wecom.next_user = "zhangsan"
    client = _client()
    state, code, back = _follow_to_platform(client, wecom, "/im/wecom/start/")
    client.get(back.replace("http://testserver", ""))
    assert SESSION_KEY in client.session
    # Replayed in another browser that has its own valid state: refused before the platform.
    other = _client()
    state2, _code2, _back2 = _follow_to_platform(other, wecom, "/im/wecom/start/")
    calls = wecom.paths().count("/cgi-bin/auth/getuserinfo")
    resp = _callback(other, "wecom", code=code, state=state2)
    assert resp.status_code == 400
    assert "already used" in resp.content.decode()
    assert SESSION_KEY not in other.session
    assert wecom.paths().count("/cgi-bin/auth/getuserinfo") == calls
    assert SignInEvent.objects.filter(outcome=Outcome.CODE_REUSED).count() == 1


@pytest.mark.parametrize(
    "state",
    ["", "forged-state", None],
    ids=["empty", "forged", "missing"],
)
def test_a_missing_or_forged_state_is_refused(wecom, state):
    UserFactory(username="zhang", wecom_id="zhangsan")
    wecom.next_user = "zhangsan"
    client = _client()
    _real_state, code, _back = _follow_to_platform(client, wecom, "/im/wecom/start/")
    params = {"code": code} if state is None else {"code": code, "state": state}
    resp = _callback(client, "wecom", **params)
    assert resp.status_code == 400
    assert "not valid in this browser" in resp.content.decode()
    assert SESSION_KEY not in client.session
    assert "/cgi-bin/auth/getuserinfo" not in wecom.paths()
    assert SignInEvent.objects.get().outcome == Outcome.BAD_STATE


def test_a_state_from_another_browser_is_refused(wecom):
    UserFactory(username="zhang", wecom_id="zhangsan")
    wecom.next_user = "zhangsan"
    victim, attacker = _client(), _client()
    state, code, back = _follow_to_platform(attacker, wecom, "/im/wecom/start/")
    resp = victim.get(back.replace("http://testserver", ""))
    assert resp.status_code == 400
    assert SESSION_KEY not in victim.session


def test_a_state_is_single_use(wecom):
    UserFactory(username="zhang", wecom_id="zhangsan")
    wecom.next_user = "zhangsan"
    client = _client()
    state, code, back = _follow_to_platform(client, wecom, "/im/wecom/start/")
    client.get(back.replace("http://testserver", ""))
    client.logout()
    resp = _callback(client, "wecom", code=wecom.issue_code("zhangsan"), state=state)
    assert resp.status_code == 400
    assert SESSION_KEY not in client.session


def test_a_state_for_one_platform_does_not_work_for_another(wecom, feishu):
    UserFactory(username="zhao", feishu_id="ou_zhao")
    client = _client()
    state, code, back = _follow_to_platform(client, wecom, "/im/wecom/start/")
    resp = _callback(client, "feishu", code=feishu.issue_code("ou_zhao"), state=state)
    assert resp.status_code == 400
    assert SESSION_KEY not in client.session


def test_an_expired_state_is_refused(wecom, settings):
    UserFactory(username="zhang", wecom_id="zhangsan")
    wecom.next_user = "zhangsan"
    client = _client()
    state, code, back = _follow_to_platform(client, wecom, "/im/wecom/start/")
    settings.IMSIGNIN_STATE_SECONDS = -1
    resp = client.get(back.replace("http://testserver", ""))
    assert resp.status_code == 400
    assert SESSION_KEY not in client.session


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/\r\nLocation: https://evil.example",
        "/%0d%0aLocation:%20https://evil.example",
        " //evil.example",
    ],
)
def test_the_return_path_never_leaves_the_site(wecom, next_url):
    UserFactory(username="zhang", wecom_id="zhangsan")
    wecom.next_user = "zhangsan"
    client = _client()
    resp = client.get("/im/wecom/start/", {"next": next_url})
    state, code, back = _follow_to_platform(
        client, wecom, resp.request["PATH_INFO"] + "?" + resp.request["QUERY_STRING"]
    )
    resp = client.get(back.replace("http://testserver", ""))
    assert resp.status_code == 302
    location = resp["Location"]
    # Either home, or a path of this site that merely contains the text (percent-encoded).
    assert location == "/" or (
        not urlsplit(location).netloc and location.startswith("/") and not location.startswith(("//", "/\\"))
    )
    assert "\n" not in location and "\r" not in location
    if "%" not in next_url:
        assert location == "/"
    assert SESSION_KEY in client.session


def test_the_login_page_does_not_forward_an_offsite_next_to_the_platform(wecom):
    client = _client(HTTP_USER_AGENT=WECOM_UA)
    resp = client.get("/login/", {"next": "https://evil.example/"})
    # No page of this site to go to: the form, and its WeCom button carries no return path.
    assert resp.status_code == 200
    html = resp.content.decode()
    buttons = html.split('data-testid="login-alt"', 1)[1].split("</div>", 1)[0]
    assert 'href="/im/wecom/start/?next="' in buttons
    assert "evil" not in buttons
    assert 'name="next" value=""' in html


def test_the_redirect_uri_comes_from_site_url_not_the_host_header(wecom, settings):
    settings.SITE_URL = "https://closeloop.example.com"
    client = _client(HTTP_HOST="evil.example")
    resp = client.get("/im/wecom/start/")
    q = parse_qs(urlsplit(resp["Location"]).query)
    assert q["redirect_uri"] == ["https://closeloop.example.com/im/wecom/callback/"]


# -- platform errors --------------------------------------------------------------------


def test_an_expired_code_is_a_clear_message(wecom):
    client = _client()
    state, code, back = _follow_to_platform(client, wecom, "/im/wecom/start/")
    wecom.codes.clear()  # the platform no longer knows it
    resp = client.get(back.replace("http://testserver", ""))
    assert resp.status_code == 502
    assert "expired or was already used" in resp.content.decode()
    assert SignInEvent.objects.get().outcome == Outcome.PLATFORM_ERROR


def test_a_wrong_secret_is_a_clear_message_and_never_shows_the_secret(wecom):
    from closeloop.imsignin.services import app_channel

    UserFactory(username="zhang", wecom_id="zhangsan")
    wecom.next_user = "zhangsan"
    wecom.secret = "the-real-secret-changed"
    client = _client()
    state, code, back = _follow_to_platform(client, wecom, "/im/wecom/start/")
    resp = client.get(back.replace("http://testserver", ""))
    assert resp.status_code == 502
    html = resp.content.decode()
    assert "credentials" in html
    assert app_channel("wecom").secret not in html
    event = SignInEvent.objects.get()
    assert event.outcome == Outcome.PLATFORM_ERROR
    assert app_channel("wecom").secret not in event.detail


@pytest.mark.parametrize("platform", ["dingtalk", "feishu"])
def test_a_wrong_secret_is_a_clear_message_on_dingtalk_and_feishu(platform, request):
    fake = request.getfixturevalue(platform)
    UserFactory(username="x", **{f"{platform}_id": "someone"})
    fake.next_user = "someone"
    fake.secret = "rotated-on-the-platform"
    client = _client()
    state, code, back = _follow_to_platform(client, fake, f"/im/{platform}/start/")
    resp = client.get(back.replace("http://testserver", ""))
    assert resp.status_code == 502
    assert "credentials" in resp.content.decode()
    assert SESSION_KEY not in client.session


@pytest.mark.parametrize(
    "path,answer",
    [
        ("/cgi-bin/auth/getuserinfo", (200, {"errcode": 45009, "errmsg": "api freq out of limit"})),
        ("/cgi-bin/auth/getuserinfo", (429, {})),
        ("/cgi-bin/auth/getuserinfo", (200, ["not", "an", "object"])),
        ("/cgi-bin/auth/getuserinfo", (500, {"errcode": -1})),
    ],
    ids=["errcode-45009", "http-429", "not-an-object", "http-500"],
)
def test_odd_wecom_answers_are_clear_messages(wecom, path, answer):
    client = _client()
    state, code, back = _follow_to_platform(client, wecom, "/im/wecom/start/")
    wecom.script[path] = answer
    resp = client.get(back.replace("http://testserver", ""))
    assert resp.status_code == 502
    assert "WeCom" in resp.content.decode()
    assert SESSION_KEY not in client.session


@pytest.mark.parametrize(
    "path,answer",
    [
        ("/v1.0/oauth2/userAccessToken", (200, {"accessToken": ["x"]})),
        ("/v1.0/contact/users/me", (200, {"nick": "x"})),
        ("/topapi/user/getbyunionid", (200, {"errcode": 0, "result": "garbage"})),
        ("/v1.0/oauth2/userAccessToken", (429, {"code": "Throttling", "message": "too many"})),
    ],
    ids=["token-not-a-string", "no-unionid", "result-not-an-object", "throttled"],
)
def test_odd_dingtalk_answers_are_clear_refusals(dingtalk, path, answer):
    UserFactory(username="x", dingtalk_id="")
    client = _client()
    state, code, back = _follow_to_platform(client, dingtalk, "/im/dingtalk/start/")
    dingtalk.script[path] = answer
    resp = client.get(back.replace("http://testserver", ""))
    assert resp.status_code in (403, 502)
    assert SESSION_KEY not in client.session


def test_rate_limiting_is_a_clear_message(feishu):
    client = _client()
    state, code, back = _follow_to_platform(client, feishu, "/im/feishu/start/")
    feishu.script["/open-apis/authen/v2/oauth/token"] = (429, {"code": 99991400, "msg": "rate limited"})
    resp = client.get(back.replace("http://testserver", ""))
    assert resp.status_code == 502
    assert "limiting requests" in resp.content.decode()


def test_dingtalk_invalid_code_is_a_clear_message(dingtalk):
    client = _client()
    state, code, back = _follow_to_platform(client, dingtalk, "/im/dingtalk/start/")
    dingtalk.codes.clear()
    resp = client.get(back.replace("http://testserver", ""))
    assert resp.status_code == 502
    assert "expired or was already used" in resp.content.decode()
    assert dingtalk.problems == []


def test_a_platform_that_is_down_is_a_clear_message(wecom):
    client = _client()
    state, code, back = _follow_to_platform(client, wecom, "/im/wecom/start/")
    wecom.stop()
    resp = client.get(back.replace("http://testserver", ""))
    assert resp.status_code == 502
    assert "could not complete the sign-in" in resp.content.decode()


def test_the_person_cancelling_on_the_platform_is_a_clear_message(feishu):
    client = _client()
    state, code, back = _follow_to_platform(client, feishu, "/im/feishu/start/")
    resp = _callback(client, "feishu", error="access_denied", state=state)
    assert resp.status_code == 400
    assert "cancelled" in resp.content.decode()


@pytest.mark.parametrize("code", ["", "a\x00b", "x" * 600])
def test_a_bad_code_is_refused_without_asking_the_platform(wecom, code):
    client = _client()
    state, _code, _back = _follow_to_platform(client, wecom, "/im/wecom/start/")
    resp = _callback(client, "wecom", code=code, state=state)
    assert resp.status_code == 400
    assert "/cgi-bin/auth/getuserinfo" not in wecom.paths()


def test_an_unknown_platform_is_a_404(db):
    assert _client().get("/im/myspace/callback/?code=x&state=y").status_code == 404
    assert _client().get("/im/myspace/start/").status_code == 404


def test_a_platform_that_is_not_switched_on_offers_nothing(wecom):
    SignInSetup.objects.filter(platform="wecom").update(enabled=False)
    client = _client(HTTP_USER_AGENT=WECOM_UA)
    resp = client.get("/login/?next=/profile/")
    assert resp.status_code == 200  # the password form, no OAuth
    assert "WeCom" not in resp.content.decode()
    assert client.get("/im/wecom/start/").status_code == 400


# -- entry ------------------------------------------------------------------------------


def test_a_normal_browser_gets_the_password_form_and_the_configured_buttons(wecom, dingtalk, feishu):
    resp = _client(HTTP_USER_AGENT=DESKTOP_UA).get("/login/?next=/profile/")
    html = resp.content.decode()
    assert resp.status_code == 200 and 'name="password"' in html
    for label in ("Scan with WeCom", "Log in with DingTalk", "Log in with Feishu"):
        assert label in html
    assert "/im/wecom/start/?next=%2Fprofile%2F&amp;mode=qr" in html


def test_the_buttons_speak_chinese_by_default(wecom, dingtalk, feishu):
    from django.utils import translation

    with translation.override("zh-hans"):
        html = Client(HTTP_USER_AGENT=DESKTOP_UA).get("/login/").content.decode()
    assert "企业微信扫码登录" in html and "钉钉登录" in html and "飞书登录" in html


def test_the_password_form_stays_reachable_inside_the_im_app(wecom):
    resp = _client(HTTP_USER_AGENT=WECOM_UA).get("/login/?password=1&next=/profile/")
    assert resp.status_code == 200 and 'name="password"' in resp.content.decode()


def test_logging_out_inside_the_im_app_does_not_sign_straight_back_in(wecom):
    person = UserFactory(username="zhang", wecom_id="zhangsan")
    client = _client(HTTP_USER_AGENT=WECOM_UA)
    client.force_login(person)
    resp = client.post("/logout/", follow=True)
    assert resp.status_code == 200
    assert 'name="password"' in resp.content.decode()
    assert "Log in with WeCom" in resp.content.decode()
    assert SESSION_KEY not in client.session


def test_the_refusal_page_offers_the_password_form(wecom):
    wecom.next_user = "stranger"
    client = _client(HTTP_USER_AGENT=WECOM_UA)
    state, code, back = _follow_to_platform(client, wecom, "/im/wecom/start/?next=/profile/")
    html = client.get(back.replace("http://testserver", "")).content.decode()
    assert "/login/?password=1" in html


# -- matching by mobile -----------------------------------------------------------------


@pytest.mark.parametrize(
    "platform,field", [("wecom", "wecom_id"), ("dingtalk", "dingtalk_id"), ("feishu", "feishu_id")]
)
def test_mobile_lookup_links_the_id_once_when_the_admin_allows_it(platform, field, request):
    fake = request.getfixturevalue(platform)
    SignInSetup.objects.filter(platform=platform).update(allow_mobile_lookup=True)
    person = UserFactory(username="new", mobile="13800001111")
    fake.mobiles["new-id"] = "13800001111"
    fake.next_user = "new-id"
    client = _client()
    state, code, back = _follow_to_platform(client, fake, f"/im/{platform}/start/")
    resp = client.get(back.replace("http://testserver", ""))
    assert resp.status_code == 302
    assert client.session[SESSION_KEY] == str(person.pk)
    person.refresh_from_db()
    assert getattr(person, field) == "new-id"
    assert SignInEvent.objects.get().outcome == Outcome.LINKED
    assert fake.problems == []


def test_mobile_lookup_is_off_by_default(wecom):
    UserFactory(username="new", mobile="13800001111")
    wecom.mobiles["new-id"] = "13800001111"
    wecom.next_user = "new-id"
    client = _client()
    state, code, back = _follow_to_platform(client, wecom, "/im/wecom/start/")
    resp = client.get(back.replace("http://testserver", ""))
    assert resp.status_code == 403
    assert User.objects.get(username="new").wecom_id == ""
    assert "/cgi-bin/user/get" not in wecom.paths()
