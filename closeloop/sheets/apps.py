from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SheetsConfig(AppConfig):
    """The handbook's four spreadsheets: export them, import the daily task list."""

    name = "closeloop.sheets"
    label = "sheets"
    verbose_name = _("Spreadsheets")

    def ready(self) -> None:
        from closeloop.sheets import extensions

        extensions.register()
