"""Intake pages: quick capture of ad-hoc work and the live vagueness hint."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.errors import DomainError
from closeloop.orgs.selectors import departments_for
from closeloop.tasks import adhoc as adhoc_services
from closeloop.tasks import intake, services
from closeloop.tasks.forms import (
    AdhocForm,
    colleagues,
)
from closeloop.tasks.models import Customer
from closeloop.tasks.validation import parse_int


def _int(value, default=None):
    return parse_int(value, default)


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
                    task = adhoc_services.adhoc_capture(
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
