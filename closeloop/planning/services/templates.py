"""Decomposition templates: save a task's subtasks as a department template, validate one,
and lay a template out as subtasks of a task. Same rules as `tasks.services`.
"""

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.dates import CALENDAR_MIN, DATE_MAX
from closeloop.core.errors import NotAllowed, ValidationFailed, raise_if_errors
from closeloop.core.ids import is_id
from closeloop.orgs.calendar import add_workdays, next_workday, workdays_between
from closeloop.orgs.models import Department, User
from closeloop.planning.services.decomposition import _require_edit, milestone_date_errors, subtask_add
from closeloop.tasks import permissions
from closeloop.tasks.models import (
    AcceptanceCriterion,
    DecompositionTemplate,
    Milestone,
    Task,
    TaskDependency,
)
from closeloop.tasks.services import (
    CriterionIn,
    record_event,
)

# A step further away than this (about four years of working days) is a typo.
STEP_MAX_WORKDAYS = 1000
# -- decomposition templates -----------------------------------------------------------------


def _span(start: date | None, due: date) -> int:
    return max(0, workdays_between(start, due)) if start else 0


def template_save(*, actor: User, task: Task, name: str) -> DecompositionTemplate:
    """Save the direct subtasks of `task` as a template of its department: each step's offset
    and length in working days, its dependencies, criteria and weight, and the milestones.

    Templates are the department's shared things: only its members (and those who lead it)
    save or overwrite one, never someone from another department who owns or helps on one of
    its tasks (docs/architecture.md "Need-to-know"; issue 11). Raises `NotAllowed` (403)."""
    if not permissions.can_create_in(actor, task.department_id):
        raise NotAllowed(_("Only members of the department can save templates."))
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(
            _("name: A template needs a name."), fields={"name": [_("A template needs a name.")]}
        )
    children = list(Task.objects.filter(parent=task).exclude(status="cancelled").order_by("id"))
    if not children:
        raise ValidationFailed(
            _("The task has no subtasks to save."), fields={"name": [_("Add subtasks first.")]}
        )
    base = task.start_date or min((c.start_date or c.due_date) for c in children)
    position = {c.pk: i for i, c in enumerate(children)}
    deps = TaskDependency.objects.filter(successor__in=children, predecessor__in=children).values_list(
        "predecessor_id", "successor_id"
    )
    after: dict[int, list[int]] = {}
    for pred, succ in deps:
        after.setdefault(position[succ], []).append(position[pred])
    criteria: dict[int, list[str]] = {}
    for tid, text in AcceptanceCriterion.objects.filter(task__in=children).values_list("task_id", "text"):
        criteria.setdefault(tid, []).append(text)
    items = []
    for i, c in enumerate(children):
        start = c.start_date or c.due_date
        items.append(
            {
                "title": c.title,
                "offset": max(0, workdays_between(base, start)) if start >= base else 0,
                "duration": _span(start, c.due_date),
                "after": sorted(after.get(i, [])),
                "criteria": criteria.get(c.pk, []),
                "weight": c.weight,
            }
        )
    milestones = [
        {"title": m.title, "offset": workdays_between(base, m.date)}
        for m in Milestone.objects.filter(task=task)
    ]
    with transaction.atomic():
        template, _created = DecompositionTemplate.objects.update_or_create(
            department=task.department,
            name=name[:200],
            defaults={"items": items, "milestones": milestones, "created_by": actor},
        )
        record_event(task=task, actor=actor, verb="template_saved", after={"template": template.name})
    return template


def template_validate(items: Any) -> list[dict]:
    """Check a template's items as given through the API; answers the cleaned list."""
    errors: dict[str, list[str]] = {}
    if not isinstance(items, list) or not items:
        errors["items"] = [_("A template needs at least one step.")]
        raise_if_errors(errors)
    clean = []
    for i, item in enumerate(items, start=1):
        key = f"items.{i}"
        title = str(item.get("title", "")).strip() if isinstance(item, dict) else ""
        if not title:
            errors.setdefault(key, []).append(_("Step %(n)s needs a title.") % {"n": i})
            continue
        if "\x00" in title:
            errors.setdefault(key, []).append(_("The text contains a NUL character."))
            continue
        try:
            offset = int(item.get("offset", 0))
            duration = int(item.get("duration", 0))
            weight = int(item.get("weight", 1))
        except (TypeError, ValueError, OverflowError):
            errors.setdefault(key, []).append(
                _("Step %(n)s: offset, duration and weight are numbers.") % {"n": i}
            )
            continue
        after = [int(a) - 1 for a in item.get("after", []) if is_id(a)]
        if offset > STEP_MAX_WORKDAYS or duration > STEP_MAX_WORKDAYS:
            errors.setdefault(key, []).append(
                _("Step %(n)s: offsets and durations are at most %(max)s working days.")
                % {"n": i, "max": STEP_MAX_WORKDAYS}
            )
            continue
        if offset < 0 or duration < 0 or not 1 <= weight <= 100 or any(a < 0 or a >= i - 1 for a in after):
            errors.setdefault(key, []).append(
                _("Step %(n)s: offsets and durations are not negative; it may only follow earlier steps.")
                % {"n": i}
            )
        clean.append(
            {
                "title": title[:200],
                "offset": offset,
                "duration": duration,
                "after": after,
                "criteria": [str(c) for c in item.get("criteria", []) if str(c).strip()],
                "weight": weight,
            }
        )
    raise_if_errors(errors)
    return clean


