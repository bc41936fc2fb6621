"""日历's day page (the tester's finding: a day's "+n 项" led to the task list of the day's due
tasks, so milestones hidden behind it could not be reached). "+n more" now leads to the day,
which lists every milestone and task of it the person sees — through the grid's own reads,
so the same rule: 销售部's head never sees 市场部's milestone, the department picker narrows
it — in a fixed number of queries whatever the day holds; a reached milestone is told apart
there and in the grid."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from closeloop.planning.selectors.calendar import DAY_MILESTONES, calendar_day
from closeloop.planning.services import decomposition as decomposition_services
from closeloop.tasks.models import Milestone
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
DAY = TODAY + dt.timedelta(days=2)


# The day page's queries, whatever the day holds: the session and the user, the department
# picker's two reads, the person's visibility (the tasks they see by name), the milestones
# ranked per part (the departments seen whole, the tasks seen by name) and the shown ones
# read, the tasks ranked — counted in a pass of their own on SQLite, on the ranking's windows
# on PostgreSQL (`_days_and_first_tasks`) — and the shown ones read.
def day_page_queries() -> int:
    return 10 if connection.vendor == "postgresql" else 11


def _day_of(user, *, milestones: int, tasks: int, department, tag: str = ""):
    """`milestones` milestones and `tasks` tasks on DAY in `department`, owned by `user`."""
    host = make_task(actor=user, department=department, owner=user, title=f"{tag}节点任务", due=DAY)
    made = [
        decomposition_services.milestone_add(actor=user, task=host, title=f"{tag}节点{i}", date_=DAY)
        for i in range(milestones)
    ]
    for i in range(tasks - 1):
        make_task(actor=user, department=department, owner=user, title=f"{tag}到期{i}", due=DAY)
    return host, made


def test_more_leads_to_the_day_which_lists_every_milestone_the_cell_hides(head, sales):
    host, made = _day_of(head, milestones=DAY_MILESTONES + 2, tasks=2, department=sales)
    decomposition_services.milestone_update(
        actor=head, milestone=Milestone.objects.select_related("task").get(pk=made[-1].pk), reached=True
    )
    client = english_client(head)
    month = client.get(reverse("tasks:calendar"), {"year": DAY.year, "month": DAY.month}).content.decode()
    href = reverse("tasks:calendar_day", args=[DAY.isoformat()])
    assert f'<a href="{href}"' in month and "+2 more</a>" in month
    hidden = [m.title for m in made[DAY_MILESTONES:]]
    assert not any(f">{t}<" in month for t in hidden)  # behind "+2 more" in the grid
    page = client.get(href).content.decode()
    for m in made:
        assert f"{m.title}</a>" in page, m.title
    assert f'href="/tasks/{host.pk}/#plan"' in page
    assert page.count('class="task-row cal-day__ms"') == len(made) - 1
    assert page.count('class="task-row cal-day__ms is-reached"') == 1 and "Reached " in page
    assert page.count("cal-day__task") == 2 and "节点任务" in page and "到期0" in page
    # The way back to the month, and on to the days around.
    assert f"{reverse('tasks:calendar')}?year={DAY.year}&month={DAY.month}" in page
    assert reverse("tasks:calendar_day", args=[(DAY + dt.timedelta(days=1)).isoformat()]) in page


def test_the_day_shows_only_what_the_person_may_see(head, member, outsider, sales, marketing):
    """The grid's rule: 销售部's head and member never see 市场部's milestone or task of the
    day, nor 市场部's specialist 销售部's; a department picked narrows the day to it."""
    _day_of(head, milestones=2, tasks=1, department=sales, tag="销售")
    _day_of(outsider, milestones=1, tasks=1, department=marketing, tag="市场")
    url = reverse("tasks:calendar_day", args=[DAY.isoformat()])
    for user in (head, member):
        page = english_client(user).get(url).content.decode()
        assert "销售节点0" in page and "销售节点1" in page and "销售节点任务" in page
        assert "市场节点" not in page and "市场到期" not in page, user
        data = calendar_day(user, day=DAY)
        assert (data["milestone_count"], data["task_count"]) == (2, 1)
    page = english_client(outsider).get(url).content.decode()
    assert "市场节点0" in page and "销售节点" not in page and "销售到期" not in page
    # Another department asked for by id shows nothing of it (and names the value ignored).
    page = english_client(outsider).get(url, {"department": sales.pk}).content.decode()
    assert "销售节点" not in page
    # The head's day narrowed to 销售部 keeps the department on the links around it.
    page = english_client(head).get(url, {"department": sales.pk}).content.decode()
    assert "销售节点0" in page and f"?department={sales.pk}" in page


def test_the_day_runs_a_fixed_number_of_queries_whatever_it_holds(head, member, outsider, sales, marketing):
    """Measured the way the grid's tests measure: the same count with 2 items or 40 a list."""
    url = reverse("tasks:calendar_day", args=[DAY.isoformat()])
    client = english_client(head)
    _day_of(head, milestones=2, tasks=2, department=sales)
    # A task the head sees by name in 市场部 (collaborator), so both parts are read.
    across = make_task(actor=outsider, department=marketing, owner=outsider, title="跨部门", due=DAY)
    from closeloop.tasks.services import task_collaborator_add

    task_collaborator_add(actor=outsider, task=across, user=head)
    decomposition_services.milestone_add(actor=outsider, task=across, title="跨部门节点", date_=DAY)
    client.get(url)  # the session, the work calendar's year
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    _day_of(head, milestones=40, tasks=40, department=sales, tag="多")
    with CaptureQueriesContext(connection) as large:
        page = client.get(url).content.decode()
    assert "多节点39" in page and "多到期38" in page and "跨部门节点" in page
    assert len(large.captured_queries) == len(small.captured_queries) == day_page_queries(), [
        q["sql"][:120] for q in large.captured_queries
    ]


def test_a_day_the_calendar_cannot_show_is_not_found(head):
    client = english_client(head)
    for day in ("2026-13-45", "abc", "1999-12-31", "2101-01-01", "20261204"):
        assert client.get(reverse("tasks:calendar_day", args=[day])).status_code == 404, day
    assert client.get(reverse("tasks:calendar_day", args=["2000-01-01"])).status_code == 200
