"""The 有风险 flag on task rows (`extensions.risk_flag`) and the row flags joined
(`tasks.extensions.row_flags`), written out in Python for 我的工作 (issue 16): the HTML
`flags_for` + `flags_html` and format_html_join gave, byte for byte, in both languages, for
every forecast reason, with and without a forecast date, a closed task, no forecast."""

import datetime as dt

import pytest
from django.utils import translation
from django.utils.html import format_html_join

from closeloop.tasks import extensions
from closeloop.tasks.models import Task
from closeloop.testing.factories import make_task, set_forecast
from closeloop.tracking.extensions import risk_flag
from closeloop.tracking.models import ForecastReason
from closeloop.tracking.selectors import Flags, flags_for, with_flags
from closeloop.tracking.templatetags.tracking import flags_html

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 20)


def _old_risk_flag(task, today) -> str:
    flags = flags_for(task, today)
    if not flags.at_risk:
        return ""
    return flags_html(Flags(overdue=False, at_risk=True, blocked=False, forecast=flags.forecast))


def test_the_risk_flag_is_the_old_html(head, member, sales):
    tasks = []
    cases = [
        (r, at_risk, date)
        for r in ForecastReason.values
        for at_risk in (True, False)
        for date in (None, TODAY)
    ]
    for n, (reason, at_risk, date) in enumerate(cases):
        t = make_task(actor=head, department=sales, owner=member, title=f"<b>任务</b>{n}", due=TODAY)
        set_forecast(t, at_risk=at_risk, forecast_date=date, reason=reason, today=TODAY, due=TODAY)
        tasks.append(t)
    closed = tasks[0]
    Task.objects.filter(pk=closed.pk).update(status="cancelled")
    make_task(actor=head, department=sales, owner=member, title="没有预测", due=TODAY)
    rows = list(extensions.prepare_rows(with_flags(Task.objects.select_related("department", "owner"))))
    flagged = 0
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for t in rows:
                new = risk_flag(t, TODAY)
                assert new == _old_risk_flag(t, TODAY), (t.title, language)
                old_row = format_html_join("", "{}", ((r(t, TODAY),) for _p, r in extensions._row_flags))
                assert extensions.row_flags(t, TODAY) == old_row
                flagged += bool(new)
    assert flagged == 2 * (len(ForecastReason.values) * 2 - 1)  # at risk, open: both dates
