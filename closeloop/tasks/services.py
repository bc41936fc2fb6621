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
from django.utils.translation import ngettext

from closeloop.core import compiled
from closeloop.core.errors import Conflict, NotAllowed, ValidationFailed, raise_if_errors
from closeloop.notify.services import Message, notify, notify_batch
from closeloop.orgs.models import Department, User
from closeloop.tasks import completions, extensions, permissions
from closeloop.tasks.models import (
    AcceptanceCriterion,
    AdhocCategory,
    Customer,
    Milestone,
    Priority,
    Project,
    Source,
    Task,
    TaskCollaborator,
    TaskEvent,
    TaskType,
)
from closeloop.tasks.search import task_index_text
from closeloop.tasks.states import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    TRANSITIONS,
    Actor,
    Status,
    goes_with_parent,
    targets_from,
)
from closeloop.tasks.validation import (
    MAX_DEPTH,
    REASON_MAX,
    TEXT_MAX,
    TITLE_MAX,
    CriterionIn,
    _check_fields,
    _check_intake,
    _clean_criteria,
    date_in_range,
    department_policy,
    known_names,
    reviewer_errors,
    text_errors,
)
from closeloop.tasks.visibility import subtree_q

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


def record_events(events: list[TaskEvent]) -> list[TaskEvent]:
    """Append many unsaved events (`TaskEvent(task=…, actor=…, verb=…, after=…, note=…)`) to
    the event log in one insert per batch of the database's parameter limit — for the job
    sweeps that record one event per issue or task. Call inside the caller's transaction."""
    for event in events:
        if event.pk is not None:
            raise ValueError("Task events are append-only.")
    return TaskEvent.objects.bulk_create(events)


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a field value for the event log."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "pk"):
        return value.pk
    return value


LONG_TEXT_FIELDS = ("goal", "expected_outcome", "value", "notes")


def _check_texts(errors: dict[str, list[str]], texts: dict[str, str | None]) -> None:
    for field, text in texts.items():
        text_errors(errors, field, text, TEXT_MAX)


def _criterion_key(c: AcceptanceCriterion) -> tuple:
    threshold = c.threshold.normalize() if c.threshold is not None else None
    return (c.text, c.metric, c.comparator, threshold, c.unit)


def _differs(task: Task, field: str, value: Any) -> bool:
    if field in ("reviewer", "project", "customer"):
        return getattr(task, f"{field}_id") != (value.pk if value is not None else None)
    return getattr(task, field) != value


