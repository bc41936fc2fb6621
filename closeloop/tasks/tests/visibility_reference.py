"""main's `visibility()` and `access_task()` before the hand-written SQL (commit ed457a5),
kept verbatim as the reference the new ones are compared with (test_visibility_random.py)
and measured against (the report's before/after numbers)."""

from django.db import connection
from django.db.models import Q

from closeloop.core.errors import NotFound
from closeloop.orgs.selectors import visible_department_ids
from closeloop.tasks.models import Task, TaskCollaborator, TaskDependency
from closeloop.tasks.validation import parse_int
from closeloop.tasks.visibility import SUBTREE_INLINE_IDS, Visibility, subtree_q


def reference_visibility(user, inline_ids: int = SUBTREE_INLINE_IDS) -> Visibility:
    depts = visible_department_ids(user)
    fields = ("id", "path", "owner_id", "next_child_number")
    outside = Task.objects.exclude(department_id__in=depts).order_by()
    direct = (
        outside.filter(owner=user)
        .values_list(*fields)
        .union(
            outside.filter(reviewer=user).values_list(*fields),
            outside.filter(id__in=TaskCollaborator.objects.filter(user=user).values("task_id")).values_list(
                *fields
            ),
        )
    )
    ids: set[int] = set()
    subtrees: list[str] = []
    owned: list[int] = []
    for pk, path, owner_id, next_child in direct:
        ids.add(pk)
        if next_child > 1:
            subtrees.append(path)
        if owner_id == user.pk:
            owned.append(pk)
            ids.update(int(p) for p in path.strip("/").split("/") if p)
    if owned:
        links = TaskDependency.objects.filter(Q(predecessor_id__in=owned) | Q(successor_id__in=owned))
        for pred, succ in links.values_list("predecessor_id", "successor_id"):
            ids.update((pred, succ))
    if subtrees and connection.vendor == "sqlite":
        under = Q()
        for prefix in subtrees:
            under |= subtree_q(prefix)
        below = list(outside.filter(under).values_list("id", flat=True)[: inline_ids + 1])
        if len(below) <= inline_ids:
            ids.update(below)
            subtrees = []
    return Visibility(departments=frozenset(depts), ids=frozenset(ids), subtrees=tuple(sorted(subtrees)))


def reference_access_task(user, pk, *, for_update: bool = False) -> Task:
    pk_int = parse_int(pk)
    if pk_int is None or pk_int < 1:
        raise NotFound("Task not found.")
    qs = Task.objects.select_related("department", "owner", "initiator", "reviewer", "project", "customer")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    task = next(iter(qs.filter(pk=pk_int).order_by()[:1]), None)
    if task is None:
        raise NotFound("Task not found.")
    if (
        user.is_superuser
        or task.department_id in visible_department_ids(user)
        or reference_visibility(user).allows(task)
    ):
        return task
    raise NotFound("Task not found.")
