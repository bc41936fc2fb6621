from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TasksConfig(AppConfig):
    name = "closeloop.tasks"
    label = "tasks"
    verbose_name = _("Tasks")

    def ready(self) -> None:
        from closeloop.tasks import jobs

        jobs.register()