def template_create(*, actor: User, department: Department, name: str, items: Any) -> DecompositionTemplate:
    if not permissions.can_create_in(actor, department.pk):
        raise NotAllowed(_("Only members of the department can save templates."))
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(
            _("name: A template needs a name."), fields={"name": [_("A template needs a name.")]}
        )
    clean = template_validate(items)
    template, _created = DecompositionTemplate.objects.update_or_create(
        department=department, name=name[:200], defaults={"items": clean, "created_by": actor}
    )
    return template


def template_apply(
    *,
    actor: User,
    template: DecompositionTemplate,
    task: Task,
    start: date | None = None,
    owners: dict[int, User] | None = None,
) -> list[Task]:
    """Create the template's steps under `task`, laid out on working days from `start` (the
    task's start date, or its next working day): a step `offset` working days in, lasting
    `duration` working days, with its dependencies, criteria and weight; owners from `owners`
    (by step position) or the task's owner. Warnings (a step due after the task) show on the
    task page; a step's dates are not refused. The template's milestones are the task's and
    follow the milestone rule (`milestone_date_errors`): one that would fall after the task's
    due date or outside the calendar's years refuses the whole apply (ValidationFailed on
    `start`, naming the milestone and the due date), before anything is written."""
    _require_edit(
        actor, task, _("Only the owner, the initiator or the department head can decompose this task.")
    )
    far = [
        i
        for i, item in enumerate(template.items, start=1)
        if not all(
            isinstance(item.get(k, 0), int) and abs(item.get(k, 0)) <= STEP_MAX_WORKDAYS
            for k in ("offset", "duration")
        )
    ] + [
        i
        for i, m in enumerate(template.milestones or [], start=1)
        if not (isinstance(m.get("offset", 0), int) and abs(m.get("offset", 0)) <= STEP_MAX_WORKDAYS)
    ]
    if far:
        raise ValidationFailed(
            _("Step %(n)s of the template is more than %(max)s working days away; fix the template first.")
            % {"n": far[0], "max": STEP_MAX_WORKDAYS},
            fields={"template": [_("A step is too far away.")]},
        )
    base = next_workday(start or task.start_date or timezone.localdate(), include=True)
    milestones = [(m["title"], add_workdays(base, m.get("offset", 0))) for m in template.milestones or []]
    for title, day in milestones:
        bad: dict[str, list[str]] = {}
        if not milestone_date_errors(bad, task, day):
            continue
        if CALENDAR_MIN <= day <= DATE_MAX:
            message = _(
                "The template's milestone “%(title)s” would fall on %(date)s, after the task's due date"
                " %(due)s: start the steps earlier, or move the due date first."
            ) % {"title": title, "date": day.isoformat(), "due": task.due_date.isoformat()}
        else:
            message = _(
                "The template's milestone “%(title)s” would fall on %(date)s, outside %(min)s – %(max)s:"
                " choose another start."
            ) % {
                "title": title,
                "date": day.isoformat(),
                "min": CALENDAR_MIN.isoformat(),
                "max": DATE_MAX.isoformat(),
            }
        raise ValidationFailed(message, fields={"start": [message]})
    owners = owners or {}
    created: list[Task] = []
    with transaction.atomic():
        for i, item in enumerate(template.items):
            s = add_workdays(base, item.get("offset", 0)) if item.get("offset", 0) else base
            d = add_workdays(s, item.get("duration", 0)) if item.get("duration", 0) else s
            sub = subtask_add(
                actor=actor,
                parent=task,
                title=item["title"],
                owner=owners.get(i, task.owner),
                start_date=s,
                due_date=d,
                criteria=[CriterionIn(text=c) for c in item.get("criteria", [])],
                weight=item.get("weight", 1),
            )
            created.append(sub)
        for i, item in enumerate(template.items):
            for a in item.get("after", []):
                if 0 <= a < len(created) and a != i:
                    TaskDependency.objects.get_or_create(
                        predecessor=created[a], successor=created[i], defaults={"created_by": actor}
                    )
        for title, day in milestones:
            Milestone.objects.create(task=task, title=title, date=day, created_by=actor)
        record_event(
            task=task,
            actor=actor,
            verb="template_applied",
            after={"template": template.name, "subtasks": [t.code for t in created]},
        )
    return created
