"""Many tasks at once (tasks.bulk): the rules of a single create, in batches."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from closeloop.core.errors import NotAllowed
from closeloop.notify.kinds import KINDS
from closeloop.notify.models import Channel, ChannelKind, Delivery, Notification
from closeloop.tasks.bulk import BulkRowError, NewTask, TaskChange, tasks_bulk_create, tasks_bulk_update
from closeloop.tasks.models import AcceptanceCriterion, CompletionDay, Priority, Task, TaskEvent
from closeloop.tasks.search import task_index_text
from closeloop.tasks.states import Status
from closeloop.tasks.validation import CriterionIn
from closeloop.testing.factories import UserFactory, add_member, make_task

DUE = dt.date(2026, 10, 15)


@pytest.fixture(autouse=True)
def _chinese():
    """The messages as the people read them (Chinese, the default), whatever ran before."""
    with translation.override("zh-hans"):
        yield


def _rows(owners, n, **extra):
    return [
        NewTask(title=f"任务{i:04d}", owner=owners[i % len(owners)], due_date=DUE, **extra) for i in range(n)
    ]


def test_it_creates_numbered_tasks_with_paths_events_and_the_original_due_date(head, member, sales):
    make_task(actor=head, department=sales, owner=member, title="已有任务")  # T001

    tasks = tasks_bulk_create(
        actor=head,
        department=sales,
        rows=[
            NewTask(
                title=" 月度销售报表 ",
                owner=member,
                due_date=DUE,
                priority=Priority.HIGH,
                criteria=[CriterionIn(text="报表按时发出")],
            ),
            NewTask(
                title="客户需求调研",
                owner=head,
                due_date=DUE + dt.timedelta(days=3),
                criteria=[CriterionIn(text="访谈十家客户")],
            ),
        ],
    )

    first, second = (Task.objects.get(pk=t.pk) for t in tasks)
    assert (first.code, second.code) == ("T002", "T003")
    assert first.path == Task.make_path(None, first.pk) and first.depth == 0
    assert (first.title, first.priority, first.initiator, first.original_due_date) == (
        "月度销售报表",
        Priority.HIGH,
        head,
        DUE,
    )
    assert [c.text for c in AcceptanceCriterion.objects.filter(task=first)] == ["报表按时发出"]
    assert first.search_text == task_index_text(department_code="SALES", code="T002", title="月度销售报表")
    events = list(
        TaskEvent.objects.filter(task__in=tasks).order_by("id").values_list("task_id", "verb", "actor_id")
    )
    assert events == [(first.pk, "created", head.pk), (second.pk, "created", head.pk)]
    sales.refresh_from_db()
    assert sales.next_task_number == 4


def test_someone_who_may_not_create_in_the_department_is_refused_and_nothing_is_written(
    outsider, member, sales
):
    with pytest.raises(NotAllowed):
        tasks_bulk_create(actor=outsider, department=sales, rows=_rows([member], 3), require_criteria=False)
    assert not Task.objects.exists()
    assert not TaskEvent.objects.exists()


def test_one_bad_row_refuses_them_all_and_names_the_row(head, member, sales):
    rows = _rows([member], 5)
    rows[3].due_date = None

    with pytest.raises(BulkRowError) as refused:
        tasks_bulk_create(actor=head, department=sales, rows=rows, require_criteria=False)

    assert refused.value.index == 3
    assert "due_date" in refused.value.fields
    assert not Task.objects.exists()
    assert not Notification.objects.exists()
    sales.refresh_from_db()
    assert sales.next_task_number == 1


def test_the_rules_of_a_single_create_hold(head, member, sales):
    inactive = UserFactory(username="gone", is_active=False)
    add_member(inactive, sales)
    cases = [
        (NewTask(title="", owner=member, due_date=DUE), "title"),
        (NewTask(title="x" * 201, owner=member, due_date=DUE), "title"),
        (NewTask(title="甲", owner=None, due_date=DUE), "owner"),
        (NewTask(title="甲", owner=inactive, due_date=DUE), "owner"),
        (NewTask(title="甲", owner=member, due_date=dt.date(1800, 1, 1)), "due_date"),
        (NewTask(title="甲", owner=member, due_date=DUE, priority=9), "priority"),
        (NewTask(title="甲", owner=member, due_date=DUE, status="nonsense"), "status"),
        (NewTask(title="甲", owner=member, due_date=DUE, progress=101), "progress"),
        (NewTask(title="甲", owner=member, due_date=DUE), "criteria"),  # require_criteria
    ]
    for row, field in cases:
        with pytest.raises(BulkRowError) as refused:
            tasks_bulk_create(actor=head, department=sales, rows=[row])
        assert field in refused.value.fields, (row, refused.value.fields)
    assert not Task.objects.exists()


def test_a_recorded_state_is_taken_over_and_logged_after_created(head, member, sales):
    cancelled, started = tasks_bulk_create(
        actor=head,
        department=sales,
        rows=[
            NewTask(title="已取消的", owner=member, due_date=DUE, status=Status.CANCELLED),
            NewTask(title="进行中的", owner=member, due_date=DUE, status=Status.IN_PROGRESS, progress=60),
        ],
        require_criteria=False,
        state_note="清单.xlsx",
    )

    cancelled = Task.objects.get(pk=cancelled.pk)
    assert cancelled.status == Status.CANCELLED and cancelled.cancelled_at
    assert Task.objects.get(pk=started.pk).started_at
    events = list(TaskEvent.objects.filter(task=started).order_by("id").values_list("verb", "after", "note"))
    assert events[0][0] == "created"
    assert events[1] == ("imported", {"status": "in_progress", "progress": 60}, "清单.xlsx")


@pytest.mark.parametrize("status", [Status.SUBMITTED, Status.DONE, Status.REWORK])
def test_no_task_is_created_in_a_state_of_acceptance_whoever_asks(head, member, sales, status):
    """待验收 / 已完成 / 返工 come only from acceptance on the task page (DESIGN.md), not from a
    head's bulk write: the row and field are named, nothing is written."""
    rows = _rows([member], 3)
    rows[2].status = status
    rows[2].progress = 100

    with pytest.raises(BulkRowError) as refused:
        tasks_bulk_create(actor=head, department=sales, rows=rows, require_criteria=False)

    assert refused.value.index == 2
    assert list(refused.value.fields) == ["status"]
    assert refused.value.message.startswith("第3行：")
    assert f"“{Status(status).label}”只能在任务页面通过验收流程达成" in refused.value.message
    assert not Task.objects.exists() and not TaskEvent.objects.exists()
    assert not CompletionDay.objects.exists() and not Notification.objects.exists()
    sales.refresh_from_db()
    assert sales.next_task_number == 1


