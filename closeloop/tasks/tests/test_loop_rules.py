"""Issue 10: the loop's rules hold on every path — due dates (1), dependencies (2), parents
following their subtasks (3), who names the reviewer (10)."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from closeloop.core.errors import Conflict, NotAllowed, ValidationFailed
from closeloop.notify.models import Notification
from closeloop.orgs.models import Membership
from closeloop.tasks import services
from closeloop.tasks.models import Task, TaskDependency, TaskEvent
from closeloop.tasks.states import Status
from closeloop.testing.clients import english_client
from closeloop.testing.factories import UserFactory, add_member, make_task

DEC18 = dt.date(2026, 12, 18)
DEC24 = dt.date(2026, 12, 24)


def fresh(task: Task) -> Task:
    return Task.objects.select_related("department", "owner").get(pk=task.pk)


@pytest.fixture
def due_task(head, member, sales):
    return make_task(actor=head, department=sales, owner=member, title="编写销售周报", due=DEC18)


# -- 1. due dates -------------------------------------------------------------------------------


@pytest.mark.parametrize("started", [False, True])
def test_the_owner_cannot_move_the_due_date_even_before_starting(due_task, member, started):
    if started:
        due_task = services.task_transition(actor=member, task=due_task, to=Status.IN_PROGRESS)
    with pytest.raises(ValidationFailed) as exc:
        services.task_update(actor=member, task=due_task, due_date=DEC24, reason="想多几天")
    assert "due_date" in exc.value.fields
    t = fresh(due_task)
    assert (t.due_date, t.original_due_date) == (DEC18, DEC18)


def test_the_head_moves_it_with_a_reason_the_original_stays_and_people_are_told(due_task, head, member):
    with pytest.raises(ValidationFailed) as exc:
        services.task_update(actor=head, task=due_task, due_date=DEC24)
    assert "reason" in exc.value.fields
    moved = services.task_update(actor=head, task=fresh(due_task), due_date=DEC24, reason="客户推迟验收")
    assert (moved.due_date, moved.original_due_date) == (DEC24, DEC18)
    event = TaskEvent.objects.get(task=moved, verb="due_date_changed")
    assert event.actor == head and event.note == "客户推迟验收"
    assert event.before == {"due_date": "2026-12-18"} and event.after == {"due_date": "2026-12-24"}
    assert Notification.objects.filter(recipient=member, kind="task.due_date_changed").exists()


def test_an_initiator_who_is_not_the_head_may_move_it_too(sales, head, member):
    lead = UserFactory(username="sales_lead", name="周主管")
    add_member(lead, sales, Membership.Role.SUPERVISOR)
    t = make_task(actor=lead, department=sales, owner=member, due=DEC18)
    moved = services.task_update(actor=lead, task=t, due_date=DEC24, reason="范围扩大")
    assert (moved.due_date, moved.original_due_date) == (DEC24, DEC18)
    assert Notification.objects.filter(recipient=head, kind="task.due_date_changed").exists()


def test_existing_rows_keep_their_original_due_date(due_task, head):
    Task.objects.filter(pk=due_task.pk).update(original_due_date=dt.date(2026, 12, 10))
    services.task_update(actor=head, task=fresh(due_task), due_date=DEC24, reason="重新排期")
    assert fresh(due_task).original_due_date == dt.date(2026, 12, 10)


def test_the_api_patch_follows_the_same_rule(due_task, head, member):
    owner_api = english_client(member)
    r = owner_api.patch(
        f"/api/v1/tasks/{due_task.pk}",
        {"due_date": "2026-12-24", "version": fresh(due_task).version},
        content_type="application/json",
    )
    assert r.status_code == 422 and "due_date" in r.json()["fields"]
    head_api = english_client(head)
    r = head_api.patch(
        f"/api/v1/tasks/{due_task.pk}",
        {"due_date": "2026-12-24", "version": fresh(due_task).version},
        content_type="application/json",
    )
    assert r.status_code == 422 and "reason" in r.json()["fields"]
    r = head_api.patch(
        f"/api/v1/tasks/{due_task.pk}",
        {"due_date": "2026-12-24", "reason": "客户推迟验收", "version": fresh(due_task).version},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["due_date"] == "2026-12-24" and r.json()["original_due_date"] == "2026-12-18"


def test_the_web_form_shows_the_owner_a_locked_due_date_and_asks_the_head_for_a_reason(
    due_task, head, member
):
    owner_web = english_client(member)
    page = owner_web.get(f"/tasks/{due_task.pk}/edit/")
    assert b'name="due_date"' in page.content and b"disabled" in page.content
    assert b'name="reason"' not in page.content
    form = {
        "title": due_task.title,
        "task_type": due_task.task_type,
        "priority": due_task.priority,
        "due_date": "2026-12-24",
        "c_text": "数据准确率达标",
        "version": due_task.version,
    }
    owner_web.post(f"/tasks/{due_task.pk}/edit/", form)
    assert fresh(due_task).due_date == DEC18  # the locked field keeps its value
    head_web = english_client(head)
    r = head_web.post(f"/tasks/{due_task.pk}/edit/", {**form, "version": fresh(due_task).version})
    assert r.status_code == 422 and b"Say why the due date moves" in r.content
    r = head_web.post(
        f"/tasks/{due_task.pk}/edit/", {**form, "version": fresh(due_task).version, "reason": "客户推迟"}
    )
    assert r.status_code == 302
    t = fresh(due_task)
    assert (t.due_date, t.original_due_date) == (DEC24, DEC18)


# -- 2. dependencies hold -----------------------------------------------------------------------


@pytest.fixture
def chain(head, member, sales, due_task):
    """用户画像分析 → 召回策略制定 (finish-to-start), both subtasks of the due task."""
    first = make_task(
        actor=head, department=sales, owner=member, parent=due_task, title="用户画像分析", due=DEC18
    )
    second = make_task(
        actor=head,
        department=sales,
        owner=member,
        parent=due_task,
        title="召回策略制定",
        start_date=dt.date(2026, 12, 21),
        due=DEC24,
    )
    TaskDependency.objects.create(predecessor=first, successor=second)
    return first, second


def test_starting_before_the_predecessor_is_done_is_refused_naming_it(chain, member):
    first, second = chain
    with pytest.raises(Conflict) as exc:
        services.task_transition(actor=member, task=second, to=Status.IN_PROGRESS)
    assert exc.value.code == "predecessor_open" and "用户画像分析" in exc.value.message
    assert fresh(second).status == Status.NOT_STARTED


def test_the_head_may_override_and_it_is_recorded(chain, head, member):
    _first, second = chain
    with pytest.raises(NotAllowed):
        services.dependency_override(actor=member, task=second, note="我想先开始")
    services.dependency_override(actor=head, task=second, note="数据可以先用上周的")
    started = services.task_transition(actor=member, task=fresh(second), to=Status.IN_PROGRESS)
    assert started.status == Status.IN_PROGRESS
    event = TaskEvent.objects.get(task=second, verb="dependency_overridden")
    assert event.actor == head and event.note == "数据可以先用上周的"


def test_a_predecessor_moving_past_the_successors_start_warns_its_owner(chain, head, sales):
    first, second = chain
    other = UserFactory(username="sales_other", name="孙专员")
    add_member(other, sales)
    services.task_reassign(actor=head, task=second, owner=other)
    services.task_update(actor=head, task=fresh(first), due_date=dt.date(2026, 12, 22), reason="数据晚到")
    note = Notification.objects.get(recipient=other, kind="task.dependency_slipped")
    assert note.data["pred"].endswith(first.code) and note.data["start"] == "2026-12-21"
    from closeloop.planning.selectors.plan import task_plan

    plan = task_plan(head, fresh(first.parent))
    assert any(
        second.code in w and "2026-12-21" in w and first.code in w and "2026-12-22" in w
        for w in plan.warnings
    ), plan.warnings


def test_the_override_on_the_web_and_the_api(chain, head, member):
    _first, second = chain
    page = english_client(member).get(f"/tasks/{second.pk}/")
    assert "Waits for:" in page.content.decode() and "Let it start anyway" not in page.content.decode()
    refused = english_client(member).post(
        f"/api/v1/tasks/{second.pk}/transition",
        {"to": "in_progress", "version": fresh(second).version},
        content_type="application/json",
    )
    assert refused.status_code == 409 and "用户画像分析" in refused.json()["message"]
    assert "Let it start anyway" in english_client(head).get(f"/tasks/{second.pk}/").content.decode()
    r = english_client(head).post(
        f"/api/v1/tasks/{second.pk}/override-dependencies",
        {"note": "先用上周数据"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    r = english_client(member).post(
        f"/api/v1/tasks/{second.pk}/transition",
        {"to": "in_progress", "version": fresh(second).version},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content


# -- 3. the parent follows its subtasks ---------------------------------------------------------


def test_the_first_subtask_started_starts_the_parent_with_an_event(chain, member, head):
    first, _second = chain
    parent = first.parent
    assert fresh(parent).status == Status.NOT_STARTED
    services.task_transition(actor=member, task=first, to=Status.IN_PROGRESS)
    assert fresh(parent).status == Status.IN_PROGRESS
    event = TaskEvent.objects.filter(task=parent, verb="status_changed").latest("id")
    assert event.after["status"] == Status.IN_PROGRESS and first.code in event.note


def test_a_parent_is_not_submitted_while_a_subtask_is_open(chain, member):
    first, _second = chain
    services.task_transition(actor=member, task=first, to=Status.IN_PROGRESS)
    with pytest.raises(Conflict) as exc:
        services.task_transition(actor=member, task=fresh(first.parent), to=Status.SUBMITTED)
    assert exc.value.code == "subtask_open" and "用户画像分析" in exc.value.message


# -- 10. who names the reviewer ------------------------------------------------------------------


def test_the_reviewer_is_a_lead_or_manager_of_the_department_never_the_owner(sales, head, member, outsider):
    with pytest.raises(ValidationFailed) as exc:
        make_task(actor=head, department=sales, owner=member, reviewer=member)
    assert "reviewer" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        make_task(actor=head, department=sales, owner=member, reviewer=outsider)
    assert "reviewer" in exc.value.fields
    manager = UserFactory(username="sales_mgr", name="钱经理")
    add_member(manager, sales, Membership.Role.MANAGER)
    assert make_task(actor=head, department=sales, owner=member, reviewer=manager).reviewer == manager


def test_only_the_initiator_or_head_names_the_reviewer(due_task, member, sales):
    manager = UserFactory(username="sales_mgr", name="钱经理")
    add_member(manager, sales, Membership.Role.MANAGER)
    with pytest.raises(ValidationFailed) as exc:
        services.task_update(actor=member, task=due_task, reviewer=manager)
    assert "reviewer" in exc.value.fields
    r = english_client(member).patch(
        f"/api/v1/tasks/{due_task.pk}",
        {"reviewer": "sales_mgr", "version": fresh(due_task).version},
        content_type="application/json",
    )
    assert r.status_code == 422 and "reviewer" in r.json()["fields"]


def test_the_task_page_names_the_open_predecessor_a_task_waits_for(chain, head, member):
    first, second = chain
    client = english_client(member)
    page = client.get(f"/tasks/{second.pk}/").content.decode()
    assert "Waits for:" in page and "用户画像分析" in page
    # The predecessor itself waits for nothing (it has a link, as the predecessor).
    assert "Waits for:" not in client.get(f"/tasks/{first.pk}/").content.decode()
    services.task_transition(actor=head, task=fresh(first), to=Status.CANCELLED, note="不需要了")
    assert "Waits for:" not in client.get(f"/tasks/{second.pk}/").content.decode()


def test_a_not_started_task_without_links_does_not_ask_for_predecessors(head, member, sales):
    task = make_task(actor=head, department=sales, owner=member, title="独立任务")
    client = english_client(member)
    client.get(f"/tasks/{task.pk}/")
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(f"/tasks/{task.pk}/").content.decode()
    assert "Waits for:" not in page
    # The page's presence flag says it has no link: no look-up of predecessors.
    assert not [q for q in ctx.captured_queries if re.search(r'JOIN "?tasks_taskdependency"?', q["sql"])]
