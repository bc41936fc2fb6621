"""Issue 10 item 13: what a notification says — WeCom buttons never cut mid-word, assignments
carry the due date, a digest links to each task, a bad secret reads as a refused signature."""

import base64

import pytest
from django.utils import timezone

from closeloop.notify import outbox
from closeloop.notify.kinds import KINDS, render
from closeloop.notify.models import Channel, ChannelKind, Delivery
from closeloop.notify.services import channel_create, notify, preference_update
from closeloop.notify.transports import Message, dingtalk_robot, feishu_bot, wecom_app, wecom_robot

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


class _Ch:
    config = {"agent_id": "1000002"}
    keyword = ""
    secret = ""


def _message(kind, language, **data):
    r = render(kind, {"code": "SALES-T001", "title": "月度销售报表", "by": "王强", **data}, language=language)
    return Message(
        delivery_id=1,
        kind=kind,
        title=r.title,
        body=r.body,
        action=r.action,
        button=r.button,
        link="https://closeloop.example/tasks/1/",
        data={},
        language=language,
    )


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_wecom_textcard_button_is_a_whole_phrase_or_wecoms_own(language):
    for kind in KINDS:
        msg = _message(kind, language)
        card = wecom_app.build(_Ch(), msg)["textcard"]
        if "btntxt" in card:
            assert card["btntxt"] in (msg.action, msg.button), kind
            assert len(card["btntxt"]) <= wecom_app.BUTTON_MAX
    zh = {k: wecom_app.build(_Ch(), _message(k, "zh-hans"))["textcard"].get("btntxt") for k in KINDS}
    assert zh["task.submitted"] == "去验收"  # "验收或退回" would have read "验收或退"
    assert zh["delay_warning.raised"] == "去审批"  # not "批准或拒"
    assert zh["task.blocked"] == "协助解决" and zh["weekly_review.ready"] == "查看复盘"
    assert zh["task.assigned"] == "查看任务"


def test_an_assignment_carries_the_due_date():
    zh = _message("task.assigned", "zh-hans", due="2026-12-18")
    en = _message("task.assigned", "en", due="2026-12-18")
    assert "2026-12-18" in zh.title and "截止" in zh.title
    assert en.title == "王强 assigned you SALES-T001 月度销售报表, due 2026-12-18"
    # An old row without a due date still reads well.
    assert _message("task.assigned", "en").title == "王强 assigned you SALES-T001 月度销售报表"


def test_a_digest_links_to_each_task(db, admin_user, member, mailoutbox):
    channel_create(actor=admin_user, name="mail", kind=ChannelKind.EMAIL)
    preference_update(actor=member, digest_minutes=30)
    for i in (1, 2, 3):
        notify(
            recipients=[member],
            kind="task.assigned",
            data={"code": f"SALES-T00{i}", "title": "t", "by": "王总", "due": "2026-12-18"},
            link=f"/tasks/{i}/",
        )
    now = timezone.now()
    outbox.drain(now + timezone.timedelta(minutes=31), "w1", 50)
    (mail,) = mailoutbox
    html = mail.alternatives[0][0]
    for i in (1, 2, 3):
        assert f"/tasks/{i}/" in mail.body and f'/tasks/{i}/">' in html
    group = list(Delivery.objects.filter(recipient=member, channel__kind=ChannelKind.EMAIL))
    msg = outbox.build_message(group)
    ding = dingtalk_robot.build(_Ch(), msg)["markdown"]["text"]
    robot = wecom_robot.build(msg)["text"]["content"]
    post = feishu_bot.build(_Ch(), msg)["content"]["post"]
    hrefs = [
        cell["href"] for rows in post.values() for row in rows["content"] for cell in row if "href" in cell
    ]
    for i in (1, 2, 3):
        link = f"/tasks/{i}/"
        assert f"{link})" in ding and link in robot and any(h.endswith(link) for h in hrefs)


def test_a_webhook_disabled_for_a_bad_secret_says_the_signature_was_refused(db, admin_user, member, receiver):
    channel = channel_create(
        actor=admin_user, name="ERP", kind=ChannelKind.WEBHOOK, url=receiver.base + "/hook", secret=SECRET
    )
    receiver.script = [(401, {}, {})]
    notify(recipients=[member], kind="task.assigned", data={"code": "A"})
    outbox.drain(timezone.now(), "w1", 50)
    channel = Channel.objects.get(pk=channel.pk)
    assert not channel.enabled
    assert (
        channel.disabled_reason.startswith("Signature refused (HTTP 401)")
        or "签名被拒绝" in channel.disabled_reason
    )
    assert "{}" not in channel.disabled_reason