def stale_version(*, now: int | None = None, sent: int | None = None) -> Conflict:
    """The 409 `version_conflict` for a change made against a task that moved since it was
    read. Worded neutrally: the other change is often the person's own, in another tab or
    window, so it blames nobody. `now` and `sent` (the task's version and the one the caller
    read), when known, go in `fields["version"]` — the API's clients read them there — not in
    the message, which pages (the board's moves among them) show to people."""
    message = _(
        "This task was changed elsewhere (perhaps by you in another window); reload it and try again."
    )
    fields = {}
    if now is not None:
        fields["version"] = [
            _("The task is at version %(now)s; you sent %(sent)s.") % {"now": now, "sent": sent}
        ]
    return Conflict(message, code="version_conflict", fields=fields)


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
    if reviewer is not None:
        reviewer_errors(
            errors=errors,
            reviewer=reviewer,
            department=parent.department if parent is not None else department,
            owner=owner,
        )
    _check_texts(errors, {"goal": goal, "expected_outcome": expected_outcome, "value": value, "notes": notes})
    if parent is not None and parent.depth + 1 > MAX_DEPTH:
        errors.setdefault("parent", []).append(
            _("Subtasks nest at most %(n)s levels deep; add this one higher up.") % {"n": MAX_DEPTH}
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
            if locked_parent.status in CLOSED_STATUSES:
                # Closed since it was read (a cancel takes its open subtasks along and
                # leaves none to add under it: `task_transition`).
                raise_if_errors({"parent": [_("The parent task is closed.")]})
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
            [
                TaskCollaborator(
                    task=task, user=u, added_by=actor, task_department=department, task_open=True
                )
                for u in collab
            ]
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
    reason: str = "",
    **changes: Any,
) -> Task:
    """Edit a task's fields (owner, initiator, head or deputy). Compare-and-sets on `version`.

    The due date (DESIGN.md "Who may do what"): the initiator, head or deputy move it directly
    and must give `reason` (kept in the event log, ValidationFailed on `reason` without one);
    the owner never does (ValidationFailed on `due_date`: they raise a delay warning).
    `original_due_date` is never touched; the owner and the head are notified and successors
    whose start the new date passes are warned (`due_date_moved`). The reviewer is named by the
    initiator, head or deputy only, and only a lead or manager/supervisor of the department
    (`validation.reviewer_errors`). Progress is the owner's, on leaf tasks only."""
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
            raise stale_version()
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
        for f in ("start_date", "due_date"):
            # A row from before the date checks keeps working (progress, notes…) until the
            # date itself is corrected; only a date being written must be in range.
            if f not in changed and not date_in_range(getattr(current, f)):
                errors.pop(f, None)
        if "due_date" in changed:
            if not permissions.can_move_due_date(actor, current):
                errors.setdefault("due_date", []).append(
                    _(
                        "Only the initiator or the department head can move the due date; raise a delay warning instead."
                    )
                )
            elif not (reason or "").strip():
                errors.setdefault("reason", []).append(_("Say why the due date moves."))
            elif len(reason) > REASON_MAX or "\x00" in reason:
                errors.setdefault("reason", []).append(_("The reason is longer than 500 characters."))
        if "reviewer" in changed:
            if not permissions.can_reassign(actor, current):
                errors.setdefault("reviewer", []).append(
                    _("Only the initiator or the department head names the reviewer.")
                )
            elif changed["reviewer"] is not None:
                reviewer_errors(
                    errors=errors,
                    reviewer=changed["reviewer"],
                    department=current.department,
                    owner=current.owner,
                )
        if "progress" in changed:
            p = changed["progress"]
            if actor.pk != current.owner_id:
                errors.setdefault("progress", []).append(_("Only the owner reports progress."))
            elif not isinstance(p, int) or not 0 <= p <= 100:
                errors.setdefault("progress", []).append(_("Progress is a whole number from 0 to 100."))
            elif current.has_subtasks():
                errors.setdefault("progress", []).append(
                    _("A task with subtasks takes its progress from them.")
                )
        if "weight" in changed and (
            not isinstance(changed["weight"], int) or not 1 <= changed["weight"] <= 100
        ):
            errors.setdefault("weight", []).append(_("The weight is a whole number from 1 to 100."))
        _check_texts(errors, {k: v for k, v in changed.items() if k in LONG_TEXT_FIELDS})
        criterion_rows = _clean_criteria(criteria, errors) if criteria is not None else None
        if criterion_rows is not None and not criterion_rows and current.parent_id is None:
            errors.setdefault("criteria", []).append(_("Write at least one acceptance criterion."))
        raise_if_errors(errors)

        if not changed and criterion_rows is None:
            return current
        updates = dict(changed)
        if "title" in updates:
            updates["title"] = updates["title"].strip()
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
            raise stale_version()
        before = {k: _plain(getattr(current, k)) for k in changed if k != "due_date"}
        after = {k: _plain(v) for k, v in changed.items() if k != "due_date"}
        if criterion_rows is not None:
            existing = list(AcceptanceCriterion.objects.filter(task=current).order_by("position", "id"))
            if [_criterion_key(c) for c in existing] != [_criterion_key(c) for c in criterion_rows]:
                # Criteria may be frozen (review: from the first submission on).
                extensions.check_criteria_change(actor, current)
                AcceptanceCriterion.objects.filter(task=current).delete()
                for row in criterion_rows:
                    row.task = current
                AcceptanceCriterion.objects.bulk_create(criterion_rows)
                before["criteria"] = [c.text for c in existing]
                after["criteria"] = [r.text for r in criterion_rows]
        if before or after:
            record_event(task=current, actor=actor, verb="updated", before=before, after=after)
        if "due_date" in changed:
            old_due = current.due_date
            current.due_date = changed["due_date"]
            # The message names the task as it is now (a title changed in the same edit).
            current.title = updates.get("title", current.title)
            record_event(
                task=current,
                actor=actor,
                verb="due_date_changed",
                before={"due_date": old_due.isoformat()},
                after={"due_date": current.due_date.isoformat()},
                note=reason.strip(),
            )
            dept = current.department
            notify(
                recipients=[u for u in (current.owner, dept.head) if u is not None],
                kind="task.due_date_changed",
                data=task_message(
                    current, actor, due=current.due_date.isoformat(), old_due=old_due.isoformat(), note=reason
                ),
                link=current.get_absolute_url(),
                actor=actor,
            )
            due_date_moved(actor=actor, task=current, old_due=old_due)
        if current.parent_id and ({"progress", "weight"} & set(changed)):
            progress_roll_up(actor=actor, task=current)
    return Task.objects.select_related("department", "owner", "initiator", "reviewer").get(pk=task.pk)


