"""Pages of intake and decomposition: quick capture, the live vagueness hint, the plan on the
task page (subtasks, dependencies, milestones, templates, recurrence, comments), and the
board, timeline, workload and calendar views. Thin: read through selectors, write through
services; an htmx request gets back the fragment that changed, a plain POST a redirect.
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from closeloop.core.errors import DomainError, NotAllowed, NotFound
from closeloop.orgs.models import Department, User
from closeloop.orgs.selectors import department_visible_list, departments_for, leads
from closeloop.orgs.widgets import PeopleSuggestions, PersonPicker
from closeloop.tasks import intake, permissions, selectors, selectors_plan, services, services_plan
from closeloop.tasks.forms import (
    AdhocForm,
    HandoverForm,
    MilestoneForm,
    RecurrenceForm,
    SubtaskForm,
    colleagues,
    suggest_people,
    task_people,
)
from closeloop.tasks.models import Customer, DecompositionTemplate, Milestone, subtree_q
from closeloop.tasks.states import Status


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# -- intake ------------------------------------------------------------------------------------


@login_required
def intake_check(request):
    """The live hint under the title field: is the text concrete enough?"""
    title = request.GET.get("title", "")
    verdict = intake.check(
        title,
        request.GET.get("goal", ""),
        request.GET.get("expected_outcome", ""),
        known_names=services.known_names(),
    )
    dept_id = _int(request.GET.get("department"))
    blocking = bool(dept_id) and services.department_policy(dept_id).block_vague_intake
    return render(
        request,
        "tasks/_intake_hint.html",
        {"verdict": verdict, "blocking": blocking, "show": bool(title.strip())},
    )


@login_required
def adhoc_create(request):
    """临时任务 quick capture."""
    user = request.user
    departments = departments_for(user)
    people = colleagues(user)
    if request.method == "POST":
        form = AdhocForm(request.POST, departments=departments, suggest=people)
        if form.is_valid():
            d = form.cleaned_data
            try:
                with transaction.atomic():
                    customer = (
                        services.customer_get_or_create(name=d["customer"]) if d["customer"].strip() else None
                    )
                    task = services_plan.adhoc_capture(
                        actor=user,
                        department=d["department"],
                        title=d["title"],
                        category=d["adhoc_category"],
                        priority=d["priority"],
                        owner=d["owner"],
                        customer=customer,
                        notes=d["notes"],
                        criterion=d["criterion"],
                    )
            except DomainError as exc:
                for key, msgs in (exc.fields or {}).items():
                    for m in msgs:
                        form.add_error(key if key in form.fields else None, m)
                if not exc.fields:
                    form.add_error(None, exc.message)
            else:
                local = timezone.localtime(task.respond_by)
                messages.success(
                    request,
                    _("Ad-hoc task %(code)s created: respond by %(when)s.")
                    % {"code": task.full_code, "when": local.strftime("%Y-%m-%d %H:%M")},
                )
                return redirect(task)
        status = 422
    else:
        initial = {"owner": user.pk}
        if len(departments) == 1:
            initial["department"] = departments[0].pk
        form = AdhocForm(initial=initial, departments=departments, suggest=people)
        status = 200
    return render(
        request,
        "tasks/adhoc.html",
        {
            "form": form,
            "customers": Customer.objects.filter(active=True).values_list("name", flat=True)[:500],
        },
        status=status,
    )


# -- the plan on the task page -------------------------------------------------------------------


def plan_context(request, task, *, suggest=None, **extra) -> dict:
    subtasks = getattr(task, "subtask_list", None)
    suggest = suggest or task_people(task)
    plan = selectors_plan.task_plan(request.user, task, subtasks=subtasks)
    may_edit = permissions.can_edit(request.user, task) and task.is_open
    ctx = {
        "task": task,
        "plan": plan,
        "may_plan": may_edit,
        "subtask_form": SubtaskForm(initial={"owner": task.owner_id}, suggest=suggest) if may_edit else None,
        "milestone_form": MilestoneForm() if may_edit else None,
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
        if may_edit and task.parent_id is None
        else None,
        "plan_error": None,
        "today": selectors.local_today(),
    }
    ctx.update(extra)
    if ctx["subtask_form"] is not None:  # a posted form shown again offers the same people
        suggest_people(ctx["subtask_form"], suggest)
    return ctx


def _plan_response(request, pk: int, *, error: DomainError | None = None, notice: str = "", **extra):
    if request.htmx:
        task = selectors.task_detail(request.user, pk)
        ctx = plan_context(request, task, plan_error=error, plan_notice=notice, **extra)
        response = render(request, "tasks/_plan.html", ctx, status=200 if error is None else error.status)
        if error is not None:
            # htmx swaps 2xx only by default: keep the swap so the message shows in place.
            response.status_code = 200
            response["HX-Reswap"] = "outerHTML"
        return response
    if error is not None:
        messages.error(request, error.message)
    elif notice:
        messages.success(request, notice)
    return redirect(reverse("tasks:detail", args=[pk]) + "#plan")


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
            subtask_form=form,
        )
    d = form.cleaned_data
    if d.get("parent") and d["parent"] != task.pk:
        parent = selectors.access_task(request.user, d["parent"])
        if not parent.path.startswith(task.path):
            raise Http404
    try:
        sub = services_plan.subtask_add(
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
        return _plan_response(request, pk, error=exc, subtask_form=form)
    return _plan_response(request, pk, notice=_("Subtask %(code)s added.") % {"code": sub.code})


@login_required
@require_POST
def dependency_add(request, pk: int):
    task = selectors.access_task(request.user, pk)
    succ = selectors.access_task(request.user, request.POST.get("successor") or pk)
    pred_id = _int(request.POST.get("predecessor"))
    try:
        pred = selectors.access_task(request.user, pred_id) if pred_id else None
    except NotFound:
        pred = None
    if pred is None:
        return _plan_response(
            request,
            pk,
            error=DomainError(_("Choose the task it waits for."), fields={"predecessor": [_("Choose one.")]}),
        )
    try:
        services_plan.dependency_add(actor=request.user, predecessor=pred, successor=succ)
    except DomainError as exc:
        return _plan_response(request, pk, error=exc)
    return _plan_response(
        request,
        task.pk,
        notice=_("%(succ)s now waits for %(pred)s.") % {"succ": succ.code, "pred": pred.code},
    )


@login_required
@require_POST
def dependency_remove(request, pk: int, pred: int, succ: int):
    selectors.access_task(request.user, pk)
    successor = selectors.access_task(request.user, succ)
    predecessor = selectors.access_task(request.user, pred)
    try:
        services_plan.dependency_remove(actor=request.user, predecessor=predecessor, successor=successor)
    except DomainError as exc:
        return _plan_response(request, pk, error=exc)
    return _plan_response(request, pk)


@login_required
@require_POST
def milestone_add(request, pk: int):
    task = selectors.access_task(request.user, pk)
    form = MilestoneForm(request.POST)
    form.is_valid()
    try:
        services_plan.milestone_add(
            actor=request.user,
            task=task,
            title=form.cleaned_data.get("title", request.POST.get("title", "")),
            date_=form.cleaned_data.get("date"),
        )
    except DomainError as exc:
        return _plan_response(request, pk, error=exc, milestone_form=form)
    return _plan_response(request, pk)


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
            services_plan.milestone_remove(actor=request.user, milestone=milestone)
        else:
            services_plan.milestone_update(
                actor=request.user, milestone=milestone, reached=milestone.reached_at is None
            )
    except DomainError as exc:
        return _plan_response(request, pk, error=exc)
    return _plan_response(request, pk)


@login_required
@require_POST
def template_save(request, pk: int):
    task = selectors.access_task(request.user, pk)
    try:
        template = services_plan.template_save(
            actor=request.user, task=task, name=request.POST.get("name", "")
        )
    except DomainError as exc:
        return _plan_response(request, pk, error=exc)
    return _plan_response(request, pk, notice=_("Template “%(name)s” saved.") % {"name": template.name})


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
        )
    start = None
    if request.POST.get("start"):
        try:
            start = date.fromisoformat(request.POST["start"])
        except ValueError:
            start = None
    try:
        created = services_plan.template_apply(actor=request.user, template=template, task=task, start=start)
    except DomainError as exc:
        return _plan_response(request, pk, error=exc)
    return _plan_response(
        request, pk, notice=_("%(n)s subtasks added from the template.") % {"n": len(created)}
    )


@login_required
@require_POST
def recurrence_set(request, pk: int):
    task = selectors.access_task(request.user, pk)
    if request.POST.get("action") == "stop":
        try:
            services_plan.recurrence_stop(actor=request.user, task=task)
        except DomainError as exc:
            return _plan_response(request, pk, error=exc)
        return _plan_response(request, pk, notice=_("The task no longer recurs."))
    form = RecurrenceForm(request.POST)
    form.is_valid()
    d = form.cleaned_data
    try:
        services_plan.recurrence_set(
            actor=request.user,
            task=task,
            frequency=request.POST.get("frequency", ""),
            weekday=d.get("weekday"),
            nth_workday=d.get("nth_workday"),
            day_of_month=d.get("day_of_month"),
            lead_days=d.get("lead_days") if d.get("lead_days") is not None else 5,
        )
    except DomainError as exc:
        return _plan_response(request, pk, error=exc)
    return _plan_response(request, pk, notice=_("The task recurs; the next one is created ahead of time."))


@login_required
@require_POST
def comment_add(request, pk: int):
    task = selectors.access_task(request.user, pk)
    error = None
    try:
        services_plan.comment_add(actor=request.user, task=task, body=request.POST.get("body", ""))
    except DomainError as exc:
        error = exc
    if request.htmx:
        comments = selectors_plan.task_plan(request.user, task).comments
        return render(
            request,
            "tasks/_comments.html",
            {
                "task": task,
                "comments": comments,
                "comment_error": error,
                "posted": request.POST.get("body", "") if error else "",
            },
        )
    if error:
        messages.error(request, error.message)
    return redirect(reverse("tasks:detail", args=[pk]) + "#comments")


# -- board -------------------------------------------------------------------------------------


def _department_choice(request):
    user = request.user
    departments = list(department_visible_list(user))
    dept_id = _int(request.GET.get("department"))
    ids = {d.pk for d in departments}
    if dept_id not in ids:
        own = [d.pk for d in departments_for(user)]
        dept_id = own[0] if own else (departments[0].pk if departments else None)
    current = next((d for d in departments if d.pk == dept_id), None)
    return departments, current


@login_required
def board(request):
    """看板: columns by status; drag a card (or use its "move to" menu) to change its status."""
    departments, current = _department_choice(request)
    owner_id = request.user.pk if request.GET.get("mine") else None
    columns = selectors_plan.board(
        request.user, department_id=current.pk if current else None, owner_id=owner_id
    )
    return render(
        request,
        "tasks/board.html",
        {
            "columns": columns,
            "departments": departments,
            "current": current,
            "mine": bool(owner_id),
            "needs_note": [Status.BLOCKED.value, Status.REWORK.value, Status.CANCELLED.value],
            "today": selectors.local_today(),
        },
    )


@login_required
def board_more(request):
    departments, current = _department_choice(request)
    status = request.GET.get("status", "")
    if status not in Status.values:
        raise Http404
    offset = max(0, _int(request.GET.get("offset"), 0))
    owner_id = request.user.pk if request.GET.get("mine") else None
    cards = selectors_plan.board_more(
        request.user,
        status=status,
        department_id=current.pk if current else None,
        owner_id=owner_id,
        offset=offset,
    )
    return render(
        request,
        "tasks/_board_cards.html",
        {
            "cards": cards,
            "status": status,
            "next_offset": offset + len(cards),
            "has_more": len(cards) == selectors_plan.PER_COLUMN,
            "current": current,
            "mine": bool(owner_id),
            "needs_note": [Status.BLOCKED.value, Status.REWORK.value, Status.CANCELLED.value],
            "today": selectors.local_today(),
        },
    )


# -- timeline ----------------------------------------------------------------------------------


@login_required
def timeline(request):
    """时间线: one task with its subtasks (?task=ID), or a department's open top-level tasks."""
    zoom = request.GET.get("zoom", "week")
    root = None
    if request.GET.get("task"):
        root = selectors.access_task(request.user, request.GET["task"])
    departments, current = _department_choice(request)
    data = selectors_plan.timeline(
        request.user, root=root, department_id=None if root else (current.pk if current else None), zoom=zoom
    )
    return render(
        request,
        "tasks/timeline.html",
        {"tl": data, "root": root, "departments": departments, "current": current, "zoom": data.zoom},
    )


