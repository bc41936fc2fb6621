"""Every write to tasks. One keyword-only function per use case: it takes the acting person,
checks permission and state, writes in one transaction, appends an event and queues the
notifications in that same transaction (delivered later by the worker).
"""

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.errors import Conflict, NotAllowed, ValidationFailed, raise_if_errors
from closeloop.notify.services import notify
from closeloop.orgs.models import Department, User
from closeloop.tasks import permissions
from closeloop.tasks.models import (
    AcceptanceCriterion,
    AdhocCategory,
    Customer,
    Priority,
    Project,
    Source,
    Task,
    TaskCollaborator,
    TaskEvent,
    TaskType,
)
from closeloop.tasks.search import task_index_text
from closeloop.tasks.states import CLOSED_STATUSES, TRANSITIONS, Actor, Status, targets_from
from closeloop.tasks.validation import (
    TITLE_MAX,
    CriterionIn,
    _check_fields,
    _check_intake,
    _clean_criteria,
    department_policy,
    known_names,
)

# -- helpers -------------------------------------------------------------------------------


def record_event(
    *,
    task: Task,
    actor: User | None,
    verb: str,
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
) -> TaskEvent:
    """Append to the event log. Every service calls this; nothing else writes events."""
    return TaskEvent.objects.create(
        task=task, actor=actor, verb=verb, before=before or {}, after=after or {}, note=note
    )


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a field value for the event log."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "pk"):
        return value.pk
    return value


def _reviewers(task: Task) -> list[User]:
    if task.reviewer_id:
        return [task.reviewer]
    dept = task.department
    return [u for u in (dept.head, dept.deputy) if u is not None]


def _differs(task: Task, field: str, value: Any) -> bool:
    if field in ("reviewer", "project", "customer"):
        return getattr(task, f"{field}_id") != (value.pk if value is not None else None)
    return getattr(task, field) != value


# -- use cases -----------------------------------------------------------------------------


