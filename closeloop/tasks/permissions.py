"""Who may do what to a task (DESIGN.md "Who may do what"). Pure functions of loaded rows."""

from closeloop.orgs.selectors import acceptance_routes, is_member, leads
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
    """The reviewer: the named reviewer, or the head or deputy of the task's department —
    never the owner. Nobody accepts their own task: a deputy's goes to the head, and a head's
    to the superior (who leads the department from above), not to the head's own deputy; a
    superior accepts nothing else of the departments below (DESIGN.md). The departments'
    part is `orgs.selectors.acceptance_routes`, the rule 待我验收 lists by, and the same
    people `acceptors` notifies. An administrator accepts any task but their own."""
    if user.pk == task.owner_id:
        return False
    if user.pk == task.reviewer_id or user.is_superuser:
        return True
    route = acceptance_routes(user).get(task.department_id)
    if route is None:
        return False
    only, owners = route
    return (task.owner_id in owners) if only else (task.owner_id not in owners)


def acceptors(task) -> list:
    """Who is told that `task` waits for acceptance: the people who can actually accept it
    (`can_review`), nearest first (DESIGN.md "Who may do what": nobody accepts their own
    task; a deputy's goes to the head, a head's to the superior, the head of the parent
    department). The named reviewer if there is one; otherwise the department's head and
    deputy without the owner, and without the deputy when the owner is the head; when that
    leaves nobody, the head of the nearest department above (its deputy if it has no head),
    who leads this one from above. Returns a list of User rows (possibly empty: a head of a
    top-level department has no superior — an administrator accepts). Reads `task.reviewer`,
    `task.department` and the department's ancestors (one query per level climbed)."""
    if task.reviewer_id and task.reviewer_id != task.owner_id:
        return [task.reviewer]
    dept = task.department
    excluded = {task.owner_id}
    if task.owner_id == dept.head_id and dept.deputy_id:
        excluded.add(dept.deputy_id)
    found = [u for u in (dept.head, dept.deputy) if u is not None and u.pk not in excluded]
    seen = {dept.pk}
    while not found and dept.parent_id and dept.parent_id not in seen:
        dept = dept.parent
        seen.add(dept.pk)
        found = [u for u in (dept.head or dept.deputy,) if u is not None and u.pk not in excluded]
    return found


def plays(user, actor: Actor, task) -> bool:
    if actor == Actor.OWNER:
        return user.pk == task.owner_id
    if actor == Actor.REVIEWER:
        return can_review(user, task)
    if actor == Actor.CANCELLER:
        return can_cancel(user, task)
    return False
