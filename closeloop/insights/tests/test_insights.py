import datetime as dt
import io
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from closeloop.insights.jobs import post_weekly_reviews
from closeloop.insights.models import WeeklyReview
from closeloop.notify.models import Notification
from closeloop.tasks.models import Priority
from closeloop.tasks.services import task_transition
from closeloop.testing.concurrency import run_in_threads
from closeloop.testing.factories import make_task, set_forecast
from closeloop.tracking.services import delay_warning_raise, update_post

SH = zoneinfo.ZoneInfo("Asia/Shanghai")


def fill(head, member, sales, n, *, tag=""):
    today = timezone.localdate()
    for i in range(n):
        t = make_task(
            actor=head,
            department=sales,
            owner=member,
            title=f"任务{tag}{i}",
            priority=Priority.HIGH,
            start_date=today - dt.timedelta(days=20),
            due=today + dt.timedelta(days=1 + i % 5),
        )
        t = task_transition(actor=member, task=t, to="in_progress")
        if i % 3 == 0:
            t = task_transition(actor=member, task=t, to="blocked", note="等数据")
        elif i % 3 == 1:
            update_post(actor=member, task=t, percent=5)
            delay_warning_raise(
                actor=member,
                task=t,
                reason="resources",
                explanation="忙",
                new_due_date=t.due_date + dt.timedelta(days=9),
            )


@pytest.mark.django_db
def test_it_shows_the_head_what_needs_attention_and_not_the_outsider(client, head, member, outsider, sales):
    fill(head, member, sales, 3)
    client.force_login(head)
    page = client.get("/dashboard/").content.decode()
    assert "任务0" in page and "任务1" in page
    assert "Missing updates today" in page or "今日" in page
    client.force_login(outsider)
    page = client.get("/dashboard/").content.decode()
    assert "任务0" not in page


@pytest.mark.django_db
def test_the_dashboard_query_count_stays_constant_as_data_grows(client, head, member, sales):
    fill(head, member, sales, 3, tag="a")
    client.force_login(head)
    client.get("/dashboard/")
    with CaptureQueriesContext(connection) as small:
        assert client.get("/dashboard/").status_code == 200
    fill(head, member, sales, 15, tag="b")
    with CaptureQueriesContext(connection) as large:
        assert client.get("/dashboard/").status_code == 200
    assert len(large) == len(small)


