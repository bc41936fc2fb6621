"""Who sees what (DESIGN.md "Who sees what"), as data and as a query: the rule behind
`Task.objects.visible_to(user)` and `selectors.access_task`. It sits below `models` (which
uses it for `visible_to`) and reads the task tables (tasks_task, tasks_taskcollaborator,
tasks_taskdependency) with hand-written SQL, so neither module imports the other in a
cycle."""

from dataclasses import dataclass

from django.db import connection
from django.db.models import Q

from closeloop.core import pgfast
from closeloop.orgs.selectors import visible_department_ids


def subtree_q(path: str, field: str = "path") -> Q:
    """The task at `path` and everything below it, as an index range rather than a LIKE: every
    descendant's path starts with `path` ("/0000000012/…") and '0' is the character after
    '/', so all of them sort before "/00000000120". Byte order on both databases (see
    migration 0005)."""
    return Q(**{f"{field}__gte": path, f"{field}__lt": path[:-1] + "0"})


@dataclass(frozen=True)
class Visibility:
    """What a person may see beyond the tasks of their departments, as data: one rule that
    both a query (`q`) and a single loaded task (`allows`) are checked against."""

    departments: frozenset[int]
    ids: frozenset[int]
    subtrees: tuple[str, ...]

    def q(self) -> Q:
        q = Q(department_id__in=self.departments) | Q(id__in=self.ids)
        for prefix in self.subtrees:
            q |= subtree_q(prefix)
        return q

    def allows(self, task) -> bool:
        return (
            task.department_id in self.departments
            or task.pk in self.ids
            or any(task.path.startswith(prefix) for prefix in self.subtrees)
        )


SUBTREE_INLINE_IDS = 2000

# The person's tasks outside the departments they see whole (three index look-ups joined by
# UNION: an OR across the collaborator join would scan every task), and in the same statement
# the dependency links of those they own, looked up from both ends by index. Written by hand
# and kept as text: built through the ORM, Django compiled this every request (~11,000
# Python calls for a head, about as much as a whole list page). Kind 0 rows are tasks
# (id, path, owner, next_child_number), kind 1 rows links (predecessor, -, -, successor).
# `{outside}` / `{outside_t}` are "AND department_id NOT IN (%s, …)", one placeholder per
# department. Plain SQL that SQLite and PostgreSQL read alike.
# The links: need-to-know around subtasks (docs/architecture.md) — beside the tasks above
# their own, a subtask owner from outside sees the tasks linked to theirs by a dependency,
# not the other siblings, which the parent shows only as a count.
_DIRECT_SQL = """WITH direct AS (
 SELECT id, path, owner_id, next_child_number FROM tasks_task WHERE owner_id = %s{outside}
 UNION
 SELECT id, path, owner_id, next_child_number FROM tasks_task WHERE reviewer_id = %s{outside}
 UNION
 SELECT t.id, t.path, t.owner_id, t.next_child_number FROM tasks_task t
 INNER JOIN tasks_taskcollaborator c ON c.task_id = t.id WHERE c.user_id = %s{outside_t}
)
SELECT 0, id, path, owner_id, next_child_number FROM direct
UNION ALL
SELECT 1, d.predecessor_id, NULL, NULL, d.successor_id FROM tasks_taskdependency d
 INNER JOIN direct o ON o.id = d.predecessor_id WHERE o.owner_id = %s
UNION ALL
SELECT 1, d.predecessor_id, NULL, NULL, d.successor_id FROM tasks_taskdependency d
 INNER JOIN direct o ON o.id = d.successor_id WHERE o.owner_id = %s"""


def _not_in(column: str, count: int) -> str:
    return f" AND {column} NOT IN ({', '.join(['%s'] * count)})" if count else ""


def _outside(column: str, departments: list[int]) -> tuple[str, list[int]]:
    """`column NOT IN departments` written as the ranges between them (`< d1`, `> d1 AND <
    d2`, …, `> dn`; `departments` sorted ascending): after an equality on the owner or
    reviewer, each is a range of the (owner, department) / (reviewer, department) index, so
    the database reads only the tasks elsewhere — with NOT IN it read every task a head ever
    owned (~2,000 rows) to keep the few outside. Returns the SQL (" AND (…)", or "" for no
    departments) and its parameters in order."""
    if not departments:
        return "", []
    parts = [f"{column} < %s"]
    params = [departments[0]]
    for low, high in zip(departments, departments[1:], strict=False):
        parts.append(f"({column} > %s AND {column} < %s)")
        params += [low, high]
    parts.append(f"{column} > %s")
    params.append(departments[-1])
    return f" AND ({' OR '.join(parts)})", params


