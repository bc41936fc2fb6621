"""Collaboration pages: the quick issue form on the task page (htmx; a full page without
JavaScript), an issue with its ladder and the resolve / withdraw forms, the communication
plan, minutes and their action items. Thin: selectors read, services write."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from closeloop.collab import extensions, ladder, selectors, services
from closeloop.collab.forms import (
    IssueFilterForm,
    IssueQuickForm,
    MinutesForm,
    PlanForm,
    ResolveForm,
    WithdrawForm,
    task_people,
)
from closeloop.collab.permissions import can_plan, can_resolve, can_withdraw, resolve_role
from closeloop.core.dates import invalid_date
from closeloop.core.errors import DomainError
from closeloop.orgs.models import Department
from closeloop.tasks.forms import ignored_filters
from closeloop.tasks.selectors import access_task


def _errors_into(form, exc: DomainError) -> None:
    placed = False
    for key, msgs in (exc.fields or {}).items():
        for msg in msgs:
            form.add_error(key if key in form.fields else None, msg)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def _status(exc: DomainError) -> int:
    return exc.status if exc.status in (403, 409) else 422


@login_required
def issue_add(request, pk: int):
    """GET: the form as a page (from htmx: the task page's quick-add form's body). POST: raise the issue; an htmx request gets the task's
    collaboration panel back (with the errors and the input when refused — status 200, as
    htmx swaps only 2xx; without htmx the page answers 422)."""
    task = access_task(request.user, pk)
    form = IssueQuickForm(request.POST or None, task=task, user=request.user)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            resolver = next(iter(form.people_by_id([d["resolver"]])), None)
            try:
                issue = services.issue_raise(
                    actor=request.user,
                    task=task,
                    problem=d["problem"],
                    resolver=resolver,
                    party_users=form.people_by_id(d["party_users"]),
                    party_departments=list(d["party_departments"]),
                    deadline=d["deadline"],
                )
                if request.htmx:
                    ctx = extensions.panel_context(request, task)
                    ctx["raised"] = issue
                    return render(request, "collab/_panel.html", ctx)
                messages.success(request, _("Issue logged; the resolver and the parties are told."))
                return redirect(task.get_absolute_url() + "#collab")
            except DomainError as exc:
                _errors_into(form, exc)
                status = _status(exc)
        if request.htmx:
            # htmx swaps 2xx only by default: answer 200 so the errors show in place.
            return render(request, "collab/_panel.html", extensions.panel_context(request, task, form=form))
    if request.htmx and request.method == "GET":
        # The task page's quick-add form, loaded when opened: its fields and button only.
        return render(request, "collab/_issue_form_body.html", {"task": task, "form": form})
    return render(request, "collab/issue_form.html", {"task": task, "form": form}, status=status)


def _next_rung(issue) -> dict | None:
    """The next escalation of an open issue: its level, when, to whom — what the ladder says
    ahead of the sweep (`ladder.receiver_for`, over the department's parents)."""
    if not issue.is_open or issue.next_escalation_at is None:
        return None
    level = issue.level + 1
    department, person = ladder.receiver_for(issue.task.department, level)
    return {"level": level, "at": issue.next_escalation_at, "department": department, "person": person}


def _issue_page(request, issue, *, resolve_form=None, withdraw_form=None, status=200):
    user = request.user
    may_resolve = issue.is_open and can_resolve(user, issue)
    return render(
        request,
        "collab/issue.html",
        {
            "issue": issue,
            "task": issue.task,
            "task_visible": getattr(issue, "task_visible", True),
            "seen_as": getattr(issue, "seen_as", ""),
            "overdue": issue.is_open and issue.deadline < timezone.now(),
            "next_rung": _next_rung(issue),
            "first_after_hours": ladder.settings_for(issue.task.department).first_after_hours,
            "may_resolve": may_resolve,
            "resolve_role": resolve_role(user, issue) if may_resolve else "",
            "may_withdraw": issue.is_open and can_withdraw(user, issue),
            "is_raiser": user.pk == issue.raised_by_id,
            "resolve_form": resolve_form or ResolveForm(),
            "withdraw_form": withdraw_form or WithdrawForm(),
        },
        status=status,
    )


@login_required
def issue_list(request):
    """/issues/: the issues I raised, resolve, that involve my departments or escalated to
    me (`selectors.issue_list`, from those I may see), filtered by the query string, 50 a
    page. A filter value it does not know is named on the page and left out."""
    form = IssueFilterForm(request.GET)
    form.is_valid()
    data = form.cleaned_data
    filters = selectors.IssueFilters(
        show=data.get("show") or "mine",
        state=data.get("state") or "open",
        overdue=bool(data.get("overdue")),
    )
    now = timezone.now()
    page = Paginator(selectors.issue_list(request.user, filters, now=now), ISSUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "collab/issue_list.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "now": now,
            "ignored_filters": ignored_filters(form),
            "filtered": filters != selectors.IssueFilters(),
        },
    )