@pytest.mark.django_db
def test_the_dashboard_api_counts(client, head, member, sales):
    from closeloop.orgs.services import api_token_create

    fill(head, member, sales, 3)
    _tok, raw = api_token_create(actor=head, name="t")
    r = client.get("/api/v1/dashboard", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert r.status_code == 200
    body = r.json()
    assert body["blocked"] == 1 and body["decisions"] == 1


@pytest.mark.django_db
def test_the_weekly_review_groups_slips_exports_and_prints(client, head, member, outsider, sales):
    fill(head, member, sales, 3)
    client.force_login(head)
    url = f"?department={sales.pk}"
    page = client.get("/weekly-review/" + url).content.decode()
    assert "<svg" in page and "Not enough resources" in page or "资源不足" in page
    r = client.get("/weekly-review/export.xlsx" + url)
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    assert len(wb.sheetnames) == 6
    assert client.get("/weekly-review/print/" + url).status_code == 200
    r = client.post(
        "/weekly-review/notes/",
        {
            "department": sales.pk,
            "week": timezone.localdate().isoformat(),
            "notes": "下周重点：召回",
            "version": 1,
        },
    )
    assert r.status_code == 302
    assert WeeklyReview.objects.get(department=sales).notes == "下周重点：召回"
    client.force_login(outsider)
    # Not theirs: the page names the value and shows their own department; print and export
    # refuse rather than hand out another department's.
    other = client.get("/weekly-review/" + url)
    assert other.status_code == 200 and "召回" not in other.content.decode()
    assert f"“{sales.pk}”" in other.content.decode() and sales.name not in other.content.decode()
    assert client.get("/weekly-review/export.xlsx" + url).status_code == 404
    assert client.get("/weekly-review/print/" + url).status_code == 404


@pytest.mark.django_db
def test_the_weekly_review_is_posted_once_on_the_weeks_last_working_day(head, member, sales):
    friday = dt.datetime(2026, 3, 27, 16, 0, tzinfo=SH)
    assert post_weekly_reviews(friday - dt.timedelta(minutes=1)) == 0
    assert post_weekly_reviews(dt.datetime(2026, 3, 26, 17, 0, tzinfo=SH)) == 0  # Thursday
    assert post_weekly_reviews(friday) == 2  # HQ and SALES, one each
    assert post_weekly_reviews(friday + dt.timedelta(hours=1)) == 0
    assert Notification.objects.filter(recipient=head, kind="weekly_review.ready").count() == 1
    assert WeeklyReview.objects.get(department=sales).posted_at is not None


@pytest.mark.django_db(transaction=True)
def test_two_workers_post_the_weekly_review_once(head, member, sales):
    friday = dt.datetime(2026, 3, 27, 16, 30, tzinfo=SH)
    run_in_threads(lambda _i: post_weekly_reviews(friday))
    assert Notification.objects.filter(recipient=head, kind="weekly_review.ready").count() == 1


@pytest.mark.django_db
def test_listed_tasks_link_to_the_task_and_carry_their_flags(client, head, member, sales):
    import re

    from closeloop.tasks.models import Task

    fill(head, member, sales, 3)
    blocked, slow = Task.objects.get(title="任务0"), Task.objects.get(title="任务1")
    today = timezone.localdate()
    late_finish = slow.due_date + dt.timedelta(days=12)
    set_forecast(slow, forecast_date=late_finish, today=today)
    client.force_login(head)
    for url in ("/dashboard/", f"/weekly-review/?department={sales.pk}"):
        page = client.get(url).content.decode()
        row = re.search(rf'<li>.*?href="/tasks/{blocked.pk}/">任务0</a>.*?</li>', page)
        assert row and "flag--blocked" in row.group(0), url
        assert member.display_name in row.group(0)
    page = client.get("/dashboard/").content.decode()
    risk = re.search(
        rf'href="/tasks/{slow.pk}/">任务1</a>.*?<span class="flag flag--risk" title="([^"]+)"', page
    )
    assert risk and late_finish.isoformat() in risk.group(1)


@pytest.mark.django_db
def test_a_cut_short_list_says_so_and_links_to_all_of_them(client, head, member, sales, monkeypatch):
    import re

    from closeloop.insights import selectors

    fill(head, member, sales, 6)  # tasks 0 and 3 are blocked
    client.force_login(head)
    page = client.get("/dashboard/").content.decode()
    assert f'href="/tasks/?department={sales.pk}&amp;status=blocked"' not in page  # nothing cut
    monkeypatch.setattr(selectors, "LIST_LIMIT", 1)
    page = client.get("/dashboard/").content.decode()
    blocked = page[page.index('id="blocked"') :]
    blocked = blocked[: blocked.index("</section>")]
    assert len(re.findall(r'href="/tasks/\d+/"', blocked)) == 1
    note = re.search(r'<li class="muted small">(.*?)</li>', blocked).group(1)
    assert re.findall(r"\d+", note.split("<a")[0]) == ["1", "2"]  # shown 1 of 2
    assert f'href="/tasks/?department={sales.pk}&amp;status=blocked"' in blocked
    listed = client.get(f"/tasks/?department={sales.pk}&status=blocked").content.decode()
    assert "任务0" in listed and "任务3" in listed


@pytest.mark.django_db
def test_the_weeks_rows_carry_all_the_page_the_api_and_the_export_read(head, member, sales):
    """The week's lists load only the fields they show (issue 16): rendering their rows, the
    API's lines and the export's rows — flags with an at-risk forecast, owner's name, dates,
    priority, progress — reads nothing more from the database."""
    from closeloop.insights import selectors
    from closeloop.insights.api import _line
    from closeloop.insights.export import _task_rows
    from closeloop.insights.templatetags.insights import mini_tasks
    from closeloop.tasks.models import Task

    fill(head, member, sales, 12)
    today = timezone.localdate()
    done = Task.objects.filter(department=sales, status="blocked").first()
    Task.objects.filter(pk=done.pk).update(status="done", completed_at=timezone.now())
    Task.objects.filter(title="任务4").update(due_date=today - dt.timedelta(days=2))  # overdue
    weeks = [today + dt.timedelta(days=7 * k) for k in (-1, 0, 1)]
    listed = {t.pk for wk in weeks for x in _lists(selectors.weekly_review(head, sales, wk)) for t in x}
    for t in Task.objects.filter(pk__in=listed).exclude(status__in=["done", "blocked"]):
        set_forecast(t, today=today)
    html = ""
    for wk in weeks:
        lists = _lists(selectors.weekly_review(head, sales, wk))
        with CaptureQueriesContext(connection) as ctx:
            html += "".join(mini_tasks(x, today) for x in lists)
            lines = [_line(t) for x in lists for t in x]
            rows = [r for x in lists for r in _task_rows(x)]
        assert ctx.captured_queries == [], [q["sql"] for q in ctx.captured_queries]
        assert len(lines) == len(rows)
    for flag in ("flag--risk", "flag--blocked", "flag--overdue", member.display_name):
        assert flag in html, flag
    # 仪表盘's lists, the same rows.
    Task.objects.filter(title="任务5").update(status="submitted", reviewer=head)
    d = selectors.dashboard(head)
    assert d.at_risk and d.overdue and d.blocked and d.acceptances
    with CaptureQueriesContext(connection) as ctx:
        html = "".join(mini_tasks(x, today) for x in (d.at_risk, d.overdue, d.blocked))
        shown = [(t.department.code, t.code, t.pk, t.title, t.owner.display_name) for t in d.acceptances]
    assert ctx.captured_queries == [], [q["sql"] for q in ctx.captured_queries]
    assert "flag--risk" in html and shown[0][4] == member.display_name


def _lists(w):
    return [w.completed, w.overdue, w.blocked, w.due_next_week]
