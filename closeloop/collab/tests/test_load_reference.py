"""`cross_department_load` reads the tasks people own elsewhere through the ranges of the
(owner, department) index, and the links they help on from the links' copy of their task's
department and state (issue 16): on random data — people in one to three departments, tasks
of every status in every department (closed through the services), helpers anywhere — it
counts exactly what the old reading counted from the tasks (kept here as the reference)."""

import random
from collections import Counter, defaultdict

import pytest
from django.db.models import Count, Exists, OuterRef

from closeloop.collab.selectors import cross_department_load
from closeloop.orgs.models import Membership
from closeloop.tasks.models import Task, TaskCollaborator
from closeloop.tasks.services import task_collaborator_add, task_transition
from closeloop.tasks.states import CLOSED_STATUSES, OPEN_STATUSES, Status
from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member, make_task


def reference_tasks(people: list[int]) -> Counter:
    """The open tasks each person owns or helps on outside their departments, as read before:
    every open task they own, a membership look-up per task."""
    open_names = sorted(OPEN_STATUSES)
    out: Counter = Counter()
    member_of_task = Membership.objects.filter(
        user_id=OuterRef("user_id"), department_id=OuterRef("task__department_id")
    )
    out.update(
        dict(
            TaskCollaborator.objects.filter(task__status__in=open_names, user_id__in=people)
            .filter(~Exists(member_of_task))
            .values("user_id")
            .annotate(n=Count("id"))
            .order_by()
            .values_list("user_id", "n")
        )
    )
    owner_of_task = Membership.objects.filter(
        user_id=OuterRef("owner_id"), department_id=OuterRef("department_id")
    )
    out.update(
        dict(
            Task.objects.filter(owner_id__in=people, status__in=open_names)
            .filter(~Exists(owner_of_task))
            .values("owner_id")
            .annotate(n=Count("id"))
            .order_by()
            .values_list("owner_id", "n")
        )
    )
    return out


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_load_is_what_the_old_reading_counted(seed, admin_user):
    rng = random.Random(seed)
    departments = [DepartmentFactory(code=f"R{seed}{i}") for i in range(5)]
    people = [UserFactory(username=f"r{seed}_{i}") for i in range(12)]
    of: dict[int, set[int]] = defaultdict(set)
    for p in people:
        for d in rng.sample(departments, rng.choice((1, 1, 2, 3))):
            add_member(p, d)
            of[p.pk].add(d.pk)
    statuses = [s.value for s in Status]
    for i in range(70):
        owner = rng.choice(people)
        # Mostly in one of the owner's departments, as in life; a third elsewhere.
        home = [d for d in departments if d.pk in of[owner.pk]]
        department = rng.choice(departments if rng.random() < 0.35 else home)
        helpers = [p for p in rng.sample(people, rng.choice((0, 0, 1, 2))) if p != owner]
        t = make_task(
            actor=admin_user,
            department=department,
            owner=owner,
            title=f"随机{i}",
            collaborators=helpers,
        )
        status = rng.choice(statuses)
        if status in CLOSED_STATUSES:
            # Closed through the service, which keeps the links' copy of the state.
            steps = ["cancelled"] if status == Status.CANCELLED else ["in_progress", "submitted", "done"]
            for step in steps:
                who = owner if step in ("in_progress", "submitted") else admin_user
                t = task_transition(actor=who, task=t, to=step, note="随机")
        else:
            Task.objects.filter(pk=t.pk).update(status=status)
    everyone = [p.pk for p in people]
    expected = reference_tasks(everyone)
    assert sum(expected.values()) > 5, "the data has load elsewhere"
    tasks, _issues = cross_department_load(everyone)
    assert tasks == expected
    some = rng.sample(everyone, 5)
    assert cross_department_load(some)[0] == reference_tasks(some)
    assert cross_department_load(Membership.objects.filter(department=departments[0]).values("user_id"))[
        0
    ] == reference_tasks(
        list(Membership.objects.filter(department=departments[0]).values_list("user_id", flat=True))
    )


@pytest.mark.django_db
def test_the_links_keep_their_task_s_department_and_state(head, member, outsider, sales):
    """Created with the task, added later (even by a caller that names neither field), and
    cleared when the task closes — closed is final, so nothing sets it back."""
    t = make_task(actor=head, department=sales, owner=member, collaborators=[outsider])
    link = TaskCollaborator.objects.get(task=t, user=outsider)
    assert (link.task_department_id, link.task_open) == (sales.pk, True)
    other = make_task(actor=head, department=sales, owner=member)
    task_collaborator_add(actor=head, task=other, user=outsider)
    assert TaskCollaborator.objects.filter(
        task=other, user=outsider, task_department=sales, task_open=True
    ).exists()
    task_transition(actor=head, task=other, to="cancelled", note="不做了")
    assert list(TaskCollaborator.objects.filter(task=other).values_list("task_open", flat=True)) == [False]
    assert TaskCollaborator.objects.get(task=t).task_open
    # A link written without the copies (a test, a script) takes them from its task.
    TaskCollaborator.objects.filter(task=other).delete()
    TaskCollaborator.objects.create(task=other, user=head)
    assert TaskCollaborator.objects.filter(
        task=other, user=head, task_department=sales, task_open=False
    ).exists()
