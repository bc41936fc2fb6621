"""The task status machine. This table is the only place transitions are defined."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    BLOCKED = "blocked", _("Blocked")
    SUBMITTED = "submitted", _("Awaiting acceptance")
    DONE = "done", _("Done")
    REWORK = "rework", _("Rework")
    CANCELLED = "cancelled", _("Cancelled")


class Actor(models.TextChoices):
    """Who may take a transition (see DESIGN.md "Who may do what")."""

    OWNER = "owner", _("the owner")
    REVIEWER = "reviewer", _("the reviewer (head, deputy or named reviewer, never the owner)")
    CANCELLER = "canceller", _("the initiator, head or deputy")


OPEN_STATUSES = frozenset(
    {Status.NOT_STARTED, Status.IN_PROGRESS, Status.BLOCKED, Status.SUBMITTED, Status.REWORK}
)
CLOSED_STATUSES = frozenset({Status.DONE, Status.CANCELLED})
# States a task reaches only through acceptance (DESIGN.md: no "done" without acceptance
# against criteria written down at the start; handbook 验收): the owner submits key results
# and deliverables (待验收), the reviewer checks each criterion (已完成 or 返工) — in
# `review.services`, through `task_transition`. A bulk write (an import) never sets them.
ACCEPTANCE_STATES = frozenset({Status.SUBMITTED, Status.DONE, Status.REWORK})

TRANSITIONS: dict[tuple[Status, Status], Actor] = {
    (Status.NOT_STARTED, Status.IN_PROGRESS): Actor.OWNER,
    (Status.NOT_STARTED, Status.BLOCKED): Actor.OWNER,
    (Status.IN_PROGRESS, Status.BLOCKED): Actor.OWNER,
    (Status.BLOCKED, Status.IN_PROGRESS): Actor.OWNER,
    (Status.IN_PROGRESS, Status.SUBMITTED): Actor.OWNER,
    (Status.SUBMITTED, Status.DONE): Actor.REVIEWER,
    (Status.SUBMITTED, Status.REWORK): Actor.REVIEWER,
    (Status.REWORK, Status.IN_PROGRESS): Actor.OWNER,
    (Status.REWORK, Status.SUBMITTED): Actor.OWNER,
    (Status.NOT_STARTED, Status.CANCELLED): Actor.CANCELLER,
    (Status.IN_PROGRESS, Status.CANCELLED): Actor.CANCELLER,
    (Status.BLOCKED, Status.CANCELLED): Actor.CANCELLER,
    (Status.SUBMITTED, Status.CANCELLED): Actor.CANCELLER,
    (Status.REWORK, Status.CANCELLED): Actor.CANCELLER,
}


def targets_from(status: str) -> list[Status]:
    return [to for (frm, to) in TRANSITIONS if frm == status]


def goes_with_parent(status: str) -> bool | None:
    """What cancelling a task does to a subtask (at any depth) in `status`: True — it is
    cancelled with its parent (the table lets it become 已取消); False — it is left as it is
    and the canceller is told (已完成: no move to 已取消); None — nothing to do (already
    已取消). Read by `services.task_transition` and by the task page's cancel form."""
    if status == Status.CANCELLED:
        return None
    return (Status(status), Status.CANCELLED) in TRANSITIONS
