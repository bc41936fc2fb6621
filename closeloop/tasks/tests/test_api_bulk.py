"""Reading tasks in bulk through the API (issue 16, item 3): a department's every open task in
one request (`GET /api/v1/tasks?department=…&status=open&limit=5000`), with the same items,
the same visibility and a fixed number of queries however many tasks there are."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from closeloop.orgs.models import Membership
from closeloop.tasks.api.rows import json_datetime
from closeloop.tasks.api.schemas import TaskListItem
from closeloop.tasks.models import Task
from closeloop.tasks.services import customer_get_or_create, project_get_or_create, task_transition
from closeloop.tasks.tests.test_api import TODAY, Api, assert_error, client  # noqa: F401 (fixture)
from closeloop.testing.factories import UserFactory, add_member, make_task

pytestmark = pytest.mark.django_db

BULK = 5000


def bulk(api: Api, **params) -> dict:
    response = api.get("/tasks", limit=BULK, **params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return response.json()


def test_each_item_is_the_task_as_its_own_answer_gives_it(client, head, member, sales, marketing):  # noqa: F811
    """The bulk items are written without Ninja's validation: field for field they must be what
    `GET /tasks/{id}` (validated, Django's encoder) says of the same task."""
    nameless = UserFactory(username="nameless", name="", first_name="", last_name="")
    add_member(nameless, sales)
    sales.time_zone = "America/Los_Angeles"  # "today" of the department, not the viewer's
    sales.save()
    top = make_task(
        actor=head,
        department=sales,
        owner=member,
        title='老用户召回活动 "引号" \\ 和 emoji 🎯',
        priority=1,
        task_type="routine",
        start_date=TODAY,
        project=project_get_or_create(name="召回"),
        customer=customer_get_or_create(name="华东客户"),
    )
    make_task(actor=head, department=sales, owner=nameless, title="数据清洗", parent=top)
    late = make_task(actor=head, department=sales, owner=member, title="逾期", priority=3)
    Task.objects.filter(pk=late.pk).update(due_date=TODAY - dt.timedelta(days=3))
    done = make_task(actor=head, department=sales, owner=member, title="已完成")
    Task.objects.filter(pk=done.pk).update(due_date=TODAY - dt.timedelta(days=3))
    for to in ("in_progress", "submitted"):
        done = task_transition(actor=member, task=done, to=to)
    task_transition(actor=head, task=done, to="done")
    api = Api(client, head)
    items = bulk(api)["items"]
    assert len(items) == 4
    fields = set(TaskListItem.model_fields)
    for item in items:
        assert set(item) == fields
        one = api.get(f"/tasks/{item['id']}").json()
        assert item == {k: one[k] for k in fields}, item["title"]
    by_title = {i["title"]: i for i in items}
    assert by_title["逾期"]["overdue"] is True and by_title["已完成"]["overdue"] is False
    assert by_title["数据清洗"]["owner"]["name"] == "nameless"
    assert by_title[top.title]["project"] == "召回" and by_title["逾期"]["project"] is None
    # Labels in the caller's language.
    zh = api.client.get("/api/v1/tasks", {"limit": BULK}, HTTP_ACCEPT_LANGUAGE="zh-hans", **api.headers)
    assert {i["status_label"] for i in zh.json()["items"]} == {"未开始", "已完成"}


def test_times_are_written_as_the_api_always_wrote_them():
    utc = dt.UTC
    assert json_datetime(dt.datetime(2026, 5, 4, 9, 30, 0, 123456, tzinfo=utc)) == "2026-05-04T09:30:00.123Z"
    assert json_datetime(dt.datetime(2026, 5, 4, 9, 30, tzinfo=utc)) == "2026-05-04T09:30:00Z"
    # SQLite's stored text, as read without Django's converters.
    assert json_datetime("2026-05-04 09:30:00.123456") == "2026-05-04T09:30:00.123Z"
    assert json_datetime("2026-05-04 09:30:00") == "2026-05-04T09:30:00Z"
    assert json_datetime("2026-05-04T17:30:00.5+08:00") == "2026-05-04T17:30:00.500+08:00"


def test_times_read_as_text_are_the_ones_the_single_read_writes(client, head, member, sales):  # noqa: F811
    """`updated_at` comes as the database's text (SQLite's stored text, PostgreSQL's to_char
    in UTC): with and without microseconds, around midnight, the single get's value."""
    utc = dt.UTC
    moments = [
        dt.datetime(2026, 5, 4, 9, 30, 0, 123456, tzinfo=utc),
        dt.datetime(2026, 5, 4, 9, 30, tzinfo=utc),
        dt.datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=utc),
        dt.datetime(2026, 1, 1, 0, 0, 0, 1000, tzinfo=utc),
        dt.datetime(2026, 3, 1, 16, 0, 0, 400, tzinfo=utc),  # 00:00:00.0004 in Shanghai
    ]
    tasks = [
        make_task(actor=head, department=sales, owner=member, title=f"时间{i}") for i in range(len(moments))
    ]
    for task, moment in zip(tasks, moments, strict=True):
        Task.objects.filter(pk=task.pk).update(updated_at=moment)
    api = Api(client, head)
    items = {i["id"]: i["updated_at"] for i in bulk(api, department="SALES", status="open")["items"]}
    for task, moment in zip(tasks, moments, strict=True):
        assert items[task.pk] == json_datetime(moment) == api.get(f"/tasks/{task.pk}").json()["updated_at"]
    assert json_datetime("2026-05-04 09:30:00.000000") == "2026-05-04T09:30:00Z"


