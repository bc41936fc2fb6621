"""Writes of a task's decomposition (DESIGN.md "The loop" 2): subtasks, finish-to-start
dependencies (no cycles) and milestones. Same rules as `tasks.services`.
"""

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.dates import CALENDAR_MIN
from closeloop.core.errors import Conflict, NotAllowed, ValidationFailed, raise_if_errors
from closeloop.orgs.models import User
from closeloop.tasks import permissions
from closeloop.tasks.models import (
    Milestone,
    Task,
    TaskDependency,
)
from closeloop.tasks.services import (
    CriterionIn,
    record_event,
    task_create,
)
from closeloop.tasks.states import CLOSED_STATUSES
from closeloop.tasks.validation import date_errors

# -- subtasks, dependencies, milestones ------------------------------------------------------


def subtask_add(
    *,
    actor: User,
    parent: Task,
    title: str,
    owner: User | None,
    due_date: date | None,
    start_date: date | None = None,
    collaborators: Iterable[User] = (),
    criteria: Sequence[CriterionIn] = (),
    weight: int = 1,
    priority: int | None = None,
) -> Task:
    """A step of `parent` with exactly one owner, its own dates and criteria (owner, initiator,
    head or deputy of the parent). The parent's progress rolls up from now on."""
    if owner is None:
        raise ValidationFailed(
            _("owner: A subtask needs exactly one owner."),
            fields={"owner": [_("A subtask needs exactly one owner.")]},
        )
    return task_create(
        actor=actor,
        department=parent.department,
        parent=parent,
        title=title,
        owner=owner,
        due_date=due_date,  # type: ignore[arg-type]  # task_create names the missing field
        start_date=start_date,
        collaborators=collaborators,
        criteria=criteria,
        weight=weight,
        priority=priority if priority is not None else parent.priority,
        task_type=parent.task_type,
        project=parent.project,
        customer=parent.customer,
        require_criteria=False,
    )


def _require_edit(actor: User, task: Task, message: str) -> None:
    if not permissions.can_edit(actor, task):
        raise NotAllowed(message)
    if task.status in CLOSED_STATUSES:
        raise Conflict(_("The task is closed."), code="task_closed")


def _codes(ids: Sequence[int]) -> list[str]:
    names = dict(Task.objects.filter(pk__in=ids).values_list("pk", "code"))
    return [names.get(i, f"#{i}") for i in ids]


def find_cycle(*, predecessor_id: int, successor_id: int) -> list[int] | None:
    """The cycle that predecessor → successor would close, as task ids from predecessor back
    to itself; None when there is none. A breadth-first walk over successors, one query per
    level."""
    if predecessor_id == successor_id:
        return [predecessor_id, predecessor_id]
    came_from: dict[int, int | None] = {successor_id: None}
    frontier = [successor_id]
    while frontier:
        edges = TaskDependency.objects.filter(predecessor_id__in=frontier).values_list(
            "predecessor_id", "successor_id"
        )
        nxt = []
        for frm, to in edges:
            if to in came_from:
                continue
            came_from[to] = frm
            if to == predecessor_id:
                path = [to]
                while came_from[path[-1]] is not None:
                    path.append(came_from[path[-1]])  # type: ignore[arg-type]
                path.reverse()  # successor … predecessor
                return [predecessor_id, *path]
            nxt.append(to)
        frontier = nxt
    return None


def _require_plan_edit(actor: User, successor: Task, plan: Task | None) -> None:
    """The actor may change `successor`'s dependencies: they edit it, or edit `plan`, the task
    whose plan they are changing, when `successor` is that task or lies under it (the owner
    of a parent arranges its steps though each step has its own owner: DESIGN.md "The loop" 2).
    Raises NotAllowed, or Conflict when the task that decides is closed."""
    holder = plan if plan is not None and successor.path.startswith(plan.path) else successor
    if not (permissions.can_edit(actor, holder) or permissions.can_edit(actor, successor)):
        raise NotAllowed(
            _("Only the owner, the initiator or the department head can change the plan of this task.")
        )
    if holder.status in CLOSED_STATUSES:
        raise Conflict(_("The task is closed."), code="task_closed")
    if successor.status in CLOSED_STATUSES:
        raise Conflict(
            _("%(code)s is closed: it no longer waits for anything.") % {"code": successor.code},
            code="task_closed",
        )


def dependency_add(
    *, actor: User, predecessor: Task, successor: Task, plan: Task | None = None
) -> TaskDependency:
    """`successor` starts when `predecessor` is finished. Both must be visible to the actor
    (callers fetch them with `access_task`, so an unseen one is a 404); the actor edits the
    successor, or `plan` (the task page's task) when the successor is it or under it. Checked
    in this order, so the message names the real problem: the same task on both sides
    (ValidationFailed on `predecessor`), then who may (NotAllowed), then a closed task
    (Conflict). A cycle is refused, naming it ("T001-2 → T001-3 → T001-2"). Adding one that
    exists changes nothing; the returned link's `was_created` says which it was."""
    if predecessor.pk == successor.pk:
        message = _("First finish: choose a task other than %(code)s — a task cannot wait for itself.") % {
            "code": successor.code
        }
        raise ValidationFailed(message, fields={"predecessor": [message]})
    _require_plan_edit(actor, successor, plan)
    with transaction.atomic():
        # Serialise plan changes of the trees involved, so two requests cannot close a cycle
        # between them.
        roots = sorted({int(t.path.strip("/").split("/")[0]) for t in (predecessor, successor)})
        list(Task.objects.select_for_update().filter(pk__in=roots).order_by("pk").values_list("pk"))
        cycle = find_cycle(predecessor_id=predecessor.pk, successor_id=successor.pk)
        if cycle:
            names = " → ".join(_codes(cycle))
            message = _("This dependency would close a cycle: %(cycle)s.") % {"cycle": names}
            raise ValidationFailed(message, fields={"predecessor": [message]})
        dep, created = TaskDependency.objects.get_or_create(
            predecessor=predecessor, successor=successor, defaults={"created_by": actor}
        )
        if created:
            record_event(
                task=successor,
                actor=actor,
                verb="dependency_added",
                after={"predecessor": predecessor.pk, "code": predecessor.code},
            )
    dep.was_created = created
    return dep


