import datetime as dt
import zoneinfo

import pytest

from closeloop.tasks.models import Priority, Task
from closeloop.tasks.services import task_transition
from closeloop.testing.factories import make_task

SH = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=10, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.fixture
def started(head, member, sales):
    """A started high-priority SALES task of the member: 2026-03-02 → 2026-03-31."""
    t = make_task(
        actor=head,
        department=sales,
        owner=member,
        title="老用户召回活动",
        start_date=dt.date(2026, 3, 2),
        due=dt.date(2026, 3, 31),
        priority=Priority.HIGH,
    )
    return task_transition(actor=member, task=t, to="in_progress")


def fresh(task):
    return Task.objects.select_related("department", "owner").get(pk=task.pk)
