"""The task list's "owes today's update" filter (`?owed=1`, with `?owner=ID` the link of
仪表盘's "还有 N 项"): the tasks `tracking.selectors.owed_tasks` names, only among those the
person sees, shown as an active filter, a bad value named; the API's list reads it too; the
list's queries do not grow with the rows."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from closeloop.orgs.services import api_token_create
from closeloop.tasks.models import Priority, Task
from closeloop.tasks.services import task_collaborator_add, task_transition
from closeloop.testing.factories import UserFactory, add_member, make_task
from closeloop.tracking import selectors as tracking
from closeloop.tracking.services import update_post
from closeloop.tracking.tests.conftest import at

pytestmark = pytest.mark.django_db

# A Wednesday, a working day: high-priority tasks under way owe an update.
NOW = at(2026, 3, 4)
DAY = dt.date(2026, 3, 4)


@pytest.fixture(autouse=True)
def _wednesday(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW.astimezone(dt.UTC))


def _started(head, owner, sales, title, **kw) -> Task:
    t = make_task(
        actor=head,
        department=sales,
        owner=owner,
        title=title,
        priority=kw.pop("priority", Priority.HIGH),
        start_date=DAY - dt.timedelta(days=7),
        due=DAY + dt.timedelta(days=10),
        **kw,
    )
    return task_transition(actor=owner, task=t, to="in_progress")


@pytest.fixture
def world(head, member, sales):
    """The member owes two updates (张 owes one); one task is updated, one not started, one a
    parent (its subtask owes, not it)."""
    other = UserFactory(username="sales_zhang", name="张三")
    add_member(other, sales, "specialist")
    owed = _started(head, member, sales, "欠更新甲")
    owed2 = _started(head, member, sales, "欠更新乙")
    updated = _started(head, member, sales, "更新过的")
    update_post(actor=member, task=updated, percent=30)
    make_task(actor=head, department=sales, owner=member, title="没动工的", priority=Priority.HIGH)
    parent = _started(head, member, sales, "父级甲")
    child = make_task(
        actor=member, department=sales, owner=member, title="子级甲", parent=parent, priority=Priority.HIGH
    )
    task_transition(actor=member, task=child, to="in_progress")
    others = _started(head, other, sales, "张三欠更新")
    return {"owed": [owed, owed2, child], "other": others}


def _titles(html: str) -> set[str]:
    return set(re.findall(r"(欠更新[甲乙]|更新过的|没动工的|父级甲|子级甲|张三欠更新)", html))


def _zh(user) -> Client:
    c = Client()
    c.force_login(user)  # Chinese, the default
    return c


def test_the_list_of_a_person_s_owed_tasks_is_what_they_owe_and_says_so(world, head, member):
    expected = {t.pk for t in tracking.owed_tasks(departments=[world["other"].department], now=NOW)}
    assert expected == {t.pk for t in world["owed"]} | {world["other"].pk}
    html = _zh(head).get("/tasks/", {"owner": member.pk, "owed": "1"}).content.decode()
    assert _titles(html) == {"欠更新甲", "欠更新乙", "子级甲"}
    # An active filter, as the others: a ticked box the person can untick, and a way to clear.
    assert re.search(r'<label class="check"><input type="checkbox" name="owed" value="1"[^>]* checked>', html)
    assert "今日未更新</label>" in html
    everyone = _zh(head).get("/tasks/", {"owed": "on"}).content.decode()
    assert _titles(everyone) == {"欠更新甲", "欠更新乙", "子级甲", "张三欠更新"}
    plain = _zh(head).get("/tasks/", {"owner": member.pk}).content.decode()
    assert {"更新过的", "没动工的"} <= _titles(plain) and 'name="owed"' not in plain


def test_someone_who_may_not_see_a_task_does_not_get_it_through_the_filter(world, head, member, outsider):
    """The filter is ANDed with the list's visibility: 市场部's specialist, a collaborator on
    one of the member's owed tasks (and on one updated today), sees that one and not the
    others."""
    task_collaborator_add(actor=head, task=world["owed"][1], user=outsider)
    task_collaborator_add(actor=head, task=Task.objects.get(title="更新过的"), user=outsider)
    assert _titles(_zh(outsider).get("/tasks/", {"owner": member.pk}).content.decode()) == {
        "欠更新乙",
        "更新过的",
    }
    html = _zh(outsider).get("/tasks/", {"owner": member.pk, "owed": "1"}).content.decode()
    assert _titles(html) == {"欠更新乙"}
    html = _zh(outsider).get("/tasks/", {"owed": "1"}).content.decode()
    assert _titles(html) == {"欠更新乙"}


@pytest.mark.parametrize("value", ["abc", "2", "是"])
def test_a_bad_value_is_named_and_the_other_filters_kept(world, head, member, value):
    html = _zh(head).get("/tasks/", {"owner": member.pk, "owed": value}).content.decode()
    assert f"今日未更新：“{value}”不是可选的值，此筛选条件已忽略。" in html
    assert {"欠更新甲", "更新过的", "没动工的"} <= _titles(html)  # the owner's, all of them
    assert "张三欠更新" not in _titles(html)
    off = _zh(head).get("/tasks/", {"owner": member.pk, "owed": "0"}).content.decode()
    assert "已忽略" not in off and "更新过的" in _titles(off)


def test_with_nothing_owed_today_the_list_is_empty_and_says_the_filters_match_nothing(
    world, head, member, monkeypatch
):
    saturday = at(2026, 3, 7)
    monkeypatch.setattr(timezone, "now", lambda: saturday.astimezone(dt.UTC))
    html = _zh(head).get("/tasks/", {"owner": member.pk, "owed": "1"}).content.decode()
    assert not _titles(html) and "没有符合筛选条件的任务" in html


def test_the_owed_list_runs_the_same_queries_for_3_and_40_owed_tasks(world, head, member, sales, settings):
    settings.PAGE_SIZE = 200
    c = _zh(head)
    url = "/tasks/"
    params = {"owner": member.pk, "owed": "1"}

    def count() -> tuple[int, str]:
        c.get(url, params)  # warm the session and the calendar
        with CaptureQueriesContext(connection) as ctx:
            html = c.get(url, params).content.decode()
        return len(ctx.captured_queries), html

    few, html = count()
    assert len(_titles(html)) == 3
    for i in range(37):
        _started(head, member, sales, f"批量欠更新{i:02d}")
    many, html = count()
    assert html.count("批量欠更新") >= 37
    with CaptureQueriesContext(connection) as ctx:
        c.get(url, {"owner": member.pk})
    # The filter adds its departments and their tracking settings to the list's queries.
    assert few == many == len(ctx.captured_queries) + 2
    assert many <= 11


def _api(user):
    _t, raw = api_token_create(actor=user, name="t")
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    return lambda **q: c.get("/api/v1/tasks", q, HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_the_api_list_reads_owed_too(world, head, member, outsider):
    get = _api(head)
    body = get(owner=member.pk, owed="true").json()
    assert {i["id"] for i in body["items"]} == {t.pk for t in world["owed"]} and body["count"] == 3
    assert get(owed="true", limit=5000).json()["count"] == 4  # the bulk read too
    bad = get(owner=member.pk, owed="abc")
    assert bad.status_code == 422 and "owed" in bad.content.decode()
    task_collaborator_add(actor=head, task=world["owed"][0], user=outsider)
    seen = _api(outsider)(owed="true").json()
    assert [i["id"] for i in seen["items"]] == [world["owed"][0].pk]