# -- workload ----------------------------------------------------------------------------------

WORKLOAD_SUGGESTIONS = 10


@login_required
def workload(request):
    """工作量: who carries what, week by week; reassign from here, or hand everything over."""
    departments, current = _department_choice(request)
    if current is None:
        return render(request, "tasks/workload.html", {"departments": departments, "current": None})
    data = selectors_plan.workload(request.user, department=current)
    person = None
    person_tasks = []
    pid = _int(request.GET.get("person"))
    if pid:
        person = next((p.person for p in data["people"] if p.person.pk == pid), None)
        if person is not None:
            person_tasks = selectors_plan.person_open_tasks(request.user, person=person)
    may_lead = leads(request.user, current.pk)
    handover_form = None
    if person is not None and may_lead:
        # Offer the members carrying least (the table has counted their tasks already); anyone
        # else in the company is a search away.
        lightest = sorted((p for p in data["people"] if p.person.pk != person.pk), key=lambda p: p.total)
        suggest = PeopleSuggestions(people=[p.person for p in lightest], limit=WORKLOAD_SUGGESTIONS)
        picker = PersonPicker(suggestions=suggest, blank=_("Choose a person"), inline=True)
        for t in person_tasks:
            t.owner_picker = picker.render("owner", None, attrs={"id": f"ra-{t.pk}"})
        handover_form = HandoverForm(initial={"from_user": person.pk}, suggest=suggest)
    return render(
        request,
        "tasks/workload.html",
        {
            **data,
            "departments": departments,
            "current": current,
            "person": person,
            "person_tasks": person_tasks,
            "may_lead": may_lead,
            "handover_form": handover_form,
        },
    )