def test_a_department_s_every_open_task_comes_in_one_request(client, head, member, sales):  # noqa: F811
    tasks = [make_task(actor=head, department=sales, owner=member, title=f"任务{i}") for i in range(205)]
    task_transition(actor=head, task=tasks[0], to="cancelled", note="不再需要")
    body = bulk(Api(client, head), department="SALES", status="open")
    assert (body["count"], body["limit"], body["offset"]) == (204, BULK, 0)
    assert [i["id"] for i in body["items"]] == [t.pk for t in tasks[1:]]  # tree order: T002 … T205
    # Paging on through a bulk page still counts them all.
    page = bulk(Api(client, head), department="SALES", status="open", offset=200)
    assert page["count"] == 204 and len(page["items"]) == 4
    beyond = bulk(Api(client, head), department="SALES", status="open", offset=300)
    assert beyond["count"] == 204 and beyond["items"] == []
    small = Api(client, head).get("/tasks", department="SALES", status="open", limit=200).json()
    assert small["count"] == 204 and small["items"] == body["items"][:200]


def test_a_department_s_tasks_come_in_tree_order_both_ways(client, head, member, sales, marketing, outsider):  # noqa: F811
    """With a department named, its tasks are in the order the list of every department gives
    them in (department code, then tree order; reversed for "-code"), in bulk and by pages,
    also for someone who sees only part of the department; past the end, none."""
    a = make_task(actor=head, department=sales, owner=member, title="甲")
    a1 = make_task(actor=head, department=sales, owner=member, title="甲一", parent=a)
    a11 = make_task(actor=head, department=sales, owner=member, title="甲一一", parent=a1)
    a2 = make_task(actor=head, department=sales, owner=member, title="甲二", parent=a)
    b = make_task(actor=head, department=sales, owner=member, title="乙")
    b1 = make_task(actor=head, department=sales, owner=member, title="乙一", parent=b)
    make_task(actor=outsider, department=marketing, title="别的部门")
    helper = UserFactory(username="tree_helper", name="外部门负责人")
    add_member(helper, marketing, Membership.Role.SPECIALIST)
    Task.objects.filter(pk=a1.pk).update(owner=helper)
    tree = [a.pk, a1.pk, a11.pk, a2.pk, b.pk, b1.pk]
    for person in (head, helper):
        api = Api(client, person)
        seen = set(Task.objects.visible_to(person).values_list("pk", flat=True))
        for ordering, order in (("code", tree), ("-code", tree[::-1])):
            expected = [pk for pk in order if pk in seen]
            everywhere = [i["id"] for i in bulk(api, ordering=ordering)["items"] if i["id"] in set(tree)]
            assert everywhere == expected and len(expected) >= 3, (person, ordering)
            body = bulk(api, department="SALES", ordering=ordering)
            assert [i["id"] for i in body["items"]] == expected and body["count"] == len(expected)
            assert [i["id"] for i in bulk(api, department="SALES", ordering=ordering, offset=1)["items"]] == (
                expected[1:]
            )
            page = api.get("/tasks", department="SALES", ordering=ordering, limit=2, offset=1).json()
            assert [i["id"] for i in page["items"]] == expected[1:3] and page["count"] == len(expected)
            past = bulk(api, department="SALES", ordering=ordering, offset=len(expected))
            assert past["items"] == [] and past["count"] == len(expected)


