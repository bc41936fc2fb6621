"""The notification kinds collaboration adds to notify's registry (`issue.raised` and
`issue.escalated` are notify's own)."""

from django.utils.translation import gettext_lazy as _

from closeloop.notify.kinds import KINDS, Kind, register_kind

COLLAB_KINDS = [
    Kind(
        "issue.resolved",
        _("%(by)s resolved an issue on %(code)s %(title)s"),
        "%(resolution)s",
        personal=True,
        group=True,
        action=_("Open the issue"),
        label=_("An issue is resolved"),
    ),
    Kind(
        "issue.withdrawn",
        _("%(by)s withdrew an issue on %(code)s %(title)s"),
        "%(note)s",
        personal=True,
        group=True,
        action=_("Open the issue"),
        label=_("An issue is withdrawn"),
    ),
    Kind(
        "minutes.shared",
        _("Minutes of %(title)s (%(date)s)"),
        "%(note)s",
        personal=True,
        group=True,
        action=_("Read the minutes"),
        label=_("Meeting minutes are shared"),
    ),
    Kind(
        "collab.plan_set",
        _("%(by)s set the communication plan of %(code)s %(title)s"),
        "%(note)s",
        personal=True,
        action=_("Open the task"),
        label=_("A communication plan is set"),
    ),
    Kind(
        "collab.sync_reminder",
        _("Sync on %(code)s %(title)s at %(time)s"),
        "%(note)s",
        personal=True,
        group=True,
        action=_("Open the task"),
        label=_("Reminder of a sync meeting"),
    ),
]


def register() -> None:
    for kind in COLLAB_KINDS:
        if kind.name not in KINDS:
            register_kind(kind)
