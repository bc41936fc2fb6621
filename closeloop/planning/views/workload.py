"""The 工作量 workload page, reassigning one task and handing over a person's tasks."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from closeloop.core.errors import DomainError, NotAllowed
from closeloop.orgs.models import Department, User
from closeloop.orgs.selectors import leads
from closeloop.orgs.widgets import PeopleSuggestions, PersonPicker
from closeloop.planning.selectors import workload as workload_selectors
from closeloop.planning.views.common import _department_choice, _int
from closeloop.tasks import extensions, selectors, services
from closeloop.tasks import handover as handover_services
from closeloop.tasks.forms import (
    HandoverForm,
)

# -- workload ----------------------------------------------------------------------------------

WORKLOAD_SUGGESTIONS = 10


@login_required
def workload(request):
    """工作量: who carries what, week by week; reassign from here, or hand everything over."""
    # Only departments whose every task the viewer sees (`workload_departments`); another
    # one asked for is named and ignored, as a bad value, and the viewer's own is shown.
    choice = _department_choice(request, workload_selectors.workload_departments(request.user))
    departments, current = choice.departments, choice.current
    if current is None:
        return render(
            request,
            "tasks/workload.html",
            {"departments": departments, "current": None, "ignored_filters": choice.ignored},
        )
    data = workload_selectors.workload(request.user, department=current)
    # Figures other apps add per person (collab: load in other departments, for heads).
    extra_columns = extensions.workload_columns(
        request.user, department=current, people=[p.person for p in data["people"]]
    )
    for p in data["people"]:
        p.extra = [c.values.get(p.person.pk, 0) for c in extra_columns]
    person = None
    person_tasks = []
    pid = _int(request.GET.get("person"))
    if pid:
        person = next((p.person for p in data["people"] if p.person.pk == pid), None)
        if person is not None:
            person_tasks = workload_selectors.person_open_tasks(request.user, person=person)
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
            "ignored_filters": choice.ignored,
            "person": person,
            "person_tasks": person_tasks,
            "may_lead": may_lead,
            "extra_columns": extra_columns,
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
        moved = handover_services.tasks_hand_over(
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