ISSUE_PAGE_SIZE = 50


@login_required
def issue_detail(request, pk: int):
    return _issue_page(request, selectors.access_issue(request.user, pk))


@login_required
@require_POST
def issue_resolve(request, pk: int):
    issue = selectors.access_issue(request.user, pk)
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            services.issue_resolve(
                actor=request.user, issue=issue, resolution=form.cleaned_data["resolution"]
            )
            messages.success(request, _("Issue resolved; the parties are told."))
            return _to_issue(request, issue)
        except DomainError as exc:
            _errors_into(form, exc)
            return _issue_page(request, issue, resolve_form=form, status=_refused(request, _status(exc)))
    return _issue_page(request, issue, resolve_form=form, status=_refused(request, 422))


def _refused(request, status: int) -> int:
    """The status of a refused resolve or withdraw: the issue page's forms post with htmx and
    swap their card (`#issue-actions`) in place, so the address bar stays on the issue and a
    refresh re-posts nothing; htmx swaps 2xx only, so such an answer is 200. Without htmx the
    page answers `status` (422, or 403/409) from the action's URL."""
    return 200 if request.htmx else status


def _to_issue(request, issue) -> HttpResponse:
    """After a resolve or withdraw: the issue page, whole (its status and ladder change too);
    for htmx an HX-Redirect, as a swap of the actions card would leave the rest stale."""
    if request.htmx:
        response = HttpResponse()
        response["HX-Redirect"] = issue.get_absolute_url()
        return response
    return redirect(issue.get_absolute_url())


