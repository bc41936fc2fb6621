"""Writes of intake and decomposition (DESIGN.md "The loop" 1 and 2): quick capture of ad-hoc
work, subtasks, finish-to-start dependencies, milestones, decomposition templates, recurring
routine work, comments with @mentions, hand-over of a person's tasks and the department's
intake policy. Same rules as `services`: keyword-only, actor first, permission and state
checked, one transaction, an event, notifications queued inside it.
"""

import re
import zoneinfo
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.errors import Conflict, NotAllowed, ValidationFailed, raise_if_errors
from closeloop.notify.services import notify
from closeloop.orgs.calendar import add_workdays, is_workday, next_workday, workdays_between
from closeloop.orgs.models import Department, User
from closeloop.orgs.selectors import leads
from closeloop.tasks import markup, permissions
from closeloop.tasks.models import (
    AcceptanceCriterion,
    AdhocCategory,
    Comment,
    Customer,
    DecompositionTemplate,
    DepartmentPolicy,
    Frequency,
    Milestone,
    Priority,
    RecurrenceRule,
    Source,
    Task,
    TaskCollaborator,
    TaskDependency,
    TaskType,
    subtree_q,
)
from closeloop.tasks.services import (
    CriterionIn,
    department_policy,
    record_event,
    task_create,
    task_message,
)
from closeloop.tasks.states import CLOSED_STATUSES

# -- ad-hoc work -----------------------------------------------------------------------------


