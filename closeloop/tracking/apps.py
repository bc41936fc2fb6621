from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    name = "closeloop.tracking"
    label = "tracking"
    verbose_name = _("Progress tracking")

    def ready(self) -> None:
        from closeloop.tracking import extensions, jobs, kinds

        jobs.register()
        extensions.register()
        # The notification layer's registry lacks these kinds; add them unless they are there by now.
        kinds.register()
