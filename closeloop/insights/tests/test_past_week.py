"""周复盘 of a past week shows what was overdue, blocked and due the week after as of that week's
end (midnight after its Sunday, in the department's time zone), rebuilt from the event log —
not what is open today: a task blocked last Wednesday and unblocked on Monday was blocked last
week; a task overdue last Friday and completed this week was overdue; a task first blocked this
week was not blocked last week. The page, the API and the export read the same selector."""

import contextlib
import datetime as dt
import io
import zoneinfo
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from closeloop.insights import selectors
from closeloop.orgs.services import api_token_create
from closeloop.tasks.models import Task, TaskEvent
from closeloop.tasks.services import task_transition, task_update
from closeloop.testing.factories import department_with_head, make_task
from closeloop.testing.plans import history_reads


@contextlib.contextmanager
def at(moment: dt.datetime):
    """Run the services as at `moment`: every timestamp they and the database fields take
    (`timezone.now()`, auto_now_add) is that moment, as it was when it happened."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def last_week(department):
    """Last week's Monday and its bounds in the department's zone: [start, end)."""
    today = department.local_today()
    monday = today - dt.timedelta(days=today.weekday() + 7)
    tz = department.tzinfo
    start = dt.datetime.combine(monday, dt.time.min, tz)
    return monday, start, dt.datetime.combine(monday + dt.timedelta(days=7), dt.time.min, tz)


def started(head, member, department, title, *, when, due):
    with at(when):
        task = make_task(actor=head, department=department, owner=member, title=title, due=due)
        return task_transition(actor=member, task=task, to="in_progress")


def move(task, who, to, when, note=""):
    with at(when):
        return task_transition(actor=who, task=Task.objects.get(pk=task.pk), to=to, note=note)


def codes(tasks):
    return [t.title for t in tasks]


@pytest.fixture
def story(head, member, sales):
    """Last week's tasks of SALES, each with what happened to it since."""
    monday, start, end = last_week(sales)
    sunday = monday + dt.timedelta(days=6)
    earlier = start - dt.timedelta(days=7) + dt.timedelta(hours=10)  # two weeks ago
    later = end + dt.timedelta(days=30)
    t = {}
    # Blocked last Wednesday, unblocked on Monday.
    t["A"] = started(head, member, sales, "A 周三受阻周一解除", when=earlier, due=later.date())
    move(t["A"], member, "blocked", start + dt.timedelta(days=2, hours=10), "等数据")
    move(t["A"], member, "in_progress", end + dt.timedelta(minutes=1))
    # Due last Thursday, overdue on Friday, completed this week.
    t["B"] = started(head, member, sales, "B 逾期本周完成", when=earlier, due=monday + dt.timedelta(days=3))
    move(t["B"], member, "submitted", end + dt.timedelta(minutes=2))
    move(t["B"], head, "done", end + dt.timedelta(minutes=3))
    # Blocked now, first blocked this week.
    t["C"] = started(head, member, sales, "C 本周才受阻", when=earlier, due=later.date())
    move(t["C"], member, "blocked", end + dt.timedelta(minutes=4), "等审批")
    # Blocked before last week and still.
    t["D"] = started(head, member, sales, "D 一直受阻", when=earlier, due=later.date())
    move(t["D"], member, "blocked", earlier + dt.timedelta(hours=1), "等合同")
    # Made this week, blocked now: not there last week.
    t["E"] = started(head, member, sales, "E 本周新建", when=end + dt.timedelta(minutes=5), due=later.date())
    move(t["E"], member, "blocked", end + dt.timedelta(minutes=6), "等人")
    # Blocked without a status event (an import, the benchmark's data): unchanged since made.
    with at(earlier):
        t["F"] = make_task(actor=head, department=sales, owner=member, title="F 无事件受阻", due=later.date())
    Task.objects.filter(pk=t["F"].pk).update(status="blocked")
    # Due last Tuesday, moved to next month this week: overdue last week, due Tuesday then.
    t["G"] = started(head, member, sales, "G 本周改期", when=earlier, due=monday + dt.timedelta(days=1))
    with at(end + dt.timedelta(minutes=7)):
        task_update(actor=head, task=Task.objects.get(pk=t["G"].pk), due_date=later.date(), reason="客户延期")
    # Due the week after last week, done this week: was due next week at last week's end.
    t["H"] = started(head, member, sales, "H 下周到期已完成", when=earlier, due=sunday + dt.timedelta(days=3))
    move(t["H"], member, "submitted", end + dt.timedelta(minutes=8))
    move(t["H"], head, "done", end + dt.timedelta(minutes=9))
    return monday, t


