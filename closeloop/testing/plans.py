"""Which queries of a page read a department's whole history: the test-side check of issue
16's rule that a page's cost depends on what it shows, not on every task ever finished.

    with CaptureQueriesContext(connection) as ctx:
        weekly_review(user, department, monday)
    assert history_reads(ctx.captured_queries) == []

Two shapes read every task a department (or a person) ever had, whatever the page shows:

- `NOT (status IN ('done', 'cancelled'))`: no index range serves a negation, so the database
  reads every finished task too and throws it away; name the open statuses instead
  (`status IN (…)` is a range of the (department, status, due) and (owner, status, due)
  indexes);
- `task_id IN (SELECT id FROM tasks_task WHERE department_id IN (…))`: the ids of every
  task of the department, to find a few related rows; filter by the task's department. A
  subquery with a LIMIT of its own (a page's ids, found before their rows are joined) reads
  what the page shows and is not this shape.

A textual check, the same on both databases: the plans themselves depend on the data (a
test database's few rows are rightly scanned), which `python -m bench.scale_step` shows at
scale M with EXPLAIN on both databases.
"""

import re

_NEGATED_STATUS = re.compile(r'NOT \((?:"tasks_task"|\w+)\."status" IN \(\'[a-z_]+\'(?:, \'[a-z_]+\')*\)\)')
_WHOLE_DEPARTMENT = re.compile(
    r'IN \(SELECT (\w+)\."id"(?: AS "(?:pk|id)")? FROM "tasks_task" \1 WHERE \(*\1\."department_id" IN \([\d, ]+\)'
)


def history_reads(queries: list[dict]) -> list[str]:
    """The captured queries (`CaptureQueriesContext.captured_queries`) with either shape,
    each as its first 300 characters and the offending clause."""
    found = []
    for q in queries:
        sql = q["sql"]
        for pattern in (_NEGATED_STATUS, _WHOLE_DEPARTMENT):
            m = pattern.search(sql)
            if m and not (pattern is _WHOLE_DEPARTMENT and _limited(sql, m.start() + 3)):
                found.append(f"{m[0]} ← {sql[:300]}")
    return found


def _limited(sql: str, start: int) -> bool:
    """Whether the parenthesised subquery opening at `sql[start]` has a LIMIT of its own."""
    depth = 0
    for i in range(start, len(sql)):
        if sql[i] == "(":
            depth += 1
        elif sql[i] == ")":
            depth -= 1
            if depth == 0:
                return re.search(r"\bLIMIT \d+\s*$", sql[start + 1 : i]) is not None
    return False
