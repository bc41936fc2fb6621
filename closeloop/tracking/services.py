"""Every write of progress tracking: updates, delay warnings and their decisions, forecasts.

Task rows belong to the tasks app. Progress and status go through `tasks.services`
(`task_update`, `task_transition`; task_update also rolls a percent up to the ancestors).
One write cannot: the due date an approved delay moves (`task_update` refuses the owner's
due-date change and asks the head for a reason; an approved warning is that decision). That
one compare-and-sets the Task row on `version`, records a TaskEvent through
`tasks.services.record_event` and warns the successors through `tasks.services.due_date_moved`,
exactly as the tasks services do.
"""

from collections.abc import Sequence
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.errors import Conflict, NotAllowed, ValidationFailed, raise_if_errors
from closeloop.notify.services import Message, notify, notify_batch
from closeloop.orgs.calendar import add_workdays, day_off_name
from closeloop.orgs.models import User
from closeloop.orgs.selectors import leads, superior_of
from closeloop.tasks.models import Task, TaskEvent
from closeloop.tasks.services import (
    due_date_moved,
    record_event,
    record_events,
    stale_version,
    task_transition,
    task_update,
)
from closeloop.tasks.states import CLOSED_STATUSES, Status
from closeloop.tasks.validation import date_errors, date_in_range
from closeloop.tracking import cadence, forecast
from closeloop.tracking.models import (
    DelayReason,
    DelayWarning,
    ProgressUpdate,
    TaskForecast,
    UpdateState,
    WarningStatus,
)

BLOCKER_MAX = 300


def warning_deciders(task: Task, raiser_id: int) -> list[User]:
    """Who is asked to decide a warning raised by `raiser_id` (nobody decides their own): the
    head's goes to the superior (上级主管), the deputy's to the head, anyone else's to the head
    and the deputy."""
    dept = task.department
    if raiser_id == dept.head_id:
        superior = superior_of(dept)
        return [superior] if superior is not None else []
    return [u for u in (dept.head, dept.deputy) if u is not None and u.pk != raiser_id]


def can_decide(user: User, warning: DelayWarning) -> bool:
    """May `user` decide `warning`: never the one who raised it; a head's warning only someone
    leading the department above; otherwise anyone leading the task's department (head,
    deputy, or from above once escalated)."""
    if user.pk == warning.raised_by_id:
        return False
    dept = warning.task.department
    if warning.raised_by_id == dept.head_id:
        return user.is_superuser or (dept.parent_id is not None and leads(user, dept.parent_id))
    return leads(user, dept.pk)


def _task_data(task: Task, actor: User | None = None) -> dict:
    data = {"task": task.pk, "code": task.full_code, "title": task.title}
    if actor is not None:
        data["by"] = actor.display_name
    return data


def _created_day(task: Task) -> date:
    return timezone.localtime(task.created_at, cadence.dept_tz(task.department)).date()


# -- updates --------------------------------------------------------------------------------


def update_warnings(task: Task, *, now: datetime | None = None) -> list[str]:
    """What the owner should hear after an update, without refusing it: the task's due date
    has passed (raise a delay warning with a new date instead of reporting past it)."""
    today = cadence.local_today(task.department, now or timezone.now())
    if task.status not in CLOSED_STATUSES and task.due_date < today:
        return [
            _(
                "%(code)s was due on %(due)s and is overdue: if it needs more time, raise a delay warning with a new date."
            )
            % {"code": task.full_code, "due": task.due_date.isoformat()}
        ]
    return []


def day_off_warnings(day: date) -> list[str]:
    """A warning when `day` (a new due date) is not a working day on the work calendar."""
    name = day_off_name(day)
    if name is None:
        return []
    if name:
        return [
            _("%(day)s is a day off (%(name)s). Is that the date you mean?")
            % {"day": day.isoformat(), "name": name}
        ]
    return [_("%(day)s is a weekend day. Is that the date you mean?") % {"day": day.isoformat()}]


