"""待我验收 — who finds a submitted task in their queue, and who may accept it (DESIGN.md):
the named reviewer, else the head or deputy of the task's department; the superior (the head
of the department above) only for the department head's own task. A superior never finds a
subordinate's ordinary submission in 我的工作 or on 仪表盘, and may not accept it."""

import pytest

from closeloop.insights.selectors import dashboard
from closeloop.orgs.models import Membership, User
from closeloop.review.services import submission_create
from closeloop.review.tests.conftest import fresh
from closeloop.tasks.permissions import acceptors, can_review
from closeloop.tasks.selectors import my_work
from closeloop.tasks.services import task_transition, task_update
from closeloop.testing.clients import english_client
from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member, make_task


@pytest.fixture
def manager(sales):
    user = UserFactory(username="sales_manager", name="李娜")
    add_member(user, sales, Membership.Role.MANAGER)
    return user


def _submitted(owner, department, actor, title="大客户季度回访"):
    t = make_task(actor=actor, department=department, owner=owner, title=title)
    t = task_update(actor=owner, task=task_transition(actor=owner, task=t, to="in_progress"), progress=100)
    submission_create(actor=owner, task=fresh(t), key_results="完成", confirm=True)
    return fresh(t)


def _queue(user) -> set[int]:
    return {t.pk for t in my_work(User.objects.get(pk=user.pk)).to_review}


def _dashboard_queue(user) -> set[int]:
    return {t.pk for t in dashboard(User.objects.get(pk=user.pk)).acceptances}


def test_the_superior_does_not_find_a_manager_s_submission_in_the_queue(ceo, head, manager, sales):
    t = _submitted(manager, sales, head)
    assert t.pk in _queue(head) and t.pk in _dashboard_queue(head)
    assert t.pk not in _queue(ceo)
    assert t.pk not in _dashboard_queue(ceo)
    assert not can_review(User.objects.get(pk=ceo.pk), t)
    c = english_client(ceo)
    assert t.title not in c.get("/").content.decode()
    assert c.get(f"/tasks/{t.pk}/review/").status_code == 403
    # The head is who is told, and who accepts.
    assert [u.username for u in acceptors(t)] == ["sales_head"]
    assert english_client(head).get(f"/tasks/{t.pk}/review/").status_code == 200


def test_the_superior_finds_the_head_s_own_task_and_only_that(ceo, head, manager, member, sales):
    own = _submitted(head, sales, head, title="部门年度计划")
    theirs = _submitted(member, sales, head, title="老用户召回活动")
    assert _queue(ceo) == {own.pk}
    assert _dashboard_queue(ceo) == {own.pk}
    assert can_review(User.objects.get(pk=ceo.pk), own)
    assert not can_review(User.objects.get(pk=ceo.pk), theirs)
    page = english_client(ceo).get("/").content.decode()
    assert own.title in page and theirs.title not in page


def test_a_department_without_a_head_climbs_to_the_superior(ceo, company, head):
    """Nobody leads 华东 (no head, no deputy): its tasks go to the head above, as the
    notification does — the queue, the permission and `acceptors` agree."""
    east = DepartmentFactory(code="EAST", name="华东", parent=company)
    worker = UserFactory(username="east_worker")
    add_member(worker, east)
    t = _submitted(worker, east, worker)
    assert [u.username for u in acceptors(t)] == ["ceo"]
    assert _queue(ceo) == {t.pk} and can_review(User.objects.get(pk=ceo.pk), t)
    assert t.pk not in _queue(head)


def test_a_named_reviewer_takes_it_and_the_superior_still_does_not(ceo, head, manager, member, sales):
    t = make_task(actor=head, department=sales, owner=member, title="渠道数据核对", reviewer=manager)
    t = task_update(actor=member, task=task_transition(actor=member, task=t, to="in_progress"), progress=100)
    submission_create(actor=member, task=fresh(t), key_results="完成", confirm=True)
    assert _queue(manager) == {t.pk}
    assert t.pk not in _queue(ceo) and not can_review(User.objects.get(pk=ceo.pk), fresh(t))