@pytest.mark.parametrize(
    "before, after",
    [
        (Status.IN_PROGRESS, Status.SUBMITTED),  # the owner's own import: no key results, no deliverable
        (Status.SUBMITTED, Status.DONE),  # the head's: no criterion checked
        (Status.SUBMITTED, Status.REWORK),
    ],
)
def test_no_task_is_moved_to_a_state_of_acceptance_and_earlier_rows_are_not_kept(
    head, member, sales, before, after
):
    first = make_task(actor=head, department=sales, owner=member, title="周报", due=DUE)
    second = make_task(actor=head, department=sales, owner=member, title="月报", due=DUE)
    Task.objects.filter(pk=second.pk).update(status=before)
    actor = member if after == Status.SUBMITTED else head

    with pytest.raises(BulkRowError) as refused:
        tasks_bulk_update(
            actor=actor,
            rows=[
                TaskChange(first.pk, {"title": "周报（新）"}),
                TaskChange(second.pk, {"status": after}),
            ],
            note="清单.xlsx",
        )

    assert (refused.value.index, list(refused.value.fields)) == (1, ["status"])
    assert refused.value.message.startswith("第2行：")
    assert Task.objects.get(pk=first.pk).title == "周报"
    assert Task.objects.get(pk=second.pk).status == before
    assert not TaskEvent.objects.filter(verb__in=["updated", "status_changed", "transitioned"]).exists()


