"""A department's intake rules page (its lead edits them)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from closeloop.core.errors import DomainError
from closeloop.orgs.models import Department
from closeloop.orgs.selectors import leads
from closeloop.tasks import policy as policy_services
from closeloop.tasks import services
from closeloop.tasks.validation import parse_int


def _int(value, default=None):
    return parse_int(value, default)


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
            policy_services.department_policy_update(actor=request.user, department=dept, **changes)
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, _("The rules of %(dept)s were saved.") % {"dept": dept.name})
            return redirect(reverse("tasks:workload") + f"?department={dept.pk}")
    return render(
        request,
        "tasks/policy.html",
        {"dept": dept, "policy": policy, "error": error},
        status=422 if error else 200,
    )