def test_nobody_reads_in_bulk_what_they_may_not_see(client, head, member, sales, marketing, outsider):  # noqa: F811
    """The outsider (marketing) sees no sales task in bulk; the owner of a subtask from outside
    sees that subtask and the tasks above it, not its siblings nor the rest of the department."""
    parent = make_task(actor=head, department=sales, owner=member, title="客户需求调研")
    for i in range(3):
        make_task(actor=head, department=sales, owner=member, title=f"销售内部{i}")
    sibling = make_task(actor=head, department=sales, owner=member, title="兄弟子任务", parent=parent)
    helper = UserFactory(username="mkt_helper", name="外部门子任务负责人")
    add_member(helper, marketing, Membership.Role.SPECIALIST)
    theirs = make_task(actor=head, department=sales, owner=helper, title="外部门的子任务", parent=parent)
    own = make_task(actor=outsider, department=marketing, title="品牌活动")

    outside = Api(client, outsider)
    assert bulk(outside, department="SALES") == {
        "count": 0,
        "limit": BULK,
        "offset": 0,
        "loose": False,
        "items": [],
    }
    assert bulk(outside, department="SALES", status="open")["items"] == []
    assert [i["id"] for i in bulk(outside)["items"]] == [own.pk]
    assert_error(outside.get("/tasks", limit=BULK + 1), 422, "validation_error")

    in_sales = {i["id"] for i in bulk(Api(client, helper), department="SALES")["items"]}
    assert in_sales == {parent.pk, theirs.pk}
    assert sibling.pk not in in_sales
    # Everywhere: that, and their own department's tasks.
    assert {i["id"] for i in bulk(Api(client, helper))["items"]} == {parent.pk, theirs.pk, own.pk}


def test_someone_who_sees_no_task_reads_an_empty_page(client, head, member, sales):  # noqa: F811
    """A person in no department sees nothing: the bulk read answers an empty page (the filter
    can match nothing, so no query is compiled for the rows)."""
    make_task(actor=head, department=sales, owner=member, title="销售内部")
    nobody = UserFactory(username="nobody", name="无部门")
    assert bulk(Api(client, nobody)) == {"count": 0, "limit": BULK, "offset": 0, "loose": False, "items": []}
    assert bulk(Api(client, nobody), status="open")["items"] == []


def _bulk_queries(api: Api) -> tuple[int, int]:
    api.get("/tasks")  # warm: the token's last-used stamp is written at most once a minute
    with CaptureQueriesContext(connection) as ctx:
        body = bulk(api, department="SALES", status="open")
    return len(ctx.captured_queries), len(body["items"])


def test_a_bulk_read_takes_the_same_queries_for_10_and_500_tasks(client, head, sales):  # noqa: F811
    people = [UserFactory(username=f"owner{i}", name=f"负责人{i}") for i in range(5)]
    for p in people:
        add_member(p, sales)
    projects = [project_get_or_create(name=n) for n in ("召回", "报表")]

    def add(n: int, start: int) -> None:
        for i in range(start, start + n):
            make_task(
                actor=head,
                department=sales,
                owner=people[i % 5],
                title=f"任务{i}",
                project=projects[i % 2] if i % 3 else None,
            )

    add(10, 0)
    few, n_few = _bulk_queries(Api(client, head))
    add(490, 10)
    many, n_many = _bulk_queries(Api(client, head))
    assert (n_few, n_many) == (10, 500)
    # auth, the department, the head's departments, the rows (the total is their number).
    assert few == many <= 5


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's physical index (tasks 0022)")
def test_on_sqlite_the_path_index_carries_status_and_priority():
    """tasks 0022 widens `task_dept_path` on SQLite only, outside the models: a later
    migration that makes Django rebuild the tasks table on SQLite rebuilds the index from the
    models, narrow again; then widen it again in that migration."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pragma_index_info('task_dept_path') ORDER BY seqno")
        assert [r[0] for r in cursor.fetchall()] == ["department_id", "path", "status", "priority"]