def _workload_url(dept_id, person_id=None) -> str:
    url = reverse("tasks:workload") + f"?department={dept_id}"
    return url + (f"&person={person_id}" if person_id else "")


@login_required
@require_POST
def workload_reassign(request, pk: int):
    task = selectors.access_task(request.user, pk)
    new_owner = User.objects.filter(pk=_int(request.POST.get("owner"), 0), is_active=True).first()
    back = _workload_url(task.department_id, _int(request.POST.get("person")))
    if new_owner is None:
        messages.error(request, _("Choose the new owner."))
        return redirect(back)
    try:
        services.task_reassign(
            actor=request.user, task=task, owner=new_owner, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(
        request,
        _("%(code)s now belongs to %(person)s.") % {"code": task.full_code, "person": new_owner.display_name},
    )
    return redirect(back)


@login_required
@require_POST
def workload_handover(request):
    dept = Department.objects.filter(pk=_int(request.POST.get("department"), 0)).first()
    if dept is None:
        raise Http404
    form = HandoverForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose who takes the tasks over."))
        return redirect(_workload_url(dept.pk, _int(request.POST.get("from_user"))))
    from_user = User.objects.filter(pk=form.cleaned_data["from_user"]).first()
    if from_user is None:
        raise Http404
    try:
        moved = services_plan.tasks_hand_over(
            actor=request.user,
            department=dept,
            from_user=from_user,
            to_user=form.cleaned_data["to_user"],
            reason=form.cleaned_data["reason"],
        )
    except NotAllowed as exc:
        return render(
            request, "403.html", {"message": exc.message, "back_url": _workload_url(dept.pk)}, status=403
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_workload_url(dept.pk, from_user.pk))
    messages.success(
        request,
        _("%(n)s open task(s) of %(from)s handed over to %(to)s.")
        % {"n": len(moved), "from": from_user.display_name, "to": form.cleaned_data["to_user"].display_name},
    )
    return redirect(_workload_url(dept.pk))


@login_required
def department_policy(request, dept_id: int):
    """The head sets the department's intake rules (vague titles, respond-by, overload)."""
    dept = Department.objects.filter(pk=dept_id).first()
    if dept is None or not leads(request.user, dept.pk):
        raise Http404
    policy = services.department_policy(dept)
    error = None
    if request.method == "POST":
        changes = {"block_vague_intake": request.POST.get("block_vague_intake") == "on"}
        for key in (
            "respond_high_hours",
            "respond_medium_workdays",
            "respond_low_workdays",
            "overload_per_week",
        ):
            changes[key] = _int(request.POST.get(key), -1)
        try:
            services_plan.department_policy_update(actor=request.user, department=dept, **changes)
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, _("The rules of %(dept)s were saved.") % {"dept": dept.name})
            return redirect(_workload_url(dept.pk))
    return render(
        request,
        "tasks/policy.html",
        {"dept": dept, "policy": policy, "error": error},
        status=422 if error else 200,
    )


# -- calendar ----------------------------------------------------------------------------------


@login_required
def calendar_view(request):
    """日历: a month of due dates and milestones."""
    today = selectors.local_today()
    year = _int(request.GET.get("year"), today.year)
    month = _int(request.GET.get("month"), today.month)
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        year, month = today.year, today.month
    departments, current = _department_choice(request)
    dept_id = current.pk if current and request.GET.get("department") else None
    data = selectors_plan.calendar_month(
        request.user, year=year, month=month, department_id=dept_id, today=today
    )
    return render(
        request,
        "tasks/calendar.html",
        {**data, "departments": departments, "current": current if dept_id else None, "today": today},
    )