def test_changed_rows_go_through_the_services_and_a_refusal_names_the_row(head, member, sales):
    first = make_task(actor=head, department=sales, owner=member, title="周报", due=DUE)
    second = make_task(actor=head, department=sales, owner=member, title="月报", due=DUE)

    tasks_bulk_update(
        actor=member, rows=[TaskChange(first.pk, {"status": Status.IN_PROGRESS, "progress": 40})], note="表"
    )
    assert Task.objects.filter(pk=first.pk, status=Status.IN_PROGRESS, progress=40).exists()

    with pytest.raises(BulkRowError) as refused:  # only the owner starts a task
        tasks_bulk_update(
            actor=head,
            rows=[
                TaskChange(first.pk, {"title": "周报（新）"}),
                TaskChange(second.pk, {"status": Status.IN_PROGRESS}),
            ],
            note="表",
        )
    assert refused.value.index == 1 and refused.value.message.startswith("第2行：")
    assert Task.objects.get(pk=first.pk).title == "周报"
    assert Task.objects.get(pk=second.pk).status == Status.NOT_STARTED


def test_each_owner_gets_one_message_however_many_tasks(head, member, sales):
    Channel.objects.create(name="邮件", kind=ChannelKind.EMAIL)
    member.email = "li@example.com"
    member.save(update_fields=["email"])
    other = UserFactory(username="zhang", name="张三", email="zhang@example.com")
    add_member(other, sales)

    rows = _rows([member], 30) + [NewTask(title="只有一个", owner=other, due_date=DUE)] + _rows([head], 2)
    tasks_bulk_create(actor=head, department=sales, rows=rows, require_criteria=False)

    notes = {n.recipient.username: n for n in Notification.objects.select_related("recipient")}
    assert set(notes) == {"sales_specialist", "zhang"}  # never the importer themself
    many = notes["sales_specialist"]
    assert many.kind == "task.assigned_many"
    assert (many.data["count"], len(many.data["tasks"])) == (30, 20)
    title, body = KINDS["task.assigned_many"].render_fn(many.data)
    assert "30" in title and "10" in body.splitlines()[-1]  # … and 10 more
    one = notes["zhang"]
    assert one.kind == "task.assigned" and one.data["code"] == "SALES-T031"
    assert one.link == Task.objects.get(code="T031").get_absolute_url()
    assert Delivery.objects.filter(kind__startswith="task.assigned").count() == 2  # one mail each


def _queries(actor, department, owners, n):
    with CaptureQueriesContext(connection) as ctx:
        tasks_bulk_create(actor=actor, department=department, rows=_rows(owners, n), require_criteria=False)
    return len(ctx.captured_queries)


def _inserts(model, n):
    """The INSERT statements the database needs for n rows of `model` (SQLite: 999 parameters)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    per = connection.ops.bulk_batch_size(fields, [None] * n) or n
    return -(-n // min(per, n))


def test_the_queries_grow_with_the_batches_not_the_rows(head, member, sales):
    Channel.objects.create(name="邮件", kind=ChannelKind.EMAIL)
    owners = [member, *(UserFactory(username=f"u{i}") for i in range(5))]
    for user in owners[1:]:
        add_member(user, sales)

    small = _queries(head, sales, owners, 100)
    large = _queries(head, sales, owners, 1000)

    extra = (_inserts(Task, 1000) - _inserts(Task, 100)) + (
        _inserts(TaskEvent, 1000) - _inserts(TaskEvent, 100)
    )
    assert large <= small + extra + 1  # + one more path UPDATE per batch of our own at most
    if connection.vendor == "postgresql":
        assert large <= small  # one INSERT per table and batch: constant up to 1,000 rows
