"""日历's milestones (issue 16): ranked by date from the milestones' own columns (their copy of
"the task is cancelled", `Milestone.task_cancelled`) — the same milestones, in the same order,
as filtering them through the tasks each person may see (`Task.objects.visible_to`), on
random data: tasks in two departments, some cancelled, some owned across departments, for
the head, a specialist, someone of another department and a superuser, with and without the
department filter, and each day cut at its first one or three milestones (the rest counted
for the day's "+n more")."""

import datetime as dt
import random
from collections import Counter

import pytest
from django.db import connection

from closeloop.planning.selectors.calendar import DAY_MILESTONES, _milestones, calendar_month
from closeloop.tasks.models import Milestone, Task
from closeloop.tasks.services import task_transition
from closeloop.tasks.states import Status
from closeloop.testing.factories import make_task

pytestmark = pytest.mark.django_db


def reference(user, department_id, start, end, per_day):
    tasks = Task.objects.visible_to(user).exclude(status=Status.CANCELLED)
    if department_id:
        tasks = tasks.filter(department_id=department_id)
    rows = list(
        Milestone.objects.filter(task__in=tasks.values("pk"), date__range=(start, end))
        .order_by("date", "id")
        .values_list("id", "task_id", "title", "date")
    )
    counts = Counter(r[3] for r in rows)
    shown, taken = [], Counter()
    for r in rows:
        taken[r[3]] += 1
        if taken[r[3]] <= per_day:
            shown.append(r)
    return shown, dict(counts)


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
        for j in range(rng.randint(0, 5)):
            Milestone.objects.create(
                task=t, title=f"<i>m{t.pk}-{j}</i>", date=today + dt.timedelta(days=rng.randint(-40, 40))
            )
        if rng.random() < 0.25:
            # As people cancel: the service marks the task's milestones (`task_cancelled`).
            task_transition(actor=admin_user, task=t, to=Status.CANCELLED, note="不做了")
    start, end = today - dt.timedelta(days=20), today + dt.timedelta(days=20)
    seen = {}
    for user in (head, member, outsider, admin_user):
        for department_id in (None, sales.pk, marketing.pk):
            for per_day in (1, 3, 50):
                milestones, counts = _milestones(user, department_id, start, end, per_day)
                got = [(m.id, m.task_id, m.title, m.date) for m in milestones]
                assert (got, counts) == reference(user, department_id, start, end, per_day), (
                    user,
                    department_id,
                    per_day,
                )
                seen[(user.username, department_id, per_day)] = len(got)
    assert seen[("marketing_specialist", sales.pk, 50)] == 0
    assert seen[("admin", None, 50)] > seen[("sales_head", None, 50)] > 0
    assert seen[("admin", None, 1)] < seen[("admin", None, 50)]  # some day holds more than one
    # The grid shows each day's first three; the rest count in the day's "+n more".
    month = calendar_month(member, year=today.year, month=today.month)
    days = [day for week in month["weeks"] for day in week]
    first, last = days[0]["date"], days[-1]["date"]
    shown, counts = reference(member, None, first, last, DAY_MILESTONES)
    assert [m.id for day in days for m in day["milestones"]] == [row[0] for row in shown]
    for day in days:
        assert day["more"] >= counts.get(day["date"], 0) - len(day["milestones"])


def test_a_busy_day_shows_three_milestones_and_counts_the_rest(head, sales):
    """The former cap of 500 on the whole grid left the month's last days empty; now every
    day shows its first three and counts the rest in "+n more"."""
    today = dt.date.today()
    task = make_task(actor=head, department=sales, owner=head)
    Milestone.objects.bulk_create(
        Milestone(task=task, task_department=sales, title=f"节点{i}", date=today)
        for i in range(DAY_MILESTONES + 4)
    )
    late = today.replace(day=28 if today.day != 28 else 27)
    Milestone.objects.create(task=task, title="月末节点", date=late)
    month = calendar_month(head, year=today.year, month=today.month, today=today)
    days = {day["date"]: day for week in month["weeks"] for day in week}
    busy = days[today]
    assert [m.title for m in busy["milestones"]] == ["节点0", "节点1", "节点2"]
    assert busy["more"] == 4  # the one task, if due that day, is shown
    assert [m.title for m in days[late]["milestones"]] == ["月末节点"]


