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
        # Read with the task page's own query, so an empty part of the plan costs no query.
        from closeloop.tasks.models import Comment, Milestone, RecurrenceRule, TaskDependency

        extensions.register_task_presence("milestones", Milestone)
        extensions.register_task_presence("dependencies", TaskDependency, ("successor_id", "predecessor_id"))
        extensions.register_task_presence("recurrence", RecurrenceRule, "prototype_id")
        extensions.register_task_presence("comments", Comment)