def update_post(
    *,
    actor: User,
    task: Task,
    state: str | None = None,
    percent: int | None = None,
    blocker: str | None = None,
    note: str | None = None,
    day: date | None = None,
    now: datetime | None = None,
) -> ProgressUpdate:
    """Post the owner's update for `day` (default: today in the department's time zone).

    `state`, `blocker` and `note` left out (None) keep what today's update already says
    (saving again the same day does not wipe the blocker or the note); with no update yet they
    are 进行中 and empty. An update that says nothing — no percent, note or blocker, nothing to
    change — is refused (ValidationFailed), not stored as 0 %.

    Today's update may be posted again and replaces the first (the same values again change
    nothing and log nothing); a past day without an update
    may be filled in (补报) and is marked late; a past day's update is immutable. The latest
    update drives the task: its percent (leaf tasks only; parents roll up), and the status
    (阻塞 with the blocker, back to 进行中; a task not started starts on an update saying 进行中)
    through `task_transition`. Takes the task's row
    lock; refreshes the forecast; everything in one transaction."""
    now = now or timezone.now()
    if actor.pk != task.owner_id:
        raise NotAllowed(_("Only the owner posts updates on this task."))
    if task.status in CLOSED_STATUSES or task.status == Status.SUBMITTED:
        raise Conflict(
            _("A task that is %(status)s takes no updates.") % {"status": Status(task.status).label},
            code="task_not_open",
        )
    today = cadence.local_today(task.department, now)
    day = day or today
    errors: dict[str, list[str]] = {}
    if not 1900 <= day.year <= 2100:
        raise ValidationFailed(
            _("day: Give a day between 1900 and 2100."),
            fields={"day": [_("Give a day between 1900 and 2100.")]},
        )
    earlier = ProgressUpdate.objects.filter(task=task, day=day).first()
    before_state = earlier.state if earlier else UpdateState.IN_PROGRESS
    says_something = (
        percent is not None
        or bool((blocker or "").strip())
        or bool((note or "").strip())
        or (state is not None and state != before_state)
        # Clearing what today's update said is a change too.
        or bool(earlier and ((blocker == "" and earlier.blocker) or (note == "" and earlier.note)))
    )
    if not says_something:
        raise ValidationFailed(
            _("percent: Give the progress, a note or what the task waits on."),
            fields={"percent": [_("Give the progress, a note or what the task waits on.")]},
        )
    state = before_state if state is None else state
    blocker = (earlier.blocker if earlier and blocker is None else blocker or "").strip()
    note = (earlier.note if earlier and note is None else note or "").strip()
    if earlier and earlier.state == UpdateState.BLOCKED and state != UpdateState.BLOCKED:
        # Unblocked: the blocker it kept no longer holds, unless a new one was typed.
        blocker = "" if blocker == earlier.blocker else blocker
    if state not in UpdateState.values:
        errors["state"] = [_("Choose in progress or blocked.")]
    elif state == UpdateState.BLOCKED and not blocker:
        errors["blocker"] = [_("Say whom or what the task is waiting on.")]
    if len(blocker) > BLOCKER_MAX:
        errors["blocker"] = [_("Keep the blocker under 300 characters.")]
    has_children = task.has_subtasks()
    if percent is not None:
        if has_children:
            errors["percent"] = [
                _("A task with subtasks takes its progress from them; leave the percent empty.")
            ]
        elif isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            errors["percent"] = [_("Progress is a whole number from 0 to 100.")]
    if day > today:
        errors["day"] = [_("An update cannot be for a day that has not come yet.")]
    elif day < min(_created_day(task), task.start_date or today):
        errors["day"] = [_("The task did not exist on that day.")]
    raise_if_errors(errors)
    if percent is None and not has_children:
        percent = earlier.percent if earlier and earlier.percent is not None else task.progress

    with transaction.atomic():
        current = Task.objects.select_for_update().select_related("department", "owner").get(pk=task.pk)
        if current.owner_id != actor.pk:
            raise NotAllowed(_("Only the owner posts updates on this task."))
        existing = ProgressUpdate.objects.filter(task=current, day=day).first()
        late = day < today
        if existing is not None and late:
            raise Conflict(
                _("The update of %(day)s is already in and can no longer change.") % {"day": day},
                code="update_closed",
            )
        latest_day = current.last_update_day
        fields = {
            "author": actor,
            "percent": percent,
            "state": state,
            "blocker": blocker,
            "note": note,
            "late": late,
        }
        if existing is not None and (existing.percent, existing.state, existing.blocker, existing.note) == (
            percent,
            state,
            blocker,
            note,
        ):
            # The same update sent again (a form posted twice, a retried request): nothing
            # changes, and the activity log does not say it twice.
            return existing
        if existing is not None:
            ProgressUpdate.objects.filter(pk=existing.pk).update(**fields, updated_at=now)
            update = ProgressUpdate.objects.get(pk=existing.pk)
        else:
            update = ProgressUpdate.objects.create(task=current, day=day, **fields)
        record_event(
            task=current,
            actor=actor,
            verb="progress_update",
            after={
                "day": day.isoformat(),
                "percent": percent,
                "state": state,
                "blocker": blocker,
                "late": late,
            },
            note=note,
        )
        if latest_day is None or day > latest_day:
            # The task's copy of its latest update's day (`Task.last_update_day`): who owes
            # today's update is read from it.
            Task.objects.filter(pk=current.pk).update(last_update_day=day)
            current.last_update_day = day
        if latest_day is None or day >= latest_day:
            current = _apply_to_task(
                actor=actor, task=current, state=state, blocker=blocker, percent=percent, note=note
            )
        forecast_refresh(task=current, now=now)
    return update


