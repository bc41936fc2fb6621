import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from closeloop.core.errors import Conflict, NotAllowed, ValidationFailed
from closeloop.notify.models import Notification
from closeloop.tasks import services
from closeloop.tasks.models import AcceptanceCriterion, Task, TaskEvent
from closeloop.tasks.services import CriterionIn
from closeloop.tasks.states import Status
from closeloop.testing.factories import UserFactory, add_member, make_task

TODAY = dt.date(2026, 11, 27)


def test_it_creates_a_task_with_criteria_event_and_owner_notification(head, member, sales):
    task = make_task(
        actor=head,
        department=sales,
        owner=member,
        title="客户需求调研",
        criteria=[
            CriterionIn(text="覆盖10家客户", metric="访谈客户数", comparator=">=", threshold="10"),
            CriterionIn(text="报告评审通过"),
        ],
    )
    assert task.code == "T001" and task.full_code == "SALES-T001"
    assert [c.text for c in task.criteria.all()] == ["覆盖10家客户", "报告评审通过"]
    assert task.criteria.first().measure_display == "访谈客户数 ≥ 10"
    assert TaskEvent.objects.get(task=task).verb == "created"
    note = Notification.objects.get(recipient=member)
    assert note.kind == "task.assigned" and note.link == task.get_absolute_url()
    assert not Notification.objects.filter(recipient=head).exists()  # the actor is not told what they did


