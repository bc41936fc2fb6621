"""Meeting minutes (会议纪要) and their action items."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.collab.models import (
    ActionItem,
    Minutes,
)
from closeloop.collab.permissions import sees_task
from closeloop.collab.services.common import MAX_ACTION_ITEMS, NOTES_MAX, TITLE_MAX, _task_row, _text
from closeloop.core.errors import Conflict, NotAllowed, NotFound, raise_if_errors
from closeloop.notify.services import notify
from closeloop.orgs.models import Department, User
from closeloop.orgs.selectors import is_member
from closeloop.tasks.models import Task
from closeloop.tasks.services import CriterionIn, record_event, task_create
from closeloop.tasks.states import CLOSED_STATUSES


@dataclass
class ActionItemIn:
    title: str
    owner: User | None
    due_date: date | None


def minutes_create(
    *,
    actor: User,
    title: str,
    held_on: date | None,
    attendees: Sequence[User],
    notes: str = "",
    decisions: str = "",
    task: Task | None = None,
    department: Department | None = None,
    action_items: Sequence[ActionItemIn] = (),
) -> Minutes:
    """Record a meeting (会议纪要) on a task (anyone who sees it) or on a department (its
    members). Each action item needs a title, an owner and a due date; attendees and owners
    receive the summary (decisions and action items) so every party reads the same
    conclusions. ValidationFailed names the field (`action_items.N.owner`, counting from 1)."""
    if task is not None:
        task = _task_row(task)
        if not sees_task(actor, task):
            raise NotFound(_("Task not found."))
        department = task.department
    errors: dict[str, list[str]] = {}
    if department is None:
        errors["department"] = [_("Attach the minutes to a task or a department.")]
    elif task is None and not is_member(actor, department.pk):
        raise NotAllowed(_("Only members of the department record its minutes."))
    title = _text(errors, "title", title, limit=TITLE_MAX, required=_("Give the meeting a title."))
    if held_on is None:
        errors["held_on"] = [_("Give the date of the meeting.")]
    elif not date(1900, 1, 1) <= held_on <= date(2100, 12, 31):
        errors["held_on"] = [_("Give a date between 1900 and 2100.")]
    if not attendees:
        errors["attendees"] = [_("Name at least one attendee.")]
    notes = _text(errors, "notes", notes, limit=NOTES_MAX)
    decisions = _text(errors, "decisions", decisions, limit=NOTES_MAX)
    if len(action_items) > MAX_ACTION_ITEMS:
        errors["action_items"] = [_("At most %(n)s action items.") % {"n": MAX_ACTION_ITEMS}]
    items: list[ActionItemIn] = []
    for i, item in enumerate(action_items, start=1):
        sub: dict[str, list[str]] = {}
        t = _text(sub, "title", item.title, limit=TITLE_MAX, required=_("Say what is to be done."))
        if item.owner is None:
            sub["owner"] = [_("Name the owner.")]
        if item.due_date is None:
            sub["due_date"] = [_("Give a due date.")]
        elif not date(1900, 1, 1) <= item.due_date <= date(2100, 12, 31):
            sub["due_date"] = [_("Give a date between 1900 and 2100.")]
        for key, msgs in sub.items():
            errors[f"action_items.{i}.{key}"] = msgs
        items.append(ActionItemIn(title=t, owner=item.owner, due_date=item.due_date))
    raise_if_errors(errors)
    assert department is not None
    now = timezone.now()
    with transaction.atomic():
        minutes = Minutes.objects.create(
            task=task,
            department=department,
            title=title,
            held_on=held_on,
            notes=notes,
            decisions=decisions,
            created_by=actor,
            created_at=now,
        )
        minutes.attendees.set({u.pk for u in attendees})
        ActionItem.objects.bulk_create(
            ActionItem(minutes=minutes, title=i.title, owner=i.owner, due_date=i.due_date) for i in items
        )
        if task is not None:
            record_event(
                task=task, actor=actor, verb="minutes_recorded", after={"minutes": minutes.pk, "title": title}
            )
        summary = "\n".join(
            [decisions, *(f"- {i.title} · {i.owner.display_name} · {i.due_date.isoformat()}" for i in items)]
        ).strip()
        notify(
            recipients=[*attendees, *(i.owner for i in items)],
            kind="minutes.shared",
            data={
                "minutes": minutes.pk,
                "title": title,
                "date": held_on.isoformat(),
                "by": actor.display_name,
                "note": summary,
                **({"task": task.pk, "code": task.full_code} if task else {}),
            },
            link=minutes.get_absolute_url(),
            actor=actor,
            department=department,
        )
    return minutes


def action_item_to_task(*, actor: User, item: ActionItem) -> Task:
    """Turn an action item into work in one step: a subtask of the minutes' task (the actor
    needs edit rights on it), or a task of the minutes' department (the actor must be a
    member) — with the item's owner, due date and title, and a criterion naming the
    minutes. Links the item to the new task; a second call answers Conflict."""
    item = ActionItem.objects.select_related("minutes__task", "minutes__department", "owner").get(pk=item.pk)
    if item.task_id is not None:
        raise Conflict(_("This action item is already a task."), code="already_a_task")
    minutes = item.minutes
    parent = minutes.task
    if parent is not None and parent.status in CLOSED_STATUSES:
        parent = None
    with transaction.atomic():
        task = task_create(
            actor=actor,
            department=parent.department if parent else minutes.department,
            parent=parent,
            title=item.title,
            owner=item.owner,
            due_date=item.due_date,
            goal=_("Action item of the meeting %(title)s on %(date)s.")
            % {"title": minutes.title, "date": minutes.held_on.isoformat()},
            criteria=[CriterionIn(text=_("Done as agreed in the meeting minutes."))],
        )
        rows = ActionItem.objects.filter(pk=item.pk, task__isnull=True).update(task=task)
        if rows != 1:
            raise Conflict(_("This action item is already a task."), code="already_a_task")
    return task