def successors_passed(task: Task) -> list[Task]:
    """Open finish-to-start successors of `task` that would start on or before its due date:
    their plan no longer holds (DESIGN.md "The loop" 2)."""
    return list(
        Task.objects.filter(
            predecessor_links__predecessor_id=task.pk,
            start_date__isnull=False,
            start_date__lte=task.due_date,
        )
        .exclude(status__in=CLOSED_STATUSES)
        .select_related("owner")
        .order_by("id")
    )


def due_date_moved(*, actor: User | None, task: Task, old_due: date) -> list[Task]:
    """After `task.due_date` moved from `old_due` (by `task_update` or an approved delay
    warning): warn the owner of each open successor whose start the new date now reaches
    (kind `task.dependency_slipped`), once per move. Returns those successors. Call inside the
    writing transaction, with `task.due_date` already the new date."""
    if task.due_date <= old_due:
        return []
    hit = [s for s in successors_passed(task) if s.start_date > old_due]
    for succ in hit:
        notify(
            recipients=[succ.owner],
            kind="task.dependency_slipped",
            data={
                "task": succ.pk,
                "code": succ.full_code,
                "title": succ.title,
                "by": actor.display_name if actor is not None else "",
                "pred": task.full_code,
                "due": task.due_date.isoformat(),
                "start": succ.start_date.isoformat(),
            },
            link=succ.get_absolute_url(),
            actor=actor,
        )
    return hit


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
            task=task,
            user=user,
            defaults={
                "added_by": actor,
                "task_department_id": task.department_id,
                "task_open": task.status not in CLOSED_STATUSES,
            },
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


def open_predecessors(task: Task) -> list[Task]:
    """Finish-to-start predecessors of `task` not finished yet (neither done nor cancelled),
    by id, with their departments. The query is compiled once per connection
    (`core.compiled`; the task page of a 未开始 task asks it)."""
    return compiled.rows("services.open_predecessors", Task, _open_predecessors_query, (task.pk,))


def _open_predecessors_query(pk: int):
    return (
        Task.objects.filter(successor_links__successor_id=pk)
        .exclude(status__in=CLOSED_STATUSES)
        .select_related("department")
        .order_by("id")
    )


def open_subtasks(task: Task) -> list[Task]:
    """The children of `task` neither done nor cancelled."""
    return list(
        Task.objects.filter(parent_id=task.pk)
        .exclude(status__in=CLOSED_STATUSES)
        .select_related("department")
        .order_by("id")
    )


def _codes(tasks: Sequence[Task]) -> str:
    return "、".join(f"{t.full_code} {t.title}" for t in tasks)


