"""Issue 10, bad input found by fuzzing: huge integers and non-ASCII digits in ids and query
parameters, dates before 1900 or after 2100, NUL characters — a 4xx with a message, nothing
stored, never a 500; rows already holding such dates still show, flagged."""

import datetime as dt
import re

import pytest
from django.test import Client

from closeloop.orgs.services import api_token_create
from closeloop.tasks.calendar_feed import calendar_token_get
from closeloop.tasks.models import Milestone, Task
from closeloop.tasks.services import task_transition
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task
from closeloop.tracking.models import DelayWarning, ProgressUpdate

BIG = "99999999999999999999999"


@pytest.fixture
def task(head, member, sales):
    t = make_task(
        actor=head, department=sales, owner=member, title="老用户召回活动", due=dt.date(2026, 12, 24)
    )
    return task_transition(actor=member, task=t, to="in_progress")


def web(user):
    c = english_client(user)
    c.raise_request_exception = False
    return c


def api(user):
    _t, raw = api_token_create(actor=user, name="t")
    return Client(
        HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en", raise_request_exception=False
    )


@pytest.mark.parametrize(
    "url",
    [
        f"/tasks/{BIG}/",
        f"/tasks/{BIG}/updates/",
        f"/delay-warnings/{BIG}/",
        f"/tasks/?owner={BIG}",
        f"/tasks/?department={BIG}",
        "/tasks/?department=²",
        "/tasks/?page=²",
        f"/timeline/?task={BIG}",
        "/timeline/?task=²",
        f"/weekly-review/?department={BIG}",
        "/weekly-review/?week=0001-01-01",
        "/weekly-review/?week=9999-12-31",
        "/calendar/?year=²",
        f"/calendar/?year={BIG}",
    ],
)
def test_web_pages_answer_huge_and_odd_numbers_without_a_500(task, head, url):
    assert web(head).get(url).status_code < 500


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/tasks/{BIG}",
        "/api/v1/tasks/²",
        f"/api/v1/tasks?department={BIG}",
        "/api/v1/tasks?department=²",
        f"/api/v1/tasks?owner={BIG}",
        f"/api/v1/tasks?offset={BIG}",
        f"/api/v1/tasks?parent={BIG}",
        f"/api/v1/tasks/{BIG}/updates",
        f"/api/v1/tasks/{BIG}/delay-warnings",
        f"/api/v1/weekly-reviews?department={BIG}",
        "/api/v1/weekly-reviews?department=²",
        f"/api/v1/channels?department={BIG}",
    ],
)
def test_the_api_answers_huge_and_odd_numbers_with_a_4xx_in_the_error_shape(task, head, url):
    r = api(head).get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code)
    assert r.json()["code"] and r.json()["message"]


def test_dates_outside_1900_2100_are_refused_with_the_field_named_and_nothing_stored(task, member, sales):
    c = api(member)
    for body in ({"percent": 5, "day": "0001-01-01"}, {"percent": 5, "day": "9999-12-31"}):
        r = c.post(f"/api/v1/tasks/{task.pk}/updates", body, content_type="application/json")
        assert r.status_code == 422 and "day" in r.json()["fields"], r.json()
    r = c.post(
        f"/api/v1/tasks/{task.pk}/delay-warnings",
        {"reason": "other", "explanation": "x", "new_due_date": "9999-12-31"},
        content_type="application/json",
    )
    assert r.status_code == 422 and "new_due_date" in r.json()["fields"]
    r = c.get("/api/v1/weekly-reviews", {"department": sales.pk, "week": "0001-01-01"})
    assert r.status_code == 422 and "week" in r.json()["fields"]
    w = web(member)
    for data in (
        {"state": "in_progress", "percent": "5", "day": "0001-01-01"},
        {"state": "in_progress", "percent": "5", "day": "2101-01-01"},
    ):
        r = w.post(f"/tasks/{task.pk}/updates/", data)
        assert r.status_code == 422 and "between 1900 and 2100" in r.content.decode()
    r = w.post(
        f"/tasks/{task.pk}/delay-warnings/new/",
        {"reason": "other", "explanation": "x", "new_due_date": "9999-12-31"},
    )
    assert r.status_code == 422 and "between 1900 and 2100" in r.content.decode()
    assert not ProgressUpdate.objects.exists() and not DelayWarning.objects.exists()


