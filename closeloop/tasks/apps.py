from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TasksConfig(AppConfig):
    name = "closeloop.tasks"
    label = "tasks"
    verbose_name = _("Tasks")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from closeloop.tasks import extensions, jobs
        from closeloop.tasks.views.tasks import render_task_page

        jobs.register()
        extensions.register_task_page(render_task_page)
        post_migrate.connect(_repair_search_index, sender=self)


def _repair_search_index(sender, using="default", **kwargs) -> None:
    from django.db import connections

    from closeloop.tasks.search import install

    install(connections[using])