def task_transition(
    *,
    actor: User,
    task: Task,
    to: str,
    note: str = "",
    override_dependencies: bool = False,
    expected_subtasks: int | None = None,
) -> Task:
    """Move a task along the status machine (`states.TRANSITIONS`). Refuses a move the table
    does not have (naming the allowed ones) or one the actor may not take. Compare-and-sets
    the status: if another request moved the task first, answers Conflict, never overwrites.

    Cancelling (已取消, DESIGN.md: "cancelled from any open state", by whoever may cancel the
    task) cancels its open subtasks at every depth with it, in the same transaction — nothing
    stays open under a cancelled task. Each gets its own `status_changed` event (`after`:
    `with_parent` = the cancelled task's id; the reason as note), loses its at-risk flag,
    collaborator links and milestones as a directly cancelled task does, and goes through the
    close hooks; a subtask the table does not let become 已取消 (已完成) is left as it is
    (`states.goes_with_parent`). The returned task carries `cancelled_subtasks` and
    `left_subtasks` (lists of Task, department and owner loaded; empty for other moves). The
    subtasks are locked deepest first, before the task itself (the order of a subtask's
    roll-up: no deadlock with it); a subtask added under the tree meanwhile is caught by a last
    look and answers Conflict `version_conflict`. `expected_subtasks` (the number of open
    subtasks the canceller was shown) answers Conflict `subtasks_changed` when it is no longer
    that number. Queries: a fixed number whatever the number of subtasks, their owners,
    collaborators and milestones (one read and lock, one UPDATE, one insert of the events, one
    `notify_batch`, the close hooks reading for all the tasks at once; pinned for 2 and 6
    subtasks in `tasks/tests/test_cancel_subtasks.py`); two more than before for a task
    without subtasks (the read below it and the last look).

    Starting a task whose finish-to-start predecessor is open is refused (Conflict
    `predecessor_open`, naming it) unless a head or deputy overrode it (`dependency_override`,
    or `override_dependencies=True` when the actor leads the department: recorded as an event).
    Submitting a task with an open subtask is refused (Conflict `subtask_open`, naming it).
    Starting a subtask starts its 未开始 ancestors (DESIGN.md "The loop" 2). Closing a task
    (已完成, 已取消) clears its at-risk flag and runs the apps' close hooks
    (`extensions.task_closed`: tracking closes its pending delay warnings) in the same
    transaction."""
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

    overriding = False
    if target == Status.IN_PROGRESS and source == Status.NOT_STARTED:
        waiting = open_predecessors(task)
        if waiting and not TaskEvent.objects.filter(task=task, verb="dependency_overridden").exists():
            if override_dependencies and permissions.can_override_dependencies(actor, task):
                overriding = True
            else:
                raise Conflict(
                    _("%(code)s waits for %(preds)s to finish first; ask the department head to override.")
                    % {"code": task.full_code, "preds": _codes(waiting)},
                    code="predecessor_open",
                )
    if target == Status.SUBMITTED:
        children = open_subtasks(task)
        if children:
            raise Conflict(
                _("Subtasks still open: %(subs)s. Finish or cancel them before submitting.")
                % {"subs": _codes(children)},
                code="subtask_open",
            )

    now = timezone.now()
    updates: dict[str, Any] = {"status": target, "version": F("version") + 1, "updated_at": now}
    stamp = _TIMESTAMP_ON.get(target)
    if stamp and not (stamp == "started_at" and task.started_at):
        updates[stamp] = now
    if target == Status.DONE and not Task.objects.filter(parent=task).exists():
        updates["progress"] = 100
    if target in CLOSED_STATUSES:
        # A closed task is never at risk: its copy of the forecast's flag goes with the
        # forecast (tracking drops that in its close hook).
        updates["at_risk"] = False
    taken: list[Task] = []  # open subtasks cancelled with the task
    left: list[Task] = []  # subtasks that cannot become 已取消 (已完成): left as they are
    with transaction.atomic():
        if target == Status.CANCELLED:
            taken, left = _subtasks_to_cancel(task)
            if expected_subtasks is not None and expected_subtasks != len(taken):
                raise Conflict(
                    ngettext(
                        "The task now has %(n)s open subtask (you were shown %(seen)s): check, then cancel again.",
                        "The task now has %(n)s open subtasks (you were shown %(seen)s): check, then cancel again.",
                        len(taken),
                    )
                    % {"n": len(taken), "seen": expected_subtasks},
                    code="subtasks_changed",
                )
        rows = Task.objects.filter(pk=task.pk, status=source, version=task.version).update(**updates)
        if rows != 1:
            raise stale_version()
        closing = [task]
        if taken:
            Task.objects.filter(pk__in=[t.pk for t in taken]).update(
                status=Status.CANCELLED,
                version=F("version") + 1,
                updated_at=now,
                cancelled_at=now,
                at_risk=False,
            )
            closing += taken
        closing_ids = [t.pk for t in closing]
        if target == Status.CANCELLED and _open_below(task):
            # A subtask was added under the tree after it was read (PostgreSQL reads what
            # was committed before each statement): nothing may stay open below.
            raise stale_version()
        if target in CLOSED_STATUSES:
            # The links' copy of "open" (TaskCollaborator.task_open); closed is final.
            TaskCollaborator.objects.filter(task_id__in=closing_ids, task_open=True).update(task_open=False)
            # What the apps to the right keep about open work ends with it, whichever path
            # closed the task (review's acceptance, a cancel, an import): `extensions.task_closed`.
            extensions.task_closed(closing, actor=actor, status=target, now=now)
        if target == Status.CANCELLED:
            # The milestones' copy (Milestone.task_cancelled): 日历 leaves them out by it.
            Milestone.objects.filter(task_id__in=closing_ids).update(task_cancelled=True)
        if target == Status.DONE:
            completions.record(task, now)
        events = []
        if overriding:
            events.append(TaskEvent(task=task, actor=actor, verb="dependency_overridden", note=note))
        after: dict[str, Any] = {"status": target}
        if taken:
            after["with_subtasks"] = [t.pk for t in taken]
        events.append(
            TaskEvent(
                task=task,
                actor=actor,
                verb="status_changed",
                before={"status": source},
                after=after,
                note=note,
            )
        )
        events += [
            TaskEvent(
                task=sub,
                actor=actor,
                verb="status_changed",
                before={"status": sub.status},
                after={"status": Status.CANCELLED, "with_parent": task.pk},
                note=note,
            )
            for sub in taken
        ]
        record_events(events)
        _notify_transition(actor=actor, task=task, target=target, note=note, taken=taken)
        if task.parent_id and target in (Status.DONE, Status.CANCELLED):
            progress_roll_up(actor=actor, task=task)
        if task.parent_id and target == Status.IN_PROGRESS:
            _start_ancestors(actor=actor, task=task, now=now)
    moved = Task.objects.select_related("department", "owner", "initiator", "reviewer").get(pk=task.pk)
    moved.cancelled_subtasks, moved.left_subtasks = taken, left
    return moved


