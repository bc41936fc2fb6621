from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    name = "closeloop.tracking"
    label = "tracking"
    verbose_name = _("Progress tracking")

    def ready(self) -> None:
        from closeloop.notify.kinds import KINDS, Kind, register_kind
        from closeloop.tracking import extensions, jobs

        jobs.register()
        extensions.register()
        # The notification layer's registry lacks this kind; add it unless it is there by now.
        # An escalation is department-wide news: it also goes to the department's group.
        if "delay_warning.escalated" not in KINDS:
            register_kind(
                Kind(
                    "delay_warning.escalated",
                    _("Undecided for a working day: %(code)s %(title)s asks to move to %(new_due)s"),
                    "%(note)s",
                    personal=True,
                    group=True,
                    action=_("Approve or reject the delay"),
                )
            )