def test_it_numbers_codes_per_department_and_subtasks_under_their_parent(
    head, member, sales, marketing, outsider
):
    first = make_task(actor=head, department=sales)
    second = make_task(actor=head, department=sales)
    other = make_task(actor=outsider, department=marketing)
    sub1 = make_task(actor=head, department=sales, parent=first, criteria=[])
    sub2 = make_task(actor=head, department=sales, parent=first, criteria=[])
    subsub = make_task(actor=head, department=sales, parent=sub1, criteria=[])
    assert [first.code, second.code, other.code] == ["T001", "T002", "T001"]
    assert [sub1.code, sub2.code, subsub.code] == ["T001-1", "T001-2", "T001-1-1"]
    assert subsub.ancestor_ids() == [first.pk, sub1.pk]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": "  "}, "title"),
        ({"start_date": TODAY, "due": TODAY - dt.timedelta(days=1)}, "due_date"),
        ({"criteria": []}, "criteria"),
        ({"criteria": [CriterionIn(text="准确率", metric="准确率", comparator=">=")]}, "criteria.1"),
        (
            {"criteria": [CriterionIn(text="准确率", metric="准确率", comparator=">=", threshold="九十")]},
            "criteria.1",
        ),
        ({"priority": 9}, "priority"),
        ({"task_type": "nonsense"}, "task_type"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(head, sales, kwargs, field):
    with pytest.raises(ValidationFailed) as exc:
        make_task(actor=head, department=sales, **kwargs)
    assert field in exc.value.fields
    assert not Task.objects.exists() and not TaskEvent.objects.exists()


def test_the_owner_cannot_review_their_own_task(head, member, sales):
    with pytest.raises(ValidationFailed) as exc:
        make_task(actor=head, department=sales, owner=member, reviewer=member)
    assert "reviewer" in exc.value.fields


def test_only_members_create_tasks_in_a_department(outsider, sales, head):
    with pytest.raises(NotAllowed):
        make_task(actor=outsider, department=sales, owner=outsider)
    assert not Task.objects.exists()


def test_the_database_refuses_a_task_without_owner_or_with_bad_progress(task):
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.filter(pk=task.pk).update(progress=101)
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.filter(pk=task.pk).update(owner=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.filter(pk=task.pk).update(status="archived")
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.filter(pk=task.pk).update(start_date=task.due_date + dt.timedelta(days=1))


def test_editors_are_owner_initiator_and_head(task, head, member, sales, outsider):
    colleague = UserFactory(username="colleague")
    add_member(colleague, sales)
    services.task_update(actor=member, task=task, notes="关联Q3用户活跃度目标")
    services.task_update(actor=head, task=Task.objects.get(pk=task.pk), title="老用户召回活动(二期)")
    with pytest.raises(NotAllowed):
        services.task_update(actor=colleague, task=Task.objects.get(pk=task.pk), notes="x")
    event = TaskEvent.objects.filter(task=task, verb="updated").order_by("id").last()
    assert event.before == {"title": "老用户召回活动"} and event.after == {"title": "老用户召回活动(二期)"}


def test_the_owner_cannot_move_a_started_tasks_due_date(task, member, head):
    task = services.task_transition(actor=member, task=task, to=Status.IN_PROGRESS)
    with pytest.raises(ValidationFailed) as exc:
        services.task_update(actor=member, task=task, due_date=task.due_date + dt.timedelta(days=3))
    assert "due_date" in exc.value.fields
    moved = services.task_update(
        actor=head, task=task, due_date=task.due_date + dt.timedelta(days=3), reason="客户推迟了会议"
    )
    assert moved.due_date == task.due_date + dt.timedelta(days=3)
    assert moved.original_due_date == task.due_date


def test_progress_is_the_owners_and_only_on_leaf_tasks(task, member, head, sales):
    assert services.task_update(actor=member, task=task, progress=60).progress == 60
    with pytest.raises(ValidationFailed):
        services.task_update(actor=head, task=Task.objects.get(pk=task.pk), progress=70)
    with pytest.raises(ValidationFailed):
        services.task_update(actor=member, task=Task.objects.get(pk=task.pk), progress=130)
    make_task(actor=member, department=sales, parent=Task.objects.get(pk=task.pk), criteria=[])
    with pytest.raises(ValidationFailed) as exc:
        services.task_update(actor=member, task=Task.objects.get(pk=task.pk), progress=80)
    assert "progress" in exc.value.fields


def test_a_stale_version_is_a_conflict_not_a_lost_update(task, member, head):
    services.task_update(actor=head, task=task, notes="负责人的修改")
    with pytest.raises(Conflict):
        services.task_update(actor=member, task=task, expected_version=task.version, notes="专员的修改")
    assert Task.objects.get(pk=task.pk).notes == "负责人的修改"


def test_criteria_can_be_replaced_but_not_emptied(task, member):
    services.task_update(actor=member, task=task, criteria=[CriterionIn(text="新标准")])
    assert list(AcceptanceCriterion.objects.filter(task=task).values_list("text", flat=True)) == ["新标准"]
    with pytest.raises(ValidationFailed):
        services.task_update(actor=member, task=Task.objects.get(pk=task.pk), criteria=[])
    assert AcceptanceCriterion.objects.filter(task=task).count() == 1


def test_reassign_is_for_initiator_and_head_and_notifies_the_new_owner(task, head, member, sales):
    other = UserFactory(username="sales_manager")
    add_member(other, sales, "manager")
    with pytest.raises(NotAllowed):
        services.task_reassign(actor=member, task=task, owner=other)
    moved = services.task_reassign(actor=head, task=task, owner=other, reason="专员休假")
    assert moved.owner == other
    assert Notification.objects.filter(recipient=other, kind="task.assigned").exists()
    assert TaskEvent.objects.get(task=task, verb="reassigned").note == "专员休假"


def test_collaborators_are_added_once_and_notified(task, member, outsider):
    assert services.task_collaborator_add(actor=member, task=task, user=outsider) is True
    assert services.task_collaborator_add(actor=member, task=task, user=outsider) is False
    assert Notification.objects.filter(recipient=outsider, kind="task.collaborator_added").count() == 1
    assert services.task_collaborator_remove(actor=member, task=task, user=outsider) is True
    with pytest.raises(NotAllowed):
        services.task_collaborator_add(actor=outsider, task=task, user=outsider)


def test_cancel_is_for_initiator_and_head_with_a_reason(task, member, head):
    with pytest.raises(NotAllowed):
        services.task_cancel(actor=member, task=task, reason="不做了")
    cancelled = services.task_cancel(actor=head, task=task, reason="客户取消需求")
    assert cancelled.status == Status.CANCELLED and cancelled.cancelled_at is not None
    assert Notification.objects.filter(recipient=member, kind="task.cancelled").exists()


def test_overdue_is_derived_from_the_due_date(task, member):
    today = timezone.localdate()
    Task.objects.filter(pk=task.pk).update(
        due_date=today - dt.timedelta(days=1), original_due_date=today - dt.timedelta(days=1)
    )
    assert Task.objects.overdue(today).filter(pk=task.pk).exists()
    services.task_transition(actor=member, task=Task.objects.get(pk=task.pk), to=Status.IN_PROGRESS)
    Task.objects.filter(pk=task.pk).update(status=Status.DONE)
    assert not Task.objects.overdue(today).filter(pk=task.pk).exists()
