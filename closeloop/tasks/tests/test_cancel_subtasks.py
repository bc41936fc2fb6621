"""Cancelling a task cancels what is open below it (DESIGN.md: 已取消 from any open state, by the
initiator, head or deputy; nothing left open under a cancelled task): every open subtask at
every depth, in the same transaction, each with its own event, milestones and links closed as
a directly cancelled task's, each owner told once. A done subtask is left as it is, and the
person is told so — before confirming (the page's cancel form) and after (the page's message,
the API's answer)."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from closeloop.core.errors import Conflict, NotAllowed
from closeloop.notify.kinds import render
from closeloop.notify.models import Notification
from closeloop.orgs.models import Membership, User
from closeloop.orgs.services import api_token_create
from closeloop.tasks.bulk import TaskChange, tasks_bulk_update
from closeloop.tasks.history import describe_event
from closeloop.tasks.models import Milestone, Task, TaskCollaborator, TaskEvent
from closeloop.tasks.services import task_cancel, task_transition
from closeloop.testing.clients import english_client
from closeloop.testing.factories import UserFactory, add_member, make_task

pytestmark = pytest.mark.django_db

REASON = "客户取消需求"


def person(sales, username: str, name: str) -> User:
    user = UserFactory(username=username, name=name)
    add_member(user, sales, Membership.Role.SPECIALIST)
    return user


def fresh(task) -> Task:
    return Task.objects.select_related("department", "owner").get(pk=task.pk)


def milestone(task, title="节点") -> Milestone:
    return Milestone.objects.create(task=task, title=title, date=timezone.localdate() + dt.timedelta(days=3))


@pytest.fixture
def tree(head, member, sales, outsider):
    """T001 老用户召回活动 (the member's) with, below it:
    T001-1 用户画像分析 (甲's, in progress, the outsider helps, a milestone)
      T001-1-1 数据清洗 (乙's, a milestone)
    T001-2 召回策略制定 (the member's own)
    T001-3 活动页面原型 (甲's, done: accepted)
    T001-4 文案撰写 (丙's, cancelled on its own before)."""
    a, b, c = person(sales, "jia", "甲专员"), person(sales, "yi", "乙专员"), person(sales, "bing", "丙专员")
    parent = make_task(actor=head, department=sales, owner=member, title="老用户召回活动")
    s1 = make_task(
        actor=head, department=sales, owner=a, title="用户画像分析", parent=parent, collaborators=[outsider]
    )
    task_transition(actor=a, task=fresh(s1), to="in_progress")
    s11 = make_task(actor=head, department=sales, owner=b, title="数据清洗", parent=s1)
    s2 = make_task(actor=head, department=sales, owner=member, title="召回策略制定", parent=parent)
    s3 = make_task(actor=head, department=sales, owner=a, title="活动页面原型", parent=parent)
    for to, actor in (("in_progress", a), ("submitted", a), ("done", head)):
        task_transition(actor=actor, task=fresh(s3), to=to)
    s4 = make_task(actor=head, department=sales, owner=c, title="文案撰写", parent=parent)
    task_cancel(actor=head, task=fresh(s4), reason="合并到 T001-2")
    for t in (s1, s11, s3):
        milestone(t)
    return {
        "parent": fresh(parent),
        "s1": s1,
        "s11": s11,
        "s2": s2,
        "s3": s3,
        "s4": s4,
        "a": a,
        "b": b,
        "c": c,
    }


def told(user, since) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind="task.cancelled", pk__gt=since))


def last_notification() -> int:
    return Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


# -- the service ----------------------------------------------------------------------------------


def test_cancelling_a_task_cancels_its_open_subtasks_at_every_depth_and_leaves_a_done_one(
    tree, head, member, outsider
):
    t = tree
    s4_version = fresh(t["s4"]).version
    since = last_notification()

    moved = task_cancel(actor=head, task=t["parent"], reason=REASON)

    assert moved.status == "cancelled"
    assert [s.code for s in moved.cancelled_subtasks] == ["T001-1", "T001-1-1", "T001-2"]
    assert [s.code for s in moved.left_subtasks] == ["T001-3"]
    for key in ("s1", "s11", "s2"):
        sub = fresh(t[key])
        assert sub.status == "cancelled" and sub.cancelled_at == moved.cancelled_at
        # Its own event: who, from what, why, and that it went with the task above.
        event = TaskEvent.objects.filter(task=sub, verb="status_changed").latest("id")
        assert event.actor == head and event.note == REASON
        assert event.after == {"status": "cancelled", "with_parent": moved.pk}
        assert event.before["status"] in ("in_progress", "not_started")
    assert fresh(t["s3"]).status == "done"  # accepted work stays accepted
    assert fresh(t["s4"]).version == s4_version  # already cancelled: untouched
    parent_event = TaskEvent.objects.filter(task=moved, verb="status_changed").latest("id")
    assert parent_event.after == {
        "status": "cancelled",
        "with_subtasks": [t["s1"].pk, t["s11"].pk, t["s2"].pk],
    }
    # Milestones and links as for a directly cancelled task: 日历 leaves them out.
    assert set(Milestone.objects.filter(task_cancelled=True).values_list("task__code", flat=True)) == {
        "T001-1",
        "T001-1-1",
    }
    assert not Milestone.objects.get(task=t["s3"]).task_cancelled
    assert not TaskCollaborator.objects.get(task=t["s1"], user=outsider).task_open

    # Each owner told once: the member owns the task and a subtask — one message; 甲 owns a
    # cancelled and a done subtask — one, naming the cancelled one; never the canceller.
    assert len(told(member, since)) == 1
    assert told(member, since)[0].data["subtask_count"] == 3
    (to_a,) = told(t["a"], since)
    assert to_a.data["mine"] == 1 and [s["code"] for s in to_a.data["subtasks"]] == ["SALES-T001-1"]
    assert to_a.link == moved.get_absolute_url()
    assert len(told(t["b"], since)) == 1
    assert told(t["c"], since) == [] and told(head, since) == []
    rendered = render("task.cancelled", to_a.data, language="en")
    assert (
        rendered.title
        == "王总 cancelled SALES-T001 老用户召回活动, and with it your subtask SALES-T001-1 用户画像分析"
    )
    assert rendered.body == REASON
    zh = render("task.cancelled", to_a.data, language="zh-hans")
    assert "王总" in zh.title and "SALES-T001-1 用户画像分析" in zh.title and "取消" in zh.title
    assert render("task.cancelled", told(member, since)[0].data, language="en").title == (
        "王总 cancelled SALES-T001 老用户召回活动 and its 3 open subtasks"
    )


def test_an_owner_of_several_subtasks_gets_one_message_listing_them(head, member, sales):
    a = person(sales, "jia", "甲专员")
    parent = make_task(actor=head, department=sales, owner=member, title="老用户召回活动")
    for title in ("用户画像分析", "召回策略制定", "文案撰写"):
        make_task(actor=head, department=sales, owner=a, title=title, parent=parent)
    since = last_notification()
    task_cancel(actor=head, task=fresh(parent), reason=REASON)
    (message,) = told(a, since)
    rendered = render("task.cancelled", message.data, language="en")
    assert rendered.title == "王总 cancelled SALES-T001 老用户召回活动, and with it 3 of your subtasks"
    assert rendered.body.splitlines() == [
        REASON,
        "SALES-T001-1 用户画像分析",
        "SALES-T001-2 召回策略制定",
        "SALES-T001-3 文案撰写",
    ]


def test_only_whoever_may_cancel_the_task_cancels_its_subtasks(tree, member, deputy):
    t = tree
    with pytest.raises(NotAllowed):
        task_cancel(actor=member, task=t["parent"], reason=REASON)  # the owner may not cancel
    assert fresh(t["s1"]).status == "in_progress" and fresh(t["s2"]).status == "not_started"
    # 甲 may not cancel the task above their subtask either.
    with pytest.raises(NotAllowed):
        task_cancel(actor=t["a"], task=t["parent"], reason=REASON)
    # The deputy may, the subtasks' owners notwithstanding.
    moved = task_cancel(actor=deputy, task=t["parent"], reason=REASON)
    assert len(moved.cancelled_subtasks) == 3 and fresh(t["s11"]).status == "cancelled"


def test_a_cancel_that_would_take_another_number_of_subtasks_than_shown_is_refused(tree, head, sales):
    t = tree
    with pytest.raises(Conflict) as refused:
        task_transition(actor=head, task=t["parent"], to="cancelled", note=REASON, expected_subtasks=2)
    assert refused.value.code == "subtasks_changed"
    assert fresh(t["parent"]).status == "in_progress" and fresh(t["s2"]).status == "not_started"
    assert task_transition(
        actor=head, task=t["parent"], to="cancelled", note=REASON, expected_subtasks=3
    ).cancelled_subtasks


def test_a_subtask_is_cancelled_on_its_own_without_touching_its_parent_or_siblings(tree, head):
    t = tree
    moved = task_cancel(actor=head, task=fresh(t["s1"]), reason=REASON)
    assert [s.code for s in moved.cancelled_subtasks] == ["T001-1-1"]
    assert fresh(t["parent"]).status == "in_progress" and fresh(t["s2"]).status == "not_started"


def test_no_subtask_can_be_added_under_a_task_cancelled_since_it_was_read(head, member, sales):
    from closeloop.core.errors import ValidationFailed

    parent = make_task(actor=head, department=sales, owner=member, title="老用户召回活动")
    stale = fresh(parent)
    task_cancel(actor=head, task=fresh(parent), reason=REASON)
    with pytest.raises(ValidationFailed) as refused:
        make_task(actor=head, department=sales, owner=member, title="晚到的子任务", parent=stale)
    assert "parent" in refused.value.fields


def test_the_history_of_a_subtask_says_it_was_cancelled_with_the_task_above(tree, head):
    task_cancel(actor=head, task=tree["parent"], reason=REASON)
    event = (
        TaskEvent.objects.filter(task=tree["s11"], verb="status_changed").select_related("actor").latest("id")
    )
    with translation.override("en"):
        assert describe_event(event, {}) == [
            "王总 cancelled the task above it, and this one with it (it was Not started)"
        ]
    with translation.override("zh-hans"):
        (line,) = describe_event(event, {})
        assert "王总" in line and "上级任务" in line and "未开始" in line
    parent_event = TaskEvent.objects.filter(task=tree["parent"], verb="status_changed").latest("id")
    with translation.override("en"):
        assert describe_event(parent_event, {}) == [
            "王总 changed the status from In progress to Cancelled, and with it 3 open subtasks"
        ]


def test_an_import_cancelling_a_task_and_its_subtask_applies_both_rows(head, member, sales):
    parent = make_task(actor=head, department=sales, owner=member, title="老用户召回活动")
    sub = make_task(actor=head, department=sales, owner=member, title="用户画像分析", parent=parent)
    other = make_task(actor=head, department=sales, owner=member, title="召回策略制定", parent=parent)
    # The sheet lists the parent first, as an export does; the subtask's row also renames it.
    tasks_bulk_update(
        actor=head,
        rows=[
            TaskChange(task_id=parent.pk, changes={"status": "cancelled"}),
            TaskChange(task_id=sub.pk, changes={"status": "cancelled", "title": "用户画像分析（停）"}),
        ],
        note="导入",
    )
    assert {t.status for t in Task.objects.all()} == {"cancelled"}
    assert fresh(sub).title == "用户画像分析（停）"
    # The subtask's own row cancelled it; the sibling went with its parent.
    assert "with_parent" not in TaskEvent.objects.filter(task=sub, verb="status_changed").latest("id").after
    assert TaskEvent.objects.filter(task=other, verb="status_changed").latest("id").after["with_parent"]


# -- the page: the count before confirming, the message after -------------------------------------


def test_the_cancel_form_says_how_many_open_subtasks_go_with_the_task(tree, head, member):
    t = tree
    page = english_client(head).get(f"/tasks/{t['parent'].pk}/").content.decode()
    assert "Its 3 open subtasks (at every level) will be cancelled with it." in page
    assert "1 subtask is already done and stays as it is." in page
    assert 'name="expected_subtasks" value="3"' in page
    zh = Client()
    User.objects.filter(pk=head.pk).update(language="zh-hans")
    zh.force_login(head)
    page = zh.get(f"/tasks/{t['parent'].pk}/").content.decode()
    assert "其下 3 个未关闭的子任务（含各级）将随之取消。" in page
    assert "1 个子任务已完成，保持不变。" in page
    # The owner may not cancel: no form, no count.
    assert "expected_subtasks" not in english_client(member).get(f"/tasks/{t['parent'].pk}/").content.decode()
    # A leaf task's cancel form says nothing of subtasks.
    leaf = english_client(head).get(f"/tasks/{t['s2'].pk}/").content.decode()
    assert 'name="expected_subtasks" value="0"' in leaf and "will be cancelled with it" not in leaf


def test_confirming_cancels_them_and_says_so(tree, head):
    t = tree
    c = english_client(head)
    url = f"/tasks/{t['parent'].pk}/transition/"
    post = {"to": "cancelled", "note": REASON, "version": t["parent"].version, "expected_subtasks": "3"}
    page = c.post(url, post, follow=True).content.decode()
    assert (
        "The task is now “Cancelled”. 3 open subtasks were cancelled with it. "
        "1 subtask was already done and is left as it is."
    ) in page
    assert {fresh(t[k]).status for k in ("s1", "s11", "s2")} == {"cancelled"}
    # The subtask's page tells why.
    sub_page = c.get(f"/tasks/{t['s11'].pk}/").content.decode()
    assert "cancelled the task above it, and this one with it" in sub_page and REASON in sub_page


def test_a_form_showing_a_stale_count_is_sent_back_with_the_new_one(tree, head, sales):
    t = tree
    c = english_client(head)
    page = c.get(f"/tasks/{t['parent'].pk}/").content.decode()
    assert 'name="expected_subtasks" value="3"' in page
    # Someone adds a step below a subtask meanwhile (the task's own version does not move).
    make_task(actor=head, department=sales, owner=head, title="新加的子任务", parent=t["s1"])
    assert fresh(t["parent"]).version == t["parent"].version
    response = c.post(
        f"/tasks/{t['parent'].pk}/transition/",
        {"to": "cancelled", "note": REASON, "version": t["parent"].version, "expected_subtasks": "3"},
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "The task now has 4 open subtasks (you were shown 3): check, then cancel again." in page
    assert 'name="expected_subtasks" value="4"' in page and REASON in page  # the reason kept
    assert fresh(t["parent"]).status == "in_progress"


def _cancel_queries(head, member, sales, n: int) -> int:
    """The queries of the head's cancel (the page's POST) of a task with `n` subtasks — half of
    them a level deeper — each with its own owner, a collaborator and a milestone."""
    parent = make_task(actor=head, department=sales, owner=member, title=f"父任务{n}")
    above = parent
    for i in range(n):
        owner = person(sales, f"owner{n}_{i}", f"负责人{n}-{i}")
        helper = person(sales, f"helper{n}_{i}", f"协作人{n}-{i}")
        sub = make_task(
            actor=head,
            department=sales,
            owner=owner,
            title=f"子任务{i}",
            parent=above if i % 2 else parent,
            collaborators=[helper],
        )
        milestone(sub)
        above = sub
    c = Client()
    c.force_login(head)
    c.get(f"/tasks/{parent.pk}/")  # warm: the session, compiled reads
    post = {"to": "cancelled", "note": REASON, "version": fresh(parent).version, "expected_subtasks": str(n)}
    with CaptureQueriesContext(connection) as ctx:
        response = c.post(f"/tasks/{parent.pk}/transition/", post)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Task.objects.filter(path__startswith=parent.path, status="cancelled").count() == n + 1
    assert Notification.objects.filter(kind="task.cancelled", data__task=parent.pk).count() == n + 1
    return len(ctx.captured_queries)


def test_a_cancel_costs_the_same_queries_for_2_and_6_subtasks(head, member, sales):
    two = _cancel_queries(head, member, sales, 2)
    six = _cancel_queries(head, member, sales, 6)
    assert two == six, (two, six)


# -- the API ----------------------------------------------------------------------------------


def _api(user):
    _token, raw = api_token_create(actor=user, name="tests")
    c = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_AUTHORIZATION=f"Bearer {raw}")
    return c


def test_the_api_cancels_the_subtasks_too_and_says_how_many(tree, head, member):
    t = tree
    url = f"/api/v1/tasks/{t['parent'].pk}/transition"
    body = {"to": "cancelled", "note": REASON, "version": t["parent"].version}
    refused = _api(member).post(url, body, content_type="application/json")
    assert refused.status_code == 403 and fresh(t["s1"]).status == "in_progress"
    stale = _api(head).post(url, {**body, "expected_subtasks": 1}, content_type="application/json")
    assert stale.status_code == 409 and stale.json()["code"] == "subtasks_changed"
    response = _api(head).post(url, {**body, "expected_subtasks": 3}, content_type="application/json")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["status"], answer["cancelled_subtasks"], answer["left_subtasks"]) == ("cancelled", 3, 1)
    assert answer["message"] == (
        "The task is now “Cancelled”. 3 open subtasks were cancelled with it. "
        "1 subtask was already done and is left as it is."
    )
    assert {s["code"]: s["status"] for s in answer["subtasks"]} == {
        "T001-1": "cancelled",
        "T001-1-1": "cancelled",
        "T001-2": "cancelled",
        "T001-3": "done",
        "T001-4": "cancelled",
    }
    # Any other move answers the same shape, with nothing below counted.
    leaf = make_task(actor=head, department=t["parent"].department, owner=member, title="单独任务")
    started = _api(member).post(
        f"/api/v1/tasks/{leaf.pk}/transition",
        {"to": "in_progress", "version": leaf.version},
        content_type="application/json",
    )
    assert started.status_code == 200
    assert (started.json()["cancelled_subtasks"], started.json()["left_subtasks"]) == (0, 0)
