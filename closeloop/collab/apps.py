from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollabConfig(AppConfig):
    name = "closeloop.collab"
    label = "collab"
    verbose_name = _("Collaboration")

    def ready(self) -> None:
        from closeloop.collab import extensions, jobs, kinds

        kinds.register()
        jobs.register()
        extensions.register()