def task_create(
    *,
    actor: User,
    department: Department,
    title: str,
    owner: User,
    due_date: date,
    goal: str = "",
    expected_outcome: str = "",
    value: str = "",
    task_type: str = TaskType.PROJECT,
    priority: int = Priority.MEDIUM,
    start_date: date | None = None,
    reviewer: User | None = None,
    collaborators: Iterable[User] = (),
    project: Project | None = None,
    customer: Customer | None = None,
    notes: str = "",
    criteria: Sequence[CriterionIn] = (),
    parent: Task | None = None,
    source: str = Source.PLANNED,
    adhoc_category: str = "",
    respond_by: datetime | None = None,
    require_criteria: bool = True,
    require_intake: bool = False,
    weight: int = 1,
    recurrence: Any = None,
    occurrence: date | None = None,
) -> Task:
    """Take a task in. Top-level: the actor must be a member of `department`; a subtask
    (`parent` given) needs edit rights on the parent and lives in the parent's department.
    Locks the department row (or the parent's) to number the code. Notifies the owner and the
    collaborators."""
    errors: dict[str, list[str]] = {}
    _check_fields(
        errors=errors,
        title=title,
        start_date=start_date,
        due_date=due_date,
        owner=owner,
        reviewer=reviewer,
        task_type=task_type,
        priority=priority,
    )
    criterion_rows = _clean_criteria(criteria, errors)
    if require_criteria and parent is None and not criterion_rows and "criteria" not in errors:
        errors.setdefault("criteria", []).append(_("Write at least one acceptance criterion."))
    if source not in Source.values:
        errors.setdefault("source", []).append(_("Unknown source."))
    if source == Source.ADHOC and adhoc_category not in AdhocCategory.values:
        errors.setdefault("adhoc_category", []).append(_("Choose what kind of ad-hoc work this is."))
    if parent is not None and parent.status in CLOSED_STATUSES:
        errors.setdefault("parent", []).append(_("The parent task is closed."))
    if not isinstance(weight, int) or not 1 <= weight <= 100:
        errors.setdefault("weight", []).append(_("The weight is a whole number from 1 to 100."))
    if require_intake and parent is None:
        _check_intake(
            errors=errors,
            department=department,
            title=title,
            goal=goal,
            expected_outcome=expected_outcome,
            value=value,
            customer=customer,
            project=project,
        )
    raise_if_errors(errors)

    if parent is not None:
        if not permissions.can_edit(actor, parent):
            raise NotAllowed(_("Only the owner, the initiator or the department head can add subtasks."))
        department = parent.department
    elif not permissions.can_create_in(actor, department.pk):
        raise NotAllowed(_("Only members of %(dept)s can create tasks there.") % {"dept": department.name})

    with transaction.atomic():
        if parent is not None:
            locked_parent = Task.objects.select_for_update().get(pk=parent.pk)
            number = locked_parent.next_child_number
            Task.objects.filter(pk=parent.pk).update(next_child_number=F("next_child_number") + 1)
            code = f"{locked_parent.code}-{number}"
        else:
            locked = Department.objects.select_for_update().get(pk=department.pk)
            number = locked.next_task_number
            Department.objects.filter(pk=department.pk).update(next_task_number=F("next_task_number") + 1)
            code = f"T{number:03d}"
        task = Task(
            department=department,
            initiator=actor,
            code=code,
            parent=parent,
            depth=(parent.depth + 1) if parent is not None else 0,
            title=title.strip(),
            goal=goal.strip(),
            expected_outcome=expected_outcome.strip(),
            value=value.strip(),
            task_type=task_type,
            priority=priority,
            owner=owner,
            reviewer=reviewer,
            start_date=start_date,
            due_date=due_date,
            original_due_date=due_date,
            project=project,
            customer=customer,
            notes=notes.strip(),
            source=source,
            adhoc_category=adhoc_category if source == Source.ADHOC else "",
            respond_by=respond_by,
            weight=weight,
            recurrence=recurrence,
            occurrence=occurrence,
            search_text=task_index_text(
                department_code=department.code,
                code=code,
                title=title.strip(),
                customer=customer.name if customer is not None else "",
                project=project.name if project is not None else "",
            ),
        )
        task.save()
        task.path = Task.make_path(parent.path if parent is not None else None, task.pk)
        Task.objects.filter(pk=task.pk).update(path=task.path)
        for row in criterion_rows:
            row.task = task
        AcceptanceCriterion.objects.bulk_create(criterion_rows)
        collab = [u for u in dict.fromkeys(collaborators) if u.pk != owner.pk]
        TaskCollaborator.objects.bulk_create(
            [TaskCollaborator(task=task, user=u, added_by=actor) for u in collab]
        )
        record_event(
            task=task,
            actor=actor,
            verb="created",
            after={
                "code": code,
                "title": task.title,
                "owner": owner.pk,
                "due_date": due_date.isoformat(),
                "priority": priority,
                "criteria": len(criterion_rows),
                "collaborators": [u.pk for u in collab],
            },
        )
        if parent is not None:
            progress_roll_up(actor=actor, task=task)
        data = task_message(task, actor)
        notify(recipients=[owner], kind="task.assigned", data=data, link=task.get_absolute_url(), actor=actor)
        if collab:
            notify(
                recipients=collab,
                kind="task.collaborator_added",
                data=data,
                link=task.get_absolute_url(),
                actor=actor,
            )
    return task


EDITABLE_FIELDS = (
    "title",
    "goal",
    "expected_outcome",
    "value",
    "task_type",
    "priority",
    "start_date",
    "due_date",
    "reviewer",
    "project",
    "customer",
    "notes",
    "progress",
    "weight",
)


