from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgsConfig(AppConfig):
    name = "closeloop.orgs"
    label = "orgs"
    verbose_name = _("People and departments")

    def ready(self) -> None:
        from closeloop.core.status import register_status_warning
        from closeloop.orgs import calendar

        register_status_warning(calendar.status_warnings)