@login_required
@require_POST
def issue_withdraw(request, pk: int):
    issue = selectors.access_issue(request.user, pk)
    try:
        services.issue_withdraw(actor=request.user, issue=issue, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        form = ResolveForm()
        # An unbound form has no cleaned_data, which add_error needs: refusing a withdrawal
        # answered 500 (found by the authorization matrix).
        form.cleaned_data = {}
        withdraw = WithdrawForm(request.POST)
        withdraw.is_valid()
        field_errors = getattr(exc, "fields", None) or {}
        if "reason" in field_errors:
            for message in field_errors["reason"]:
                if message not in withdraw.errors.get("reason", []):  # the form's own length check
                    withdraw.add_error("reason", message)
        else:
            form.add_error(None, exc.message)
        return _issue_page(
            request, issue, resolve_form=form, withdraw_form=withdraw, status=_refused(request, _status(exc))
        )
    messages.success(request, _("Issue withdrawn."))
    return _to_issue(request, issue)


@login_required
def plan_edit(request, pk: int):
    task = access_task(request.user, pk)
    plan = selectors.task_plan(task)
    people = task_people(task)
    departments = list(Department.objects.exclude(parent__isnull=True).order_by("code"))
    initial = {}
    contacts = {}
    if plan:
        initial = {
            "cadence": plan.cadence,
            "weekdays": plan.weekdays,
            "custom": plan.custom,
            "channel": plan.channel,
            "channel_detail": plan.channel_detail,
            "sync_time": plan.sync_time,
        }
        contacts = {c.department_id: c.contact_id for c in plan.contact_list}
    form = PlanForm(request.POST or None, initial=initial or {"sync_time": dt.time(9, 30)})
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            by_id = {u.pk: u for u in people}
            chosen = []
            for dept in departments:
                raw = request.POST.get(f"contact-{dept.pk}", "")
                if raw.isdigit() and int(raw) in by_id:
                    chosen.append((dept, by_id[int(raw)]))
            contacts = {dept.pk: u.pk for dept, u in chosen}
            try:
                services.plan_save(
                    actor=request.user,
                    task=task,
                    cadence=d["cadence"],
                    weekdays=d["weekdays"],
                    custom=d["custom"],
                    channel=d["channel"],
                    channel_detail=d["channel_detail"],
                    sync_time=d["sync_time"],
                    contacts=chosen,
                )
                messages.success(request, _("Communication plan saved."))
                return redirect(task.get_absolute_url() + "#collab")
            except DomainError as exc:
                _errors_into(form, exc)
                status = _status(exc)
    rows = [{"dept": d, "chosen": contacts.get(d.pk)} for d in departments]
    return render(
        request,
        "collab/plan_form.html",
        {
            "task": task,
            "form": form,
            "rows": rows,
            "people": people,
            "may_edit": can_plan(request.user, task),
        },
        status=status,
    )


ACTION_ROWS = 5


@login_required
def minutes_new(request, pk: int):
    task = access_task(request.user, pk)
    people = task_people(task)
    # The meeting's date defaults to today in the task's department (its time zone).
    form = MinutesForm(
        request.POST or None, people=people, initial={"held_on": task.department.local_today()}
    )
    rows = []
    by_id = {u.pk: u for u in people}
    for i in range(1, ACTION_ROWS + 1):
        rows.append(
            {
                "n": i,
                "title": request.POST.get(f"ai-{i}-title", ""),
                "owner": request.POST.get(f"ai-{i}-owner", ""),
                "due": request.POST.get(f"ai-{i}-due", ""),
                "errors": [],
            }
        )
    status = 200
    if request.method == "POST":
        status = 422
        items = []
        bad = False
        for row in rows:
            if not (row["title"].strip() or row["due"]):
                continue
            owner = by_id.get(int(row["owner"])) if row["owner"].isdigit() else None
            try:
                due = dt.date.fromisoformat(row["due"]) if row["due"] else None
            except ValueError:
                row["errors"].append(invalid_date(row["due"], _("Due date")))
                bad = True
                due = None
            items.append((row, services.ActionItemIn(title=row["title"], owner=owner, due_date=due)))
        if form.is_valid() and not bad:
            d = form.cleaned_data
            try:
                m = services.minutes_create(
                    actor=request.user,
                    task=task,
                    title=d["title"],
                    held_on=d["held_on"],
                    attendees=[by_id[i] for i in d["attendees"] if i in by_id],
                    notes=d["notes"],
                    decisions=d["decisions"],
                    action_items=[i for _r, i in items],
                )
                messages.success(request, _("Minutes saved; the attendees receive the summary."))
                return redirect(m.get_absolute_url())
            except DomainError as exc:
                for key, msgs in exc.fields.items():
                    if key.startswith("action_items."):
                        parts = key.split(".")
                        try:
                            items[int(parts[1]) - 1][0]["errors"].extend(msgs)
                        except (ValueError, IndexError):
                            form.add_error(None, msgs[0])
                    else:
                        form.add_error(key if key in form.fields else None, msgs[0])
                if not exc.fields:
                    form.add_error(None, exc.message)
                status = _status(exc)
    return render(
        request,
        "collab/minutes_form.html",
        {
            "task": task,
            "form": form,
            "rows": rows,
            "people": people,
            "has_errors": bool(form.errors) or any(r["errors"] for r in rows),
        },
        status=status,
    )


@login_required
def minutes_detail(request, pk: int):
    m = selectors.access_minutes(request.user, pk)
    return render(request, "collab/minutes.html", {"m": m, "task": m.task})


@login_required
@require_POST
def action_item_task(request, pk: int, item_id: int):
    m, item = selectors.access_action_item(request.user, pk, item_id)
    try:
        task = services.action_item_to_task(actor=request.user, item=item)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(m.get_absolute_url())
    messages.success(request, _("Task %(code)s created.") % {"code": task.full_code})
    return redirect(m.get_absolute_url())