def task_update(
    *,
    actor: User,
    task: Task,
    expected_version: int | None = None,
    criteria: Sequence[CriterionIn] | None = None,
    **changes: Any,
) -> Task:
    """Edit a task's fields (owner, initiator, head or deputy). Moving the due date of a
    started task is for the initiator and the head; the owner asks through a delay warning.
    Progress is the owner's, on leaf tasks only. Compare-and-sets on `version`."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("These fields cannot be edited: %(f)s") % {"f": ", ".join(sorted(unknown))},
            fields={f: [_("Not editable.")] for f in unknown},
        )
    if not permissions.can_edit(actor, task):
        raise NotAllowed(_("Only the owner, the initiator or the department head can edit this task."))
    if task.status in CLOSED_STATUSES:
        raise Conflict(
            _("The task is closed; reopen is not possible, create a follow-up task."), code="task_closed"
        )

    with transaction.atomic():
        current = Task.objects.select_for_update().select_related("department").get(pk=task.pk)
        if expected_version is not None and current.version != expected_version:
            raise Conflict(
                _("Someone else changed this task meanwhile; reload and try again."), code="version_conflict"
            )
        changed = {k: v for k, v in changes.items() if _differs(current, k, v)}
        errors: dict[str, list[str]] = {}
        merged = {
            f: changed.get(f, getattr(current, f))
            for f in ("title", "start_date", "due_date", "task_type", "priority")
        }
        _check_fields(
            errors=errors,
            title=merged["title"],
            start_date=merged["start_date"],
            due_date=merged["due_date"],
            owner=current.owner,
            reviewer=changed.get("reviewer", current.reviewer),
            task_type=merged["task_type"],
            priority=merged["priority"],
        )
        if "due_date" in changed and current.status != Status.NOT_STARTED:
            if not permissions.can_reassign(actor, current):
                errors.setdefault("due_date", []).append(
                    _(
                        "Only the initiator or the department head can move the due date; raise a delay warning instead."
                    )
                )
        if "progress" in changed:
            p = changed["progress"]
            if actor.pk != current.owner_id:
                errors.setdefault("progress", []).append(_("Only the owner reports progress."))
            elif not isinstance(p, int) or not 0 <= p <= 100:
                errors.setdefault("progress", []).append(_("Progress is a whole number from 0 to 100."))
            elif current.next_child_number > 1 and Task.objects.filter(parent=current).exists():
                errors.setdefault("progress", []).append(
                    _("A task with subtasks takes its progress from them.")
                )
        if "weight" in changed and (
            not isinstance(changed["weight"], int) or not 1 <= changed["weight"] <= 100
        ):
            errors.setdefault("weight", []).append(_("The weight is a whole number from 1 to 100."))
        criterion_rows = _clean_criteria(criteria, errors) if criteria is not None else None
        if criterion_rows is not None and not criterion_rows and current.parent_id is None:
            errors.setdefault("criteria", []).append(_("Write at least one acceptance criterion."))
        raise_if_errors(errors)

        if not changed and criterion_rows is None:
            return current
        updates = dict(changed)
        if "title" in updates:
            updates["title"] = updates["title"].strip()
        if "due_date" in updates and current.status == Status.NOT_STARTED:
            updates["original_due_date"] = updates["due_date"]
        if {"title", "customer", "project"} & set(updates):
            customer = updates.get("customer", current.customer)
            project = updates.get("project", current.project)
            updates["search_text"] = task_index_text(
                department_code=current.department.code,
                code=current.code,
                title=updates.get("title", current.title),
                customer=customer.name if customer is not None else "",
                project=project.name if project is not None else "",
            )
        rows = Task.objects.filter(pk=current.pk, version=current.version).update(
            **updates, version=F("version") + 1, updated_at=timezone.now()
        )
        if rows != 1:
            raise Conflict(
                _("Someone else changed this task meanwhile; reload and try again."), code="version_conflict"
            )
        before = {k: _plain(getattr(current, k)) for k in changed}
        after = {k: _plain(v) for k, v in changed.items()}
        if criterion_rows is not None:
            old = list(AcceptanceCriterion.objects.filter(task=current).values_list("text", flat=True))
            AcceptanceCriterion.objects.filter(task=current).delete()
            for row in criterion_rows:
                row.task = current
            AcceptanceCriterion.objects.bulk_create(criterion_rows)
            new = [r.text for r in criterion_rows]
            if old != new:
                before["criteria"] = old
                after["criteria"] = new
        if before or after:
            record_event(task=current, actor=actor, verb="updated", before=before, after=after)
        if current.parent_id and ({"progress", "weight"} & set(changed)):
            progress_roll_up(actor=actor, task=current)
    return Task.objects.select_related("department", "owner", "initiator", "reviewer").get(pk=task.pk)


def rolled_up_progress(children: Iterable[tuple[int, int, str]]) -> int | None:
    """A parent's percent from its children's (progress, weight, status): the weighted mean
    of those not cancelled (equal weights unless set). None when no child counts."""
    total = weighted = 0
    for progress, weight, status in children:
        if status == Status.CANCELLED:
            continue
        total += weight
        weighted += progress * weight
    if not total:
        return None
    return int(weighted / total + 0.5)


def progress_roll_up(*, actor: User | None, task: Task) -> None:
    """Recompute the progress of every task above `task`, deepest first. The one roll-up:
    task_update, task_transition and subtask changes call it, and tracking too. Locks each
    ancestor row in turn; closed ancestors keep their percent."""
    ancestors = task.ancestor_ids() if task.path else Task.objects.get(pk=task.pk).ancestor_ids()
    for ancestor_id in reversed(ancestors):
        parent = Task.objects.select_for_update().get(pk=ancestor_id)
        value = rolled_up_progress(
            Task.objects.filter(parent_id=ancestor_id).values_list("progress", "weight", "status")
        )
        if value is None or value == parent.progress or parent.status in CLOSED_STATUSES:
            continue
        Task.objects.filter(pk=parent.pk).update(
            progress=value, version=F("version") + 1, updated_at=timezone.now()
        )
        record_event(
            task=parent,
            actor=actor,
            verb="progress_rolled_up",
            before={"progress": parent.progress},
            after={"progress": value},
        )


def task_reassign(*, actor: User, task: Task, owner: User, reason: str = "") -> Task:
    """Hand the task to a new owner (initiator, head or deputy). Notifies the new owner."""
    if not permissions.can_reassign(actor, task):
        raise NotAllowed(_("Only the initiator or the department head can reassign a task."))
    errors: dict[str, list[str]] = {}
    if not owner.is_active:
        errors["owner"] = [_("The new owner's account is inactive.")]
    if task.reviewer_id and owner.pk == task.reviewer_id:
        errors["owner"] = [_("The reviewer cannot also own the task.")]
    raise_if_errors(errors)
    with transaction.atomic():
        current = Task.objects.select_for_update().select_related("department").get(pk=task.pk)
        if current.status in CLOSED_STATUSES:
            raise Conflict(_("The task is closed."), code="task_closed")
        if current.owner_id == owner.pk:
            return current
        before = current.owner_id
        Task.objects.filter(pk=current.pk, version=current.version).update(
            owner=owner, version=F("version") + 1, updated_at=timezone.now()
        )
        # The new owner no longer needs to be a collaborator too.
        TaskCollaborator.objects.filter(task=current, user=owner).delete()
        record_event(
            task=current,
            actor=actor,
            verb="reassigned",
            before={"owner": before},
            after={"owner": owner.pk},
            note=reason,
        )
        notify(
            recipients=[owner],
            kind="task.assigned",
            data=task_message(current, actor),
            link=current.get_absolute_url(),
            actor=actor,
        )
    return Task.objects.select_related("department", "owner", "initiator", "reviewer").get(pk=task.pk)


def task_collaborator_add(*, actor: User, task: Task, user: User) -> bool:
    """Add a collaborator (owner, initiator, head or deputy). Returns False if already there."""
    if not permissions.can_edit(actor, task):
        raise NotAllowed(_("Only the owner, the initiator or the department head can add collaborators."))
    if user.pk == task.owner_id:
        raise ValidationFailed(
            _("The owner is not also a collaborator."), fields={"user": [_("This is the owner.")]}
        )
    if not user.is_active:
        raise ValidationFailed(_("That account is inactive."), fields={"user": [_("Inactive account.")]})
    with transaction.atomic():
        _link, created = TaskCollaborator.objects.get_or_create(
            task=task, user=user, defaults={"added_by": actor}
        )
        if not created:
            return False
        record_event(task=task, actor=actor, verb="collaborator_added", after={"user": user.pk})
        notify(
            recipients=[user],
            kind="task.collaborator_added",
            data=task_message(task, actor),
            link=task.get_absolute_url(),
            actor=actor,
        )
    return True


def task_collaborator_remove(*, actor: User, task: Task, user: User) -> bool:
    if not permissions.can_edit(actor, task):
        raise NotAllowed(_("Only the owner, the initiator or the department head can remove collaborators."))
    with transaction.atomic():
        deleted, _rows = TaskCollaborator.objects.filter(task=task, user=user).delete()
        if not deleted:
            return False
        record_event(task=task, actor=actor, verb="collaborator_removed", before={"user": user.pk})
    return True


_TIMESTAMP_ON = {
    Status.IN_PROGRESS: "started_at",
    Status.SUBMITTED: "submitted_at",
    Status.DONE: "completed_at",
    Status.CANCELLED: "cancelled_at",
}


def task_transition(*, actor: User, task: Task, to: str, note: str = "") -> Task:
    """Move a task along the status machine (`states.TRANSITIONS`). Refuses a move the table
    does not have (naming the allowed ones) or one the actor may not take. Compare-and-sets
    the status: if another request moved the task first, answers Conflict, never overwrites."""
    try:
        target = Status(to)
    except ValueError:
        raise ValidationFailed(
            _("Unknown status: %(s)s") % {"s": to}, fields={"status": [_("Unknown status.")]}
        ) from None
    source = Status(task.status)
    actor_kind = TRANSITIONS.get((source, target))
    if actor_kind is None:
        allowed = ", ".join(str(s.label) for s in targets_from(source)) or _("none")
        raise Conflict(
            _("A task that is %(from)s cannot become %(to)s. Allowed: %(allowed)s.")
            % {"from": source.label, "to": target.label, "allowed": allowed},
            code="transition_not_allowed",
        )
    if not permissions.plays(actor, actor_kind, task):
        raise NotAllowed(
            _("Only %(who)s can move this task to %(to)s.") % {"who": actor_kind.label, "to": target.label}
        )
    if target == Status.BLOCKED and not note.strip():
        raise ValidationFailed(
            _("Say what the task is waiting for."), fields={"note": [_("Name the blocker.")]}
        )
    if target == Status.CANCELLED and not note.strip():
        raise ValidationFailed(_("Say why the task is cancelled."), fields={"note": [_("Give a reason.")]})
    if target == Status.REWORK and not note.strip():
        raise ValidationFailed(_("Say what must be reworked."), fields={"note": [_("Give comments.")]})

    now = timezone.now()
    updates: dict[str, Any] = {"status": target, "version": F("version") + 1, "updated_at": now}
    stamp = _TIMESTAMP_ON.get(target)
    if stamp and not (stamp == "started_at" and task.started_at):
        updates[stamp] = now
    if target == Status.DONE and not Task.objects.filter(parent=task).exists():
        updates["progress"] = 100
    with transaction.atomic():
        rows = Task.objects.filter(pk=task.pk, status=source, version=task.version).update(**updates)
        if rows != 1:
            raise Conflict(
                _("Someone else changed this task meanwhile; reload and try again."), code="version_conflict"
            )
        record_event(
            task=task,
            actor=actor,
            verb="status_changed",
            before={"status": source},
            after={"status": target},
            note=note,
        )
        _notify_transition(actor=actor, task=task, target=target, note=note)
        if task.parent_id and target in (Status.DONE, Status.CANCELLED):
            progress_roll_up(actor=actor, task=task)
    return Task.objects.select_related("department", "owner", "initiator", "reviewer").get(pk=task.pk)


def task_message(task: Task, actor: User, **extra) -> dict:
    """What a notification about a task carries (see notify.kinds): the task, its code and
    title, its due date, and who acted; `extra` adds kind-specific fields (a note, a reason)."""
    due = task.due_date.isoformat() if task.due_date else ""
    return {
        "task": task.pk,
        "code": task.full_code,
        "title": task.title,
        "by": actor.display_name,
        "due": due,
        **extra,
    }


def _notify_transition(*, actor: User, task: Task, target: Status, note: str) -> None:
    data = task_message(task, actor, note=note)
    link = task.get_absolute_url()
    if target == Status.SUBMITTED:
        notify(recipients=_reviewers(task), kind="task.submitted", data=data, link=link, actor=actor)
    elif target == Status.DONE:
        notify(recipients=[task.owner], kind="task.accepted", data=data, link=link, actor=actor)
    elif target == Status.REWORK:
        notify(recipients=[task.owner], kind="task.rework", data=data, link=link, actor=actor)
    elif target == Status.BLOCKED:
        dept = task.department
        notify(
            recipients=[u for u in (dept.head, dept.deputy) if u],
            kind="task.blocked",
            data=data,
            link=link,
            actor=actor,
        )
    elif target == Status.CANCELLED:
        people = [task.owner, *User.objects.filter(collaborator_links__task=task)]
        notify(recipients=people, kind="task.cancelled", data=data, link=link, actor=actor)


def task_cancel(*, actor: User, task: Task, reason: str) -> Task:
    """Cancel an open task (initiator, head or deputy); the reason is required and logged."""
    return task_transition(actor=actor, task=task, to=Status.CANCELLED, note=reason)


def project_get_or_create(*, name: str) -> Project:
    name = name.strip()
    if not name:
        raise ValidationFailed(_("A project needs a name."), fields={"project": [_("Empty name.")]})
    return Project.objects.get_or_create(name=name)[0]


def customer_get_or_create(*, name: str) -> Customer:
    name = name.strip()
    if not name:
        raise ValidationFailed(_("A customer needs a name."), fields={"customer": [_("Empty name.")]})
    return Customer.objects.get_or_create(name=name)[0]


__all__ = [
    "Actor",
    "CriterionIn",
    "TITLE_MAX",
    "department_policy",
    "known_names",
    "progress_roll_up",
    "rolled_up_progress",
    "customer_get_or_create",
    "project_get_or_create",
    "record_event",
    "task_cancel",
    "task_collaborator_add",
    "task_collaborator_remove",
    "task_create",
    "task_reassign",
    "task_transition",
    "task_update",
]
