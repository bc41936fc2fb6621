"""Issue 16: 仪表盘 and 周复盘 read what they show, never a department's whole history (see
closeloop.testing.plans): the open tasks by their statuses, completions of the page's time
window, related rows by their task's department."""

import datetime as dt

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
