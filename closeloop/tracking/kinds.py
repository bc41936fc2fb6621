"""The notification kinds progress tracking adds to notify's registry (`delay_warning.raised`
and `delay_warning.decided` are notify's own). Rendered at delivery in each recipient's
language, from the data the service stored."""

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closeloop.notify.kinds import KINDS, Kind, register_kind


def _closed_with_task(data: Mapping[str, Any]) -> tuple[str, str]:
    """`delay_warning.closed`: says which way the task closed (data "status": "done" or
    "cancelled", the task's new status) and that nobody needs to decide the warning."""
    values = defaultdict(str, data)  # a missing value reads as blank, as notify's own kinds
    if data.get("status") == "cancelled":
        title = _("%(code)s %(title)s was cancelled: its delay warning (to %(new_due)s) was closed with it")
    else:
        title = _("%(code)s %(title)s is done: its delay warning (to %(new_due)s) was closed with it")
    return str(title % values), str(_("No decision is needed any more."))


TRACKING_KINDS = [
    # An escalation is department-wide news: it also goes to the department's group.
    Kind(
        "delay_warning.escalated",
        gettext_lazy("Undecided for a working day: %(code)s %(title)s asks to move to %(new_due)s"),
        "%(note)s",
        personal=True,
        group=True,
        action=gettext_lazy("Approve or reject the delay"),
        label=gettext_lazy("An undecided delay warning goes up to you"),
    ),
    # To the raiser and the deciders when the task closes with the warning pending
    # (`services.close_with_task`): personal news, not the group's.
    Kind(
        "delay_warning.closed",
        gettext_lazy("A delay warning was closed with its task"),
        personal=True,
        action=gettext_lazy("Open the task"),
        render_fn=_closed_with_task,
        label=gettext_lazy("A pending delay warning is closed with its task"),
    ),
]


def register() -> None:
    for kind in TRACKING_KINDS:
        if kind.name not in KINDS:
            register_kind(kind)
