"""Who may do what to a task (DESIGN.md "Who may do what"). Pure functions of loaded rows."""

from closeloop.orgs.selectors import is_member, leads
from closeloop.tasks.states import Actor


def can_create_in(user, department_id: int) -> bool:
    return is_member(user, department_id)


def can_edit(user, task) -> bool:
    """Edit fields, decompose, add collaborators: owner, initiator, head or deputy."""
    return user.pk in (task.owner_id, task.initiator_id) or leads(user, task.department_id)


def can_reassign(user, task) -> bool:
    return user.pk == task.initiator_id or leads(user, task.department_id)


def can_move_due_date(user, task) -> bool:
    """Change a due date directly (with a reason): initiator, head or deputy. The owner moves
    it only through a delay warning the head or deputy decides."""
    return user.pk == task.initiator_id or leads(user, task.department_id)


def can_override_dependencies(user, task) -> bool:
    """Let a task start before its predecessors are done: the department's head or deputy."""
    return leads(user, task.department_id)


def can_cancel(user, task) -> bool:
    return user.pk == task.initiator_id or leads(user, task.department_id)


def can_review(user, task) -> bool:
    """The reviewer: the named reviewer, or the head or deputy — never the owner. Nobody
    accepts their own task: a deputy's goes to the head, and a head's to the superior (who
    leads the department from above), not to the head's own deputy. Needs `task.department`."""
    if user.pk == task.owner_id:
        return False
    if user.pk == task.reviewer_id:
        return True
    if not leads(user, task.department_id):
        return False
    dept = task.department
    return not (task.owner_id == dept.head_id and user.pk == dept.deputy_id and not user.is_superuser)


def plays(user, actor: Actor, task) -> bool:
    if actor == Actor.OWNER:
        return user.pk == task.owner_id
    if actor == Actor.REVIEWER:
        return can_review(user, task)
    if actor == Actor.CANCELLER:
        return can_cancel(user, task)
    return False
