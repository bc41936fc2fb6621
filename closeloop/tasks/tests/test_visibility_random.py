"""The hand-written `visibility()` and `access_task()` against main's ORM versions
(visibility_reference.py) over random worlds: owners, reviewers and collaborators from other
departments, subtasks owned outside, dependencies across departments, heads and deputies of
parent departments, deactivated people and a person removed from a department. Who sees what
is authorization: any difference is a leak or a lock-out."""

import random

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError

from closeloop.core.errors import NotFound
from closeloop.orgs.models import Membership, User
from closeloop.tasks import selectors, visibility
from closeloop.tasks.models import Task, TaskCollaborator, TaskDependency
from closeloop.tasks.selectors import access_task
from closeloop.tasks.tests.visibility_reference import reference_access_task, reference_visibility
from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member, make_task


def _world(seed: int) -> tuple[list[User], list[Task]]:
    rng = random.Random(seed)
    hq = DepartmentFactory(code=f"HQ{seed}", name="总公司")
    a = DepartmentFactory(code=f"A{seed}", parent=hq)
    b = DepartmentFactory(code=f"B{seed}", parent=hq)
    depts = [
        hq,
        a,
        b,
        DepartmentFactory(code=f"A1{seed}", parent=a),
        DepartmentFactory(code=f"B1{seed}", parent=b),
    ]
    people = [UserFactory(username=f"w{seed}_{i}") for i in range(12)]
    creators = {}
    for d in depts:
        creators[d.pk] = people[rng.randrange(len(people))]
        add_member(creators[d.pk], d, Membership.Role.MANAGER)
    for p in people:
        for d in rng.sample(depts, rng.choice([0, 1, 1, 2])):
            add_member(p, d)
    for d in depts:  # heads and deputies, often of a parent department of where they work
        d.head = rng.choice(people + [None])
        d.deputy = rng.choice(people + [None, None])
        d.save(update_fields=["head", "deputy"])
    tasks: list[Task] = []
    for i in range(28):
        parent = rng.choice(tasks) if tasks and rng.random() < 0.45 else None
        dept = Task.objects.get(pk=parent.pk).department if parent else rng.choice(depts)
        t = make_task(
            actor=creators[dept.pk],
            department=dept,
            owner=rng.choice(people),
            title=f"任务{seed}-{i}",
            criteria=[] if parent else None,  # subtasks may go without, root tasks may not
            parent=Task.objects.get(pk=parent.pk) if parent else None,
        )
        tasks.append(t)
        if rng.random() < 0.25:
            Task.objects.filter(pk=t.pk).update(reviewer=rng.choice(people))
        for p in rng.sample(people, rng.choice([0, 0, 1, 2])):
            TaskCollaborator.objects.get_or_create(task_id=t.pk, user=p)
    for _ in range(12):
        pred, succ = rng.sample(tasks, 2)
        TaskDependency.objects.get_or_create(predecessor_id=pred.pk, successor_id=succ.pk)
    # Deactivated people and a person removed from a department keep what the rule gives them.
    for p in rng.sample(people, 2):
        User.objects.filter(pk=p.pk).update(is_active=False)
    gone = Membership.objects.filter(user__in=people).order_by("?").first()
    if gone is not None:
        gone.delete()
    return list(User.objects.filter(pk__in=[p.pk for p in people])), tasks


def _fresh(person: User) -> User:
    return User.objects.get(pk=person.pk)  # no memo


def _values(obj) -> dict | None:
    if obj is None:
        return None
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _loaded(task: Task) -> dict:
    """The task and every related object `access_task` loads, field by field, and which of
    them are cached (so callers do no further query)."""
    out = {"task": _values(task)}
    for name in selectors.ACCESS_TASK_RELATED:
        field = Task._meta.get_field(name)
        out[name] = (field.is_cached(task), _values(field.get_cached_value(task, None)))
    return out


def _access(fn, person, pk):
    try:
        return _loaded(fn(person, pk))
    except NotFound:
        return "404"


