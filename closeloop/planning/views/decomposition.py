"""The plan on the task page: subtasks, dependencies, milestones, templates and recurrence.
Thin: read through selectors, write through services; an htmx request gets back the plan
fragment, a plain POST a redirect. `plan_context` is registered as a task-page context
(see `tasks.extensions`).
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from closeloop.core.choices import choice_display
from closeloop.core.dates import invalid_date
from closeloop.core.errors import DomainError, NotFound, ValidationFailed, field_message
from closeloop.core.escape import esc
from closeloop.core.middleware import reloads_to
from closeloop.core.templatetags.closeloop_ui import icon, initials, progress_bar, status_badge
from closeloop.planning.selectors import plan as plan_selectors
from closeloop.planning.services import decomposition as decomposition_services
from closeloop.planning.services import recurrence as recurrence_services
from closeloop.planning.services import templates as template_services
from closeloop.planning.views.common import _int
from closeloop.tasks import extensions, permissions, selectors, services
from closeloop.tasks.forms import (
    MilestoneForm,
    RecurrenceForm,
    SubtaskForm,
    suggest_people,
    task_people,
)
from closeloop.tasks.models import DecompositionTemplate, Milestone, subtree_q

# -- the plan on the task page -------------------------------------------------------------------


_SUBTASK_ROW = (
    '\n      <li class="plan-tree__row" style="--indent:{}" id="sub-{}">\n'
    '        <div class="plan-tree__main">\n'
    '          <span class="code">{}-{}</span> <a href="{}">{}</a>\n'
    '          <div class="small muted plan-tree__meta">\n'
    '            <span class="person"><span class="avatar avatar--sm">{}</span>{}</span>\n'
    "            {}\n"
    '            <span class="nowrap">{} → <span class="{}">{}</span></span>\n'
    "            {}\n"
    "            {}\n"
    "            {}\n"
    "          </div>\n"
    "        </div>\n"
    '        <div class="subtasks__meta">{}{}</div>\n'
    "      </li>\n"
    "      "
)


_PK_MARK = 987654321  # a task id in the URL pattern, replaced by each row's


def subtask_rows(task, subtasks, today: date) -> SafeString:
    """The plan's subtask rows (Task rows with `indent`, `owner`, `collaborator_list`,
    `criteria_count` and `after_codes`, as `task_plan` leaves them) as HTML: the template
    loop it replaced gave the same (`tasks/tests/test_task_page_html.py` compares them);
    escaped as format_html does (`core.escape.esc`). `today` decides which due dates show as overdue."""
    code = task.department.code
    criteria_label, after_label = _("Acceptance criteria"), _("after")
    check = icon("check")
    detail_url = reverse("tasks:detail", args=[_PK_MARK])
    statuses: dict[str, str] = {}  # status → label: Django's get_status_display costs ~300 calls
    out = []
    for s in subtasks:
        if s.status not in statuses:
            statuses[s.status] = choice_display(s, "status")
        out.append(
            _SUBTASK_ROW.format(  # format_html's work: each value escaped unless already safe
                *map(
                    esc,
                    (
                        s.indent,
                        s.pk,
                        code,
                        s.code,
                        detail_url.replace(str(_PK_MARK), str(s.pk)),
                        s.title,
                        initials(s.owner),
                        s.owner.display_name,
                        format_html_join(
                            "",
                            '<span class="chip chip--sm">{}</span>',
                            ((c.display_name,) for c in s.collaborator_list),
                        ),
                        s.start_date.strftime("%m-%d") if s.start_date else "…",
                        "due--overdue" if s.due_date < today and s.is_open else "",
                        s.due_date.strftime("%m-%d") if s.due_date else "",
                        format_html(
                            '<span class="nowrap" title="{}">{}{}</span>',
                            criteria_label,
                            check,
                            s.criteria_count,
                        )
                        if s.criteria_count
                        else "",
                        format_html('<span class="nowrap">{}</span>', _("weight %(w)s") % {"w": s.weight})
                        if s.weight != 1
                        else "",
                        format_html(
                            '<span class="nowrap after">{} {}</span>', after_label, ", ".join(s.after_codes)
                        )
                        if s.after_codes
                        else "",
                        status_badge(s.status, statuses[s.status]),
                        progress_bar(s.progress),
                    ),
                )
            )
        )
    return mark_safe("".join(out))  # noqa: S308 - each value of each row went through esc


# The plan's forms: each loads when its panel is opened (`plan_form`), or with the page when
# asked for by name (`?open=milestone`, the link a browser without JavaScript follows).
PLAN_FORMS = ("subtask", "dependency", "milestone", "templates", "recurrence")


def plan_context(request, task, *, suggest=None, open_form: str | None = None, **extra) -> dict:
    """The plan part of the task page's context (registered as a task context). Its forms are
    built only for the one open (`open_form`, else the page's `?open=`) or passed in `extra`
    to be shown again with errors: the closed ones load when opened (issue 16, item 2)."""
    if open_form is None:
        open_form = request.GET.get("open", "") if request.method == "GET" else ""
    if open_form not in PLAN_FORMS:
        open_form = ""
    subtasks = getattr(task, "subtask_list", None)
    plan = plan_selectors.task_plan(request.user, task, subtasks=subtasks, templates=open_form == "templates")
    may_edit = permissions.can_edit(request.user, task) and task.is_open
    may_recur = may_edit and task.parent_id is None
    if not may_edit or (open_form == "recurrence" and not may_recur):
        open_form = ""
    ctx = {
        "task": task,
        "plan": plan,
        "may_plan": may_edit,
        "may_recur": may_recur,
        "plan_open": open_form,
        "subtask_form": SubtaskForm(initial={"owner": task.owner_id}, suggest=suggest or task_people(task))
        if open_form == "subtask"
        else None,
        "milestone_form": MilestoneForm() if open_form == "milestone" else None,
        "recurrence_form": RecurrenceForm(
            initial={
                "frequency": plan.recurrence.frequency,
                "weekday": plan.recurrence.weekday,
                "nth_workday": plan.recurrence.nth_workday,
                "day_of_month": plan.recurrence.day_of_month,
                "lead_days": plan.recurrence.lead_days,
            }
            if plan.recurrence
            else None
        )
        if open_form == "recurrence"
        else None,
        "plan_error": None,
        "today": selectors.local_today(),
    }
    ctx.update(extra)
    if ctx["subtask_form"] is not None:  # a posted form shown again offers the same people
        suggest_people(ctx["subtask_form"], suggest or task_people(task))
    ctx["subtask_rows"] = subtask_rows(task, plan.subtasks, ctx["today"])
    return ctx


@login_required
def plan_form(request, pk: int, name: str):
    """One of the plan's forms (`PLAN_FORMS`), for htmx to put in its panel when opened;
    without htmx, the task page with that form open. 404 for a task the person does not see
    or an unknown form, 403 for one who may not change the plan."""
    if name not in PLAN_FORMS:
        raise Http404
    task = selectors.task_detail(request.user, pk, events=False)
    may = permissions.can_edit(request.user, task) and task.is_open
    if not may or (name == "recurrence" and task.parent_id is not None):
        return render(
            request,
            "403.html",
            {"message": _("You may not do this."), "back_url": task.get_absolute_url()},
            status=403,
        )
    if not request.htmx:
        return redirect(f"{reverse('tasks:detail', args=[pk])}?open={name}#plan")
    ctx = plan_context(request, task, open_form=name)
    return render(request, "tasks/_plan_form.html", {**ctx, "which": name})


def _plan_response(
    request, pk: int, *, error: DomainError | None = None, notice: str = "", form: str = "", **extra
):
    """The plan panel after a POST: over htmx the panel itself, the form named `form` (one of
    `PLAN_FORMS`) open again with what was posted and the error inside it when refused;
    without htmx the whole task page so (status of the error) when a form was refused, else
    a redirect to the task page with the message."""
    if request.htmx:
        task = selectors.task_detail(request.user, pk)
        ctx = plan_context(
            request,
            task,
            open_form=form if error is not None else "",
            plan_error=error,
            plan_notice=notice,
            **extra,
        )
        response = render(request, "tasks/_plan.html", ctx, status=200 if error is None else error.status)
        if error is not None:
            # htmx swaps 2xx only by default: keep the swap so the message shows in place.
            response.status_code = 200
            response["HX-Reswap"] = "outerHTML"
        return response
    if error is not None:
        if form in PLAN_FORMS:
            # The task page itself, at this address, with the form open, what was typed and
            # the message inside it: a redirect would lose both (as the task page's own
            # refused forms do, `tasks.views.tasks._action_failed`).
            return extensions.task_page(
                request,
                pk,
                status=error.status,
                context=lambda task: plan_context(
                    request, task, open_form=form, plan_error=error, plan_notice="", **extra
                ),
            )
        messages.error(request, error.message)
    elif notice:
        messages.success(request, notice)
    return redirect(reverse("tasks:detail", args=[pk]) + "#plan")


@reloads_to("plan")
@login_required
@require_POST
def subtask_add(request, pk: int):
    task = selectors.access_task(request.user, pk)
    form = SubtaskForm(request.POST)
    parent = task
    if not form.is_valid():
        return _plan_response(
            request,
            pk,
            error=DomainError(
                "; ".join(
                    f"{form.fields[k].label}: {v[0]}" for k, v in form.errors.items() if k in form.fields
                )
                or _("Check the subtask's fields."),
                fields={k: list(v) for k, v in form.errors.items()},
            ),
            form="subtask",
            subtask_form=form,
        )
    d = form.cleaned_data
    if d.get("parent") and d["parent"] != task.pk:
        parent = selectors.access_task(request.user, d["parent"])
        if not parent.path.startswith(task.path):
            raise Http404
    try:
        sub = decomposition_services.subtask_add(
            actor=request.user,
            parent=parent,
            title=d["title"],
            owner=d["owner"],
            start_date=d["start_date"],
            due_date=d["due_date"],
            collaborators=list(d["collaborators"]),
            criteria=[services.CriterionIn(text=d["criterion"])] if d["criterion"] else [],
            weight=d["weight"] or 1,
        )
    except DomainError as exc:
        return _plan_response(request, pk, error=exc, form="subtask", subtask_form=form)
    return _plan_response(request, pk, notice=_("Subtask %(code)s added.") % {"code": sub.code})


@reloads_to("plan")
@login_required
@require_POST
def dependency_add(request, pk: int):
    task = selectors.access_task(request.user, pk)
    succ = selectors.access_task(request.user, request.POST.get("successor") or pk)
    pred_id = _int(request.POST.get("predecessor"))
    posted = {"dep_pred": pred_id, "dep_succ": succ.pk}  # chosen again when shown refused
    try:
        pred = selectors.access_task(request.user, pred_id) if pred_id else None
    except NotFound:
        pred = None
    if pred is None:
        return _plan_response(
            request,
            pk,
            error=DomainError(_("Choose the task it waits for."), fields={"predecessor": [_("Choose one.")]}),
            form="dependency",
            **posted,
        )
    try:
        dep = decomposition_services.dependency_add(
            actor=request.user, predecessor=pred, successor=succ, plan=task
        )
    except DomainError as exc:
        return _plan_response(request, pk, error=exc, form="dependency", **posted)
    said = (
        _("%(succ)s now waits for %(pred)s.")
        if dep.was_created
        else _("%(succ)s already waits for %(pred)s.")
    )
    return _plan_response(request, task.pk, notice=said % {"succ": succ.code, "pred": pred.code})


@reloads_to("plan")
@login_required
@require_POST
def dependency_remove(request, pk: int, pred: int, succ: int):
    task = selectors.access_task(request.user, pk)
    successor = selectors.access_task(request.user, succ)
    predecessor = selectors.access_task(request.user, pred)
    try:
        decomposition_services.dependency_remove(
            actor=request.user, predecessor=predecessor, successor=successor, plan=task
        )
    except DomainError as exc:
        return _plan_response(request, pk, error=exc)
    return _plan_response(request, pk)


@reloads_to("plan")
@login_required
@require_POST
def milestone_add(request, pk: int):
    task = selectors.access_task(request.user, pk)
    form = MilestoneForm(request.POST)
    if not form.is_valid():
        # The form's own refusal, naming the field (a text that is no date), not the service's
        # "give the milestone a date" for what it then received as none. The days a milestone
        # may take are the service's to say (after the due date, outside the calendar's years).
        fields = {name: [str(m) for m in msgs] for name, msgs in form.errors.items()}
        name, msgs = next(iter(fields.items()))
        first = field_message(form.fields[name].label if name in form.fields else "", msgs[0])
        return _plan_response(
            request, pk, error=ValidationFailed(first, fields=fields), form="milestone", milestone_form=form
        )
    try:
        decomposition_services.milestone_add(
            actor=request.user,
            task=task,
            title=form.cleaned_data.get("title", request.POST.get("title", "")),
            date_=form.cleaned_data.get("date"),
        )
    except DomainError as exc:
        return _plan_response(request, pk, error=exc, form="milestone", milestone_form=form)
    return _plan_response(request, pk)


@reloads_to("plan")
@login_required
@require_POST
def milestone_action(request, pk: int, milestone_id: int):
    task = selectors.access_task(request.user, pk)
    milestone = (
        Milestone.objects.filter(subtree_q(task.path, "task__path"), pk=milestone_id)
        .select_related("task")
        .first()
    )
    if milestone is None:
        raise Http404
    try:
        if request.POST.get("action") == "remove":
            decomposition_services.milestone_remove(actor=request.user, milestone=milestone)
        else:
            decomposition_services.milestone_update(
                actor=request.user, milestone=milestone, reached=milestone.reached_at is None
            )
    except DomainError as exc:
        return _plan_response(request, pk, error=exc)
    return _plan_response(request, pk)


@reloads_to("plan")
@login_required
@require_POST
def template_save(request, pk: int):
    task = selectors.access_task(request.user, pk)
    try:
        template = template_services.template_save(
            actor=request.user, task=task, name=request.POST.get("name", "")
        )
    except DomainError as exc:
        return _plan_response(request, pk, error=exc, form="templates")
    return _plan_response(request, pk, notice=_("Template “%(name)s” saved.") % {"name": template.name})


@reloads_to("plan")
@login_required
@require_POST
def template_apply(request, pk: int):
    task = selectors.access_task(request.user, pk)
    template = DecompositionTemplate.objects.filter(
        pk=_int(request.POST.get("template"), 0), department_id=task.department_id
    ).first()
    if template is None:
        return _plan_response(
            request,
            pk,
            error=DomainError(_("Choose a template."), fields={"template": [_("Choose a template.")]}),
            form="templates",
        )
    start = None
    if request.POST.get("start"):
        try:
            start = date.fromisoformat(request.POST["start"])
        except ValueError:
            # Said, not silently replaced by the task's own start: the steps would land elsewhere.
            message = invalid_date(request.POST["start"], _("Starting"))
            return _plan_response(
                request, pk, error=ValidationFailed(message, fields={"start": [message]}), form="templates"
            )
    try:
        created = template_services.template_apply(
            actor=request.user, template=template, task=task, start=start
        )
    except DomainError as exc:
        return _plan_response(request, pk, error=exc, form="templates")
    return _plan_response(
        request, pk, notice=_("%(n)s subtasks added from the template.") % {"n": len(created)}
    )


@reloads_to("plan")
@login_required
@require_POST
def recurrence_set(request, pk: int):
    task = selectors.access_task(request.user, pk)
    if request.POST.get("action") == "stop":
        try:
            recurrence_services.recurrence_stop(actor=request.user, task=task)
        except DomainError as exc:
            return _plan_response(request, pk, error=exc)
        return _plan_response(request, pk, notice=_("The task no longer recurs."))
    form = RecurrenceForm(request.POST)
    form.is_valid()
    d = form.cleaned_data
    try:
        recurrence_services.recurrence_set(
            actor=request.user,
            task=task,
            frequency=request.POST.get("frequency", ""),
            weekday=d.get("weekday"),
            nth_workday=d.get("nth_workday"),
            day_of_month=d.get("day_of_month"),
            lead_days=d.get("lead_days") if d.get("lead_days") is not None else 5,
        )
    except DomainError as exc:
        return _plan_response(request, pk, error=exc, form="recurrence", recurrence_form=form)
    return _plan_response(request, pk, notice=_("The task recurs; the next one is created ahead of time."))
