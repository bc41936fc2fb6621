"""Tracking pages: today's updates (one screen, built for a phone), a task's updates and late
fill-ins, raising a delay warning, deciding one. Thin: selectors read, services write."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closeloop.core.errors import DomainError
from closeloop.tasks.states import Status
from closeloop.tracking import cadence, selectors, services
from closeloop.tracking.forms import DecisionForm, UpdateForm, WarningForm
from closeloop.tracking.models import UpdateState, WarningStatus

# Beside an update of a task not started: saving it starts the task (未开始 → 进行中, or 阻塞
# with a blocker), the rule of services.update_post.
STARTS_TASK = gettext_lazy("Not started yet: saving this update starts the task.")


def _errors_into(form, exc: DomainError) -> None:
    placed = False
    for key, msgs in (exc.fields or {}).items():
        for msg in msgs:
            form.add_error(key if key in form.fields else None, msg)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def _parse_percent(raw: str) -> tuple[int | None, str | None]:
    raw = (raw or "").strip().rstrip("%")
    if raw == "":
        return None, None
    try:
        return int(raw), None
    except ValueError:
        return None, _("Progress is a whole number from 0 to 100.")


@login_required
def today(request):
    """One screen: every task of mine that owes today's update first, my other open tasks
    below; one submit posts them all. Rows that fail keep their input and show why."""
    now = timezone.now()
    owed = selectors.my_owed(request.user, now=now)
    owed_ids = {t.pk for t in owed}
    tasks = list(selectors.my_open_tasks(request.user))
    day_by_dept = {t.department_id: cadence.local_today(t.department, now) for t in tasks}
    existing = selectors.todays_updates(tasks, day_by_dept)
    errors: dict[int, list[str]] = {}
    posted: dict[int, dict] = {}
    if request.method == "POST":
        by_id = {t.pk: t for t in tasks}
        saved = 0
        for raw_id in request.POST.getlist("task"):
            try:
                task = by_id[int(raw_id)]
            except (ValueError, KeyError):
                continue
            prefix = f"t{task.pk}-"
            if not request.POST.get(prefix + "include"):
                continue
            row = {k: request.POST.get(prefix + k, "") for k in ("percent", "state", "blocker", "note")}
            posted[task.pk] = row
            percent, bad = _parse_percent(row["percent"])
            if bad:
                errors[task.pk] = [bad]
                continue
            try:
                services.update_post(
                    actor=request.user,
                    task=task,
                    percent=None if task.has_children else percent,
                    state=row["state"] or UpdateState.IN_PROGRESS,
                    blocker=row["blocker"],
                    note=row["note"],
                    now=now,
                )
                saved += 1
                # Saved: the row shows today's update, unticked, so sending the form again
                # after fixing the other rows does not post it twice.
                del posted[task.pk]
                owed_ids.discard(task.pk)
            except DomainError as exc:
                errors[task.pk] = [m for msgs in exc.fields.values() for m in msgs] or [exc.message]
        if not errors:
            messages.success(request, _("%(n)s update(s) saved.") % {"n": saved})
            return redirect("tracking:today")
        if saved:
            messages.info(request, _("%(n)s update(s) saved; fix the rows marked below.") % {"n": saved})
            existing = selectors.todays_updates(tasks, day_by_dept)
        else:
            messages.error(request, _("Nothing was saved: fix the rows marked below."))
    rows = []
    for t in tasks:
        upd = existing.get(t.pk)
        p = posted.get(t.pk)
        rows.append(
            {
                "task": t,
                "owed": t.pk in owed_ids,
                "update": upd,
                "percent": p["percent"]
                if p
                else (upd.percent if upd and upd.percent is not None else t.progress),
                "state": p["state"]
                if p
                else (upd.state if upd else ("blocked" if t.status == "blocked" else "in_progress")),
                "blocker": p["blocker"] if p else (upd.blocker if upd else ""),
                "note": p["note"] if p else (upd.note if upd else ""),
                "errors": errors.get(t.pk, []),
                # Ticked: a row sent and not saved; on the first visit, the rows owed. After a
                # failed save a row the person unticked stays unticked.
                "include": bool(p) or (request.method != "POST" and t.pk in owed_ids),
                # An update on a task not started starts it (services.update_post): said on
                # the row, so ticking it never starts the task unseen.
                "starts": t.status == Status.NOT_STARTED,
            }
        )
    rows.sort(key=lambda r: (not r["owed"], r["task"].priority, r["task"].due_date))
    rows, hidden = _rows_shown(rows, show_all=request.GET.get("all") == "1")
    return render(
        request,
        "tracking/today.html",
        {
            "rows": rows,
            "hidden": hidden,
            "owed_count": len(owed_ids),
            "states": UpdateState.choices,
            "has_errors": bool(errors),
        },
        status=422 if errors else 200,
    )


# Open tasks shown on the today screen beyond those that owe or have an update today.
OTHERS_SHOWN = 20


def _rows_shown(rows: list[dict], *, show_all: bool) -> tuple[list[dict], int]:
    """The today screen's rows (in order) and how many are left out: every row that owes an
    update, has one today, is ticked or failed, and the first `OTHERS_SHOWN` of the rest;
    all with `show_all` (`?all=1`). A head owning ~800 open tasks got one form of 800 rows
    (bench s5: 917 KB, 1.7 million Python calls, ~190 ms) for the ~70 that owe today."""
    if show_all:
        return rows, 0
    shown, others = [], 0
    for r in rows:
        if r["owed"] or r["update"] or r["include"] or r["errors"]:
            shown.append(r)
        elif others < OTHERS_SHOWN:
            shown.append(r)
            others += 1
    return shown, len(rows) - len(shown)


@login_required
def task_updates(request, pk: int):
    task = selectors.access_task(request.user, pk)
    form = UpdateForm(request.POST or None, initial=selectors.update_initial(task))
    # A task with subtasks takes its progress from them: no percent field to fill (it was
    # shown with the rolled-up figure, and every save was refused for carrying it).
    rolls_up = task.has_subtasks()
    if rolls_up:
        del form.fields["percent"]
    if task.status == Status.NOT_STARTED:
        # Saving an update starts the task (services.update_post): said beside the state.
        form.fields["state"].help_text = STARTS_TASK
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.update_post(
                    actor=request.user,
                    task=task,
                    percent=d.get("percent"),
                    state=d["state"],
                    blocker=d["blocker"],
                    note=d["note"],
                    day=d["day"],
                )
                messages.success(request, _("Update saved."))
                for warning in services.update_warnings(task):
                    messages.warning(request, warning)
                return redirect("tracking:task_updates", pk=task.pk)
            except DomainError as exc:
                _errors_into(form, exc)
        status = 422
    task, updates = selectors.task_updates(request.user, task.pk)
    return render(
        request,
        "tracking/task_updates.html",
        {
            "task": task,
            "updates": updates,
            "form": form,
            "rolls_up": rolls_up,
            "is_owner": task.owner_id == request.user.pk,
        },
        status=status,
    )


@login_required
def warning_new(request, pk: int):
    task = selectors.access_task(request.user, pk)
    form = WarningForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.delay_warning_raise(
                    actor=request.user,
                    task=task,
                    reason=d["reason"],
                    explanation=d["explanation"],
                    new_due_date=d["new_due_date"],
                )
                messages.success(request, _("Delay warning sent to the department head."))
                for warning in services.day_off_warnings(d["new_due_date"]):
                    messages.warning(request, warning)
                return redirect(task.get_absolute_url())
            except DomainError as exc:
                _errors_into(form, exc)
        status = 422
    _task, history = selectors.task_warnings(request.user, task.pk)
    return render(
        request,
        "tracking/warning_form.html",
        {"task": task, "form": form, "history": history, "is_owner": task.owner_id == request.user.pk},
        status=status,
    )


@login_required
def warning_decide(request, pk: int):
    warning = selectors.access_warning(request.user, pk)
    # A closed task's warning needs no decision (closed with it, `services.close_with_task`):
    # the page says so instead of offering buttons that could only be refused.
    task_closed = not warning.task.is_open
    may_decide = (
        warning.status == WarningStatus.PENDING
        and not task_closed
        and services.can_decide(request.user, warning)
    )
    form = DecisionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.delay_warning_decide(
                    actor=request.user,
                    warning=warning,
                    approve=form.cleaned_data["decision"] == "approve",
                    comment=form.cleaned_data["comment"],
                )
                messages.success(request, _("Decision recorded; the owner is told."))
                return redirect(warning.task.get_absolute_url())
            except DomainError as exc:
                _errors_into(form, exc)
                status = 403 if exc.status == 403 else 422
        else:
            status = 422
    return render(
        request,
        "tracking/warning_decide.html",
        {
            "warning": warning,
            "task": warning.task,
            "form": form,
            "may_decide": may_decide,
            "task_closed": task_closed,
        },
        status=status,
    )
