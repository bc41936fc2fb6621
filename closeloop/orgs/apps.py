from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgsConfig(AppConfig):
    name = "closeloop.orgs"
    label = "orgs"
    verbose_name = _("People and departments")

    def ready(self) -> None:
        from closeloop.orgs import calendar  # noqa: F401  (cache invalidation signals)
