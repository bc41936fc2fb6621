"""The weekly review job: on the week's review day (its last working day up to the configured
weekday, default Friday) at the configured time (default 16:00), each department's 周复盘 is
made ready and posted to its group — once per department and week, however many workers."""

from datetime import datetime

from closeloop.core.jobs import claim_slot, register_periodic
from closeloop.insights.services import weekly_review_ready
from closeloop.orgs.models import Department
from closeloop.tracking import cadence


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
        if claim_slot(job="insights.weekly_review", scope=dept.pk, slot=week.isoformat()) is None:
            continue
        if weekly_review_ready(department=dept, week_start=week, now=now) is not None:
            posted += 1
    return posted


def register() -> None:
    register_periodic("insights.weekly_review", every=300, fn=post_weekly_reviews)
