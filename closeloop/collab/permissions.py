"""Who may do what in collaboration (DESIGN.md "Who may do what"). Pure functions of loaded
rows, plus the one visibility rule of the tasks app.

- raise an issue, write minutes on a task: anyone who sees the task;
- see an issue: anyone who sees its task; the people on the issue — its raiser, its resolver
  and the people involved (`party_users`) — whether or not they still see the task (a raiser
  removed as collaborator still follows the problem they raised); and the head or deputy of
  a department the issue involves (its `party_departments`): they are told when it is
  raised. The last two read the issue — not the task, which stays need-to-know;
- resolve an issue: its resolver, or the head or deputy of the task's department (or above);
- withdraw an issue: its raiser, or the head or deputy of the task's department (or above)
  — DESIGN.md's table — who must say why (`services.issue_withdraw`). Not its resolver as
  such: the person asked to solve a problem answers it with a written result rather than
  closing someone else's issue with none (a tester's finding; the handbook's 跨部门协作任务表
  records 解决结果 for every problem);
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


def leads_involved(user, issue) -> bool:
    """Whether `user` heads (or deputises, or heads above) a department the issue involves.
    Reads `issue.party_departments` (prefetched by the selectors)."""
    if user is None or not user.is_active:
        return False
    return any(leads(user, d.pk) for d in issue.party_departments.all())


def on_issue(user, issue) -> bool:
    """Whether `user` is its raiser, its resolver or one of the people involved. Reads
    `issue.party_users` (prefetched by the selectors) only when neither of the first two."""
    if user is None or not user.is_active:
        return False
    if user.pk in (issue.raised_by_id, issue.resolver_id):
        return True
    return any(u.pk == user.pk for u in issue.party_users.all())


def sees_issue(user, issue) -> bool:
    return sees_task(user, issue.task) or on_issue(user, issue) or leads_involved(user, issue)


def can_resolve(user, issue) -> bool:
    return user.pk == issue.resolver_id or leads(user, issue.task.department_id)


def can_withdraw(user, issue) -> bool:
    """Its raiser, or who leads the task's department (head, deputy, above, admin): see the
    module's docstring. A resolver who is neither does not."""
    if user is None or not user.is_active:
        return False
    # Leading the department counts even for a head who is also the resolver.
    return user.pk == issue.raised_by_id or leads(user, issue.task.department_id)


def resolve_role(user, issue) -> str:
    """Why `user` may resolve `issue`, for the page to say: "resolver", "head", "deputy"
    (of the task's department), "above" (head or deputy of a department above it), "admin";
    "" when they may not."""
    if user.pk == issue.resolver_id:
        return "resolver"
    department = issue.task.department
    if user.pk == department.head_id:
        return "head"
    if user.pk == department.deputy_id:
        return "deputy"
    if not leads(user, department.pk):
        return ""
    return "admin" if user.is_superuser else "above"


def can_plan(user, task) -> bool:
    return can_edit(user, task)