def _apply_to_task(
    *, actor: User, task: Task, state: str, blocker: str, percent: int | None, note: str
) -> Task:
    if state == UpdateState.BLOCKED and task.status in (Status.NOT_STARTED, Status.IN_PROGRESS):
        task = task_transition(actor=actor, task=task, to=Status.BLOCKED, note=blocker)
    elif state == UpdateState.IN_PROGRESS and task.status in (Status.BLOCKED, Status.REWORK):
        task = task_transition(actor=actor, task=task, to=Status.IN_PROGRESS, note=note)
    elif state == UpdateState.IN_PROGRESS and task.status == Status.NOT_STARTED:
        # An update saying 进行中 starts the task, at 0 % too (the forms say so on the row).
        task = task_transition(actor=actor, task=task, to=Status.IN_PROGRESS, note=note)
    if percent is not None and percent != task.progress:
        # task_update rolls the new percent up to every ancestor (tasks.services.progress_roll_up).
        task = task_update(actor=actor, task=task, expected_version=task.version, progress=percent)
    return task


def forecast_refresh(*, task: Task, now: datetime | None = None) -> TaskForecast | None:
    """Recompute and store the task's forecast from its last updates (see `tracking.forecast`).
    Tasks with subtasks have none (their subtasks are forecast), nor have closed tasks."""
    now = now or timezone.now()
    if task.status in CLOSED_STATUSES or task.has_subtasks():
        # A closed task has no forecast (it is finished, or will never be); a task with
        # subtasks neither: its subtasks are forecast.
        TaskForecast.objects.filter(task_id=task.pk).delete()
        sync_at_risk(Task.objects.filter(pk=task.pk))
        return None
    today = cadence.local_today(task.department, now)
    rows = list(
        ProgressUpdate.objects.filter(task_id=task.pk, percent__isnull=False)
        .order_by("-day")
        .values_list("day", "percent")[: forecast.WINDOW]
    )
    rows.reverse()
    previous = TaskForecast.objects.filter(task_id=task.pk).values_list("at_risk", flat=True).first()
    start = task.start_date if date_in_range(task.start_date) and task.start_date else _created_day(task)
    if not date_in_range(task.due_date):
        return None  # a row from before the date checks: nothing sensible to forecast
    start = min(start, task.due_date)
    result = forecast.compute(
        history=rows, start=start, due=task.due_date, today=today, was_at_risk=bool(previous)
    )
    at_risk = result.at_risk and task.status not in CLOSED_STATUSES
    count = (
        len(rows)
        if len(rows) < forecast.WINDOW
        else ProgressUpdate.objects.filter(task_id=task.pk, percent__isnull=False).count()
    )
    values = {
        "forecast_date": result.forecast_date,
        "slope": result.slope,
        "last_day": result.last_day,
        "last_percent": result.last_percent,
        "points": min(count, 32000),
        "due_date": task.due_date,
        "judge_from": result.judge_from,
        "at_risk": at_risk,
        "reason": result.reason,
        "computed_at": now,
    }
    obj, _created = TaskForecast.objects.update_or_create(task_id=task.pk, defaults=values)
    Task.objects.filter(pk=task.pk).exclude(at_risk=at_risk).update(at_risk=at_risk)
    return obj


