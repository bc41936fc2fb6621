"""Task pages: my work, the list, the task page with its actions, create and edit.

Views stay thin: read through `selectors`, write through `services`, and show a service's
`DomainError` (message and field errors) on the page the person came from, with their input.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from closeloop.core.choices import choice_display
from closeloop.core.errors import Conflict, DomainError, NotAllowed, ValidationFailed
from closeloop.core.escape import esc
from closeloop.core.middleware import reloads_to
from closeloop.orgs.models import User
from closeloop.orgs.selectors import department_visible_list, departments_for, led_department_ids
from closeloop.orgs.widgets import PeopleSuggestions
from closeloop.tasks import extensions, permissions, selectors, services
from closeloop.tasks.forms import (
    COMPARATOR_CHOICES,
    CollaboratorForm,
    FilterForm,
    ReassignForm,
    TaskForm,
    TransitionForm,
    colleagues,
    ignored_filters,
    parse_criteria,
    suggest_people,
    task_people,
)
from closeloop.tasks.history import (
    _event_names,
    describe_event,
    event_note,
)
from closeloop.tasks.models import Customer, Project, Task, TaskEvent
from closeloop.tasks.search import has_terms
from closeloop.tasks.states import TRANSITIONS, Status

# -- helpers -------------------------------------------------------------------------------


def _forbidden(request, message: str, back_url: str = ""):
    return render(request, "403.html", {"message": message, "back_url": back_url}, status=403)


def _apply_errors(form, exc: DomainError, criteria_rows: list[dict] | None = None) -> list[str]:
    """Put a service's field errors on the form fields and criterion rows they name; return
    the messages that belong to no field."""
    loose: list[str] = []
    for key, msgs in (exc.fields or {}).items():
        for msg in msgs:
            if form is not None and key in form.fields:
                form.add_error(key, msg)
            elif key.startswith("criteria.") and criteria_rows is not None:
                try:
                    idx = int(key.split(".", 1)[1]) - 1
                    criteria_rows[idx].setdefault("errors", []).append(msg)
                except (ValueError, IndexError):
                    loose.append(msg)
            else:
                loose.append(msg)
    if not exc.fields:
        loose.append(exc.message)
    return loose


# -- my work and the list ------------------------------------------------------------------


@login_required
def home(request):
    """我的工作: what I own or help on, by urgency, and what waits for my acceptance."""
    work = selectors.my_work(request.user)
    base = f"{reverse('tasks:list')}?owner={request.user.pk}&status=open&sort=due"
    groups = [
        ("overdue", _("Overdue"), work.overdue, work.counts["overdue"], base + "&overdue=on"),
        ("today", _("Due today"), work.today, work.counts["today"], base),
        ("week", _("This week"), work.this_week, work.counts["this_week"], base),
        ("later", _("Later"), work.later, work.counts["later"], base),
    ]
    decision_count, decisions = extensions.decisions_for(request.user)
    return render(
        request,
        "tasks/home.html",
        {
            "work": work,
            "groups": groups,
            "today": selectors.local_today(),
            "extension_panels": extensions.home_panels(request),
            "decisions": decisions,
            "decision_count": decision_count,
            "leads": bool(led_department_ids(request.user)),
        },
    )


def _filters_from(form: FilterForm) -> selectors.TaskFilters:
    form.is_valid()  # invalid values are simply not applied
    data = form.cleaned_data
    return selectors.TaskFilters(
        department=data.get("department"),
        task_type=data.get("task_type") or None,
        priority=data.get("priority"),
        owner=data["owner"].pk if data.get("owner") else None,
        status=data.get("status") or None,
        overdue=bool(data.get("overdue")),
        due=data.get("due"),
        q=data.get("q") or "",
        sort=form.data.get("sort") if form.data.get("sort") in selectors.SORTS else "code",
        owed=bool(data.get("owed")),
    )


def _ignored_filters(form: FilterForm) -> list[dict]:
    """`forms.ignored_filters`, and the sort when it is not one of `selectors.SORTS`;
    `_filters_from` leaves them out and applies the others. Call after `form.is_valid()`."""
    ignored = ignored_filters(form)
    sort = form.data.get("sort")
    if sort and sort not in selectors.SORTS:
        ignored.append({"label": _("Sort"), "value": sort, "message": ""})
    return ignored


@login_required
def task_list(request):
    """任务: the 日常任务清单表 columns, filtered, sorted, paginated. An htmx request gets only
    the table; without JavaScript the same GET form reloads the page. A long Chinese phrase
    no task holds as written falls back to its words anywhere, and the list says so
    (`TaskListPaginator(phrase_fallback=True)`, as 知识库 does)."""
    user = request.user
    form = FilterForm(
        request.GET,
        departments=department_visible_list(user),
        # Loaded only when the whole page renders, not for the table htmx swaps in.
        suggest=colleagues(user),
    )
    filters = _filters_from(form)
    paginator = selectors.TaskListPaginator(user, filters, settings.PAGE_SIZE, phrase_fallback=True)
    page = paginator.get_page(request.GET.get("page"))  # counts: `loose` is known after it
    context = {
        "form": form,
        "page": page,
        "filters": filters,
        "ignored_filters": _ignored_filters(form),
        "filtered": any(request.GET.get(k) for k in form.fields),
        "unsearchable": bool(filters.q.strip()) and not has_terms(filters.q),
        # The phrase the list fell back from (its words found apart), or "".
        "phrase_fallback": filters.q.strip() if paginator.loose else "",
        # A search typed into the address past the box's maxlength: cut, and said so.
        "q_cut": form.q_cut,
        "today": selectors.local_today(),
        "list_actions": extensions.list_actions(request),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "tasks/_table.html", context)
    return render(request, "tasks/list.html", context)


# -- the task page -------------------------------------------------------------------------

TRANSITION_LABELS = {
    Status.IN_PROGRESS: gettext_lazy("Start"),
    Status.BLOCKED: gettext_lazy("Mark blocked"),
    Status.SUBMITTED: gettext_lazy("Submit for acceptance"),
    Status.DONE: gettext_lazy("Accept"),
    Status.REWORK: gettext_lazy("Send back for rework"),
    Status.CANCELLED: gettext_lazy("Cancel task"),
}
RESUME_LABEL = gettext_lazy("Resume")
NOTE_PROMPTS = {
    Status.BLOCKED: gettext_lazy("What is the task waiting for, and on whom?"),
    Status.REWORK: gettext_lazy("What must be reworked?"),
    Status.CANCELLED: gettext_lazy("Why is the task cancelled?"),
}


def _transition_actions(user, task: Task) -> list[dict]:
    actions = []
    for to in selectors.allowed_transitions(user, task):
        label = TRANSITION_LABELS.get(to, to.label)
        routed = extensions.routed_transition_url(task, to)
        if routed is not None:
            # Taken on another app's page (review: deliverables, criterion by criterion); one
            # link when two targets share it (accept / send back are one review page).
            if all(a.get("url") != routed for a in actions):
                if to == Status.REWORK:
                    label = TRANSITION_LABELS[Status.DONE]
                # Said up front, not after the owner fills the form: no criteria, open subtasks.
                obstacles = selectors.submit_obstacles(task) if to == Status.SUBMITTED else None
                actions.append(
                    {
                        "to": to.value,
                        "label": label,
                        "url": routed,
                        "primary": True,
                        "obstacles": obstacles or None,
                    }
                )
            continue
        if to == Status.IN_PROGRESS and task.status != Status.NOT_STARTED:
            label = RESUME_LABEL
        action = {
            "to": to.value,
            "label": label,
            "needs_note": to in NOTE_PROMPTS,
            "prompt": NOTE_PROMPTS.get(to, ""),
            "danger": to in (Status.CANCELLED, Status.REWORK, Status.BLOCKED),
            "primary": to in (Status.IN_PROGRESS, Status.SUBMITTED, Status.DONE),
        }
        if to == Status.CANCELLED:
            action.update(_cancel_cascade(task))
        actions.append(action)
    return actions


def _cancel_cascade(task: Task) -> dict:
    """What the cancel form says before it is confirmed: how many open subtasks (every depth)
    go with the task, and how many are left as they are (done); the number shown is posted
    back (`expected_subtasks`) so that a cancel never takes more, or fewer, than the person
    saw (`services.task_transition`). Counted by `selectors.task_detail`, no query."""
    takes, leaves = getattr(task, "cancel_takes", 0), getattr(task, "cancel_leaves", 0)
    lines = []
    if takes:
        lines.append(
            ngettext(
                "Its %(n)s open subtask will be cancelled with it.",
                "Its %(n)s open subtasks (at every level) will be cancelled with it.",
                takes,
            )
            % {"n": takes}
        )
    if leaves:
        lines.append(
            ngettext(
                "%(n)s subtask is already done and stays as it is.",
                "%(n)s subtasks are already done and stay as they are.",
                leaves,
            )
            % {"n": leaves}
        )
    return {"cascade": lines, "expected_subtasks": takes}


# Events the task page shows at first (issue 16: a page's cost must not grow with its history).
ACTIVITY_ROWS = 20


def activity_rows(activity: list[dict]) -> SafeString:
    """The task page's activity rows (`activity`: dicts of `event`, `lines` and `kind` as
    `_detail_context` builds them) as HTML, the same as the template loop it replaces
    (`test_task_page_html` compares them) at a tenth of the template's work. Everything
    user-written is escaped (`core.escape.esc`, as conditional_escape); times in the current time zone."""
    out = []
    for item in activity:
        e = item["event"]
        when = timezone.localtime(e.created_at)
        kind = f"v-{esc(item['kind'])}" if item["kind"] else ""
        lines = "".join(f"<div>{esc(line)}</div>" for line in item["lines"])
        text = event_note(e)
        note = f'<div class="activity__note">{esc(text)}</div>' if text else ""
        out.append(
            f'\n          <li class="{kind}">\n            {lines}\n            {note}\n'
            f'            <div class="activity__when" title="{when.strftime("%Y-%m-%d %H:%M:%S")}">'
            f"{when.strftime('%Y-%m-%d %H:%M')}</div>\n          </li>\n          "
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above went through esc


def _known_people(task: Task) -> dict[int, str]:
    """Display names of the people the task page has loaded (owner, initiator, reviewer,
    collaborators, the events' actors), by id."""
    people = [task.owner, task.initiator, task.reviewer, *task.collaborator_list]
    people += [e.actor for e in task.event_list]
    return {p.pk: p.display_name for p in people if p is not None}


def _detail_context(request, task: Task, **extra) -> dict:
    user = request.user
    today = task.department.local_today()
    # The latest ACTIVITY_ROWS events; the rest (up to the selector's 100) on request, in place
    # (htmx) or as the same page with ?activity=all: a long history costs nothing until asked.
    show_all = request.GET.get("activity") == "all"
    shown = task.event_list if show_all else task.event_list[:ACTIVITY_ROWS]
    # The people on the task are known: a look-up only for others the shown events name.
    names = _event_names(shown, _known_people(task))
    activity = [
        {
            "event": e,
            "lines": describe_event(e, names),
            "kind": "overdue"
            if e.verb == "became_overdue"
            else ("status" if e.verb == "status_changed" else ""),
        }
        for e in shown
    ]
    for sub in task.subtask_list:
        sub.indent = max(0, sub.depth - task.depth - 1) * 18
    may_edit = permissions.can_edit(user, task) and task.is_open
    may_reassign = permissions.can_reassign(user, task) and task.is_open
    blocker = ""
    if task.status == Status.BLOCKED:
        blocker = next(
            (
                e.note
                for e in task.event_list
                if e.verb == "status_changed" and e.after.get("status") == Status.BLOCKED
            ),
            None,
        )
        if blocker is None:  # blocked longer ago than the events read
            blocker = (
                TaskEvent.objects.filter(task=task, verb="status_changed", after__status=Status.BLOCKED)
                .order_by("-created_at", "-id")
                .values_list("note", flat=True)
                .first()
                or ""
            )
    # One short list of people for every picker on the page (reassign, collaborator, subtask).
    people = task_people(task)
    # The pickers load when their panel opens (`people_form`), or with the page when asked
    # for by name (`?open=reassign`, the link a browser without JavaScript follows) or shown
    # again with errors (in `extra`): rendering one costs more than the rest of the panel.
    open_form = extra.get("open_panel") or (request.GET.get("open", "") if request.method == "GET" else "")
    if not {"collaborators": may_edit, "reassign": may_reassign}.get(open_form, False):
        open_form = ""
    ctx = {
        "task": task,
        # The choice labels the page shows (Django's get_FOO_display is ~300 calls each).
        "labels": {
            name: choice_display(task, name)
            for name in ("status", "priority", "task_type", "source", "adhoc_category")
        },
        "blocker": blocker,
        "today": today,
        "overdue": task.is_overdue(today),
        "activity": activity,
        "activity_rows": activity_rows(activity),
        "activity_more": getattr(task, "event_count", len(task.event_list)) - len(shown),
        "actions": _transition_actions(user, task),
        "may_edit": may_edit,
        # Flagged to those who may add them (owner, initiator, head, deputy) while the task is
        # open: a task without criteria cannot be submitted (review.services.refuse_obstacles).
        "criteria_missing": may_edit and not task.criteria_list,
        "may_reassign": may_reassign,
        "reassign_form": ReassignForm(initial={"owner": task.owner_id}, suggest=people)
        if open_form == "reassign"
        else None,
        "collab_form": CollaboratorForm(suggest=people) if open_form == "collaborators" else None,
        "action_error": None,
        "open_panel": open_form,
        "extension_panels": extensions.task_panels(request, task),
        "quick_actions": extensions.quick_actions(request, task),
        # The head may let a task start before its predecessors (recorded); others see why not.
        # Not asked for a task with no dependency link at all (the page's presence flag).
        "waiting_for": services.open_predecessors(task)
        if task.status == Status.NOT_STARTED and extensions.task_has(task, "dependencies")
        else [],
        "may_override": task.status == Status.NOT_STARTED
        and permissions.can_override_dependencies(user, task),
    }
    ctx.update(extensions.task_context(request, task, suggest=people))
    ctx.update(extra)
    for key in ("reassign_form", "collab_form", "subtask_form"):
        if ctx.get(key) is not None:  # a posted form shown again offers the same people
            suggest_people(ctx[key], people)
    return ctx


# The people pickers of the task page's 人员 card, each loaded when its panel opens.
PEOPLE_FORMS = ("collaborators", "reassign")


@login_required
def people_form(request, pk: int, name: str):
    """One of the 人员 card's forms (`PEOPLE_FORMS`: add a collaborator, reassign the owner),
    for htmx to put in its panel when opened; without htmx, the task page with that form open
    (`?open=NAME#people`). 404 for a task the person does not see or an unknown form, 403 for
    one who may not use it (the same rule as the page's panel: `can_edit` / `can_reassign` on
    an open task)."""
    if name not in PEOPLE_FORMS:
        raise Http404
    task = selectors.access_task(request.user, pk)
    may = permissions.can_reassign if name == "reassign" else permissions.can_edit
    if not (may(request.user, task) and task.is_open):
        return _forbidden(request, _("You may not do this."), task.get_absolute_url())
    if not request.htmx:
        return redirect(f"{reverse('tasks:detail', args=[pk])}?open={name}#people")
    people = task_people(task)
    ctx = {
        "task": task,
        "which": name,
        "reassign_form": ReassignForm(initial={"owner": task.owner_id}, suggest=people),
        "collab_form": CollaboratorForm(suggest=people),
    }
    return render(request, "tasks/_people_form.html", ctx)


def _page_task(request, pk: int) -> Task:
    """The task with what its page shows: the latest ACTIVITY_ROWS events, or all it lists
    (?activity=all)."""
    all_events = request.method == "GET" and request.GET.get("activity") == "all"
    return selectors.task_detail(request.user, pk, events=True if all_events else ACTIVITY_ROWS)


@login_required
def task_detail(request, pk: int):
    task = _page_task(request, pk)
    return render(request, "tasks/detail.html", _detail_context(request, task))


def render_task_page(request, pk: int, *, status: int, context) -> HttpResponse:
    """The task page of `pk` answered at a POST address with HTTP `status`, its context
    completed by `context(task) -> dict` (applied last): another app's refused form (the
    plan's, without JavaScript) shown again in place with the person's input and the
    message beside it, as `_action_failed` does for this page's own forms. 404 as the
    page for a task the person does not see."""
    task = _page_task(request, pk)
    ctx = _detail_context(request, task)
    ctx.update(context(task))
    return render(request, "tasks/detail.html", ctx, status=status)


def _action_failed(request, pk: int, exc: DomainError, **extra):
    """Show the task page again with the service's message and the person's input."""
    task = _page_task(request, pk)
    ctx = _detail_context(request, task, action_error=exc, **extra)
    return render(request, "tasks/detail.html", ctx, status=exc.status)


@login_required
@require_POST
def task_transition(request, pk: int):
    task = selectors.access_task(request.user, pk)
    form = TransitionForm(request.POST)
    to, note = request.POST.get("to", ""), request.POST.get("note", "")
    try:
        if (task.status, to) in TRANSITIONS and extensions.routed_transition_url(task, to):
            raise Conflict(
                _("This step is taken on its own page (deliverables, criterion by criterion)."),
                code="transition_not_allowed",
            )
        version = form.data.get("version")
        if version and str(task.version) != str(version):
            raise services.stale_version()
        moved = services.task_transition(
            actor=request.user,
            task=task,
            to=to,
            note=note,
            expected_subtasks=_posted_count(request.POST.get("expected_subtasks")),
        )
    except DomainError as exc:
        return _action_failed(request, pk, exc, open_panel=f"transition-{to}", posted_note=note)
    messages.success(request, services.transition_summary(moved))
    return redirect(task)


def _posted_count(value: str | None) -> int | None:
    """A count a form posted back (ASCII digits, at most 9), or None when absent or not one."""
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


@login_required
@require_POST
def dependency_override(request, pk: int):
    """The head or deputy lets the task start before its predecessors are done."""
    task = selectors.access_task(request.user, pk)
    note = request.POST.get("note", "")
    try:
        services.dependency_override(actor=request.user, task=task, note=note)
    except NotAllowed as exc:
        return _forbidden(request, exc.message, task.get_absolute_url())
    except DomainError as exc:
        return _action_failed(request, pk, exc, open_panel="override", posted_note=note)
    messages.success(request, _("The owner may start the task now; the override is in the activity log."))
    return redirect(task)


@reloads_to("people")
@login_required
@require_POST
def task_reassign(request, pk: int):
    task = selectors.access_task(request.user, pk)
    if not permissions.can_reassign(request.user, task):
        return _forbidden(
            request,
            _("Only the initiator or the department head can reassign a task."),
            task.get_absolute_url(),
        )
    form = ReassignForm(request.POST)
    if not form.is_valid():
        err = DomainError(_("Choose the new owner."), fields={"owner": [_("Choose the new owner.")]})
        return _action_failed(request, pk, err, reassign_form=form, open_panel="reassign")
    owner = form.cleaned_data["owner"]
    try:
        services.task_reassign(actor=request.user, task=task, owner=owner, reason=form.cleaned_data["reason"])
    except NotAllowed as exc:
        return _forbidden(request, exc.message, task.get_absolute_url())
    except DomainError as exc:
        _apply_errors(form, exc)
        return _action_failed(request, pk, exc, reassign_form=form, open_panel="reassign")
    if owner.pk == task.owner_id:  # the service changed nothing: no event, no notification
        messages.info(request, _("%(person)s already owns the task.") % {"person": owner.display_name})
    else:
        messages.success(request, _("%(person)s now owns the task.") % {"person": owner.display_name})
    return redirect(task)


@reloads_to("people")
@login_required
@require_POST
def collaborator_add(request, pk: int):
    task = selectors.access_task(request.user, pk)
    form = CollaboratorForm(request.POST)
    if not form.is_valid():
        err = DomainError(_("Choose a person."), fields={"user": [_("Choose a person.")]})
        return _action_failed(request, pk, err, collab_form=form, open_panel="collaborators")
    try:
        if form.cleaned_data["user"].pk == task.owner_id:
            # Checked here too: the service's own check fails with an UnboundLocalError
            # (its `_, created = …` shadows gettext); reported to the lead.
            raise ValidationFailed(
                _("The owner is not also a collaborator."), fields={"user": [_("This is the owner.")]}
            )
        added = services.task_collaborator_add(actor=request.user, task=task, user=form.cleaned_data["user"])
    except DomainError as exc:
        _apply_errors(form, exc)
        return _action_failed(request, pk, exc, collab_form=form, open_panel="collaborators")
    person = form.cleaned_data["user"].display_name
    if added:
        messages.success(request, _("%(person)s now helps on this task.") % {"person": person})
    else:
        messages.info(request, _("%(person)s already helps on this task.") % {"person": person})
    return redirect(task)


@login_required
@require_POST
def collaborator_remove(request, pk: int, user_id: int):
    task = selectors.access_task(request.user, pk)
    person = User.objects.filter(pk=user_id).first()
    if person is None:
        raise Http404
    try:
        services.task_collaborator_remove(actor=request.user, task=task, user=person)
    except DomainError as exc:
        return _action_failed(request, pk, exc)
    messages.success(request, _("%(person)s no longer helps on this task.") % {"person": person.display_name})
    return redirect(task)


# -- create and edit -----------------------------------------------------------------------

MIN_BLANK_CRITERIA = 3


def _blank_rows(rows: list[dict], minimum: int) -> list[dict]:
    rows = list(rows)
    blank = {"text": "", "metric": "", "comparator": "", "threshold": "", "unit": ""}
    while len(rows) < minimum:
        rows.append(dict(blank))
    return rows


def _form_context(request, form, rows, *, task=None, loose=None) -> dict:
    for i, row in enumerate(rows, start=1):
        row["n"] = i
    return {
        "form": form,
        "criteria_rows": rows,
        "criteria_errors": [],
        "comparators": COMPARATOR_CHOICES,
        "task": task,
        "loose_errors": loose or [],
        "projects": Project.objects.filter(active=True).values_list("name", flat=True),
        "customers": Customer.objects.filter(active=True).values_list("name", flat=True),
        # On the new-task form: what other apps offer (review: lessons of similar past tasks).
        "form_panels": extensions.form_panels(request) if task is None else [],
    }


def _criteria_in(rows: list[dict]) -> list[services.CriterionIn]:
    return [
        services.CriterionIn(
            text=r["text"],
            metric=r["metric"],
            comparator=r["comparator"],
            threshold=r["threshold"] or None,
            unit=r["unit"],
        )
        for r in rows
    ]


def _named(kind: str, name: str):
    if not name:
        return None
    if kind == "project":
        return services.project_get_or_create(name=name)
    return services.customer_get_or_create(name=name)


def _criteria_loose(loose: list[str], exc: DomainError) -> tuple[list[str], list[str]]:
    crit = exc.fields.get("criteria", []) if exc.fields else []
    return [m for m in loose if m not in crit], crit


@login_required
def task_create(request):
    user = request.user
    departments = departments_for(user)
    people = colleagues(user)
    if request.method == "POST":
        form = TaskForm(request.POST, departments=departments, suggest=people)
        rows = parse_criteria(request.POST)
        if "add_criterion" in request.POST:
            # Show the input again with one more row, without judging it yet.
            rows = _blank_rows(rows, len(rows) + 1)
            form = TaskForm(initial=request.POST.dict(), departments=departments, suggest=people)
            form.initial["collaborators"] = request.POST.getlist("collaborators")
            return render(request, "tasks/form.html", _form_context(request, form, rows))
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    task = services.task_create(
                        actor=user,
                        department=data["department"],
                        title=data["title"],
                        owner=data["owner"],
                        due_date=data["due_date"],
                        goal=data["goal"],
                        expected_outcome=data["expected_outcome"],
                        value=data["value"],
                        task_type=data["task_type"],
                        priority=data["priority"],
                        start_date=data["start_date"],
                        reviewer=data["reviewer"],
                        collaborators=list(data["collaborators"]),
                        project=_named("project", data["project"]),
                        customer=_named("customer", data["customer"]),
                        notes=data["notes"],
                        criteria=_criteria_in(rows),
                        require_intake=True,
                    )
            except DomainError as exc:
                loose = _apply_errors(form, exc, rows)
                loose, crit = _criteria_loose(loose, exc)
                ctx = _form_context(request, form, _blank_rows(rows, MIN_BLANK_CRITERIA), loose=loose)
                ctx["criteria_errors"] = crit
                return render(request, "tasks/form.html", ctx, status=exc.status)
            messages.success(
                request, _("Task %(code)s created.") % {"code": f"{task.department.code}-{task.code}"}
            )
            return redirect(task)
        ctx = _form_context(request, form, _blank_rows(rows, MIN_BLANK_CRITERIA))
        return render(request, "tasks/form.html", ctx, status=422)

    initial = {"owner": user.pk}
    if len(departments) == 1:
        initial["department"] = departments[0].pk
    if not departments:
        messages.warning(
            request, _("You are not a member of any department, so you cannot create tasks yet.")
        )
    form = TaskForm(initial=initial, departments=departments, suggest=people)
    return render(
        request, "tasks/form.html", _form_context(request, form, _blank_rows([], MIN_BLANK_CRITERIA))
    )


# The edit form's fields a conflict names with the task's value now (the long texts by name only).
_CONFLICT_SHOWN = ("title", "task_type", "priority", "reviewer", "start_date", "due_date")
_CONFLICT_NAMED = ("goal", "expected_outcome", "value", "notes")


def _edit_initial(task: Task) -> dict:
    """The edit form's values from `task` (what a field the person may not change keeps)."""
    return {
        "title": task.title,
        "goal": task.goal,
        "expected_outcome": task.expected_outcome,
        "value": task.value,
        "task_type": task.task_type,
        "priority": task.priority,
        "reviewer": task.reviewer_id,
        "start_date": task.start_date,
        "due_date": task.due_date,
        "notes": task.notes,
        "version": task.version,
    }


def _edit_conflict(request, pk: int, people, rights) -> tuple:
    """The edit form after the task changed since it was opened (another tab, another person):
    what was typed is kept, against the task's current version, so saving again is a choice
    made knowingly; the message names the fields whose value now differs from what was typed,
    with the current value — where "reload and try again" lost the typing and named nothing.
    Returns the form and the error to show."""
    current = selectors.access_task(request.user, pk)
    data = request.POST.copy()
    data["version"] = str(current.version)
    # The current values for the fields the person may not change (disabled: the due date, the
    # reviewer), which a bound form takes from `initial`.
    form = TaskForm(data, initial=_edit_initial(current), edit=True, suggest=people, **rights)
    form.is_valid()
    typed = form.cleaned_data
    differ = []
    for name in (*_CONFLICT_SHOWN, *_CONFLICT_NAMED):
        if name not in form.fields or name not in typed or form.fields[name].disabled:
            continue
        now = getattr(current, name + "_id" if name == "reviewer" else name)
        mine = typed[name].pk if name == "reviewer" and typed[name] is not None else typed[name]
        if (now or None) == (mine or None):
            continue
        label = form.fields[name].label
        if name in _CONFLICT_NAMED:
            differ.append(str(label))
        else:
            if name == "task_type":
                shown = current.get_task_type_display()
            elif name == "priority":
                shown = current.get_priority_display()
            elif name == "reviewer":
                shown = current.reviewer.display_name if current.reviewer_id else "—"
            elif now is None:  # a start date taken away
                shown = "—"
            else:
                shown = now.isoformat() if hasattr(now, "isoformat") else str(now)
            differ.append(_("%(field)s (now %(value)s)") % {"field": label, "value": shown})
    message = _("This task was changed elsewhere (perhaps by you in another window).")
    if differ:
        message += " " + _("Now different from what you typed: %(fields)s.") % {"fields": "、".join(differ)}
    message += " " + _("What you typed is kept: check it and save again to keep it.")
    return form, Conflict(message, code="version_conflict")


@login_required
def task_edit(request, pk: int):
    user = request.user
    task = selectors.access_task(user, pk)
    if not permissions.can_edit(user, task):
        return _forbidden(
            request,
            _("Only the owner, the initiator or the department head can edit this task."),
            task.get_absolute_url(),
        )
    if not task.is_open:
        messages.error(request, _("The task is closed; reopen is not possible, create a follow-up task."))
        return redirect(task)
    people = PeopleSuggestions(department_ids=[task.department_id])
    rights = {
        "can_move_due": permissions.can_move_due_date(user, task),
        "can_name_reviewer": permissions.can_reassign(user, task),
    }
    initial = _edit_initial(task)
    if request.method == "POST":
        form = TaskForm(request.POST, initial=initial, edit=True, suggest=people, **rights)
        rows = parse_criteria(request.POST)
        if "add_criterion" in request.POST:
            form = TaskForm(initial=request.POST.dict(), edit=True, suggest=people, **rights)
            rows = _blank_rows(rows, len(rows) + 1)
            return render(request, "tasks/form.html", _form_context(request, form, rows, task=task))
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    services.task_update(
                        actor=user,
                        task=task,
                        expected_version=data.get("version"),
                        criteria=_criteria_in(rows),
                        title=data["title"],
                        goal=data["goal"],
                        expected_outcome=data["expected_outcome"],
                        value=data["value"],
                        task_type=data["task_type"],
                        priority=data["priority"],
                        start_date=data["start_date"],
                        due_date=data["due_date"],
                        reviewer=data["reviewer"],
                        project=_named("project", data["project"]),
                        customer=_named("customer", data["customer"]),
                        notes=data["notes"],
                        reason=data.get("reason") or "",
                    )
            except NotAllowed as exc:
                return _forbidden(request, exc.message, task.get_absolute_url())
            except DomainError as exc:
                if exc.code == "version_conflict":
                    form, exc = _edit_conflict(request, pk, people, rights)
                loose = _apply_errors(form, exc, rows)
                loose, crit = _criteria_loose(loose, exc)
                ctx = _form_context(request, form, _blank_rows(rows, 1), task=task, loose=loose)
                ctx["criteria_errors"] = crit
                return render(request, "tasks/form.html", ctx, status=exc.status)
            messages.success(request, _("Your changes were saved."))
            return redirect(task)
        return render(
            request,
            "tasks/form.html",
            _form_context(request, form, _blank_rows(rows, 1), task=task),
            status=422,
        )

    project = (
        Project.objects.filter(pk=task.project_id).values_list("name", flat=True).first()
        if task.project_id
        else ""
    )
    customer = (
        Customer.objects.filter(pk=task.customer_id).values_list("name", flat=True).first()
        if task.customer_id
        else ""
    )
    form = TaskForm(
        initial={**initial, "project": project, "customer": customer},
        edit=True,
        suggest=people,
        **rights,
    )
    rows = [
        {
            "text": c.text,
            "metric": c.metric,
            "comparator": c.comparator,
            "threshold": f"{c.threshold.normalize():f}" if c.threshold is not None else "",
            "unit": c.unit,
        }
        for c in task.criteria.all()
    ]
    rows = _blank_rows(rows, max(MIN_BLANK_CRITERIA, len(rows) + 1))
    return render(request, "tasks/form.html", _form_context(request, form, rows, task=task))


@login_required
def criterion_row(request):
    """One blank criterion row, appended by the form's "add another criterion" button."""
    try:
        n = max(1, min(int(request.GET.get("n", "1")), 99))
    except ValueError:
        n = 1
    row = {"n": n, "text": "", "metric": "", "comparator": "", "threshold": "", "unit": ""}
    return render(request, "tasks/_criterion_row.html", {"row": row, "comparators": COMPARATOR_CHOICES})


# -- views that later releases build -------------------------------------------------------

COMING_SOON = {
    "board": gettext_lazy("Board"),
    "timeline": gettext_lazy("Timeline"),
    "workload": gettext_lazy("Workload"),
    "calendar": gettext_lazy("Calendar"),
    "dashboard": gettext_lazy("Dashboard"),
    "weekly_review": gettext_lazy("Weekly review"),
    "knowledge": gettext_lazy("Knowledge base"),
}


@login_required
def coming_soon(request, section: str):
    if section not in COMING_SOON:
        raise Http404
    return render(
        request,
        "tasks/coming_soon.html",
        {"section": COMING_SOON[section], "list_url": reverse("tasks:list")},
    )