def test_nul_characters_are_refused_and_nothing_is_stored(task, member):
    r = api(member).post(
        f"/api/v1/tasks/{task.pk}/updates",
        {"percent": 5, "note": "a\u0000b"},
        content_type="application/json",
    )
    assert r.status_code == 422 and "NUL" in r.json()["message"]
    assert web(member).get("/tasks/", {"q": "报\x00表"}).status_code == 400
    r = web(member).post(
        f"/tasks/{task.pk}/updates/", {"state": "in_progress", "percent": "5", "note": "a\x00b"}
    )
    assert r.status_code in (400, 422)
    assert not ProgressUpdate.objects.exists()


def test_rows_already_holding_out_of_range_dates_still_show_flagged(task, head, member):
    Milestone.objects.create(task=task, title="远期里程碑", date=dt.date(9999, 12, 31), created_by=head)
    Task.objects.filter(pk=task.pk).update(start_date=dt.date(1, 1, 1))
    for who in (head, member):
        c = web(who)
        page = c.get("/timeline/", {"task": task.pk})
        assert page.status_code == 200
        html = page.content.decode()
        assert "老用户召回活动" in html and "⚠" in html
        assert len(html) < 400_000  # drawn over the other rows' span, not over 10,000 years
        assert c.get("/timeline/").status_code == 200
        assert c.get(f"/tasks/{task.pk}/").status_code == 200
        assert c.get(f"/tasks/{task.pk}/updates/").status_code == 200
    feed = Client().get(f"/calendar/{calendar_token_get(user=member).token}.ics")
    assert feed.status_code == 200
    body = feed.content.decode()
    assert "⚠ Milestone: 远期里程碑" in body or "⚠ 里程碑" in body
    # Daily updates still work on such a task.
    r = api(member).post(f"/api/v1/tasks/{task.pk}/updates", {"percent": 30}, content_type="application/json")
    assert r.status_code == 201


@pytest.mark.parametrize(
    ("week", "said"),
    [
        ("2026-13-45", "周：“2026-13-45”不是有效日期，请按 YYYY-MM-DD 填写。"),
        ("0001-01-01", "周：请填写 1900 至 2100 年之间的日期。"),
    ],
)
def test_a_week_that_is_no_date_is_named_and_this_week_shown(task, head, sales, week, said):
    """周复盘 with ?week= that is not a date (or outside 1900–2100) shows this week and says
    which value it ignored, as the lists do — it showed this week without a word."""
    c = Client()
    c.force_login(head)  # Chinese, the default
    r = c.get("/weekly-review/", {"department": sales.pk, "week": week})
    page = r.content.decode()
    assert r.status_code == 200 and said in page and "此筛选条件已忽略" in page
    monday = sales.local_today() - dt.timedelta(days=sales.local_today().weekday())
    assert monday.isoformat() in page
    assert (
        "已忽略"
        not in c.get("/weekly-review/", {"department": sales.pk, "week": monday.isoformat()}).content.decode()
    )


@pytest.mark.parametrize(
    ("week", "prev", "next"),
    [
        ("1900-01-03", None, "1900-01-08"),  # the week of 1900-01-01 (a Monday): no ← to 1899
        ("1900-01-08", "1900-01-01", "1900-01-15"),
        ("2100-12-31", "2100-12-20", None),  # the week of 2100-12-31: no → to 2101
        ("2100-12-20", "2100-12-13", "2100-12-27"),
    ],
)
def test_the_week_steps_stop_at_the_dates_the_page_takes(task, head, sales, week, prev, next):
    """周复盘's ← / → led past 1900-01-01 and 2100-12-31 to a week the page then named as a bad
    date: at either end the step is shown disabled, and every link offered opens cleanly."""
    c = Client()
    c.force_login(head)  # Chinese, the default
    r = c.get("/weekly-review/", {"department": sales.pk, "week": week})
    page = r.content.decode()
    assert r.status_code == 200 and "已忽略" not in page
    nav = page.split('class="week-nav', 1)[1].split("</form>", 1)[0]
    for rel, day, label in (("prev", prev, "上一周"), ("next", next, "下一周")):
        if day:
            href = f"?department={sales.pk}&week={day}"
            assert f'href="{href}" rel="{rel}"' in nav
            assert "已忽略" not in c.get("/weekly-review/" + href).content.decode()
        else:
            assert f'rel="{rel}"' not in nav
            assert re.search(rf'<span class="btn btn--sm" aria-disabled="true">[^<]*{label}', nav)