def sync_at_risk(tasks: QuerySet[Task]) -> int:
    """Make each of `tasks`' copy of its forecast's flag (`Task.at_risk`) the forecast's own
    (False without a forecast). Every writer of `TaskForecast.at_risk` calls it (or writes both,
    as `forecast_refresh`). Two UPDATEs of the rows that differ; returns how many changed."""
    flagged = TaskForecast.objects.filter(at_risk=True).values("task_id")
    changed = tasks.filter(at_risk=True).exclude(pk__in=flagged).update(at_risk=False)
    return changed + tasks.filter(at_risk=False, pk__in=flagged).update(at_risk=True)


# -- delay warnings -------------------------------------------------------------------------


def delay_warning_raise(
    *,
    actor: User,
    task: Task,
    reason: str,
    explanation: str,
    new_due_date: date | None,
    now: datetime | None = None,
) -> DelayWarning:
    """延期预警: the owner says the task will slip. On time when raised at least one working
    day before the due date, otherwise marked late. Notifies the head and deputy at once; they
    have one working day to decide before it escalates. One pending warning per task (the
    database refuses a second)."""
    now = now or timezone.now()
    if actor.pk != task.owner_id:
        raise NotAllowed(_("Only the owner raises a delay warning on this task."))
    if task.status in CLOSED_STATUSES:
        raise Conflict(_("The task is closed."), code="task_closed")
    today = cadence.local_today(task.department, now)
    explanation = (explanation or "").strip()
    errors: dict[str, list[str]] = {}
    if reason not in DelayReason.values:
        errors["reason"] = [_("Choose a reason.")]
    if not explanation:
        errors["explanation"] = [_("Explain what happened.")]
    if new_due_date is None:
        errors["new_due_date"] = [_("Give the new due date.")]
    elif date_errors(errors, "new_due_date", new_due_date):
        pass
    elif new_due_date < today:
        errors["new_due_date"] = [_("The new due date cannot be before today.")]
    elif new_due_date.year > 2100:
        errors["new_due_date"] = [_("Give a date between 1900 and 2100.")]
    elif new_due_date <= task.due_date:
        errors["new_due_date"] = [
            _("The new due date must be after the current one (%(due)s).")
            % {"due": task.due_date.isoformat()}
        ]
    raise_if_errors(errors)
    assert new_due_date is not None
    on_time = today <= add_workdays(task.due_date, -1)
    local = cadence.local_now(task.department, now)
    decide_by = datetime.combine(add_workdays(today, 1), local.timetz().replace(microsecond=0))
    try:
        with transaction.atomic():
            # The task's row first (the order `task_transition` and the decision take too): a
            # warning raised while the task is being closed waits, then sees it closed.
            if Task.objects.select_for_update().filter(pk=task.pk, status__in=CLOSED_STATUSES).exists():
                raise Conflict(_("The task is closed."), code="task_closed")
            warning = DelayWarning.objects.create(
                task=task,
                raised_by=actor,
                reason=reason,
                explanation=explanation,
                old_due_date=task.due_date,
                new_due_date=new_due_date,
                on_time=on_time,
                raised_at=now,
                decide_by=decide_by,
            )
            record_event(
                task=task,
                actor=actor,
                verb="delay_warning_raised",
                after={
                    "warning": warning.pk,
                    "new_due_date": new_due_date.isoformat(),
                    "reason": reason,
                    "on_time": on_time,
                },
                note=explanation,
            )
            notify(
                recipients=warning_deciders(task, actor.pk),
                kind="delay_warning.raised",
                data={
                    **_task_data(task, actor),
                    "new_due": new_due_date.isoformat(),
                    "due": task.due_date.isoformat(),
                    "reason": reason,
                    "on_time": on_time,
                    "note": explanation,
                },
                link=reverse("tracking:warning_decide", args=[warning.pk]),
                actor=actor,
            )
    except IntegrityError:
        raise Conflict(
            _("A delay warning on this task is already awaiting a decision."), code="warning_pending"
        ) from None
    return warning


