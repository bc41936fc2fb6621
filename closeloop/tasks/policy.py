"""A department's intake policy (respond-by hours per priority, blocking vague intake), edited by its lead."""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from closeloop.core.errors import NotAllowed, ValidationFailed, raise_if_errors
from closeloop.orgs.models import Department, User
from closeloop.orgs.selectors import leads
from closeloop.tasks.models import (
    DepartmentPolicy,
)

POLICY_FIELDS = (
    "block_vague_intake",
    "respond_high_hours",
    "respond_medium_workdays",
    "respond_low_workdays",
    "overload_per_week",
)


def department_policy_update(*, actor: User, department: Department, **changes: Any) -> DepartmentPolicy:
    """The head or deputy sets the department's intake policy."""
    if not leads(actor, department.pk):
        raise NotAllowed(_("Only the department head or deputy can change the department's rules."))
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("These fields cannot be edited: %(f)s") % {"f": ", ".join(sorted(unknown))},
            fields={f: [_("Not editable.")] for f in unknown},
        )
    errors: dict[str, list[str]] = {}
    limits = {
        "respond_high_hours": (1, 240),
        "respond_medium_workdays": (1, 30),
        "respond_low_workdays": (1, 60),
        "overload_per_week": (1, 100),
    }
    for key, (lo, hi) in limits.items():
        if key in changes and (not isinstance(changes[key], int) or not lo <= changes[key] <= hi):
            errors[key] = [_("A whole number from %(lo)s to %(hi)s.") % {"lo": lo, "hi": hi}]
    raise_if_errors(errors)
    with transaction.atomic():
        policy, _created = DepartmentPolicy.objects.get_or_create(department=department)
        for k, v in changes.items():
            setattr(policy, k, v)
        policy.full_clean()
        policy.save()
    return policy
