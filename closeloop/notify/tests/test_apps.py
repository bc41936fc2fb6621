"""One-to-one app messages against local fake platforms: the token is fetched once, cached in
the database, refreshed once when the platform says it expired, and every reply is read from
both the HTTP status and the body."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from closeloop.notify import outbox
from closeloop.notify.models import AccessToken, ChannelKind, Delivery, DeliveryState
from closeloop.notify.services import channel_create, fill_platform_ids, notify


def drain():
    return outbox.drain(timezone.now(), "w1", 50)


class FakePlatform:
    """Issues tokens t-1, t-2, …; `expire_next` makes the next send refuse the current token."""

    def __init__(self, token_path, send_path, token_error, ok, token_reply):
        self.token_path, self.send_path = token_path, send_path
        self.token_error, self.ok, self.token_reply = token_error, ok, token_reply
        self.issued = 0
        self.valid = set()
        self.expire_next = False
        self.send_answers = []
        self.sent = []

    def __call__(self, hit):
        if hit.path == self.token_path:
            self.issued += 1
            token = f"t-{self.issued}"
            self.valid.add(token)
            return 200, self.token_reply(token), {}
        token = hit.query.get("access_token") or hit.headers.get("authorization", "").removeprefix("Bearer ")
        if hit.path == self.send_path:
            self.sent.append(hit)
        if self.expire_next:
            self.expire_next = False
            self.valid.discard(token)
        if token not in self.valid:
            return 200, self.token_error, {}
        if hit.path == self.send_path:
            if self.send_answers:
                return self.send_answers.pop(0)
        return 200, self.ok(hit), {}


@pytest.fixture
def wecom(receiver, settings):
    settings.NOTIFY_WECOM_API_BASE = receiver.base
    fake = FakePlatform(
        "/cgi-bin/gettoken",
        "/cgi-bin/message/send",
        {"errcode": 42001, "errmsg": "access_token expired"},
        lambda hit: {"errcode": 0, "errmsg": "ok", "invaliduser": "", "userid": "zhangsan"},
        lambda t: {"errcode": 0, "access_token": t, "expires_in": 7200},
    )
    receiver.handler = fake
    return fake


def test_it_sends_wecom_app_messages_with_one_cached_token(admin_user, member, head, receiver, wecom):
    member.wecom_id, head.wecom_id = "lizy", "wangz"
    member.save()
    head.save()
    channel_create(
        actor=admin_user,
        name="企业微信应用",
        kind=ChannelKind.WECOM_APP,
        config={"corp_id": "ww123", "agent_id": "1000002"},
        secret="APP-SECRET",
    )
    notify(
        recipients=[member, head],
        kind="task.rework",
        data={"code": "SALES-T001", "title": "报表", "by": "王总", "note": "数据不全"},
        link="/tasks/1/",
    )
    drain()
    token_hits = [h for h in receiver.hits if h.path == "/cgi-bin/gettoken"]
    assert len(token_hits) == 1
    assert token_hits[0].query == {"corpid": "ww123", "corpsecret": "APP-SECRET"}
    assert len(wecom.sent) == 2
    body = wecom.sent[0].json()
    assert body["agentid"] == 1000002 and body["msgtype"] == "textcard"
    assert body["touser"] in ("lizy", "wangz")
    assert body["textcard"]["url"] == "https://closeloop.example.com/tasks/1/"
    assert wecom.sent[0].query["access_token"] == "t-1"
    assert AccessToken.objects.get().token == "t-1"
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}


def test_it_refreshes_an_expired_wecom_token_once_and_retries(admin_user, member, receiver, wecom):
    member.wecom_id = "lizy"
    member.save()
    channel_create(
        actor=admin_user,
        name="app",
        kind=ChannelKind.WECOM_APP,
        config={"corp_id": "ww1", "agent_id": 1},
        secret="S",
    )
    notify(recipients=[member], kind="task.assigned", data={"code": "A"})
    drain()
    notify(recipients=[member], kind="task.assigned", data={"code": "B"})
    wecom.expire_next = True
    drain()
    assert wecom.issued == 2
    # The second send met an expired token: dropped, fetched anew, retried once.
    assert [h.query["access_token"] for h in wecom.sent] == ["t-1", "t-1", "t-2"]
    assert AccessToken.objects.get().token == "t-2"
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}


def test_it_records_partly_invalid_wecom_recipients(admin_user, member, receiver, wecom):
    member.wecom_id = "lizy"
    member.save()
    channel_create(
        actor=admin_user,
        name="app",
        kind=ChannelKind.WECOM_APP,
        config={"corp_id": "ww1", "agent_id": 1},
        secret="S",
    )
    wecom.send_answers = [(200, {"errcode": 0, "errmsg": "ok", "invaliduser": "lizy"}, {})]
    notify(recipients=[member], kind="task.assigned", data={"code": "A"})
    drain()
    d = Delivery.objects.get()
    assert d.state == DeliveryState.FAILED and "lizy" in d.last_error
    assert d.channel.enabled


def test_it_disables_a_wecom_app_whose_secret_is_wrong(admin_user, member, receiver, settings):
    settings.NOTIFY_WECOM_API_BASE = receiver.base
    receiver.handler = lambda hit: (200, {"errcode": 40001, "errmsg": "invalid credential"}, {})
    member.wecom_id = "lizy"
    member.save()
    channel = channel_create(
        actor=admin_user,
        name="app",
        kind=ChannelKind.WECOM_APP,
        config={"corp_id": "ww1", "agent_id": 1},
        secret="WRONG",
    )
    notify(recipients=[member], kind="task.assigned", data={"code": "A"})
    drain()
    channel.refresh_from_db()
    assert not channel.enabled and "invalid credential" in channel.last_error
    assert "WRONG" not in channel.last_error


def test_it_fills_missing_wecom_ids_from_mobiles(admin_user, member, receiver, wecom):
    member.mobile = "13800001111"
    member.save()
    channel = channel_create(
        actor=admin_user,
        name="app",
        kind=ChannelKind.WECOM_APP,
        config={"corp_id": "ww1", "agent_id": 1},
        secret="S",
    )
    assert fill_platform_ids(actor=admin_user, channel=channel) == 1
    member.refresh_from_db()
    assert member.wecom_id == "zhangsan"
    lookup = [h for h in receiver.hits if h.path == "/cgi-bin/user/getuserid"][0]
    assert lookup.json() == {"mobile": "13800001111"}


# -- DingTalk 工作通知 -------------------------------------------------------------


@pytest.fixture
def dingtalk(receiver, settings):
    settings.NOTIFY_DINGTALK_API_BASE = receiver.base

    def ok(hit):
        if hit.path.endswith("getsendresult"):
            return {"errcode": 0, "send_result": fake.result}
        return {"errcode": 0, "task_id": 4242}

    fake = FakePlatform(
        "/gettoken",
        "/topapi/message/corpconversation/asyncsend_v2",
        {"errcode": 40014, "errmsg": "不合法的access_token"},
        ok,
        lambda t: {"errcode": 0, "access_token": t, "expires_in": 7200},
    )
    fake.result = {"invalid_user_id_list": [], "forbidden_user_id_list": [], "failed_user_id_list": []}
    receiver.handler = fake
    return fake


def test_it_sends_dingtalk_work_notifications_and_checks_the_result(admin_user, member, receiver, dingtalk):
    member.dingtalk_id = "ding-li"
    member.save()
    channel_create(
        actor=admin_user,
        name="钉钉应用",
        kind=ChannelKind.DINGTALK_APP,
        config={"app_key": "dingkey", "agent_id": 123, "corp_id": "ding-corp"},
        secret="DSECRET",
    )
    notify(
        recipients=[member],
        kind="delay_warning.decided",
        data={"code": "T1", "title": "x", "approved": True, "new_due": "2026-12-01", "by": "王总"},
    )
    drain()
    token = [h for h in receiver.hits if h.path == "/gettoken"][0]
    assert token.query == {"appkey": "dingkey", "appsecret": "DSECRET"}
    (sent,) = dingtalk.sent
    body = sent.json()
    assert body["agent_id"] == 123 and body["userid_list"] == "ding-li"
    assert body["msg"]["msgtype"] == "action_card"
    assert "2026-12-01" in body["msg"]["action_card"]["markdown"]
    result = [h for h in receiver.hits if h.path.endswith("getsendresult")][0]
    assert result.json() == {"agent_id": 123, "task_id": 4242}
    assert Delivery.objects.get().state == DeliveryState.SENT

    dingtalk.result = {
        "invalid_user_id_list": [],
        "forbidden_user_id_list": ["ding-li"],
        "failed_user_id_list": [],
    }
    notify(recipients=[member], kind="task.assigned", data={"code": "T2"})
    drain()
    failed = Delivery.objects.order_by("-id").first()
    assert failed.state == DeliveryState.FAILED and "ding-li" in failed.last_error


def test_it_refreshes_an_expired_dingtalk_token_once(admin_user, member, receiver, dingtalk):
    member.dingtalk_id = "ding-li"
    member.save()
    channel = channel_create(
        actor=admin_user,
        name="钉钉应用",
        kind=ChannelKind.DINGTALK_APP,
        config={"app_key": "k", "agent_id": 1},
        secret="S",
    )
    # Another process cached a token that the platform has since revoked.
    AccessToken.objects.create(
        channel=channel, token="stale", expires_at=timezone.now() + dt.timedelta(hours=1)
    )
    notify(recipients=[member], kind="task.assigned", data={"code": "T"})
    drain()
    assert dingtalk.issued == 1
    assert [h.query["access_token"] for h in dingtalk.sent] == ["stale", "t-1"]
    assert Delivery.objects.get().state == DeliveryState.SENT


# -- Feishu app bot -----------------------------------------------------------------


@pytest.fixture
def feishu(receiver, settings):
    settings.NOTIFY_FEISHU_API_BASE = receiver.base
    fake = FakePlatform(
        "/open-apis/auth/v3/tenant_access_token/internal",
        "/open-apis/im/v1/messages",
        {"code": 99991663, "msg": "Invalid access token for authorization."},
        lambda hit: {"code": 0, "msg": "success", "data": {"message_id": "om_1"}},
        lambda t: {"code": 0, "tenant_access_token": t, "expire": 7200},
    )
    receiver.handler = fake
    return fake


def test_it_sends_feishu_app_cards_with_the_delivery_as_uuid(admin_user, member, receiver, feishu):
    member.feishu_id = "ou_li"
    member.save()
    channel_create(
        actor=admin_user,
        name="飞书应用",
        kind=ChannelKind.FEISHU_APP,
        config={"app_id": "cli_abc"},
        secret="FSECRET",
    )
    notify(
        recipients=[member],
        kind="mentioned",
        data={"code": "T1", "title": "x", "by": "王总", "note": "看看"},
        link="/tasks/1/",
    )
    drain()
    token = [h for h in receiver.hits if h.path.endswith("tenant_access_token/internal")][0]
    assert token.json() == {"app_id": "cli_abc", "app_secret": "FSECRET"}
    (sent,) = feishu.sent
    assert sent.query == {"receive_id_type": "open_id"}
    assert sent.headers["authorization"] == "Bearer t-1"
    body = sent.json()
    d = Delivery.objects.get()
    assert body["receive_id"] == "ou_li" and body["msg_type"] == "interactive"
    assert body["uuid"] == f"closeloop-{d.pk}"
    card = json.loads(body["content"])  # a JSON string, not an object
    assert card["elements"][-1]["actions"][0]["url"] == "https://closeloop.example.com/tasks/1/"
    assert d.state == DeliveryState.SENT


def test_it_waits_for_feishu_rate_limit_reset_and_refreshes_tokens(admin_user, member, receiver, feishu):
    member.feishu_id = "ou_li"
    member.save()
    channel_create(
        actor=admin_user,
        name="飞书应用",
        kind=ChannelKind.FEISHU_APP,
        config={"app_id": "cli_abc"},
        secret="FSECRET",
    )
    feishu.send_answers = [
        (429, {"code": 99991400, "msg": "request trigger frequency limit"}, {"x-ogw-ratelimit-reset": "7"})
    ]
    notify(recipients=[member], kind="task.assigned", data={"code": "T"})
    now = timezone.now()
    outbox.drain(now, "w1", 10)
    d = Delivery.objects.get()
    assert d.state == DeliveryState.QUEUED and "frequency limit" in d.last_error
    assert (d.run_after - now).total_seconds() >= 7
    feishu.expire_next = True
    outbox.drain(d.run_after, "w1", 10)
    assert Delivery.objects.get().state == DeliveryState.SENT
    assert feishu.issued == 2