@pytest.mark.parametrize("seed", range(6))
def test_the_rule_is_main_rule_in_random_worlds(db, seed, monkeypatch):
    people, tasks = _world(seed)
    reached = {"ids": 0, "subtrees": 0, "links": 0}
    # 0 and 3: subtrees stay path ranges (or some do), as past the inline limit on SQLite.
    for inline_ids in (visibility.SUBTREE_INLINE_IDS, 0, 3):
        monkeypatch.setattr(visibility, "SUBTREE_INLINE_IDS", inline_ids)
        for person in people:
            new, old = visibility.visibility(_fresh(person)), reference_visibility(_fresh(person), inline_ids)
            assert new == old, (person.username, inline_ids)
            reached["ids"] += len(new.ids)
            reached["subtrees"] += len(new.subtrees)
            assert set(Task.objects.visible_to(_fresh(person)).values_list("pk", flat=True)) == set(
                Task.objects.filter(old.q()).values_list("pk", flat=True)
            )
    for person in people:
        for t in tasks:
            assert _access(access_task, _fresh(person), t.pk) == _access(
                reference_access_task, _fresh(person), t.pk
            ), (person.username, t.pk)
    assert reached["ids"]  # the worlds do reach across departments
    if connection.vendor == "sqlite":
        assert reached["subtrees"]  # and past the inline limit


def test_access_task_loads_what_main_loaded_and_locks_in_a_transaction(db, head, member, sales, outsider):
    t = make_task(actor=head, department=sales, owner=member, title="<script>x</script>锁定")
    Task.objects.filter(pk=t.pk).update(reviewer=outsider)
    for for_update in (False, True):
        with transaction.atomic():
            new = access_task(_fresh(head), t.pk, for_update=for_update)
            old = reference_access_task(_fresh(head), t.pk, for_update=for_update)
        assert _loaded(new) == _loaded(old)
        assert new._state.db == old._state.db and not new._state.adding
    with pytest.raises(NotFound):
        access_task(head, t.pk + 1000)
    with pytest.raises(NotFound):
        access_task(head, "abc")
    if connection.features.has_select_for_update:
        with transaction.atomic():
            from django.test.utils import CaptureQueriesContext

            person = _fresh(head)
            with CaptureQueriesContext(connection) as cq:
                access_task(person, t.pk, for_update=True)
            assert "FOR UPDATE" in cq.captured_queries[0]["sql"]


def test_visibility_is_one_query_beyond_the_departments(
    db, head, member, sales, outsider, marketing, django_assert_num_queries
):
    """A person with tasks outside their departments, owned with dependencies and subtasks:
    one statement; on SQLite one more for the subtasks under them."""
    parent = make_task(actor=head, department=sales, owner=outsider, title="外部负责")
    sub = make_task(actor=head, department=sales, parent=parent, title="子任务", criteria=[])
    other = make_task(actor=head, department=sales, title="后续")
    TaskDependency.objects.create(predecessor_id=parent.pk, successor_id=other.pk)
    person = _fresh(outsider)
    from closeloop.orgs.selectors import visible_department_ids

    visible_department_ids(person)
    with django_assert_num_queries(2 if connection.vendor == "sqlite" else 1):
        rule = visibility.visibility(person)
    assert {parent.pk, other.pk} <= rule.ids
    assert (sub.pk in rule.ids) or rule.subtrees
    with django_assert_num_queries(0):
        visibility.visibility(person)  # memoised for the request


@pytest.mark.django_db(transaction=True)
def test_access_task_refuses_to_lock_outside_a_transaction_as_main_did(head, member, sales):
    t = make_task(actor=head, department=sales, owner=member, title="锁定")
    if connection.features.has_select_for_update:
        for fn in (access_task, reference_access_task):
            with pytest.raises(TransactionManagementError):
                fn(_fresh(head), t.pk, for_update=True)
    else:  # SQLite: no row locks, no refusal
        assert access_task(_fresh(head), t.pk, for_update=True).pk == t.pk


def test_the_hand_written_sql_names_the_tables_the_models_use():
    from closeloop.tasks.models import TaskCollaborator as Collab

    assert (Task._meta.db_table, Collab._meta.db_table, TaskDependency._meta.db_table) == (
        "tasks_task",
        "tasks_taskcollaborator",
        "tasks_taskdependency",
    )
