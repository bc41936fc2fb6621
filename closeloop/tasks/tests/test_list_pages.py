"""The task list's pages (`TaskListPaginator`, counted and cut per department) against the
paginator they replace (`IdPaginator` over `task_list`, the whole visibility clause OR'd and
sorted by the database) in random worlds: every person, filters, sorts and every page, with
pages small enough to span departments. Any difference is a row shown twice, lost, out of
order — or shown to someone who must not see it."""

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from closeloop.core.pagination import IdPaginator
from closeloop.orgs.models import Department, User
from closeloop.tasks import selectors, visibility
from closeloop.tasks.models import Task
from closeloop.tasks.selectors import SORTS, TaskFilters, TaskListPaginator, task_list
from closeloop.tasks.tests.test_visibility_random import _world
from closeloop.testing.factories import make_task, set_forecast


def _fresh(person: User) -> User:
    return User.objects.get(pk=person.pk)  # no memo


def _pages(paginator) -> tuple[int, list[list[int]]]:
    return paginator.count, [
        [t.pk for t in paginator.get_page(n).object_list] for n in range(1, paginator.num_pages + 2)
    ]


def _filters(rng: random.Random, departments: list[int]) -> list[TaskFilters]:
    codes = list(Department.objects.filter(pk__in=departments).values_list("code", flat=True))
    out = [TaskFilters(sort=s) for s in SORTS] + [TaskFilters(sort="bogus")]
    for _ in range(6):
        out.append(
            TaskFilters(
                department=rng.choice([None, None, *departments]),
                priority=rng.choice([None, 1, 2, 3]),
                status=rng.choice([None, "open", "not_started", "done"]),
                overdue=rng.random() < 0.2,
                top_level_only=rng.random() < 0.3,
                q=rng.choice(["", "", "任务", "T001", "！？", *(f"{c}-t001" for c in codes)]),
                sort=rng.choice(["code", "-code", "code", "due", "title"]),
            )
        )
    return out


@pytest.mark.parametrize("seed", range(3))
def test_the_pages_are_main_pages_in_random_worlds(db, seed, monkeypatch):
    people, _tasks = _world(seed)
    rng = random.Random(seed)
    departments = list(Department.objects.values_list("pk", flat=True))
    admin = User.objects.create_superuser(username=f"root{seed}", password="x")
    spans = 0
    # Subtrees as ids, and as path ranges; the rule's tasks elsewhere read whole for a page and
    # cut in Python (their keys read with the count), and per department — and with a bound
    # some people's tasks elsewhere just fit in and others just pass.
    for inline_ids, beyond_whole in ((visibility.SUBTREE_INLINE_IDS, 500), (0, 0), (0, 2)):
        monkeypatch.setattr(visibility, "SUBTREE_INLINE_IDS", inline_ids)
        monkeypatch.setattr(selectors, "BEYOND_WHOLE_ROWS", beyond_whole)
        for person in [*people, admin]:
            for filters in _filters(rng, departments):
                per_page = rng.choice([2, 3, 5])
                new = TaskListPaginator(_fresh(person), filters, per_page)
                old = IdPaginator(task_list(_fresh(person), filters), per_page)
                assert _pages(new) == _pages(old), (person.username, filters, per_page)
                spans += sum(
                    1 for _d, n in new.departments if n % per_page
                )  # a department's last page runs on into the next
    assert spans


def test_someone_outside_sees_no_row_and_no_count(db, head, member, sales, outsider, marketing):
    hidden = make_task(actor=head, department=sales, owner=member, title="<b>不给外人看</b>")
    mine = make_task(actor=head, department=sales, owner=outsider, title="外人负责的")
    for filters in (
        TaskFilters(),
        TaskFilters(department=sales.pk),
        TaskFilters(q="外人"),
        TaskFilters(sort="-code"),
    ):
        pages = TaskListPaginator(_fresh(outsider), filters, 30)
        shown = {t.pk for n in range(1, pages.num_pages + 1) for t in pages.page(n).object_list}
        assert hidden.pk not in shown
        assert pages.count == len(shown) == (1 if mine.pk in shown else 0)
    assert {t.pk for t in TaskListPaginator(_fresh(outsider), TaskFilters(), 30).page(1).object_list} == {
        mine.pk
    }


