"""Issue 16: the board, the workload and the calendar read open work by its statuses (and the board the
last two weeks' done cards by completion time), never every task a department or a person
ever had, and the calendar finds the month's milestones by date, not through a list of
every task the person may see (see closeloop.testing.plans)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from closeloop.planning.selectors.board import board
from closeloop.planning.selectors.calendar import calendar_month
from closeloop.planning.selectors.workload import person_open_tasks, workload
from closeloop.tasks.services import task_transition
from closeloop.testing.plans import history_reads


@pytest.mark.django_db
def test_board_and_workload_read_no_history(task, head, member, sales):
    task_transition(actor=member, task=task, to="in_progress")
    for who in (head, member):
        with CaptureQueriesContext(connection) as ctx:
            columns = board(who, department_id=sales.pk)
            loads = workload(who, department=sales)
            person_open_tasks(who, person=member)
            calendar_month(who, year=task.due_date.year, month=task.due_date.month)
            calendar_month(who, year=task.due_date.year, month=task.due_date.month, department_id=sales.pk)
        assert history_reads(ctx.captured_queries) == [], who.username
        assert sum(c.count for c in columns) == 1
        assert sum(p.total for p in loads["people"]) == 1
