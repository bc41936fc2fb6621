"""The admin's pages: per-platform settings (secrets never shown back), the test sign-in,
who has which IM id, and the read-only sign-in log. Nobody else reaches them."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from closeloop.imsignin.models import Outcome, SignInEvent, SignInSetup
from closeloop.imsignin.services import app_channel
from closeloop.notify.models import Channel, ChannelKind
from closeloop.testing.clients import english_client
from closeloop.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def _admin_client(user) -> Client:
    return english_client(user)


def test_an_admin_sets_up_feishu_and_the_secret_never_comes_back(site, admin_user):
    c = _admin_client(admin_user)
    secret = "feishu-super-secret-value-42"
    resp = c.post(
        "/admin/im-signin/feishu/",
        {"enabled": "on", "app_id": "cli_abc123", "secret": secret},
    )
    assert resp.status_code == 302
    channel = Channel.objects.get(kind=ChannelKind.FEISHU_APP)
    assert channel.secret == secret and channel.config["app_id"] == "cli_abc123"
    assert SignInSetup.objects.get(platform="feishu").enabled
    page = c.get("/admin/im-signin/feishu/").content.decode()
    assert secret not in page
    assert "fei…e-42" in page  # masked
    assert "Test sign-in" in page
    assert "http://testserver/im/feishu/callback/" in page
    # Saving again with the secret left empty keeps it.
    c.post("/admin/im-signin/feishu/", {"enabled": "on", "app_id": "cli_abc123", "secret": ""})
    assert app_channel("feishu").secret == secret


def test_the_settings_reuse_the_app_message_channel(site, admin_user):
    from closeloop.notify import services as notify_services

    channel = notify_services.channel_create(
        actor=admin_user,
        name="企业微信应用",
        kind=ChannelKind.WECOM_APP,
        config={"corp_id": "ww1", "agent_id": 1000002},
        secret="wecom-secret-xyz-123456",
    )
    c = _admin_client(admin_user)
    page = c.get("/admin/im-signin/wecom/").content.decode()
    assert 'value="ww1"' in page and "wecom-secret-xyz-123456" not in page
    resp = c.post("/admin/im-signin/wecom/", {"enabled": "on", "corp_id": "ww1", "agent_id": "1000002"})
    assert resp.status_code == 302
    assert Channel.objects.filter(kind=ChannelKind.WECOM_APP).count() == 1
    channel.refresh_from_db()
    assert channel.secret == "wecom-secret-xyz-123456"


@pytest.mark.parametrize(
    "data,field_text",
    [
        ({"enabled": "on", "corp_id": "", "agent_id": "1000002", "secret": "s3cr3t-value"}, "corp_id"),
        ({"enabled": "on", "corp_id": "ww1", "agent_id": "abc", "secret": "s3cr3t-value"}, "agent_id"),
        ({"enabled": "on", "corp_id": "ww1", "agent_id": "1000002", "secret": ""}, "secret"),
        ({"enabled": "on", "corp_id": "ww\x001", "agent_id": "1000002", "secret": "x"}, "corp_id"),
        ({"enabled": "on", "corp_id": "w" * 200, "agent_id": "1000002", "secret": "x"}, "corp_id"),
    ],
)
def test_bad_settings_are_refused_with_a_message_and_nothing_stored(site, admin_user, data, field_text):
    c = _admin_client(admin_user)
    resp = c.post("/admin/im-signin/wecom/", data)
    assert resp.status_code == 422
    assert "errorlist" in resp.content.decode() or "field-error" in resp.content.decode()
    assert not Channel.objects.filter(kind=ChannelKind.WECOM_APP).exists()
    assert not SignInSetup.objects.filter(platform="wecom", enabled=True).exists()


def test_only_an_admin_reaches_the_settings_and_the_people_view(site, db):
    member = UserFactory(username="member")
    staff = UserFactory(username="staff", is_staff=True)
    for user in (member, staff):
        c = _admin_client(user)
        for url in ("/admin/im-signin/", "/admin/im-signin/wecom/", "/admin/im-signin/people/"):
            resp = c.get(url)
            assert resp.status_code == 302 and "/admin/login/" in resp["Location"], (user, url)
        resp = c.post(
            "/admin/im-signin/wecom/", {"enabled": "on", "corp_id": "x", "agent_id": "1", "secret": "y"}
        )
        assert resp.status_code == 302
    assert not Channel.objects.exists()
    assert Client().get("/admin/im-signin/").status_code == 302


def test_the_service_refuses_a_non_admin(db):
    from closeloop.core.errors import NotAllowed
    from closeloop.imsignin.services import setup_save

    with pytest.raises(NotAllowed):
        setup_save(
            actor=UserFactory(username="member"),
            platform_key="wecom",
            enabled=True,
            allow_mobile_lookup=False,
            credentials={"corp_id": "x", "agent_id": 1},
            secret="y",
        )


def test_the_people_view_shows_linked_ids_in_constant_queries(site, admin_user):
    UserFactory(username="zhang", name="张三", wecom_id="zhangsan", feishu_id="ou_zhang")
    UserFactory(username="gone", name="离职", is_active=False, dingtalk_id="d-gone")
    c = _admin_client(admin_user)
    resp = c.get("/admin/im-signin/people/")
    html = resp.content.decode()
    assert "zhangsan" in html and "ou_zhang" in html and "d-gone" in html and "deactivated" in html
    with CaptureQueriesContext(connection) as few:
        c.get("/admin/im-signin/people/")
    for i in range(10):
        UserFactory(username=f"more{i}", wecom_id=f"w{i}")
    with CaptureQueriesContext(connection) as many:
        c.get("/admin/im-signin/people/")
    assert len(many) == len(few)
    found = c.get("/admin/im-signin/people/?q=ou_zhang").content.decode()
    assert "张三" in found and "离职" not in found


def test_the_test_sign_in_checks_the_setup_without_switching_the_admin(wecom, admin_user):
    from closeloop.imsignin.tests.test_flows import _follow_to_platform

    person = UserFactory(username="zhang", name="张三", wecom_id="zhangsan")
    wecom.next_user = "zhangsan"
    c = _admin_client(admin_user)
    page = c.get("/admin/im-signin/wecom/").content.decode()
    assert "/im/wecom/start/?test=1" in page
    state, code, back = _follow_to_platform(c, wecom, "/im/wecom/start/?test=1&mode=qr")
    resp = c.get(back.replace("http://testserver", ""))
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "zhangsan" in html and "张三" in html
    assert c.session["_auth_user_id"] == str(admin_user.pk)
    assert SignInEvent.objects.get().outcome == Outcome.TESTED
    assert SignInEvent.objects.get().person == person


def test_the_sign_in_log_is_read_only_in_django_admin(wecom, admin_user):
    SignInEvent.objects.create(
        at="2026-11-30T08:00:00Z", platform="wecom", outcome=Outcome.UNKNOWN, platform_user_id="who"
    )
    c = _admin_client(admin_user)
    resp = c.get("/admin/imsignin/signinevent/")
    assert resp.status_code == 200 and "who" in resp.content.decode()
    event = SignInEvent.objects.get()
    assert c.post(f"/admin/imsignin/signinevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert SignInEvent.objects.exists()
    assert c.get("/admin/imsignin/signinevent/add/").status_code == 403
    member = _admin_client(UserFactory(username="member"))
    assert member.get("/admin/imsignin/signinevent/").status_code == 302
    # The admin index leads to the settings pages.
    assert c.get("/admin/imsignin/signinsetup/")["Location"] == "/admin/im-signin/"
