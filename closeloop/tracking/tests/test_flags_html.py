"""`flags_html` (a list row's overdue / at risk / blocked flags) writes exactly what its
format_html version wrote, every combination, in both languages, with and without a
forecast date."""

import datetime as dt
import itertools

import pytest
from django.utils import translation
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from closeloop.tracking.models import ForecastReason, TaskForecast
from closeloop.tracking.selectors import Flags
from closeloop.tracking.templatetags.tracking import flags_html


def old_flags_html(flags):
    parts = []
    if flags.overdue:
        parts.append(format_html('<span class="flag flag--overdue">{}</span>', _("Overdue")))
    if flags.at_risk:
        fc = flags.forecast
        title = str(fc.get_reason_display()) if fc else ""
        if fc and fc.forecast_date:
            title += f" · {fc.forecast_date:%Y-%m-%d}"
        parts.append(format_html('<span class="flag flag--risk" title="{}">{}</span>', title, _("At risk")))
    if flags.blocked:
        parts.append(format_html('<span class="flag flag--blocked">{}</span>', _("Blocked")))
    return format_html('<span class="flags">{}</span>', format_html_join("", "{}", ((p,) for p in parts)))


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_the_flags_are_the_format_html_ones(lang):
    forecasts = [
        None,
        TaskForecast(reason=ForecastReason.NO_UPDATES, forecast_date=None),
        *(TaskForecast(reason=r, forecast_date=dt.date(2026, 12, 24)) for r in ForecastReason.values),
    ]
    compared = 0
    with translation.override(lang):
        for overdue, at_risk, blocked in itertools.product([False, True], repeat=3):
            for fc in forecasts:
                flags = Flags(overdue=overdue, at_risk=at_risk, blocked=blocked, forecast=fc)
                assert flags_html(flags) == old_flags_html(flags), (flags, lang)
                compared += 1
    assert compared == 8 * len(forecasts)