def _expect_last_week(w):
    assert codes(w.blocked) == ["A 周三受阻周一解除", "D 一直受阻", "F 无事件受阻"]  # same due date: by id
    assert codes(w.overdue) == ["G 本周改期", "B 逾期本周完成"]  # by due date then
    assert codes(w.due_next_week) == ["H 下周到期已完成"]
    assert (w.totals["blocked"], w.totals["overdue"], w.totals["due_next_week"]) == (3, 2, 1)


@pytest.mark.django_db
def test_a_past_week_shows_what_was_blocked_and_overdue_at_its_end(story, head, sales):
    monday, _t = story
    w = selectors.weekly_review(head, sales, monday)
    _expect_last_week(w)
    # Each row as it was then: status and due date at the week's end.
    rows = {x.title: x for x in [*w.blocked, *w.overdue, *w.due_next_week]}
    assert {rows[k].status for k in rows if k[0] in "ADF"} == {"blocked"}
    assert rows["B 逾期本周完成"].status == "in_progress"
    assert rows["G 本周改期"].due_date == monday + dt.timedelta(days=1)
    assert rows["H 下周到期已完成"].status == "in_progress"


@pytest.mark.django_db
def test_this_week_still_shows_what_is_open_now(story, head, sales):
    w = selectors.weekly_review(head, sales, sales.local_today())
    assert sorted(codes(w.blocked)) == ["C 本周才受阻", "D 一直受阻", "E 本周新建", "F 无事件受阻"]
    assert w.totals["blocked"] == 4
    assert w.overdue == [] and w.totals["overdue"] == 0


