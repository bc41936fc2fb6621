from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanningConfig(AppConfig):
    name = "closeloop.planning"
    label = "planning"
    verbose_name = _("Planning")

    def ready(self) -> None:
        from closeloop.planning import jobs
        from closeloop.planning.views.decomposition import plan_context
        from closeloop.tasks import extensions

        jobs.register()
        # The plan (subtasks, dependencies, milestones, recurrence, comments) on the task page.
        extensions.register_task_context(plan_context)
