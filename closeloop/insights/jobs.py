"""The weekly review job: on the week's review day (its last working day up to the configured
weekday, default Friday) at the configured time (default 16:00), each department's 周复盘 is
made ready and posted to its group — once per department and week, however many workers."""

import logging
from datetime import datetime

from closeloop.core.jobs import register_periodic, run_slot
from closeloop.insights.services import weekly_review_ready
from closeloop.orgs.models import Department
from closeloop.tracking import cadence

log = logging.getLogger("closeloop.insights.jobs")


def post_weekly_reviews(now: datetime) -> int:
    posted = 0
    departments = list(Department.objects.select_related("head", "deputy").order_by("id"))
    cadence.load_settings(departments)
    for dept in departments:
        local = cadence.local_now(dept, now)
        settings = cadence.settings_for(dept)
        if cadence.review_day(local.date(), settings.review_weekday) != local.date():
            continue
        if local.time() < settings.weekly_review_at:
            continue
        week = cadence.week_start(local.date())
        try:
            with run_slot(job="insights.weekly_review", scope=dept.pk, slot=week.isoformat()) as mine:
                if mine and weekly_review_ready(department=dept, week_start=week, now=now) is not None:
                    posted += 1
        except Exception:  # rolled back with its claim: the next tick tries again
            log.exception("weekly review of department %s failed", dept.pk)
    return posted


def register() -> None:
    register_periodic("insights.weekly_review", every=300, fn=post_weekly_reviews)
