"""Issue 10 item 5: next year's working days before the State Council publishes them. The
seeded table ends with 2026, so 2027 follows the statutory holidays (元旦 on Friday 1/1)."""

import datetime as dt

from closeloop.orgs.calendar import unknown_years
from closeloop.tasks.adhoc import respond_by_for
from closeloop.tasks.models import Priority
from closeloop.tracking import cadence

from .conftest import at


def test_the_year_end_weekly_review_moves_off_new_years_day(db):
    assert unknown_years([2027]) == [2027]
    assert cadence.review_day(dt.date(2026, 12, 28)) == dt.date(2026, 12, 31)
    assert not cadence.owes_on(Priority.HIGH, dt.date(2027, 1, 1))


def test_a_respond_by_time_crossing_the_new_year_skips_new_years_day(db, sales):
    due = respond_by_for(department=sales, priority=Priority.MEDIUM, now=at(2026, 12, 30))
    # 3 working days after Wed 12/30: Thu 12/31, (元旦 Fri, weekend), Mon 1/4, Tue 1/5.
    assert due.date() == dt.date(2027, 1, 5)
    low = respond_by_for(department=sales, priority=Priority.LOW, now=at(2026, 12, 31))
    assert low.date() == dt.date(2027, 1, 8)
