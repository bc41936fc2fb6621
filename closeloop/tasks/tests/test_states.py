"""Every transition of the status machine, allowed and refused, by each kind of person."""

import pytest

from closeloop.core.errors import Conflict, NotAllowed, ValidationFailed
from closeloop.tasks.models import Task, TaskEvent
from closeloop.tasks.services import task_transition
from closeloop.tasks.states import TRANSITIONS, Actor, Status
from closeloop.testing.factories import UserFactory, add_member, make_task


def _put(task: Task, status: Status) -> Task:
    """Place a task in a status directly (test setup only)."""
    Task.objects.filter(pk=task.pk).update(status=status)
    return Task.objects.select_related("department", "owner", "initiator", "reviewer").get(pk=task.pk)


@pytest.fixture
def people(head, member, outsider, sales):
    initiator = UserFactory(username="initiator")
    add_member(initiator, sales, "manager")
    colleague = UserFactory(username="colleague")
    add_member(colleague, sales)
    return {
        "head": head,
        "owner": member,
        "initiator": initiator,
        "colleague": colleague,
        "outsider": outsider,
    }


@pytest.fixture
def fresh(people, sales):
    return make_task(actor=people["initiator"], department=sales, owner=people["owner"])


ALLOWED_BY = {
    Actor.OWNER: {"owner"},
    Actor.REVIEWER: {"head"},
    Actor.CANCELLER: {"initiator", "head"},
}
NOTE = "理由:等待技术部接口"


@pytest.mark.parametrize(("source", "target"), list(TRANSITIONS))
def test_it_lets_exactly_the_right_people_take_each_transition(people, fresh, source, target):
    actor_kind = TRANSITIONS[(source, target)]
    for role, person in people.items():
        task = _put(fresh, source)
        if role in ALLOWED_BY[actor_kind]:
            moved = task_transition(actor=person, task=task, to=target, note=NOTE)
            assert moved.status == target
            event = TaskEvent.objects.filter(task=task, verb="status_changed").first()
            assert event.before == {"status": source} and event.after == {"status": target}
            assert event.actor == person
        else:
            with pytest.raises(NotAllowed) as exc:
                task_transition(actor=person, task=task, to=target, note=NOTE)
            assert str(actor_kind.label) in exc.value.message
            assert Task.objects.get(pk=task.pk).status == source


ALL_PAIRS = [(s, t) for s in Status for t in Status if s != t and (s, t) not in TRANSITIONS]


@pytest.mark.parametrize(("source", "target"), ALL_PAIRS)
def test_it_refuses_moves_the_table_does_not_have_and_names_the_allowed_ones(people, fresh, source, target):
    task = _put(fresh, source)
    with pytest.raises(Conflict) as exc:
        task_transition(actor=people["head"], task=task, to=target, note=NOTE)
    assert exc.value.code == "transition_not_allowed"
    for frm, to in TRANSITIONS:
        if frm == source:
            assert str(to.label) in exc.value.message
    assert Task.objects.get(pk=task.pk).status == source


def test_it_never_lets_the_owner_accept_their_own_task_even_as_head(head, sales):
    task = make_task(actor=head, department=sales, owner=head)
    task = _put(task, Status.SUBMITTED)
    with pytest.raises(NotAllowed):
        task_transition(actor=head, task=task, to=Status.DONE)


def test_a_named_reviewer_may_accept(people, fresh):
    Task.objects.filter(pk=fresh.pk).update(reviewer=people["colleague"])
    task = _put(fresh, Status.SUBMITTED)
    assert task_transition(actor=people["colleague"], task=task, to=Status.DONE).status == Status.DONE


def test_it_answers_conflict_when_someone_moved_the_task_first(people, fresh):
    stale = _put(fresh, Status.NOT_STARTED)
    task_transition(actor=people["owner"], task=stale, to=Status.IN_PROGRESS)
    with pytest.raises(Conflict) as exc:
        task_transition(actor=people["owner"], task=stale, to=Status.IN_PROGRESS)
    assert exc.value.code in ("version_conflict", "transition_not_allowed")
    assert TaskEvent.objects.filter(task=fresh, verb="status_changed").count() == 1


@pytest.mark.parametrize("target", [Status.BLOCKED, Status.CANCELLED])
def test_it_asks_for_a_reason_to_block_or_cancel(people, fresh, target):
    who = people["owner"] if target == Status.BLOCKED else people["head"]
    task = _put(fresh, Status.IN_PROGRESS)
    with pytest.raises(ValidationFailed) as exc:
        task_transition(actor=who, task=task, to=target, note="  ")
    assert "note" in exc.value.fields
    assert Task.objects.get(pk=task.pk).status == Status.IN_PROGRESS


def test_accepting_sets_completion_and_full_progress(people, fresh):
    task = _put(fresh, Status.SUBMITTED)
    done = task_transition(actor=people["head"], task=task, to=Status.DONE)
    assert done.progress == 100 and done.completed_at is not None
