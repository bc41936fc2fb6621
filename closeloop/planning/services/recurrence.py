"""Recurring routine work: the rule's occurrences (weekly, monthly on a day or the n-th workday),
setting and stopping a rule, and creating one instance (the worker's job in `planning.jobs`).
"""

import calendar
from datetime import date, timedelta

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from closeloop.core.errors import NotAllowed, ValidationFailed, raise_if_errors
from closeloop.orgs.calendar import add_workdays, is_workday, next_workday, workdays_between
from closeloop.orgs.models import User
from closeloop.planning.services.decomposition import milestone_date_errors
from closeloop.tasks import permissions
from closeloop.tasks.models import (
    AcceptanceCriterion,
    Frequency,
    Milestone,
    RecurrenceRule,
    Task,
    TaskDependency,
    TaskType,
    subtree_q,
)
from closeloop.tasks.services import (
    CriterionIn,
    record_event,
    task_create,
)

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


def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _workday_back(d: date) -> date:
    """`d`, or the last working day before it."""
    while not is_workday(d):
        d -= timedelta(days=1)
    return d


def _date_in_month(year: int, month: int, day: int) -> date:
    """The due date of "monthly on `day`" in that month, always inside it (one per month): the
    day, or the month's last day when the month is shorter. On a day off, a day 1–28 moves to
    the next working day (the last one before when the month ends first); a 29th, 30th or
    31st — a month-end deadline — moves back to the working day before (issue 10: "monthly on
    the 31st" from 2026-12-31 gives 2027-01-29, 2027-02-26, 2027-03-31)."""
    last = _last_day(year, month)
    d = date(year, month, min(day, last.day))
    if day >= 29:
        return _workday_back(d)
    forward = next_workday(d, include=True)
    return forward if forward.month == month else _workday_back(d)


def occurrences(rule: RecurrenceRule, *, start: date, end: date) -> list[date]:
    """Due dates of `rule` within [start, end]: weekly on the weekday (the next working day
    when it is a holiday), monthly on the Nth working day, monthly on a date
    (`_date_in_month`: exactly one per month, inside it), or monthly on the last working
    day."""
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
        elif rule.frequency == Frequency.MONTHLY_LAST_WORKDAY:
            due = _workday_back(_last_day(y, m))
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
    setting it again changes it. A task that is itself an instance of a series is refused
    (ValidationFailed on `frequency`, naming the series) instead of starting a second one.
    `frequency` is one of `Frequency` (weekly + `weekday` 0–6; monthly_workday + `nth_workday`
    1–23; monthly_date + `day_of_month` 1–31; monthly_last_workday); `lead_days` 0–60."""
    # Last period's task may well be done: it is the pattern, so only the right to edit counts.
    if not permissions.can_edit(actor, task):
        raise NotAllowed(_("Only the owner, the initiator or the department head can make this task recur."))
    if task.parent_id:
        raise ValidationFailed(
            _("Only a top-level task can recur."),
            fields={"frequency": [_("Only a top-level task can recur.")]},
        )
    if task.recurrence_id is not None:
        series = RecurrenceRule.objects.select_related("prototype__department").get(pk=task.recurrence_id)
        message = _(
            "This task is already an occurrence of %(code)s, which recurs %(rule)s; change the rule there."
        ) % {"code": series.prototype.full_code, "rule": series.summary}
        raise ValidationFailed(message, fields={"frequency": [message]})
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
            # The copy follows the milestone rule (`milestone_date_errors`): no later than its
            # own task's due date — a prototype's milestone left after a due date that moved
            # earlier, or a subtask's shifted by the task's due date, is put on the copy's due
            # date — and one the calendar could not show (a copy due before 2000) is left out.
            copy = copies[m.task_id]
            day = min(_shift(m.date, proto.due_date, occurrence) or occurrence, copy.due_date)
            if milestone_date_errors({}, copy, day):
                continue
            Milestone.objects.create(task=copy, title=m.title, date=day, created_by=actor)
        record_event(
            task=instance,
            actor=None,
            verb="recurred",
            after={"from": proto.pk, "occurrence": occurrence.isoformat()},
        )
    return instance
