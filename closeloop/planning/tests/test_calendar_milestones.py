"""日历's milestones (issue 16): read by date with each task checked by primary key — a scalar
subquery on PostgreSQL, the joined task on SQLite — the same milestones, in the same order,
as filtering them through the tasks each person may see (`Task.objects.visible_to`), on
random data: tasks in two departments, some cancelled, some owned across departments, for
the head, a specialist, someone of another department and a superuser, with and without the
department filter and a limit that cuts the month."""

import datetime as dt
import random

import pytest

from closeloop.planning.selectors.calendar import _milestones, calendar_month
from closeloop.tasks.models import Milestone, Task
from closeloop.tasks.states import Status
from closeloop.testing.factories import make_task

pytestmark = pytest.mark.django_db


def reference(user, department_id, start, end, limit):
    tasks = Task.objects.visible_to(user).exclude(status=Status.CANCELLED)
    if department_id:
        tasks = tasks.filter(department_id=department_id)
    return list(
        Milestone.objects.filter(task__in=tasks.values("pk"), date__range=(start, end))
        .order_by("date", "id")
        .values_list("id", "task_id", "title", "date")[:limit]
    )


def test_the_milestones_are_those_of_the_tasks_each_person_sees(
    head, member, outsider, admin_user, sales, marketing
):
    rng = random.Random(16)
    today = dt.date.today()
    tasks = [
        make_task(actor=head, department=sales, owner=rng.choice([head, member]), title=f"<b>售{i}</b>")
        for i in range(8)
    ]
    tasks += [
        make_task(actor=outsider, department=marketing, owner=outsider, title=f"市{i}") for i in range(6)
    ]
    # Owned across departments: the member sees this marketing task, the outsider does not
    # see the sales tasks.
    across = make_task(actor=outsider, department=marketing, owner=outsider, title="跨部门")
    Task.objects.filter(pk=across.pk).update(owner=member)
    tasks.append(across)
    for t in tasks:
        if rng.random() < 0.25:
            Task.objects.filter(pk=t.pk).update(status=Status.CANCELLED)
        for j in range(rng.randint(0, 5)):
            Milestone.objects.create(
                task=t, title=f"<i>m{t.pk}-{j}</i>", date=today + dt.timedelta(days=rng.randint(-40, 40))
            )
    start, end = today - dt.timedelta(days=20), today + dt.timedelta(days=20)
    seen = {}
    for user in (head, member, outsider, admin_user):
        for department_id in (None, sales.pk, marketing.pk):
            for limit in (3, 500):
                got = [
                    (m.id, m.task_id, m.title, m.date)
                    for m in _milestones(user, department_id, start, end, limit)
                ]
                assert got == reference(user, department_id, start, end, limit), (user, department_id, limit)
                seen[(user.username, department_id, limit)] = len(got)
    assert seen[("marketing_specialist", sales.pk, 500)] == 0
    assert seen[("admin", None, 500)] > seen[("sales_head", None, 500)] > 0
    # The grid takes them as they come, each day its own.
    month = calendar_month(member, year=today.year, month=today.month)
    shown = [m.id for week in month["weeks"] for day in week for m in day["milestones"]]
    first, last = month["weeks"][0][0]["date"], month["weeks"][-1][-1]["date"]
    assert shown == [row[0] for row in reference(member, None, first, last, 500)]
