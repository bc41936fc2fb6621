"""The forecast on constructed histories (pure function, no database)."""

import datetime as dt

from closeloop.tracking.forecast import compute

D = dt.date
START = D(2026, 3, 2)
DUE = D(2026, 3, 31)


def days(pairs):
    return [(START + dt.timedelta(days=i), p) for i, p in pairs]


def test_it_keeps_a_steady_task_on_track():
    # 4 % a day from day 0: 100 % on day 25, before the due date (day 29).
    fc = compute(
        history=days([(10, 40), (11, 44), (12, 48), (13, 52)]),
        start=START,
        due=DUE,
        today=START + dt.timedelta(days=13),
    )
    assert fc.forecast_date == START + dt.timedelta(days=25)
    assert not fc.at_risk and fc.reason == "on_track"


def test_it_marks_a_stalled_task_at_risk():
    fc = compute(
        history=days([(10, 30), (11, 30), (12, 30), (13, 30)]),
        start=START,
        due=DUE,
        today=START + dt.timedelta(days=13),
    )
    assert fc.forecast_date is None
    assert fc.at_risk and fc.reason == "stalled"


def test_it_marks_a_slow_task_behind():
    fc = compute(
        history=days([(10, 10), (11, 12), (12, 14), (13, 16)]),
        start=START,
        due=DUE,
        today=START + dt.timedelta(days=13),
    )
    assert fc.forecast_date > DUE
    assert fc.at_risk and fc.reason == "behind"


def test_it_judges_an_accelerating_task_by_its_recent_speed():
    # Slow start (2 %/day for ten days), then 10 %/day: the last four points say on track.
    history = days([(0, 0), (5, 10), (10, 20), (11, 30), (12, 40), (13, 50), (14, 60)])
    fc = compute(history=history, start=START, due=DUE, today=START + dt.timedelta(days=14))
    assert fc.slope == 10
    assert fc.forecast_date == START + dt.timedelta(days=18)
    assert not fc.at_risk


def test_it_reads_a_single_update_against_the_start():
    # 20 % after 10 days → 2 %/day → 40 more days: after the due date.
    fc = compute(history=days([(10, 20)]), start=START, due=DUE, today=START + dt.timedelta(days=10))
    assert fc.slope == 2
    assert fc.forecast_date == START + dt.timedelta(days=50)
    assert fc.at_risk and fc.reason == "behind"


def test_it_never_alarms_on_a_young_task():
    # Day 3 of 29: a third has not passed, however slow it looks.
    fc = compute(history=days([(2, 1), (3, 1)]), start=START, due=DUE, today=START + dt.timedelta(days=3))
    assert not fc.at_risk and fc.reason == "too_early"


def test_it_raises_no_alarm_without_updates():
    fc = compute(history=[], start=START, due=DUE, today=DUE)
    assert fc.forecast_date is None and not fc.at_risk and fc.reason == "no_updates"


def test_it_holds_its_state_when_the_forecast_sits_on_the_due_date():
    # 100 % exactly on the due date: hysteresis keeps whatever it was.
    history = days([(13, 48), (14, 52), (15, 56), (16, 60)])
    kw = {
        "history": history,
        "start": START,
        "due": START + dt.timedelta(days=26),
        "today": START + dt.timedelta(days=16),
    }
    assert compute(**kw, was_at_risk=True).at_risk
    assert not compute(**kw, was_at_risk=False).at_risk


def test_it_treats_a_week_without_updates_as_stalled():
    fc = compute(
        history=days([(10, 40), (11, 44)]), start=START, due=DUE, today=START + dt.timedelta(days=18)
    )
    assert fc.at_risk and fc.reason == "stalled"