def delay_warning_decide(
    *, actor: User, warning: DelayWarning, approve: bool, comment: str = "", now: datetime | None = None
) -> DelayWarning:
    """The head or deputy (or, once escalated, anyone leading the department from above)
    approves — the due date moves, `original_due_date` stays — or rejects with a comment.
    Nobody decides their own warning (`can_decide`: a deputy's goes to the head, a head's to
    the superior). Compare-and-sets the warning's status: a second decision answers Conflict."""
    now = now or timezone.now()
    task = warning.task
    if actor.pk == warning.raised_by_id:
        raise NotAllowed(_("Nobody decides their own delay warning: it goes to the one above."))
    if not can_decide(actor, warning):
        raise NotAllowed(_("Only the department head or deputy decides a delay warning."))
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ValidationFailed(_("Say why the delay is rejected."), fields={"comment": [_("Give a reason.")]})
    new_status = WarningStatus.APPROVED if approve else WarningStatus.REJECTED
    if warning.status == WarningStatus.CLOSED:
        raise _closed_with_task()
    with transaction.atomic():
        # The task's row first, then the warning's: the order of `task_transition` (whose
        # close hook closes the warning) — the other way round the two could deadlock.
        current = Task.objects.select_for_update().select_related("department", "owner").get(pk=task.pk)
        if current.status in CLOSED_STATUSES:
            raise _closed_with_task()
        rows = DelayWarning.objects.filter(pk=warning.pk, status=WarningStatus.PENDING).update(
            status=new_status, decided_by=actor, decided_at=now, decision_comment=comment
        )
        if rows != 1:
            raise Conflict(_("This delay warning has already been decided."), code="warning_decided")
        if approve:
            moved = Task.objects.filter(pk=current.pk, version=current.version).update(
                due_date=warning.new_due_date, version=F("version") + 1, updated_at=now
            )
            if moved != 1:
                raise stale_version()
            record_event(
                task=current,
                actor=actor,
                verb="due_date_moved",
                before={"due_date": current.due_date.isoformat()},
                after={"due_date": warning.new_due_date.isoformat(), "warning": warning.pk},
                note=comment,
            )
            old_due = current.due_date
            current = Task.objects.select_related("department", "owner").get(pk=current.pk)
            due_date_moved(actor=actor, task=current, old_due=old_due)
        record_event(
            task=current,
            actor=actor,
            verb="delay_warning_decided",
            after={"warning": warning.pk, "status": new_status},
            note=comment,
        )
        notify(
            recipients=[warning.raised_by, current.owner],
            kind="delay_warning.decided",
            data={
                **_task_data(current, actor),
                "approved": approve,
                "new_due": warning.new_due_date.isoformat(),
                "note": comment,
            },
            link=current.get_absolute_url(),
            actor=actor,
        )
        forecast_refresh(task=current, now=now)
    return DelayWarning.objects.select_related("task", "decided_by").get(pk=warning.pk)


def _closed_with_task() -> Conflict:
    return Conflict(
        _("The task is closed: this delay warning was closed with it and needs no decision."),
        code="task_closed",
    )


def close_with_task(task: Task, *, actor: User | None, status: str, now: datetime) -> int:
    """`close_with_tasks` for one task."""
    return close_with_tasks([task], actor=actor, status=status, now=now)


