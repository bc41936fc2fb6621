"""The planning pages. Mounted by the top-level URL conf in the `tasks` namespace, so their
names (`tasks:board`, `tasks:subtask_add`, …) are the ones templates and links already use."""

from django.urls import path

from closeloop.planning.views import board, calendar, decomposition, timeline, workload

urlpatterns = [
    path("tasks/<int:pk>/subtasks/", decomposition.subtask_add, name="subtask_add"),
    path("tasks/<int:pk>/dependencies/", decomposition.dependency_add, name="dependency_add"),
    path(
        "tasks/<int:pk>/dependencies/<int:pred>-<int:succ>/remove/",
        decomposition.dependency_remove,
        name="dependency_remove",
    ),
    path("tasks/<int:pk>/milestones/", decomposition.milestone_add, name="milestone_add"),
    path(
        "tasks/<int:pk>/milestones/<int:milestone_id>/",
        decomposition.milestone_action,
        name="milestone_action",
    ),
    path("tasks/<int:pk>/template/save/", decomposition.template_save, name="template_save"),
    path("tasks/<int:pk>/template/apply/", decomposition.template_apply, name="template_apply"),
    path("tasks/<int:pk>/recurrence/", decomposition.recurrence_set, name="recurrence_set"),
    path("tasks/<int:pk>/plan/forms/<str:name>/", decomposition.plan_form, name="plan_form"),
    path("board/", board.board, name="board"),
    path("board/more/", board.board_more, name="board_more"),
    path("timeline/", timeline.timeline, name="timeline"),
    path("workload/", workload.workload, name="workload"),
    path("workload/handover/", workload.workload_handover, name="workload_handover"),
    path("workload/reassign/<int:pk>/", workload.workload_reassign, name="workload_reassign"),
    path("calendar/", calendar.calendar_view, name="calendar"),
    path("calendar/day/<str:day>/", calendar.calendar_day_view, name="calendar_day"),
]