def transition_summary(task: Task) -> str:
    """What a move did, in a sentence or three for the person who made it (the page's message,
    the API's `message`): the status now and, for a cancel, how many open subtasks went with it
    and how many were left as they are. `task` as `task_transition` returns it."""
    said = [_("The task is now “%(status)s”.") % {"status": Status(task.status).label}]
    taken, left = len(getattr(task, "cancelled_subtasks", ())), len(getattr(task, "left_subtasks", ()))
    if taken:
        said.append(
            ngettext(
                "%(n)s open subtask was cancelled with it.",
                "%(n)s open subtasks were cancelled with it.",
                taken,
            )
            % {"n": taken}
        )
    if left:
        said.append(
            ngettext(
                "%(n)s subtask was already done and is left as it is.",
                "%(n)s subtasks were already done and are left as they are.",
                left,
            )
            % {"n": left}
        )
    return " ".join(said)


def _subtasks_to_cancel(task: Task) -> tuple[list[Task], list[Task]]:
    """The subtasks at every depth below `task` that cancelling it takes along (open ones)
    and those it leaves as they are (已完成), each in tree order, department and owner
    loaded (`states.goes_with_parent`). Locks them on PostgreSQL deepest first (a subtask's
    own moves lock it, then its ancestors: the same order). One query."""
    below = list(
        Task.objects.filter(subtree_q(task.path))
        .exclude(pk=task.pk)
        .exclude(status=Status.CANCELLED)
        .select_related("department", "owner")
        .select_for_update(of=("self",))
        .order_by("-path")
    )
    below.reverse()
    taken = [t for t in below if goes_with_parent(t.status)]
    left = [t for t in below if goes_with_parent(t.status) is False]
    return taken, left