@pytest.mark.parametrize("inline_ids", [2000, 0])
def test_milestones_under_a_task_seen_from_another_department_are_shown_with_its_subtree(
    head, member, outsider, sales, marketing, monkeypatch, inline_ids
):
    """Someone of another department who reviews a task sees it and its subtasks (the
    visibility rule's subtrees — path ranges, or their ids inlined), so their milestones too;
    the task's other milestones stay counted in their own department and each milestone
    carries its task's department, whichever way it was made."""
    from closeloop.planning.services.decomposition import milestone_add
    from closeloop.tasks import visibility

    monkeypatch.setattr(visibility, "SUBTREE_INLINE_IDS", inline_ids)
    today = dt.date.today()
    parent = make_task(actor=head, department=sales, owner=member, title="跨部门评审的任务")
    Task.objects.filter(pk=parent.pk).update(reviewer=outsider)
    kids = [
        make_task(actor=head, department=sales, owner=member, title=f"子任务{i}", parent=parent, criteria=[])
        for i in range(2)
    ]
    unrelated = make_task(actor=head, department=sales, owner=member, title="无关任务")
    for t in (parent, *kids, unrelated):
        milestone_add(actor=head, task=Task.objects.get(pk=t.pk), title=f"节点{t.pk}", date_=today)
    Milestone.objects.create(task_id=kids[0].pk, title="只给了任务号", date=today)
    assert set(Milestone.objects.values_list("task_department_id", flat=True)) == {sales.pk}
    start, end = today - dt.timedelta(days=3), today + dt.timedelta(days=3)
    for department_id in (None, sales.pk, marketing.pk):
        milestones, counts = _milestones(outsider, department_id, start, end, 50)
        got = [(m.id, m.task_id, m.title, m.date) for m in milestones]
        assert (got, counts) == reference(outsider, department_id, start, end, 50)
    seen = {m.task_id for m in _milestones(outsider, None, start, end, 50)[0]}
    assert seen == {parent.pk, *(k.pk for k in kids)}
    # The subtree is read as path ranges where the rule keeps it so (not inlined as ids).
    ranges = bool(visibility.visibility(outsider).subtrees)
    assert ranges == (inline_ids == 0 or connection.vendor == "postgresql")


def test_a_cancelled_tasks_milestone_leaves_the_calendar(client, head, sales):
    """Cancelling a task takes its milestones off 日历 (the milestone's copy of the status),
    whoever reads it, and leaves the other tasks' milestones of the day in place."""
    from closeloop.planning.services.decomposition import milestone_add

    today = dt.date.today()
    kept = make_task(actor=head, department=sales, owner=head, title="继续的任务")
    dropped = make_task(actor=head, department=sales, owner=head, title="取消的任务")
    milestone_add(actor=head, task=kept, title="保留的节点", date_=today)
    milestone_add(actor=head, task=dropped, title="取消的节点", date_=today)
    client.force_login(head)
    page = client.get("/calendar/").content.decode()
    assert "保留的节点" in page and "取消的节点" in page
    task_transition(actor=head, task=Task.objects.get(pk=dropped.pk), to=Status.CANCELLED, note="客户撤单")
    assert list(Milestone.objects.filter(task=dropped).values_list("task_cancelled", flat=True)) == [True]
    page = client.get("/calendar/").content.decode()
    assert "保留的节点" in page and "取消的节点" not in page


def test_each_days_tasks_and_counts_are_those_each_person_sees(
    head, member, outsider, admin_user, sales, marketing
):
    """日历's tasks (`_days_and_first_tasks`: the departments a person sees whole and the
    tasks they see by name as separate parts — a UNION ALL on PostgreSQL): each day's first
    four by priority and id, its count and whether one is open, the same as filtering the
    tasks through `Task.objects.visible_to`, for people who see a department whole, by name
    (a task owned across departments, a subtask of one they review) or everything."""
    from closeloop.planning.selectors.calendar import DAY_TASKS, _days_and_first_tasks, _due_parts

    rng = random.Random(4)
    today = dt.date.today()
    start, end = today - dt.timedelta(days=10), today + dt.timedelta(days=10)
    tasks = []
    for i in range(24):
        department, actor = (sales, head) if i % 3 else (marketing, outsider)
        owner = rng.choice([head, member]) if department == sales else outsider
        t = make_task(actor=actor, department=department, owner=owner, title=f"任务{i}")
        due = today + dt.timedelta(days=rng.randint(-12, 12))
        Task.objects.filter(pk=t.pk).update(due_date=due, priority=rng.randint(1, 3))
        tasks.append(t)
    # Seen by name across departments: a marketing task owned by the member, and one the
    # member reviews with its subtask.
    Task.objects.filter(pk=tasks[0].pk).update(owner=member)
    Task.objects.filter(pk=tasks[3].pk).update(reviewer=member)
    sub = make_task(
        actor=outsider, department=marketing, owner=outsider, title="子任务", parent=tasks[3], criteria=[]
    )
    Task.objects.filter(pk=sub.pk).update(due_date=today)
    for t in rng.sample(tasks, 6):
        task_transition(actor=admin_user, task=Task.objects.get(pk=t.pk), to=Status.CANCELLED, note="不做了")
    Task.objects.filter(pk=rng.choice(tasks[1:3]).pk, status=Status.NOT_STARTED).update(status=Status.DONE)
    for user in (head, member, outsider, admin_user):
        for department_id in (None, sales.pk, marketing.pk):
            seen = (
                Task.objects.visible_to(user)
                .filter(due_date__range=(start, end))
                .exclude(status=Status.CANCELLED)
            )
            if department_id:
                seen = seen.filter(department_id=department_id)
            rows = sorted(seen.values_list("due_date", "priority", "id", "status"))
            expected_days: dict = {}
            expected_first = []
            for day, _priority, pk, status in rows:
                n, still_open = expected_days.get(day, (0, 0))
                if n < DAY_TASKS:
                    expected_first.append(pk)
                expected_days[day] = (n + 1, still_open + (status not in (Status.DONE, Status.CANCELLED)))
            per_day, first_ids = _days_and_first_tasks(_due_parts(user, department_id, start, end))
            assert per_day == expected_days, (user.username, department_id)
            assert sorted(first_ids) == sorted(expected_first), (user.username, department_id)
    member_days, _ = _days_and_first_tasks(_due_parts(member, marketing.pk, start, end))
    assert sum(n for n, _open in member_days.values()) >= 2  # seen by name only