def close_with_tasks(tasks: Sequence[Task], *, actor: User | None, status: str, now: datetime) -> int:
    """`tasks` (department loaded) just closed (已完成 or 已取消; `tasks.extensions.task_closed`,
    inside `task_transition`'s transaction: a cancelled task and the open subtasks cancelled
    with it): each one's pending delay warning is closed with it — nobody is asked to decide
    it any more and it no longer escalates — with an event in the log, and their forecasts
    are dropped (a closed task shows none and is never at risk; `task_transition` clears
    `Task.at_risk`). Each warning's raiser and those it waited on (`warning_deciders`, and whom
    it was escalated to) are told once, with the task's link (`delay_warning.closed`; never
    the actor, as every notification): the conditional UPDATE on the status is the claim, so
    a second call for the same tasks tells nobody. Returns how many warnings it closed. Two
    queries when no task has a pending warning, a fixed few more when some do (the deciders
    looked up once per department and raiser), whatever the number of tasks."""
    by_id = {t.pk: t for t in tasks}
    # At most one is pending per task (`delay_warning_one_pending_per_task`); the tasks' rows
    # are locked by the transition, so none is raised or decided meanwhile.
    pending = list(
        DelayWarning.objects.filter(task_id__in=by_id, status=WarningStatus.PENDING).select_related(
            "raised_by", "escalated_to"
        )
    )
    closed = 0
    if pending:
        closed = DelayWarning.objects.filter(
            pk__in=[w.pk for w in pending], status=WarningStatus.PENDING
        ).update(status=WarningStatus.CLOSED, decided_at=now)
    if closed:
        deciders: dict[tuple[int, int], list[User]] = {}
        events, messages = [], []
        for warning in pending:
            task = by_id[warning.task_id]
            key = (task.department_id, warning.raised_by_id)
            if key not in deciders:
                deciders[key] = warning_deciders(task, warning.raised_by_id)
            events.append(
                TaskEvent(
                    task=task,
                    actor=actor,
                    verb="delay_warning_closed",
                    after={"warning": warning.pk, "status": WarningStatus.CLOSED, "task_status": str(status)},
                )
            )
            messages.append(
                Message(
                    recipients=[warning.raised_by, *deciders[key], warning.escalated_to],
                    data={
                        **_task_data(task, actor),
                        "status": str(status),
                        "due": warning.old_due_date.isoformat(),
                        "new_due": warning.new_due_date.isoformat(),
                    },
                    link=task.get_absolute_url(),
                )
            )
        record_events(events)
        notify_batch(kind="delay_warning.closed", messages=messages, actor=actor)
    TaskForecast.objects.filter(task_id__in=by_id).delete()
    return closed


def delay_warning_escalate(*, warning: DelayWarning, now: datetime) -> bool:
    """Hand an undecided warning to the head's superior (上级主管), once: the conditional
    UPDATE on `escalated_at` is the claim. Returns whether this call escalated it."""
    task = warning.task
    dept = task.department
    superior = superior_of(dept)
    with transaction.atomic():
        rows = DelayWarning.objects.filter(
            pk=warning.pk, status=WarningStatus.PENDING, escalated_at__isnull=True
        ).update(escalated_at=now, escalated_to=superior)
        if rows != 1:
            return False
        record_event(
            task=task,
            actor=None,
            verb="delay_warning_escalated",
            after={"warning": warning.pk, "to": superior.pk if superior else None},
        )
        recipients = [superior] if superior is not None else [u for u in (dept.head, dept.deputy) if u]
        notify(
            recipients=recipients,
            kind="delay_warning.escalated",
            data={
                **_task_data(task),
                "new_due": warning.new_due_date.isoformat(),
                "department": dept.name,
                "head": dept.head.display_name if dept.head else "",
                "note": warning.explanation,
            },
            link=reverse("tracking:warning_decide", args=[warning.pk]),
            # Department-wide news: the department's group channels hear of it too (spec
            # "Delivery rules": escalations go to the department's group).
            department=dept,
        )
    return True


__all__ = [
    "close_with_task",
    "close_with_tasks",
    "delay_warning_decide",
    "delay_warning_escalate",
    "delay_warning_raise",
    "forecast_refresh",
    "update_post",
]