@pytest.mark.django_db
def test_the_page_the_api_and_the_export_show_the_week_as_it_ended(client, story, head, sales):
    monday, _t = story
    client.force_login(head)
    response = client.get("/weekly-review/", {"department": sales.pk, "week": monday.isoformat()})
    _expect_last_week(response.context["w"])
    page = response.content.decode()
    sections = page.split('<section class="card">')
    overdue, blocked = sections[4], sections[5]  # on-time, slipped, completed, overdue, blocked
    for title in ("A 周三受阻周一解除", "D 一直受阻", "F 无事件受阻"):
        assert title in blocked
    assert blocked.count("flag--blocked") == 3  # A too, as it was then
    assert "C 本周才受阻" not in page and "E 本周新建" not in page
    assert "B 逾期本周完成" in overdue and "G 本周改期" in overdue
    # The task list shows what is blocked now: no "see them all" link to it from a past week.
    assert "status=blocked" not in page

    _tok, raw = api_token_create(actor=head, name="t")
    r = client.get(
        "/api/v1/weekly-reviews",
        {"department": sales.pk, "week": monday.isoformat()},
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert r.status_code == 200
    body = r.json()
    assert sorted(x["title"] for x in body["blocked"]) == ["A 周三受阻周一解除", "D 一直受阻", "F 无事件受阻"]
    assert [(x["title"], x["status"]) for x in body["overdue"]] == [
        ("G 本周改期", "in_progress"),
        ("B 逾期本周完成", "in_progress"),
    ]
    assert [x["title"] for x in body["due_next_week"]] == ["H 下周到期已完成"]

    r = client.get("/weekly-review/export.xlsx", {"department": sales.pk, "week": monday.isoformat()})
    wb = load_workbook(io.BytesIO(r.content))
    # Completed, overdue, slipped, blocked, due next week.
    summary = [row[1] for row in wb.worksheets[0].iter_rows(min_row=4, max_row=8, values_only=True)]
    assert summary == [0, 2, 0, 3, 1]
    sheets = {ws.title: [row[1] for row in ws.iter_rows(min_row=2, values_only=True)] for ws in wb.worksheets}
    assert sorted(sheets[wb.sheetnames[3]]) == ["A 周三受阻周一解除", "D 一直受阻", "F 无事件受阻"]
    assert sheets[wb.sheetnames[2]] == ["G 本周改期", "B 逾期本周完成"]
    assert sheets[wb.sheetnames[4]] == ["H 下周到期已完成"]


@pytest.mark.django_db
@pytest.mark.parametrize("limit", [1, 2, 3])
def test_cut_short_lists_are_the_first_rows_and_the_totals_count_them_all(story, head, sales, limit):
    monday, _t = story
    w = selectors.weekly_review(head, sales, monday, limit=limit)
    assert codes(w.blocked) == ["A 周三受阻周一解除", "D 一直受阻", "F 无事件受阻"][:limit]
    assert codes(w.overdue) == ["G 本周改期", "B 逾期本周完成"][:limit]
    assert (w.totals["blocked"], w.totals["overdue"], w.totals["due_next_week"]) == (3, 2, 1)


@pytest.mark.django_db
def test_the_week_ends_at_midnight_in_the_departments_zone(company):
    """Los Angeles: unblocked late on Sunday there (Monday in Shanghai and in UTC) was no
    longer blocked at the week's end; unblocked just after its midnight, still blocked then."""
    la, boss = department_with_head("LA", "洛杉矶办", company, username="la_head", head_name="洛总")
    la.time_zone = "America/Los_Angeles"
    la.save(update_fields=["time_zone"])
    monday, start, end = last_week(la)
    assert end.tzinfo == zoneinfo.ZoneInfo("America/Los_Angeles")
    earlier = start - dt.timedelta(days=7)
    due = (end + dt.timedelta(days=30)).date()
    sunday_night = started(boss, boss, la, "周日夜里解除", when=earlier, due=due)
    monday_morning = started(boss, boss, la, "周一零点后解除", when=earlier, due=due)
    for t in (sunday_night, monday_morning):
        move(t, boss, "blocked", start + dt.timedelta(hours=10), "等数据")
    move(sunday_night, boss, "in_progress", end - dt.timedelta(minutes=30))
    move(monday_morning, boss, "in_progress", end + dt.timedelta(minutes=30))
    w = selectors.weekly_review(boss, la, monday)
    assert codes(w.blocked) == ["周一零点后解除"] and w.totals["blocked"] == 1


def _review_queries(who, department, week):
    with CaptureQueriesContext(connection) as ctx:
        w = selectors.weekly_review(who, department, week)
    return w, ctx.captured_queries


@pytest.mark.django_db
def test_the_query_count_stays_the_same_as_events_grow(story, head, member, sales):
    """A past week reads the status and due-date events since its end in one query, whatever
    their number; this week reads none. Neither reads the department's history."""
    monday, t = story
    _m, _start, end = last_week(sales)
    weeks = {"past": monday, "this": sales.local_today()}
    before = {}
    for name, week in weeks.items():
        selectors.weekly_review(head, sales, week)  # settings and calendar caches warm
        _w, queries = _review_queries(head, sales, week)
        before[name] = len(queries)
        assert history_reads(queries) == [], name
    # A past week: this week's (totals, the three lists, then the rest of the page) and two
    # more, the events since its end and the rows of the changed tasks its lists show.
    assert before == {"past": 11, "this": 9}
    # Many more events since the week's end: blocked and unblocked again, due dates moved.
    for i in range(6):
        move(t["A"], member, "blocked", end + dt.timedelta(hours=1, minutes=i), "又等数据")
        move(t["A"], member, "in_progress", end + dt.timedelta(hours=2, minutes=i))
        with at(end + dt.timedelta(hours=3, minutes=i)):
            task_update(
                actor=head,
                task=Task.objects.get(pk=t["C"].pk),
                due_date=(end + dt.timedelta(days=40 + i)).date(),
                reason="再延",
            )
    for i in range(5):
        extra = started(head, member, sales, f"X{i}", when=end - dt.timedelta(days=9), due=monday)
        move(extra, member, "blocked", end + dt.timedelta(hours=4, minutes=i), "等")
    assert TaskEvent.objects.filter(created_at__gte=end).count() > 30
    for name, week in weeks.items():
        w, queries = _review_queries(head, sales, week)
        assert len(queries) == before[name], name
        assert history_reads(queries) == [], name
    w = selectors.weekly_review(head, sales, monday)
    # The five made before the week's end, due on its Monday and blocked only since: overdue.
    assert sorted(codes(w.overdue)) == sorted(["G 本周改期", "B 逾期本周完成", *(f"X{i}" for i in range(5))])
    assert codes(w.blocked) == ["A 周三受阻周一解除", "D 一直受阻", "F 无事件受阻"]


@pytest.mark.django_db
def test_someone_who_may_not_see_the_department_does_not_see_its_past_week(client, story, outsider, sales):
    monday, _t = story
    params = {"department": sales.pk, "week": monday.isoformat()}
    client.force_login(outsider)
    page = client.get("/weekly-review/", params).content.decode()
    assert "周三受阻" not in page and "逾期本周完成" not in page and sales.name not in page
    assert client.get("/weekly-review/export.xlsx", params).status_code == 404
    assert client.get("/weekly-review/print/", params).status_code == 404
    _tok, raw = api_token_create(actor=outsider, name="t")
    r = client.get("/api/v1/weekly-reviews", params, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert r.status_code == 404 and "周三受阻" not in r.content.decode()
    with pytest.raises(selectors.NotFound):
        selectors.access_department(outsider, sales.pk)


@pytest.mark.django_db
def test_a_cut_short_list_of_a_past_week_does_not_link_to_todays_list(client, story, head, sales):
    monday, _t = story
    client.force_login(head)
    past = client.get("/weekly-review/", {"department": sales.pk, "week": monday.isoformat()})
    assert past.context["more_blocked"] == "" and past.context["more_overdue"] == ""
    now = client.get("/weekly-review/", {"department": sales.pk})
    assert now.context["more_blocked"].endswith("status=blocked")
