"""Group robots against local receivers that check body and signature exactly as the spec
gives them, and answer success, rate limited, permanent error, 5xx and hang."""

import base64
import datetime as dt
import hashlib
import hmac
import time

import pytest
from django.utils import timezone

from closeloop.core.errors import ValidationFailed
from closeloop.notify import outbox
from closeloop.notify.models import ChannelKind, Delivery, DeliveryState
from closeloop.notify.services import channel_create, notify

DING_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
FEISHU_SECRET = "feishu-bot-secret-1234"


def drain(now=None):
    return outbox.drain(now or timezone.now(), "w1", 50)


@pytest.fixture
def people(member, head):
    member.wecom_id, member.mobile, member.dingtalk_id, member.feishu_id = "lizy", "13800001111", "", "ou_li"
    member.save()
    head.mobile = "13900002222"
    head.save()
    return member, head


# -- WeCom robot -------------------------------------------------------------------


def test_it_posts_to_the_wecom_robot_with_mentions(admin_user, sales, people, receiver):
    member, head = people
    channel_create(
        actor=admin_user,
        name="销售群",
        kind=ChannelKind.WECOM_ROBOT,
        department=sales,
        url=receiver.base + "/cgi-bin/webhook/send?key=KEY-123",
    )
    notify(
        recipients=[member, head],
        kind="update_reminder",
        data={"code": "SALES-T001", "title": "月度销售报表"},
        link="/tasks/1/",
        department=sales,
    )
    drain()
    (hit,) = receiver.hits
    assert hit.path == "/cgi-bin/webhook/send" and hit.query == {"key": "KEY-123"}
    body = hit.json()
    assert body["msgtype"] == "text"
    assert body["text"]["mentioned_list"] == ["lizy"]
    assert body["text"]["mentioned_mobile_list"] == ["13900002222"]
    assert "SALES-T001" in body["text"]["content"]
    assert body["text"]["content"].endswith("https://closeloop.example.com/tasks/1/")
    assert len(body["text"]["content"].encode()) <= 2048


def test_it_shortens_a_long_wecom_message_and_keeps_the_link(admin_user, sales, member, receiver):
    channel_create(
        actor=admin_user,
        name="g",
        kind=ChannelKind.WECOM_ROBOT,
        department=sales,
        url=receiver.base + "/cgi-bin/webhook/send?key=K",
    )
    notify(
        recipients=[member],
        kind="issue.escalated",
        data={"code": "T1", "title": "长" * 3000, "note": "说明" * 2000},
        link="/tasks/1/",
        department=sales,
    )
    drain()
    content = receiver.hits[0].json()["text"]["content"]
    assert len(content.encode()) <= 2048 and content.endswith("/tasks/1/")


@pytest.mark.parametrize(
    ("answer", "state", "enabled"),
    [
        ((200, {"errcode": 45009, "errmsg": "api freq out of limit"}, {}), DeliveryState.QUEUED, True),
        ((200, {"errcode": -1, "errmsg": "system busy"}, {}), DeliveryState.QUEUED, True),
        ((502, b"bad gateway", {}), DeliveryState.QUEUED, True),
        ("hang", DeliveryState.QUEUED, True),
        ((200, {"errcode": 93000, "errmsg": "invalid webhook url"}, {}), DeliveryState.HELD, False),
        ((200, {"errcode": 45002, "errmsg": "content exceed max length"}, {}), DeliveryState.FAILED, True),
    ],
)
def test_it_reads_wecom_answers_from_the_body(admin_user, sales, member, receiver, answer, state, enabled):
    channel = channel_create(
        actor=admin_user,
        name="g",
        kind=ChannelKind.WECOM_ROBOT,
        department=sales,
        url=receiver.base + "/cgi-bin/webhook/send?key=K",
    )
    receiver.script = [answer]
    notify(recipients=[member], kind="update_reminder", data={"code": "T1"}, department=sales)
    now = timezone.now()
    drain(now)
    d = Delivery.objects.get()
    channel.refresh_from_db()
    assert d.state == state and channel.enabled == enabled
    assert d.last_error
    if answer != "hang" and isinstance(answer[1], dict):
        assert answer[1]["errmsg"] in d.last_error  # the platform's own text is shown
    if state == DeliveryState.QUEUED:
        assert d.run_after > now
        if answer[1] != b"bad gateway" and answer != "hang" and answer[1]["errcode"] == 45009:
            assert d.run_after >= now + dt.timedelta(seconds=60)


# -- DingTalk robot -------------------------------------------------------------------


def test_it_signs_dingtalk_robot_messages_with_milliseconds(admin_user, sales, people, receiver):
    member, head = people
    channel_create(
        actor=admin_user,
        name="钉钉群",
        kind=ChannelKind.DINGTALK_ROBOT,
        department=sales,
        url=receiver.base + "/robot/send?access_token=TOK",
        secret=DING_SECRET,
        keyword="闭环",
    )
    notify(
        recipients=[member, head],
        kind="issue.escalated",
        data={"code": "SALES-T001", "title": "召回", "level": 1},
        link="/tasks/1/",
        department=sales,
    )
    drain(timezone.now() + dt.timedelta(hours=3))  # a job's "now" never leaks into the signature
    (hit,) = receiver.hits
    assert hit.query["access_token"] == "TOK"
    ts = hit.query["timestamp"]
    assert abs(int(ts) / 1000 - time.time()) < 5
    expected = base64.b64encode(
        hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(), hashlib.sha256).digest()
    )
    assert hit.query["sign"] == expected.decode()  # parse_qs undid the URL-encoding
    body = hit.json()
    assert body["msgtype"] == "markdown"
    assert "闭环" in body["markdown"]["text"]
    assert sorted(body["at"]["atMobiles"]) == ["13800001111", "13900002222"]
    assert body["at"]["atUserIds"] == [] and body["at"]["isAtAll"] is False
    for mobile in body["at"]["atMobiles"]:
        assert f"@{mobile}" in body["markdown"]["text"]


