import datetime as dt

from closeloop.orgs.calendar import add_workdays, is_workday, status_warnings, unknown_years, workdays_between
from closeloop.orgs.models import WorkDay

D = dt.date


def test_national_day_and_its_make_up_sunday(db):
    assert not is_workday(D(2023, 10, 2))  # 国庆节, a Monday
    assert is_workday(D(2023, 10, 8))  # 调休: the handbook's T002 is due on this Sunday
    assert is_workday(D(2023, 10, 7))  # 调休 Saturday
    assert not is_workday(D(2023, 10, 14))  # an ordinary Saturday


def test_adding_working_days_skips_the_holiday_and_counts_make_up_days(db):
    assert add_workdays(D(2023, 9, 28), 1) == D(2023, 10, 7)  # 9/29–10/6 off
    assert add_workdays(D(2023, 9, 28), 2) == D(2023, 10, 8)
    assert add_workdays(D(2023, 10, 9), -1) == D(2023, 10, 8)
    assert add_workdays(D(2023, 10, 1), 0) == D(2023, 10, 7)
    assert workdays_between(D(2023, 9, 28), D(2023, 10, 9)) == 3


def test_an_admin_edit_wins_and_an_unknown_year_falls_back_to_weekdays(db):
    assert unknown_years([2026, 2027]) == [2027]
    assert is_workday(D(2027, 2, 9)) and not is_workday(D(2027, 2, 6))
    assert any("2027" in w for w in status_warnings()) or dt.date.today().year < 2026
    WorkDay.objects.create(date=D(2027, 2, 9), is_workday=False, name="春节")
    assert not is_workday(D(2027, 2, 9))
    assert unknown_years([2027]) == []
    # Once the admin has entered the year, the table alone decides: 2/8 (初三, a Monday) is a
    # working day unless the official schedule says otherwise.
    assert is_workday(D(2027, 2, 8))


def test_a_year_the_table_does_not_know_takes_the_statutory_holidays_off(db):
    assert unknown_years([2027]) == [2027]
    assert not is_workday(D(2027, 1, 1))  # 元旦, a Friday
    # 春节 2027: 除夕 Fri 2/5, 初一 Sat 2/6 … 初三 Mon 2/8
    assert [is_workday(D(2027, 2, d)) for d in (4, 5, 8, 9)] == [True, False, False, True]
    assert not is_workday(D(2027, 4, 5))  # 清明 (solar term), a Monday
    assert [is_workday(D(2027, 5, d)) for d in (3, 4)] == [True, True]  # only 5/1–5/2 are statutory
    assert not is_workday(D(2027, 6, 9))  # 端午 (5/5 lunar), a Wednesday
    assert not is_workday(D(2027, 9, 15))  # 中秋 (8/15 lunar), a Wednesday
    assert [is_workday(D(2027, 10, d)) for d in (1, 4)] == [False, True]  # 国庆 10/1–10/3
    assert is_workday(D(2027, 1, 4)) and not is_workday(D(2027, 1, 2))  # the rest is Monday–Friday


def test_statutory_holidays_follow_the_lunar_calendar_year_by_year(db):
    from closeloop.orgs.calendar import statutory_holidays

    h = statutory_holidays(2028)
    assert {d for d, n in h.items() if n == "春节"} == {
        D(2028, 1, 25),
        D(2028, 1, 26),
        D(2028, 1, 27),
        D(2028, 1, 28),
    }
    assert [d for d, n in h.items() if n == "清明节"] == [D(2028, 4, 4)]
    assert [d for d, n in h.items() if n == "端午节"] == [D(2028, 5, 28)]
    assert h[D(2028, 10, 3)] == "国庆节、中秋节"  # one day off for both, as the law has it
    assert len(h) == 12 and len(statutory_holidays(2027)) == 13
    # Checked against the official schedule of a year the package knows: every statutory day
    # of 2025 is a day off there too.
    assert all(not is_workday(d) for d in statutory_holidays(2025))
    assert statutory_holidays(1800) == {} and statutory_holidays(9999) == {}


def test_working_days_are_counted_across_the_new_year_with_the_provisional_calendar(db):
    # Thu 2026-12-31 + 1 working day: 2027-01-01 is 元旦, then a weekend.
    assert add_workdays(D(2026, 12, 31), 1) == D(2027, 1, 4)
    assert workdays_between(D(2026, 12, 30), D(2027, 1, 4)) == 2


def test_the_status_page_calls_next_years_calendar_provisional_and_names_its_holidays(db):
    from django.utils import translation

    with translation.override("zh-hans"):
        text = " ".join(status_warnings())
    if dt.date.today().year == 2026:
        assert "2027 年的工作日历为暂定" in text and "春节 2/5–2/8" in text and "元旦 1/1" in text
    WorkDay.objects.create(date=D(2027, 1, 1), is_workday=False, name="元旦")
    WorkDay.objects.create(date=D(2028, 1, 1), is_workday=False, name="元旦")
    with translation.override("zh-hans"):
        assert "2027" not in " ".join(status_warnings())