def visibility(user) -> Visibility:
    """Who sees what (DESIGN.md), memoised on the user for the request.

    Members see their departments' tasks (heads also those below). Beyond that, anyone sees a
    task they own, help on or review, the subtasks under it, the tasks above a subtask they
    own, and the tasks linked to one they own by a dependency. Subtasks live in their root
    task's department, so only the person's tasks outside their departments need the path
    walk. One query (`_DIRECT_SQL`, hand-written) beyond the memoised department scopes, and
    on SQLite one more for the subtasks under those tasks when they have any.
    """
    cached = getattr(user, "_closeloop_visibility", None)
    if cached is not None:
        return cached
    depts = visible_department_ids(user)
    dept_params = sorted(depts)
    n = len(dept_params)
    outside, outside_params = _outside("department_id", dept_params)
    outside_t, _same = _outside("t.department_id", dept_params)
    sql = _DIRECT_SQL.format(outside=outside, outside_t=outside_t)
    me = user.pk
    params = [me, *outside_params, me, *outside_params, me, *outside_params, me, me]
    # Prepared on PostgreSQL (pgfast): one text per number of departments, on most pages;
    # planning its three UNIONs took ~0.4 ms of the ~1.5 it costs a head.
    with pgfast.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    ids: set[int] = set()
    subtrees: list[str] = []
    for kind, pk, path, owner_id, next_child in rows:
        ids.add(pk)
        if kind:  # a dependency link of a task I own: both ends
            ids.add(next_child)
            continue
        if next_child > 1:  # has had subtasks
            subtrees.append(path)
        if owner_id == me:
            ids.update(int(p) for p in path.strip("/").split("/") if p)
    if subtrees and connection.vendor == "sqlite":
        # The tasks under those subtrees, as ids: SQLite gives up its index plan for a clause
        # of many path ranges as soon as a list adds a filter (priority, status) and scans
        # every task (a list 2x slower). PostgreSQL combines the ranges with a bitmap OR and
        # is slower with the long id list instead. Past SUBTREE_INLINE_IDS the ranges stay.
        # The ranges are those of `subtree_q`.
        ranges = " OR ".join(["(path >= %s AND path < %s)"] * len(subtrees))
        range_params = [v for prefix in subtrees for v in (prefix, prefix[:-1] + "0")]
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT id FROM tasks_task WHERE ({ranges}){_not_in('department_id', n)} LIMIT %s",  # noqa: S608 - placeholders only
                [*range_params, *dept_params, SUBTREE_INLINE_IDS + 1],
            )
            below = cur.fetchall()
        if len(below) <= SUBTREE_INLINE_IDS:
            ids.update(pk for (pk,) in below)
            subtrees = []
    result = Visibility(departments=frozenset(depts), ids=frozenset(ids), subtrees=tuple(sorted(subtrees)))
    user._closeloop_visibility = result
    return result


def forget_visibility(user) -> None:
    """Drop the memo after a write that changes what the person may see (a new task of theirs)."""
    user.__dict__.pop("_closeloop_visibility", None)


def visibility_q(user) -> Q:
    """The WHERE clause of "tasks `user` may see"."""
    return visibility(user).q()


def need_to_know(user, subtasks: list) -> tuple[list, int]:
    """The subtasks of a task that `user` is shown on its page and in the API, and how many
    others there are (shown only as a count). Someone who sees the parent only because they
    own a subtask under it sees their own subtasks (and what is below them) and those linked
    to theirs by a dependency; members of the department and collaborators on the parent see
    every one. No query beyond the (memoised) department scopes and visibility. Source: issue 11, item 1."""
    if user.is_superuser:
        return list(subtasks), 0
    # Subtasks of a department the person sees whole (its members, its heads): all of them,
    # decided without the rest of the rule (its queries).
    departments = visible_department_ids(user)
    if all(s.department_id in departments for s in subtasks):
        return list(subtasks), 0
    rule = visibility(user)
    shown = [s for s in subtasks if rule.allows(s)]
    return shown, len(subtasks) - len(shown)
