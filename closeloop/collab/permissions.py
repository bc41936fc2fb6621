"""Who may do what in collaboration (DESIGN.md "Who may do what"). Pure functions of loaded
rows, plus the one visibility rule of the tasks app.

- raise an issue, write minutes on a task: anyone who sees the task;
- resolve an issue: its resolver, or the head or deputy of the task's department (or above);
- withdraw an issue: the same, and its raiser;
- set the communication plan: who may edit the task (owner, initiator, head or deputy).
"""

from closeloop.orgs.selectors import leads, visible_department_ids
from closeloop.tasks.permissions import can_edit
from closeloop.tasks.selectors import visibility


def sees_task(user, task) -> bool:
    if user is None or not user.is_active:
        return False
    return (
        user.is_superuser
        or task.department_id in visible_department_ids(user)
        or visibility(user).allows(task)
    )


def can_resolve(user, issue) -> bool:
    return user.pk == issue.resolver_id or leads(user, issue.task.department_id)


def can_withdraw(user, issue) -> bool:
    return user.pk == issue.raised_by_id or can_resolve(user, issue)


def can_plan(user, task) -> bool:
    return can_edit(user, task)