def dependency_remove(*, actor: User, predecessor: Task, successor: Task, plan: Task | None = None) -> bool:
    """Drop predecessor → successor; the same people as `dependency_add`. False when there
    was none."""
    _require_plan_edit(actor, successor, plan)
    with transaction.atomic():
        deleted, _rows = TaskDependency.objects.filter(predecessor=predecessor, successor=successor).delete()
        if deleted:
            record_event(
                task=successor,
                actor=actor,
                verb="dependency_removed",
                before={"predecessor": predecessor.pk, "code": predecessor.code},
            )
    return bool(deleted)


def milestone_date_errors(
    errors: dict[str, list[str]], task: Task, value: date | None, field: str = "date"
) -> bool:
    """Add a message on `field` when `value` cannot be a milestone's date of `task`: outside
    the days 日历 shows (`core.dates.CALENDAR_MIN`…`DATE_MAX`: a milestone is found there), or
    after the task's due date (a checkpoint on the way to it: DESIGN.md "The loop" 2). True if
    it did; None passes (the caller names a missing date). The task's due date may later move
    before one of its milestones: that is allowed, and the task page marks the milestone
    (`planning.selectors.plan.task_plan`, `after_due`)."""
    if value is None:
        return False
    if date_errors(errors, field, value, low=CALENDAR_MIN):
        return True
    if task.due_date is not None and value > task.due_date:
        errors.setdefault(field, []).append(
            _("The date %(date)s is after the task's due date %(due)s: choose a day on or before it.")
            % {"date": value.isoformat(), "due": task.due_date.isoformat()}
        )
        return True
    return False


def milestone_add(*, actor: User, task: Task, title: str, date_: date | None) -> Milestone:
    """A dated checkpoint of `task` (owner, initiator, head or deputy; NotAllowed, or Conflict
    when the task is closed). `title`: 1–200 characters; `date_`: a day within the calendar's
    years and on or before the task's due date (`milestone_date_errors`). Bad input is one
    ValidationFailed naming `title` / `date`, nothing written. Records `milestone_added`."""
    _require_edit(actor, task, _("Only the owner, the initiator or the department head can add milestones."))
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    if not title:
        errors.setdefault("title", []).append(_("A milestone needs a name."))
    elif "\x00" in title:
        errors.setdefault("title", []).append(_("The text contains a NUL character."))
    elif len(title) > 200:
        errors.setdefault("title", []).append(_("The name is longer than 200 characters."))
    if date_ is None:
        errors.setdefault("date", []).append(_("A milestone needs a date."))
    milestone_date_errors(errors, task, date_)
    raise_if_errors(errors)
    with transaction.atomic():
        milestone = Milestone.objects.create(task=task, title=title, date=date_, created_by=actor)
        record_event(
            task=task, actor=actor, verb="milestone_added", after={"title": title, "date": date_.isoformat()}
        )
    return milestone


def milestone_update(
    *,
    actor: User,
    milestone: Milestone,
    title: str | None = None,
    date_: date | None = None,
    reached: bool | None = None,
) -> Milestone:
    """Rename, move or mark reached (`reached` True: now; False: not reached) a milestone; None
    leaves a part as it is. The same people as `milestone_add`. A new date follows
    `milestone_date_errors` against the milestone's own task; the date it already has is not
    checked again, so a milestone left after a due date that moved earlier can still be renamed
    or marked reached (ValidationFailed naming `title` / `date` otherwise, nothing written).
    Records `milestone_changed`."""
    task = milestone.task
    _require_edit(
        actor, task, _("Only the owner, the initiator or the department head can change milestones.")
    )
    changes: dict[str, Any] = {}
    if title is not None:
        if not title.strip():
            raise ValidationFailed(
                _("title: A milestone needs a name."), fields={"title": [_("A milestone needs a name.")]}
            )
        changes["title"] = title.strip()[:200]
    if date_ is not None:
        if date_ != milestone.date:
            bad: dict[str, list[str]] = {}
            milestone_date_errors(bad, task, date_)
            raise_if_errors(bad)
        changes["date"] = date_
    if reached is not None:
        changes["reached_at"] = timezone.now() if reached else None
    with transaction.atomic():
        Milestone.objects.filter(pk=milestone.pk).update(**changes)
        record_event(
            task=task,
            actor=actor,
            verb="milestone_changed",
            after={k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in changes.items()}
            | {"milestone": milestone.title},
        )
    return Milestone.objects.get(pk=milestone.pk)


def milestone_remove(*, actor: User, milestone: Milestone) -> None:
    task = milestone.task
    _require_edit(
        actor, task, _("Only the owner, the initiator or the department head can remove milestones.")
    )
    with transaction.atomic():
        milestone.delete()
        record_event(task=task, actor=actor, verb="milestone_removed", before={"title": milestone.title})
