"""A tester's findings on the bell's pages: a channel ticked for an event without ticking
自行选择 was dropped behind a "saved" message; 全部标为已读 clicked twice said "0 marked read";
the quiet-hours inputs ran into the digest label at phone width."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from closeloop.notify.models import Preference
from closeloop.notify.services import notify, preference_update
from closeloop.testing.browser import ARTIFACTS, PASSWORD, no_horizontal_scroll, sign_in
from closeloop.testing.clients import english_client
from closeloop.testing.factories import UserFactory

BASE = {"quiet_start": "", "quiet_end": "", "digest_minutes": "0"}


def _routes(user) -> dict:
    return Preference.objects.get(user=user).routes


def test_a_channel_ticked_without_choose_myself_is_kept(member):
    c = english_client(member)

    response = c.post(
        reverse("notify:preferences"), {**BASE, "route__task__assigned": ["email"]}, follow=True
    )

    assert "Notification settings saved." in response.content.decode()
    assert _routes(member) == {"task.assigned": ["email"]}
    html = c.get(reverse("notify:preferences")).content.decode()
    assert 'name="route__task__assigned" value="email" id="id_route__task__assigned_0" checked' in html
    assert 'name="route__task__assigned__custom" id="id_route__task__assigned__custom" checked' in html


def test_unticking_choose_myself_goes_back_to_the_default_whatever_boxes_stay_ticked(member):
    preference_update(actor=member, routes={"task.assigned": ["email"], "task.blocked": []})
    c = english_client(member)

    # The boxes of task.assigned are still ticked (as the page showed them), 自行选择 is not.
    c.post(
        reverse("notify:preferences"),
        {**BASE, "route__task__assigned": ["email"], "route__task__blocked__custom": "on"},
    )

    assert _routes(member) == {"task.blocked": []}


def test_mark_all_read_twice_does_not_say_zero_were_marked(member, head):
    for i in range(3):
        notify(recipients=[member], kind="task.assigned", data={"code": f"T{i}", "title": "x"}, actor=head)
    c = english_client(member)

    c.post(reverse("notify:read_all"))
    second = c.post(reverse("notify:read_all"))

    # The first click's message (not shown yet: its page was left for the second) and the
    # second's, which marked nothing: never "0 marked read".
    said = [str(m) for m in get_messages(second.wsgi_request)]
    assert said == ["3 notification(s) marked read.", "No unread notifications."]
    zh = c.get(reverse("notify:list"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert zh.status_code == 200
    # The button's form sends once (app.js disables it after the first submit).
    assert (
        'action="/notifications/read-all/" data-submit-once' in c.get(reverse("notify:list")).content.decode()
    )


def test_mark_all_read_says_it_in_chinese_too(member):
    member.language = "zh-hans"
    member.save(update_fields=["language"])
    from django.test import Client

    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(member)
    response = c.post(reverse("notify:read_all"), follow=True)
    assert "没有未读通知" in response.content.decode()
    assert "已将 0 条" not in response.content.decode()


@pytest.mark.browser
def test_the_settings_at_phone_width_and_a_double_click_on_mark_all_read(
    browser, live_server, transactional_db
):
    user = UserFactory(username="sales_specialist", name="张伟", password=PASSWORD)
    head = UserFactory(username="sales_head", name="王强", password=PASSWORD)
    for i in range(5):
        notify(recipients=[user], kind="task.assigned", data={"code": f"T{i}", "title": "x"}, actor=head)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server.url, "sales_specialist")

    page.goto(live_server.url + reverse("notify:preferences"))
    start, end = page.locator("#id_quiet_start").bounding_box(), page.locator("#id_quiet_end").bounding_box()
    digest_label = page.locator("label[for=id_digest_minutes]").bounding_box()
    # Side by side, neither running into the other nor into the digest label below them.
    assert start["x"] + start["width"] <= end["x"]
    assert max(start["y"] + start["height"], end["y"] + end["height"]) <= digest_label["y"]
    assert no_horizontal_scroll(page)
    page.locator("section.card").first.screenshot(path=str(ARTIFACTS / "notify-preferences-390.png"))
    # Ticked 邮箱 for 任务分派给你 without 自行选择: kept after saving and reloading.
    page.check("#id_route__task__assigned_0")
    page.click("form.stack button[type=submit]")
    page.wait_for_selector(".alert, .messages, [role=status]")
    assert "通知设置已保存" in page.content()
    page.reload()
    assert page.is_checked("#id_route__task__assigned_0")

    page.goto(live_server.url + reverse("notify:list"))
    page.dblclick("form[data-submit-once] button")
    page.wait_for_load_state("networkidle")
    body = page.inner_text("body")
    assert "已将 5 条通知标为已读" in body and "已将 0 条" not in body
    context.close()
