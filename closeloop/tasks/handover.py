"""Hand-over: move a person's open tasks in a department to someone else in one step."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.errors import NotAllowed, raise_if_errors
from closeloop.notify.services import notify
from closeloop.orgs.models import Department, User
from closeloop.orgs.selectors import leads
from closeloop.tasks.models import (
    Task,
    TaskCollaborator,
)
from closeloop.tasks.services import (
    record_event,
    task_message,
)
from closeloop.tasks.states import CLOSED_STATUSES

# -- workload: hand-over, policy -------------------------------------------------------------


def tasks_hand_over(
    *, actor: User, department: Department, from_user: User, to_user: User, reason: str = ""
) -> list[Task]:
    """When someone leaves or is away: every open task `from_user` owns in `department` (and
    the departments below it) goes to `to_user` in one step (the head or deputy). Each is
    logged ("handed_over") and the new owner is notified of each."""
    if not leads(actor, department.pk):
        raise NotAllowed(_("Only the department head or deputy can hand over a person's tasks."))
    errors: dict[str, list[str]] = {}
    if from_user.pk == to_user.pk:
        errors["to_user"] = [_("Choose someone else to take the tasks over.")]
    elif not to_user.is_active:
        errors["to_user"] = [_("That account is inactive.")]
    raise_if_errors(errors)
    from closeloop.orgs.selectors import led_department_ids

    scope = [d for d in led_department_ids(actor)] if not actor.is_superuser else None
    with transaction.atomic():
        qs = Task.objects.select_for_update().filter(owner=from_user).exclude(status__in=CLOSED_STATUSES)
        qs = qs.filter(department_id__in=scope) if scope is not None else qs.filter(department=department)
        moved = list(qs.select_related("department").order_by("id"))
        if not moved:
            return []
        ids = [t.pk for t in moved]
        Task.objects.filter(pk__in=ids).update(
            owner=to_user, version=F("version") + 1, updated_at=timezone.now()
        )
        TaskCollaborator.objects.filter(task_id__in=ids, user=to_user).delete()
        # Keep the reviewer apart from the owner: the department head reviews instead.
        Task.objects.filter(pk__in=ids, reviewer=to_user).update(reviewer=None)
        for t in moved:
            record_event(
                task=t,
                actor=actor,
                verb="handed_over",
                before={"owner": from_user.pk},
                after={"owner": to_user.pk},
                note=reason,
            )
            notify(
                recipients=[to_user],
                kind="task.assigned",
                data=task_message(t, actor),
                link=t.get_absolute_url(),
                actor=actor,
            )
    return moved