def test_a_page_is_three_queries_after_the_rule(
    db, head, member, sales, outsider, marketing, django_assert_num_queries
):
    """The count (one statement for every part), the page's ids (one statement, also when the
    page spans departments) and its rows; a page that falls only among the rule's tasks
    elsewhere needs no ids statement (their keys came with the count)."""
    for i in range(7):
        if i % 2:
            make_task(actor=head, department=sales, owner=member, title=f"任务{i}")
        else:  # owned by the member in another department: the rule's tasks elsewhere
            make_task(actor=outsider, department=marketing, owner=member, title=f"任务{i}")
    person = _fresh(member)
    from closeloop.orgs.selectors import visible_department_ids

    visible_department_ids(person)
    visibility.visibility(person)  # the rule's own queries are visibility's tests'
    first = TaskListPaginator(person, TaskFilters(), 3)
    with django_assert_num_queries(2):
        page = first.page(1)  # rows 1-3: the member's tasks in marketing (MKT before SALES)
    assert [t.department_id for t in page.object_list] == [marketing.pk] * 3
    pages = TaskListPaginator(person, TaskFilters(), 3)
    with django_assert_num_queries(3):
        page = pages.page(2)  # rows 4-6: the end of one department and the start of the next
    assert len(page.object_list) == 3 and len(pages.departments) == 2
    with CaptureQueriesContext(connection) as ctx:
        TaskListPaginator(person, TaskFilters(sort="due"), 3).page(1)
    assert len(ctx) == 3
    assert Task.objects.count() == 7


def test_the_rows_read_only_what_they_show_and_render_the_same(
    db, head, member, sales, marketing, outsider, django_assert_num_queries
):
    """The page's rows load only `LIST_ROW_FIELDS`: the table's HTML is byte for byte the one
    of rows loaded whole, with markup in every field a row shows, a project, a customer, an
    at-risk forecast, overdue and closed rows — and rendering them runs no query."""
    import datetime as dt

    from django.utils import timezone

    from closeloop.core.pagination import rows_in_order
    from closeloop.tasks.models import Customer, Project
    from closeloop.tasks.services import task_transition
    from closeloop.tasks.states import Status
    from closeloop.tasks.templatetags.plan_tags import task_table_rows
    from closeloop.tracking.models import ForecastReason

    today = timezone.localdate()
    User.objects.filter(pk=member.pk).update(name="<i>李</i>&专员", first_name="<a>", last_name='"x"')
    project = Project.objects.create(name="<script>项目</script>")
    customer = Customer.objects.create(name="客户 & <b>公司</b>")
    tasks = []
    for i in range(6):
        t = make_task(
            actor=head,
            department=sales,
            owner=member,
            title=f"<img src=x onerror=alert({i})>任务 & {i}",
            due=today + dt.timedelta(days=i - 3),
            priority=1 + i % 3,
        )
        tasks.append(t)
    Task.objects.filter(pk=tasks[0].pk).update(
        project=project, customer=customer, notes="<b>备注</b> & " + "很长" * 40, code="T<1>"
    )
    Task.objects.filter(pk=tasks[1].pk).update(notes="'单引号' \"双引号\"", progress=55, task_type="routine")
    task_transition(actor=head, task=Task.objects.get(pk=tasks[2].pk), to=Status.CANCELLED, note="不再需要")
    for t in tasks[3:5]:
        set_forecast(
            t, forecast_date=today + dt.timedelta(days=30), reason=ForecastReason.BEHIND, today=today
        )
    pages = TaskListPaginator(_fresh(head), TaskFilters(), 30)
    ids = [t.pk for t in pages.page(1).object_list]
    whole = rows_in_order(task_list(_fresh(head), TaskFilters()), ids)
    shown = pages.page(1).object_list
    assert [t.pk for t in shown] == ids and len(ids) == 6
    with django_assert_num_queries(0):
        html = task_table_rows(shown, today)
    assert html == task_table_rows(whole, today)
    assert "&lt;img" in html and "flag--risk" in html and "&lt;script&gt;" in html


@pytest.mark.parametrize("seed", range(2))
def test_the_api_s_pages_are_main_s_in_random_worlds(db, client, seed):
    """`GET /api/v1/tasks` pages through `TaskListPaginator.ids` (offset and limit): every
    person's items and count, in every order and at offsets that cut departments, are those
    of `task_list` sliced as the API read them before (the whole clause OR'd and sorted)."""
    from closeloop.tasks.tests.test_api import Api

    people, _tasks = _world(seed)
    rng = random.Random(seed)
    admin = User.objects.create_superuser(username=f"api_root{seed}", password="x")
    for person in [*people, admin]:
        if not _fresh(person).is_active:
            continue  # no token works for them
        api = Api(client, person)
        for sort in ["code", "-code", "code", "due", "title"]:
            filters = TaskFilters(
                priority=rng.choice([None, None, 1, 2]),
                status=rng.choice([None, None, "open"]),
                sort=sort,
            )
            expected = list(task_list(_fresh(person), filters).values_list("pk", flat=True))
            limit = rng.choice([1, 2, 3, 5])
            for offset in sorted(
                {0, limit, rng.randrange(len(expected) + 2), len(expected), len(expected) + 3}
            ):
                params = {"ordering": sort, "limit": limit, "offset": offset}
                if filters.priority:
                    params["priority"] = filters.priority
                if filters.status:
                    params["status"] = filters.status
                body = api.get("/tasks", **params).json()
                assert [i["id"] for i in body["items"]] == expected[offset : offset + limit], (person, params)
                assert body["count"] == len(expected), (person, params)
