"""仪表盘's at-risk list filters `at_risk IN (true)` so that SQLite reads the forecasts at risk
through their index instead of scanning every forecast (issue 16): on random statuses, due
dates and forecasts (at risk, not, none), in two departments and for tasks helped on across
them, each person's list and count are what the plain filter gives among the tasks they see."""

import datetime as dt
import random

import pytest
from django.utils import timezone

from closeloop.insights import selectors
from closeloop.tasks.models import Task
from closeloop.tasks.states import OPEN_STATUSES, Status
from closeloop.testing.factories import make_task, set_forecast


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2])
def test_the_at_risk_list_is_the_plain_filter_s(seed, head, member, outsider, sales, marketing):
    rng = random.Random(seed)
    today = timezone.localdate()
    statuses = [s.value for s in Status]
    for i in range(2 * selectors.LIST_LIMIT + 10):
        department, owner, actor = (
            (sales, member, head) if rng.random() < 0.7 else (marketing, outsider, outsider)
        )
        helpers = [outsider] if department == sales and rng.random() < 0.2 else []
        t = make_task(
            actor=actor,
            department=department,
            owner=owner,
            title=f"<b>险{i}</b>",
            due=today + dt.timedelta(days=rng.randint(-5, 20)),
            collaborators=helpers,
        )
        Task.objects.filter(pk=t.pk).update(status=rng.choice(statuses))
        kind = rng.choice(["risk", "risk", "fine", "none"])
        if kind != "none":
            set_forecast(t, at_risk=kind == "risk", today=today)
    compared = 0
    for user in (head, member, outsider):
        d = selectors.dashboard(user)
        ids = [dep.pk for dep in d.departments]
        expected = Task.objects.visible_in_departments(user, ids).filter(
            status__in=sorted(OPEN_STATUSES), forecast__at_risk=True
        )
        assert d.counts["at_risk"] == expected.count(), user.username
        assert [t.pk for t in d.at_risk] == list(
            expected.order_by("due_date", "id").values_list("pk", flat=True)[: selectors.LIST_LIMIT]
        ), user.username
        compared += len(d.at_risk)
    assert compared > selectors.LIST_LIMIT
