"""Issue 10 item 4: monthly work on month ends — one instance in every month, inside it; the
last working day of the month; an instance does not start a second series; the rule in words.

The 2027 calendar is set explicitly (元旦 off), so the dates hold whether the calendar table or
a statutory-holiday fallback answers for 2027."""

import datetime as dt

import pytest
from django.utils import translation

from closeloop.core.errors import ValidationFailed
from closeloop.orgs.calendar import clear_cache, is_workday
from closeloop.orgs.models import WorkDay
from closeloop.planning.services import recurrence as recurrence_services
from closeloop.tasks.models import Frequency, RecurrenceRule
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def calendar_2027(db):
    WorkDay.objects.create(date=dt.date(2027, 1, 1), is_workday=False, name="元旦")
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def month_end(head, member, sales, calendar_2027):
    return make_task(actor=head, department=sales, owner=member, title="月末对账", due=dt.date(2026, 12, 31))


def _dates(rule, end=dt.date(2027, 12, 31)):
    return recurrence_services.occurrences(rule, start=rule.starts_on, end=end)


def test_monthly_on_the_31st_gives_one_instance_per_month_inside_it(month_end, head):
    rule = recurrence_services.recurrence_set(
        actor=head, task=month_end, frequency=Frequency.MONTHLY_DATE, day_of_month=31
    )
    dates = _dates(rule)
    assert dates[:3] == [dt.date(2027, 1, 29), dt.date(2027, 2, 26), dt.date(2027, 3, 31)]
    assert all(is_workday(d) for d in dates)
    assert [d.month for d in dates] == list(range(1, 13))  # exactly one in every month


@pytest.mark.parametrize("day", [29, 30, 31])
def test_every_month_end_day_stays_in_its_month(month_end, head, day):
    rule = recurrence_services.recurrence_set(
        actor=head, task=month_end, frequency=Frequency.MONTHLY_DATE, day_of_month=day
    )
    dates = _dates(rule)
    assert [d.month for d in dates] == list(range(1, 13))
    assert dates[1] == dt.date(2027, 2, 26)  # Feb 2027 ends on a Sunday


def test_a_holiday_on_the_day_moves_it_back(month_end, head):
    WorkDay.objects.create(date=dt.date(2027, 3, 31), is_workday=False, name="测试假日")
    clear_cache()
    rule = recurrence_services.recurrence_set(
        actor=head, task=month_end, frequency=Frequency.MONTHLY_DATE, day_of_month=31
    )
    assert _dates(rule, end=dt.date(2027, 3, 31))[2] == dt.date(2027, 3, 30)


def test_last_working_day_of_the_month_on_web_and_api(month_end, head):
    r = english_client(head).put(
        f"/api/v1/tasks/{month_end.pk}/recurrence",
        {"frequency": "monthly_last_workday"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["frequency"] == "monthly_last_workday"
    rule = RecurrenceRule.objects.get(prototype=month_end)
    assert _dates(rule, end=dt.date(2027, 4, 30)) == [
        dt.date(2027, 1, 29),
        dt.date(2027, 2, 26),
        dt.date(2027, 3, 31),
        dt.date(2027, 4, 30),
    ]
    recurrence_services.recurrence_stop(actor=head, task=month_end)
    web = english_client(head)
    r = web.post(f"/tasks/{month_end.pk}/recurrence/", {"frequency": "monthly_last_workday", "lead_days": 5})
    assert r.status_code in (200, 302)
    rule.refresh_from_db()
    assert rule.active and rule.frequency == Frequency.MONTHLY_LAST_WORKDAY
    page = web.get(f"/tasks/{month_end.pk}/")
    assert "Monthly on the last working day" in page.content.decode()


def test_an_instance_says_it_belongs_to_a_series(month_end, head):
    rule = recurrence_services.recurrence_set(
        actor=head, task=month_end, frequency=Frequency.MONTHLY_WORKDAY, nth_workday=3
    )
    instance = recurrence_services.recurrence_instantiate(rule=rule, occurrence=dt.date(2027, 1, 6))
    with pytest.raises(ValidationFailed) as exc:
        recurrence_services.recurrence_set(
            actor=head, task=instance, frequency=Frequency.MONTHLY_WORKDAY, nth_workday=3
        )
    assert month_end.full_code in exc.value.message
    assert RecurrenceRule.objects.count() == 1


def test_the_summary_names_the_rule_fully(month_end, head):
    rule = recurrence_services.recurrence_set(
        actor=head, task=month_end, frequency=Frequency.MONTHLY_WORKDAY, nth_workday=3
    )
    with translation.override("zh-hans"):
        assert rule.summary == "每月第 3 个工作日"
        rule.frequency, rule.nth_workday = Frequency.MONTHLY_LAST_WORKDAY, None
        assert rule.summary == "每月最后一个工作日"
        rule.frequency, rule.weekday = Frequency.WEEKLY, 2
        assert rule.summary == "每星期三"
