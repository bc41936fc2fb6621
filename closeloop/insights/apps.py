from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "closeloop.insights"
    label = "insights"
    verbose_name = _("Insights")

    def ready(self) -> None:
        from closeloop.insights import jobs

        jobs.register()