def _dept_tz(department: Department) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(department.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("Asia/Shanghai")


def respond_by_for(*, department: Department, priority: int, now: datetime | None = None) -> datetime:
    """When ad-hoc work must be answered, from the department's policy: high priority an exact
    time (default 24 hours from now); medium and low the end of the working day N working
    days ahead on the work calendar (default 3 and 5)."""
    now = now or timezone.now()
    policy = department_policy(department)
    if priority == Priority.HIGH:
        return now + timedelta(hours=policy.respond_high_hours)
    days = policy.respond_medium_workdays if priority == Priority.MEDIUM else policy.respond_low_workdays
    tz = _dept_tz(department)
    local_day = now.astimezone(tz).date()
    day = add_workdays(local_day, days)
    return datetime.combine(day, department.workday_end or time(18, 0), tzinfo=tz)


def adhoc_capture(
    *,
    actor: User,
    department: Department,
    title: str,
    category: str,
    priority: int,
    owner: User,
    customer: Customer | None = None,
    notes: str = "",
    criterion: str = "",
    now: datetime | None = None,
) -> Task:
    """临时任务: take urgent work in with a respond-by time from the department's policy. Due
    on the respond-by day; the owner is notified (task.assigned) and sees it in 我的工作 with
    a countdown."""
    errors: dict[str, list[str]] = {}
    if category not in AdhocCategory.values:
        errors.setdefault("adhoc_category", []).append(_("Choose what kind of ad-hoc work this is."))
    if priority not in Priority.values:
        errors.setdefault("priority", []).append(_("Unknown priority."))
    raise_if_errors(errors)
    respond_by = respond_by_for(department=department, priority=priority, now=now)
    due = respond_by.astimezone(_dept_tz(department)).date()
    return task_create(
        actor=actor,
        department=department,
        title=title,
        owner=owner,
        due_date=due,
        priority=priority,
        task_type=TaskType.COLLABORATIVE if category == AdhocCategory.MEETING else TaskType.PROJECT,
        source=Source.ADHOC,
        adhoc_category=category,
        respond_by=respond_by,
        customer=customer,
        notes=notes,
        criteria=[CriterionIn(text=criterion)] if criterion.strip() else [],
        require_criteria=False,
    )


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


def dependency_add(*, actor: User, predecessor: Task, successor: Task) -> TaskDependency:
    """`successor` starts when `predecessor` is finished. Both must be visible to the actor
    (callers fetch them with `access_task`, so an unseen one is a 404); the actor edits the
    successor. A cycle is refused, naming it ("T001-2 → T001-3 → T001-2")."""
    _require_edit(
        actor,
        successor,
        _("Only the owner, the initiator or the department head can change the plan of this task."),
    )
    if predecessor.pk == successor.pk:
        raise ValidationFailed(
            _("predecessor: A task cannot depend on itself."),
            fields={"predecessor": [_("A task cannot depend on itself.")]},
        )
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
    return dep


def dependency_remove(*, actor: User, predecessor: Task, successor: Task) -> bool:
    _require_edit(
        actor,
        successor,
        _("Only the owner, the initiator or the department head can change the plan of this task."),
    )
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


def milestone_add(*, actor: User, task: Task, title: str, date_: date | None) -> Milestone:
    """A dated checkpoint (owner, initiator, head or deputy)."""
    _require_edit(actor, task, _("Only the owner, the initiator or the department head can add milestones."))
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    if not title:
        errors.setdefault("title", []).append(_("A milestone needs a name."))
    elif len(title) > 200:
        errors.setdefault("title", []).append(_("The name is longer than 200 characters."))
    if date_ is None:
        errors.setdefault("date", []).append(_("A milestone needs a date."))
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


# -- decomposition templates -----------------------------------------------------------------


def _span(start: date | None, due: date) -> int:
    return max(0, workdays_between(start, due)) if start else 0


def template_save(*, actor: User, task: Task, name: str) -> DecompositionTemplate:
    """Save the direct subtasks of `task` as a template of its department: each step's offset
    and length in working days, its dependencies, criteria and weight, and the milestones."""
    if not permissions.can_create_in(actor, task.department_id) and not permissions.can_edit(actor, task):
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
        try:
            offset = int(item.get("offset", 0))
            duration = int(item.get("duration", 0))
            weight = int(item.get("weight", 1))
        except (TypeError, ValueError):
            errors.setdefault(key, []).append(
                _("Step %(n)s: offset, duration and weight are numbers.") % {"n": i}
            )
            continue
        after = [int(a) - 1 for a in item.get("after", []) if str(a).isdigit()]
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
    task page; nothing is refused for dates."""
    _require_edit(
        actor, task, _("Only the owner, the initiator or the department head can decompose this task.")
    )
    base = next_workday(start or task.start_date or timezone.localdate(), include=True)
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
        for m in template.milestones or []:
            Milestone.objects.create(
                task=task, title=m["title"], date=add_workdays(base, m.get("offset", 0)), created_by=actor
            )
        record_event(
            task=task,
            actor=actor,
            verb="template_applied",
            after={"template": template.name, "subtasks": [t.code for t in created]},
        )
    return created


# -- recurring routine work ------------------------------------------------------------------


def _month_add(year: int, month: int, n: int) -> tuple[int, int]:
    m = month - 1 + n
    return year + m // 12, m % 12 + 1


def _nth_workday(year: int, month: int, n: int) -> date:
    d = date(year, month, 1)
    count = 0
    while True:
        if is_workday(d):
            count += 1
            if count == n:
                return d
        d += timedelta(days=1)


def _date_in_month(year: int, month: int, day: int) -> date:
    import calendar

    last = calendar.monthrange(year, month)[1]
    return next_workday(date(year, month, min(day, last)), include=True)


def occurrences(rule: RecurrenceRule, *, start: date, end: date) -> list[date]:
    """Due dates of `rule` within [start, end]: weekly on the weekday (the next working day
    when it is a holiday), monthly on the Nth working day, or monthly on a date moved to the
    next working day."""
    out: list[date] = []
    if rule.frequency == Frequency.WEEKLY:
        d = start + timedelta(days=(rule.weekday - start.weekday()) % 7)
        while d <= end + timedelta(days=14):
            due = next_workday(d, include=True)
            if start <= due <= end:
                out.append(due)
            d += timedelta(days=7)
        return sorted(set(out))
    y, m = _month_add(start.year, start.month, -1)
    while date(y, m, 1) <= end:
        if rule.frequency == Frequency.MONTHLY_WORKDAY:
            due = _nth_workday(y, m, rule.nth_workday or 1)
        else:
            due = _date_in_month(y, m, rule.day_of_month or 1)
        if start <= due <= end:
            out.append(due)
        y, m = _month_add(y, m, 1)
    return out


def _validate_rule(
    *, frequency: str, weekday: int | None, nth_workday: int | None, day_of_month: int | None, lead_days: int
) -> None:
    errors: dict[str, list[str]] = {}
    if frequency not in Frequency.values:
        errors["frequency"] = [_("Choose weekly or monthly.")]
    elif frequency == Frequency.WEEKLY and (weekday is None or not 0 <= weekday <= 6):
        errors["weekday"] = [_("Choose the weekday (0 = Monday … 6 = Sunday).")]
    elif frequency == Frequency.MONTHLY_WORKDAY and (nth_workday is None or not 1 <= nth_workday <= 23):
        errors["nth_workday"] = [_("Choose which working day of the month (1–23).")]
    elif frequency == Frequency.MONTHLY_DATE and (day_of_month is None or not 1 <= day_of_month <= 31):
        errors["day_of_month"] = [_("Choose the day of the month (1–31).")]
    if not 0 <= lead_days <= 60:
        errors["lead_days"] = [_("Create it between 0 and 60 days ahead.")]
    raise_if_errors(errors)


def recurrence_set(
    *,
    actor: User,
    task: Task,
    frequency: str,
    weekday: int | None = None,
    nth_workday: int | None = None,
    day_of_month: int | None = None,
    lead_days: int = 5,
) -> RecurrenceRule:
    """Make `task` (a top-level task) come back every week or month: the job creates each
    period's instance ahead of time, copying its subtasks and criteria. One rule per task;
    setting it again changes it."""
    # Last period's task may well be done: it is the pattern, so only the right to edit counts.
    if not permissions.can_edit(actor, task):
        raise NotAllowed(_("Only the owner, the initiator or the department head can make this task recur."))
    if task.parent_id:
        raise ValidationFailed(
            _("Only a top-level task can recur."),
            fields={"frequency": [_("Only a top-level task can recur.")]},
        )
    _validate_rule(
        frequency=frequency,
        weekday=weekday,
        nth_workday=nth_workday,
        day_of_month=day_of_month,
        lead_days=lead_days,
    )
    fields = {
        "frequency": frequency,
        "weekday": weekday if frequency == Frequency.WEEKLY else None,
        "nth_workday": nth_workday if frequency == Frequency.MONTHLY_WORKDAY else None,
        "day_of_month": day_of_month if frequency == Frequency.MONTHLY_DATE else None,
        "lead_days": lead_days,
        "active": True,
    }
    with transaction.atomic():
        rule = RecurrenceRule.objects.filter(prototype=task).first()
        if rule is None:
            rule = RecurrenceRule.objects.create(
                department=task.department,
                prototype=task,
                starts_on=task.due_date + timedelta(days=1),
                created_by=actor,
                **fields,
            )
        else:
            RecurrenceRule.objects.filter(pk=rule.pk).update(**fields)
            rule.refresh_from_db()
        if task.task_type != TaskType.ROUTINE:
            Task.objects.filter(pk=task.pk).update(task_type=TaskType.ROUTINE, version=F("version") + 1)
        record_event(
            task=task,
            actor=actor,
            verb="recurrence_set",
            after={k: v for k, v in fields.items() if v is not None},
        )
    return rule


def recurrence_stop(*, actor: User, task: Task) -> bool:
    if not permissions.can_edit(actor, task):
        raise NotAllowed(_("Only the owner, the initiator or the department head can stop the recurrence."))
    with transaction.atomic():
        n = RecurrenceRule.objects.filter(prototype=task, active=True).update(active=False)
        if n:
            record_event(task=task, actor=actor, verb="recurrence_stopped")
    return bool(n)


def _shift(d: date | None, proto_due: date, new_due: date) -> date | None:
    """The date that lies as many working days before `new_due` as `d` lay before `proto_due`."""
    if d is None:
        return None
    back = workdays_between(d, proto_due)
    return add_workdays(new_due, -back) if back else new_due


def recurrence_instantiate(*, rule: RecurrenceRule, occurrence: date) -> Task | None:
    """Create the instance of `rule` due on `occurrence`, once: the (rule, occurrence) pair is
    unique in the database, so a second worker's attempt finds it and does nothing. Copies
    the prototype's fields, criteria, collaborators, subtasks (dates kept the same number of
    working days before the due date), their criteria and dependencies, and milestones."""
    proto = Task.objects.select_related(
        "department", "owner", "initiator", "reviewer", "project", "customer"
    ).get(pk=rule.prototype_id)
    actor = rule.created_by or proto.initiator
    if Task.objects.filter(recurrence=rule, occurrence=occurrence).exists():
        return None
    with transaction.atomic():
        locked = RecurrenceRule.objects.select_for_update().get(pk=rule.pk)
        if not locked.active or Task.objects.filter(recurrence=rule, occurrence=occurrence).exists():
            return None
        criteria = {}
        for c in AcceptanceCriterion.objects.filter(subtree_q(proto.path, "task__path")).order_by(
            "position", "id"
        ):
            criteria.setdefault(c.task_id, []).append(
                CriterionIn(
                    text=c.text, metric=c.metric, comparator=c.comparator, threshold=c.threshold, unit=c.unit
                )
            )
        collab = list(User.objects.filter(collaborator_links__task=proto, is_active=True))
        instance = task_create(
            actor=actor,
            department=proto.department,
            title=proto.title,
            owner=proto.owner,
            due_date=occurrence,
            start_date=_shift(proto.start_date, proto.due_date, occurrence),
            goal=proto.goal,
            expected_outcome=proto.expected_outcome,
            value=proto.value,
            task_type=TaskType.ROUTINE,
            priority=proto.priority,
            reviewer=proto.reviewer,
            collaborators=collab,
            project=proto.project,
            customer=proto.customer,
            notes=proto.notes,
            criteria=criteria.get(proto.pk, []),
            require_criteria=False,
            recurrence=rule,
            occurrence=occurrence,
        )
        copies = {proto.pk: instance}
        subs = list(
            Task.objects.filter(subtree_q(proto.path))
            .exclude(pk=proto.pk)
            .exclude(status="cancelled")
            .select_related("owner")
            .order_by("path")
        )
        for sub in subs:
            parent_copy = copies.get(sub.parent_id)
            if parent_copy is None:
                continue
            due = _shift(sub.due_date, proto.due_date, occurrence) or occurrence
            start = _shift(sub.start_date, proto.due_date, occurrence)
            if start and start > due:
                start = due
            copies[sub.pk] = task_create(
                actor=actor,
                department=proto.department,
                parent=parent_copy,
                title=sub.title,
                owner=sub.owner if sub.owner.is_active else proto.owner,
                due_date=due,
                start_date=start,
                priority=sub.priority,
                task_type=sub.task_type,
                criteria=criteria.get(sub.pk, []),
                require_criteria=False,
                weight=sub.weight,
            )
        for pred, succ in TaskDependency.objects.filter(
            predecessor_id__in=copies, successor_id__in=copies
        ).values_list("predecessor_id", "successor_id"):
            TaskDependency.objects.create(predecessor=copies[pred], successor=copies[succ], created_by=actor)
        for m in Milestone.objects.filter(task_id__in=copies):
            Milestone.objects.create(
                task=copies[m.task_id],
                title=m.title,
                date=_shift(m.date, proto.due_date, occurrence) or occurrence,
                created_by=actor,
            )
        record_event(
            task=instance,
            actor=None,
            verb="recurred",
            after={"from": proto.pk, "occurrence": occurrence.isoformat()},
        )
    return instance


# -- comments --------------------------------------------------------------------------------

MENTION_RE = re.compile(r"(?<![\w@])@([\w.\-\u4e00-\u9fff]{1,40})")
COMMENT_MAX = 5000


def comment_add(*, actor: User, task: Task, body: str) -> Comment:
    """A comment by anyone who sees the task (callers fetch it with `access_task`). Markdown
    subset rendered and sanitized once; each @username or @姓名 who may see the task is
    notified ("mentioned")."""
    body = (body or "").strip()
    if not body:
        raise ValidationFailed(_("body: Write something."), fields={"body": [_("Write something.")]})
    if len(body) > COMMENT_MAX:
        raise ValidationFailed(
            _("body: A comment is at most 5000 characters."), fields={"body": [_("At most 5000 characters.")]}
        )
    handles = list(dict.fromkeys(MENTION_RE.findall(body)))[:20]
    people: list[User] = []
    if handles:
        candidates = User.objects.filter(Q(username__in=handles) | Q(name__in=handles), is_active=True)
        for person in candidates:
            if Task.objects.visible_to(person).filter(pk=task.pk).exists():
                people.append(person)
    with transaction.atomic():
        comment = Comment.objects.create(
            task=task, author=actor, body=body, html=markup.render(body), mentions=[p.pk for p in people]
        )
        record_event(task=task, actor=actor, verb="commented", after={"comment": comment.pk}, note=body[:300])
        if people:
            notify(
                recipients=people,
                kind="mentioned",
                data=task_message(task, actor, note=body[:300]),
                link=f"{task.get_absolute_url()}#comment-{comment.pk}",
                actor=actor,
            )
    return comment


# -- workload: hand-over, policy -------------------------------------------------------------


def tasks_hand_over(
    *, actor: User, department: Department, from_user: User, to_user: User, reason: str = ""
) -> list[Task]:
    """When someone leaves or is away: every open task `from_user` owns in `department` (and
    the departments below it) goes to `to_user` in one step (the head or deputy). Each is
    logged ("handed_over") and the new owner is notified of each."""
    if not leads(actor, department.pk):
        raise NotAllowed(_("Only the department head or deputy can hand over a person's tasks."))
    errors: dict[str, list[str]] = {}
    if from_user.pk == to_user.pk:
        errors["to_user"] = [_("Choose someone else to take the tasks over.")]
    elif not to_user.is_active:
        errors["to_user"] = [_("That account is inactive.")]
    raise_if_errors(errors)
    from closeloop.orgs.selectors import led_department_ids

    scope = [d for d in led_department_ids(actor)] if not actor.is_superuser else None
    with transaction.atomic():
        qs = Task.objects.select_for_update().filter(owner=from_user).exclude(status__in=CLOSED_STATUSES)
        qs = qs.filter(department_id__in=scope) if scope is not None else qs.filter(department=department)
        moved = list(qs.select_related("department").order_by("id"))
        if not moved:
            return []
        ids = [t.pk for t in moved]
        Task.objects.filter(pk__in=ids).update(
            owner=to_user, version=F("version") + 1, updated_at=timezone.now()
        )
        TaskCollaborator.objects.filter(task_id__in=ids, user=to_user).delete()
        # Keep the reviewer apart from the owner: the department head reviews instead.
        Task.objects.filter(pk__in=ids, reviewer=to_user).update(reviewer=None)
        for t in moved:
            record_event(
                task=t,
                actor=actor,
                verb="handed_over",
                before={"owner": from_user.pk},
                after={"owner": to_user.pk},
                note=reason,
            )
            notify(
                recipients=[to_user],
                kind="task.assigned",
                data=task_message(t, actor),
                link=t.get_absolute_url(),
                actor=actor,
            )
    return moved


POLICY_FIELDS = (
    "block_vague_intake",
    "respond_high_hours",
    "respond_medium_workdays",
    "respond_low_workdays",
    "overload_per_week",
)


def department_policy_update(*, actor: User, department: Department, **changes: Any) -> DepartmentPolicy:
    """The head or deputy sets the department's intake policy."""
    if not leads(actor, department.pk):
        raise NotAllowed(_("Only the department head or deputy can change the department's rules."))
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("These fields cannot be edited: %(f)s") % {"f": ", ".join(sorted(unknown))},
            fields={f: [_("Not editable.")] for f in unknown},
        )
    errors: dict[str, list[str]] = {}
    limits = {
        "respond_high_hours": (1, 240),
        "respond_medium_workdays": (1, 30),
        "respond_low_workdays": (1, 60),
        "overload_per_week": (1, 100),
    }
    for key, (lo, hi) in limits.items():
        if key in changes and (not isinstance(changes[key], int) or not lo <= changes[key] <= hi):
            errors[key] = [_("A whole number from %(lo)s to %(hi)s.") % {"lo": lo, "hi": hi}]
    raise_if_errors(errors)
    with transaction.atomic():
        policy, _created = DepartmentPolicy.objects.get_or_create(department=department)
        for k, v in changes.items():
            setattr(policy, k, v)
        policy.full_clean()
        policy.save()
    return policy
