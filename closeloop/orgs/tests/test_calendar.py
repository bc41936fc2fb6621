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
    assert is_workday(D(2027, 2, 8)) and not is_workday(D(2027, 2, 6))
    assert any("2027" in w for w in status_warnings()) or dt.date.today().year < 2026
    WorkDay.objects.create(date=D(2027, 2, 8), is_workday=False, name="春节")
    assert not is_workday(D(2027, 2, 8))
    assert unknown_years([2027]) == []