def test_it_disables_a_dingtalk_robot_whose_signature_is_refused(admin_user, sales, member, receiver):
    channel = channel_create(
        actor=admin_user,
        name="钉钉群",
        kind=ChannelKind.DINGTALK_ROBOT,
        department=sales,
        url=receiver.base + "/robot/send?access_token=TOK",
        secret=DING_SECRET,
    )
    receiver.script = [(200, {"errcode": 310000, "errmsg": "sign not match"}, {})]
    notify(recipients=[member], kind="update_reminder", data={"code": "T1"}, department=sales)
    drain()
    channel.refresh_from_db()
    assert not channel.enabled and "sign not match" in channel.disabled_reason


def test_it_waits_ten_minutes_when_dingtalk_says_too_fast(admin_user, sales, member, receiver):
    channel_create(
        actor=admin_user,
        name="钉钉群",
        kind=ChannelKind.DINGTALK_ROBOT,
        department=sales,
        url=receiver.base + "/robot/send?access_token=TOK",
        keyword="闭环",
    )
    receiver.script = [(200, {"errcode": 130101, "errmsg": "send too fast"}, {})]
    notify(recipients=[member], kind="update_reminder", data={"code": "T1"}, department=sales)
    now = timezone.now()
    drain(now)
    d = Delivery.objects.get()
    assert d.state == DeliveryState.QUEUED and d.run_after >= now + dt.timedelta(minutes=10)
    drain(d.run_after)
    assert Delivery.objects.get().state == DeliveryState.SENT and len(receiver.hits) == 2
    assert "sign" not in receiver.hits[1].query  # keyword-only robot: no signature


# -- Feishu bot ----------------------------------------------------------------------


def test_it_signs_feishu_bot_messages_in_the_body_with_seconds(admin_user, sales, people, receiver):
    member, head = people
    channel_create(
        actor=admin_user,
        name="飞书群",
        kind=ChannelKind.FEISHU_BOT,
        department=sales,
        url=receiver.base + "/open-apis/bot/v2/hook/abc-token",
        secret=FEISHU_SECRET,
    )
    notify(
        recipients=[member, head],
        kind="weekly_review.ready",
        data={"department": "销售部"},
        link="/insights/weekly/",
        department=sales,
        mention=True,
    )
    drain()
    (hit,) = receiver.hits
    body = hit.json()
    ts = body["timestamp"]
    assert abs(int(ts) - time.time()) < 5
    key = f"{ts}\n{FEISHU_SECRET}".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["msg_type"] == "post"
    post = body["content"]["post"]["zh_cn"]
    assert "销售部" in post["title"]
    flat = [el for row in post["content"] for el in row]
    assert {"tag": "at", "user_id": "ou_li"} in flat
    assert any(el.get("href") == "https://closeloop.example.com/insights/weekly/" for el in flat)


def test_it_retries_feishu_rate_limits_and_shows_bad_requests(admin_user, sales, member, receiver):
    channel_create(
        actor=admin_user,
        name="飞书群",
        kind=ChannelKind.FEISHU_BOT,
        department=sales,
        url=receiver.base + "/open-apis/bot/v2/hook/abc",
    )
    receiver.script = [
        (200, {"code": 11232, "msg": "frequency limited"}, {}),
        (200, {"code": 9499, "msg": "Bad Request"}, {}),
    ]
    notify(recipients=[member], kind="update_reminder", data={"code": "T1"}, department=sales)
    now = timezone.now()
    drain(now)
    d = Delivery.objects.get()
    assert d.state == DeliveryState.QUEUED and "frequency limited" in d.last_error
    drain(d.run_after)
    d.refresh_from_db()
    assert d.state == DeliveryState.FAILED and "Bad Request" in d.last_error


# -- save-time checks ----------------------------------------------------------------


def test_it_refuses_a_robot_url_of_the_wrong_platform(admin_user, sales):
    with pytest.raises(ValidationFailed) as err:
        channel_create(
            actor=admin_user,
            name="g",
            kind=ChannelKind.WECOM_ROBOT,
            department=sales,
            url="https://oapi.dingtalk.com/robot/send?access_token=x",
        )
    assert "WeCom" in err.value.fields["url"][0]
    with pytest.raises(ValidationFailed) as err:
        channel_create(
            actor=admin_user,
            name="g",
            kind=ChannelKind.DINGTALK_ROBOT,
            department=sales,
            url="https://oapi.dingtalk.com/robot/send?access_token=x",
        )
    assert "secret" in err.value.fields
    with pytest.raises(ValidationFailed) as err:
        channel_create(
            actor=admin_user, name="g", kind=ChannelKind.WEBHOOK, url="not a url", secret="whsec_AAAA"
        )
    assert "url" in err.value.fields
    with pytest.raises(ValidationFailed) as err:
        channel_create(
            actor=admin_user, name="g", kind=ChannelKind.WEBHOOK, url="https://example.com/h", secret=""
        )
    assert "secret" in err.value.fields


def test_it_lets_only_admins_manage_channels(head, sales):
    from closeloop.core.errors import NotAllowed

    with pytest.raises(NotAllowed):
        channel_create(
            actor=head,
            name="g",
            kind=ChannelKind.FEISHU_BOT,
            department=sales,
            url="https://open.feishu.cn/open-apis/bot/v2/hook/x",
        )