def _open_below(task: Task) -> bool:
    """Is anything below `task` still open (one query)."""
    return (
        Task.objects.filter(subtree_q(task.path))
        .exclude(pk=task.pk)
        .filter(status__in=OPEN_STATUSES)
        .exists()
    )


def _start_ancestors(*, actor: User, task: Task, now: datetime) -> None:
    """A parent follows its subtasks: each 未开始 ancestor of a started subtask becomes 进行中,
    with an event saying which subtask started it."""
    ids = task.ancestor_ids() if task.path else Task.objects.get(pk=task.pk).ancestor_ids()
    for ancestor_id in reversed(ids):
        rows = Task.objects.filter(pk=ancestor_id, status=Status.NOT_STARTED).update(
            status=Status.IN_PROGRESS,
            started_at=now,
            version=F("version") + 1,
            updated_at=now,
        )
        if rows != 1:
            continue  # already started (or closed)
        record_event(
            task=Task(pk=ancestor_id),
            actor=actor,
            verb="status_changed",
            before={"status": Status.NOT_STARTED},
            after={"status": Status.IN_PROGRESS, "by_subtask": task.pk},
            note=_("Started with its subtask %(code)s.") % {"code": task.full_code},
        )


def dependency_override(*, actor: User, task: Task, note: str) -> TaskEvent:
    """The head or deputy lets `task` start before its finish-to-start predecessors are done
    (a reason is required). Recorded as a `dependency_overridden` event; the owner is told."""
    if not permissions.can_override_dependencies(actor, task):
        raise NotAllowed(
            _("Only the department head or deputy can let a task start before its predecessors.")
        )
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    if not note:
        errors["note"] = [_("Say why the task may start before its predecessors are done.")]
    else:
        text_errors(errors, "note", note, REASON_MAX)
    raise_if_errors(errors)
    with transaction.atomic():
        event = record_event(task=task, actor=actor, verb="dependency_overridden", note=note)
        notify(
            recipients=[task.owner],
            kind="task.dependency_overridden",
            data=task_message(task, actor, note=note),
            link=task.get_absolute_url(),
            actor=actor,
        )
    return event


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


# How many of a person's subtasks a cancel message lists by name (the rest as a number).
CANCELLED_SUBTASKS_LISTED = 10


def _notify_transition(
    *, actor: User, task: Task, target: Status, note: str, taken: Sequence[Task] = ()
) -> None:
    """Tell those a move concerns (`notify.kinds`, rendered at delivery). A cancel tells the
    task's owner and collaborators (`task.cancelled`, with how many open subtasks went with
    it), and each owner of a subtask cancelled with it once — however many of the subtasks
    they own, and not again when they are told of the task itself — naming their subtasks.
    One `notify_batch`: a fixed number of queries for any number of subtasks."""
    data = task_message(task, actor, note=note)
    link = task.get_absolute_url()
    if target == Status.SUBMITTED:
        notify(
            recipients=permissions.acceptors(task), kind="task.submitted", data=data, link=link, actor=actor
        )
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
        if taken:
            data["subtask_count"] = len(taken)
        messages = [Message(recipients=people, data=data, link=link)]
        told = {p.pk for p in people}
        by_owner: dict[int, list[Task]] = {}
        for sub in taken:
            if sub.owner_id not in told:
                by_owner.setdefault(sub.owner_id, []).append(sub)
        for subs in by_owner.values():
            listed = [{"task": s.pk, "code": s.full_code, "title": s.title} for s in subs]
            messages.append(
                Message(
                    recipients=[subs[0].owner],
                    data={**data, "subtasks": listed[:CANCELLED_SUBTASKS_LISTED], "mine": len(subs)},
                    link=link,
                )
            )
        notify_batch(kind="task.cancelled", messages=messages, actor=actor)


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
    "dependency_override",
    "due_date_moved",
    "open_predecessors",
    "open_subtasks",
    "project_get_or_create",
    "record_event",
    "task_cancel",
    "task_collaborator_add",
    "task_collaborator_remove",
    "task_create",
    "task_reassign",
    "task_transition",
    "task_update",
    "transition_summary",
]
