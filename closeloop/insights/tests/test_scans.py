"""Issue 16: 仪表盘 and 周复盘 read what they show, never a department's whole history (see
closeloop.testing.plans): the open tasks by their statuses, completions of the page's time
window, related rows by their task's department."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from closeloop.insights import selectors
from closeloop.insights.tests.test_insights import fill
from closeloop.testing.plans import history_reads


@pytest.mark.django_db
def test_the_dashboard_reads_no_history(head, member, sales):
    fill(head, member, sales, 4)
    for who in (head, member):
        with CaptureQueriesContext(connection) as ctx:
            board = selectors.dashboard(who)
        assert history_reads(ctx.captured_queries) == [], who.username
    assert board.departments


@pytest.mark.django_db
@pytest.mark.parametrize("weeks_ago", [0, 3])
def test_the_weekly_review_reads_no_history(head, member, sales, weeks_ago):
    fill(head, member, sales, 3)
    monday = dt.date.today() - dt.timedelta(days=dt.date.today().weekday() + 7 * weeks_ago)
    for who in (head, member):
        with CaptureQueriesContext(connection) as ctx:
            week = selectors.weekly_review(who, sales, monday)
        assert history_reads(ctx.captured_queries) == [], who.username
        assert week.totals["completed"] == sum(1 for _ in week.completed)


@pytest.mark.django_db
def test_the_on_time_tally_reads_only_its_index(head, member, sales):
    """The on-time tally of 仪表盘 (`localday.tally_sql`, the partial first day) reads only columns of
    the partial index of done tasks (`task_dept_done_time`) for someone who sees the
    department whole, so PostgreSQL scans the index only and SQLite never seeks a task's row
    (bench s5, a head's four weeks: 9.5 → 1.5 ms, 22.0 → 16.9 ms). A column added to the
    tally belongs in the index too."""
    from closeloop.tasks.models import Task

    index = next(i for i in Task._meta.indexes if i.name == "task_dept_done_time")
    covered = {Task._meta.get_field(f).column for f in index.fields} | {"status"}
    fill(head, member, sales, 3)
    monday = dt.date.today() - dt.timedelta(days=dt.date.today().weekday())
    with CaptureQueriesContext(connection) as ctx:
        selectors.dashboard(head)
        selectors.weekly_review(head, sales, monday)
    tallies = [q["sql"] for q in ctx.captured_queries if 'AS "beyond"' in q["sql"]]
    # The dashboard counts the first day of its four weeks from the tasks (the rest, and the
    # weekly review's eight weeks, from the completion tally of whole days).
    assert len(tallies) == 1 and "tasks_completionday" in tallies[0]
    assert sum("tasks_completionday" in q["sql"] for q in ctx.captured_queries) == 2
    for sql in tallies:
        read = set(re.findall(r'"tasks_task"\."(\w+)"', sql))
        assert read <= covered, (read - covered, sql)
