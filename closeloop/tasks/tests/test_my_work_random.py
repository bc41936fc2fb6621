"""我的工作 (`my_work`, the keys of both lists in one statement and the rows in one more)
against main's (my_work_reference.py) in random worlds: owners, helpers and reviewers across
departments, heads and deputies, every status, due dates around today (overdue, today, this
week, later) and groups cut short. The same tasks, in the same order, with the same counts —
and, field by field, the same rows (the template reads them)."""

import datetime as dt
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from closeloop.orgs.models import User
from closeloop.tasks import selectors
from closeloop.tasks.models import Task
from closeloop.tasks.selectors import my_work
from closeloop.tasks.states import Status
from closeloop.tasks.tests import my_work_reference
from closeloop.tasks.tests.my_work_reference import reference_my_work
from closeloop.tasks.tests.test_visibility_random import _world

GROUPS = ("overdue", "today", "this_week", "later", "to_review")
TODAY = dt.date(2026, 3, 4)  # a Wednesday


def _shown(work) -> dict:
    rows = {
        key: [
            (
                t.pk,
                {f.attname: t.__dict__.get(f.attname) for f in t._meta.concrete_fields},
                t.department.code,
                t.owner.display_name,
            )
            for t in getattr(work, key)
        ]
        for key in GROUPS
    }
    return {"rows": rows, "counts": work.counts}


@pytest.mark.parametrize("seed", range(4))
def test_my_work_is_main_my_work_in_random_worlds(db, seed, monkeypatch):
    people, tasks = _world(seed)
    rng = random.Random(seed)
    for t in tasks:
        Task.objects.filter(pk=t.pk).update(
            status=rng.choice([*Status, Status.SUBMITTED, Status.SUBMITTED]),
            due_date=TODAY + dt.timedelta(days=rng.choice([-6, -1, 0, 0, 1, 4, 9])),
            priority=rng.choice([1, 2, 3]),
            reviewer=rng.choice([*people, None, None]),
        )
    seen = dict.fromkeys(GROUPS, 0)
    for person in people:
        for per_group in (1, 2, 12):
            # The review list cut as short, so ties in due date decide what shows.
            for module in (selectors, my_work_reference):
                monkeypatch.setattr(module, "MY_WORK_REVIEW_ROWS", min(per_group, 10))
            new = my_work(User.objects.get(pk=person.pk), today=TODAY, per_group=per_group)
            old = reference_my_work(User.objects.get(pk=person.pk), today=TODAY, per_group=per_group)
            assert _shown(new) == _shown(old), (person.username, per_group)
            for key in GROUPS:
                seen[key] += len(getattr(new, key))
    assert all(seen.values()), seen  # every group was reached


def test_my_work_is_two_queries(db, head, member, sales):
    from closeloop.testing.factories import make_task

    for i in range(5):
        make_task(actor=head, department=sales, owner=head if i % 2 else member, title=f"任务{i}", due=TODAY)
    person = User.objects.get(pk=head.pk)
    from closeloop.orgs.selectors import led_department_ids

    led_department_ids(person)  # the person's scopes, read with the person on every request
    with CaptureQueriesContext(connection) as ctx:
        my_work(person, today=TODAY)
    # The keys of both lists (the links of the tasks I help on joined there), the rows shown.
    assert len(ctx) == 2
    nobody = User.objects.create_user(username="nobody", password="x")
    led_department_ids(nobody)
    with CaptureQueriesContext(connection) as ctx:
        work = my_work(nobody, today=TODAY)
    assert len(ctx) == 1 and not work.total and not work.to_review  # nothing shown: no rows read


@pytest.mark.parametrize("seed", range(4))
def test_who_may_accept_is_who_is_notified_and_whose_queue_lists_it(db, seed, monkeypatch):
    """For a task without a named reviewer, `can_review` (read with the person on a request,
    `orgs.request_person`, or by `orgs.selectors`) says yes to exactly the people
    `acceptors` notifies, and 我的工作 lists it for them and nobody else: the superior only
    for a head's own task, or where nobody leads the department below."""
    from closeloop.orgs.request_person import person_by_id
    from closeloop.tasks.permissions import acceptors, can_review

    monkeypatch.setattr(selectors, "MY_WORK_REVIEW_ROWS", 1000)  # the whole list
    people, tasks = _world(seed)
    rng = random.Random(seed)
    for t in tasks:
        Task.objects.filter(pk=t.pk).update(
            status=rng.choice([Status.SUBMITTED, Status.SUBMITTED, Status.IN_PROGRESS])
        )
    # Cases that climb: heads owning tasks of their own department, a department below that
    # nobody leads, under departments that someone does.
    from closeloop.orgs.models import Department

    Department.objects.filter(code__in=[f"A{seed}", f"B{seed}"]).update(head=people[0])
    Department.objects.filter(code=f"A1{seed}").update(head=None, deputy=None)
    for t in Task.objects.filter(status=Status.SUBMITTED).select_related("department")[::3]:
        if t.department.head_id:
            Task.objects.filter(pk=t.pk).update(owner_id=t.department.head_id)
    submitted = list(
        Task.objects.filter(status=Status.SUBMITTED, reviewer__isnull=True).select_related(
            "department", "reviewer"
        )
    )
    assert submitted
    told = {t.pk: {u.pk for u in acceptors(t)} for t in submitted}
    climbed = 0
    for person in people:
        queue = {t.pk for t in my_work(User.objects.get(pk=person.pk), today=TODAY).to_review}
        for reader in (User.objects.get(pk=person.pk), person_by_id(person.pk)):
            for t in submitted:
                assert can_review(reader, t) == (person.pk in told[t.pk]), (person.username, t.pk)
                assert (t.pk in queue) == (person.pk in told[t.pk]), (person.username, t.pk)
                climbed += person.pk in told[t.pk] and person.pk not in (
                    t.department.head_id,
                    t.department.deputy_id,
                )
    assert climbed  # some went to the head above
