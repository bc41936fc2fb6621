"""The communication plan of a cross-department task (沟通机制)."""

from collections.abc import Sequence
from datetime import time

from django.db import transaction
from django.utils.translation import gettext as _

from closeloop.collab.models import (
    Cadence,
    CommunicationPlan,
    PlanContact,
    SyncChannel,
)
from closeloop.collab.permissions import can_plan, sees_task
from closeloop.collab.services.common import MAX_CONTACTS, _task_row, _text
from closeloop.core.errors import NotAllowed, NotFound, raise_if_errors
from closeloop.notify.services import notify
from closeloop.orgs.models import Department, User
from closeloop.tasks.models import Task
from closeloop.tasks.services import record_event, task_message


def plan_save(
    *,
    actor: User,
    task: Task,
    cadence: str,
    channel: str,
    weekdays: Sequence[int] = (),
    custom: str = "",
    channel_detail: str = "",
    sync_time: time | None = None,
    contacts: Sequence[tuple[Department, User]] = (),
) -> CommunicationPlan:
    """Set the task's communication plan (沟通机制): cadence (daily stand-up on working
    days; N times a week on chosen weekdays, Monday=0; or custom text), channel (shared
    document, phone, IM group, meeting) with a link or place, the sync time, and one contact
    per department involved (each must see the task). Allowed: owner, initiator, head or
    deputy. Replaces the previous plan. Notifies the contacts."""
    task = _task_row(task)
    if not sees_task(actor, task):
        raise NotFound(_("Task not found."))
    if not can_plan(actor, task):
        raise NotAllowed(
            _("Only the owner, the initiator or the department head sets the communication plan.")
        )
    errors: dict[str, list[str]] = {}
    if cadence not in Cadence.values:
        errors["cadence"] = [_("Choose a cadence.")]
    if channel not in SyncChannel.values:
        errors["channel"] = [_("Choose a channel.")]
    days: list[int] = []
    for d in weekdays or ():
        if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6:
            errors["weekdays"] = [_("Weekdays are 0 (Monday) to 6 (Sunday).")]
            break
        days.append(d)
    days = sorted(set(days))
    if cadence == Cadence.WEEKLY and not days and "weekdays" not in errors:
        errors["weekdays"] = [_("Choose the weekdays of the sync.")]
    custom = _text(
        errors,
        "custom",
        custom,
        limit=200,
        required=_("Describe the cadence.") if cadence == Cadence.CUSTOM else None,
    )
    channel_detail = _text(errors, "channel_detail", channel_detail, limit=500)
    if len(contacts) > MAX_CONTACTS:
        errors["contacts"] = [_("At most %(n)s contacts.") % {"n": MAX_CONTACTS}]
    seen: set[int] = set()
    for i, (dept, person) in enumerate(contacts, start=1):
        if dept is None or person is None:
            errors[f"contacts.{i}"] = [_("Choose a department and a contact.")]
        elif dept.pk in seen:
            errors[f"contacts.{i}"] = [_("One contact per department.")]
        elif not sees_task(person, task):
            errors[f"contacts.{i}"] = [
                _("%(name)s cannot see this task; add them as a collaborator first.")
                % {"name": person.display_name}
            ]
        else:
            seen.add(dept.pk)
    raise_if_errors(errors)
    with transaction.atomic():
        plan, _created = CommunicationPlan.objects.update_or_create(
            task=task,
            defaults={
                "cadence": cadence,
                "weekdays": days if cadence == Cadence.WEEKLY else [],
                "custom": custom if cadence == Cadence.CUSTOM else "",
                "channel": channel,
                "channel_detail": channel_detail,
                "sync_time": sync_time or time(9, 30),
                "updated_by": actor,
            },
        )
        PlanContact.objects.filter(plan=plan).delete()
        PlanContact.objects.bulk_create(PlanContact(plan=plan, department=d, contact=u) for d, u in contacts)
        record_event(
            task=task,
            actor=actor,
            verb="communication_plan_set",
            after={"cadence": cadence, "weekdays": days, "channel": channel},
        )
        notify(
            recipients=[u for _d, u in contacts],
            kind="collab.plan_set",
            data=task_message(task, actor, note=plan_summary(plan)),
            link=task.get_absolute_url(),
            actor=actor,
        )
    return plan


def plan_summary(plan: CommunicationPlan) -> str:
    """One line: cadence and channel, e.g. "每周 3 次（周一、周三、周五） · 会议"."""
    from closeloop.collab.schedule import describe

    return describe(plan)
