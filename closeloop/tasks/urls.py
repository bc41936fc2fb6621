from django.urls import path

from closeloop.tasks import views, views_plan

app_name = "tasks"

urlpatterns = [
    path("", views.home, name="home"),
    path("tasks/", views.task_list, name="list"),
    path("tasks/new/", views.task_create, name="create"),
    path("tasks/criterion-row/", views.criterion_row, name="criterion_row"),
    path("tasks/<int:pk>/", views.task_detail, name="detail"),
    path("tasks/<int:pk>/edit/", views.task_edit, name="edit"),
    path("tasks/<int:pk>/transition/", views.task_transition, name="transition"),
    path("tasks/<int:pk>/reassign/", views.task_reassign, name="reassign"),
    path("tasks/<int:pk>/collaborators/", views.collaborator_add, name="collaborator_add"),
    path(
        "tasks/<int:pk>/collaborators/<int:user_id>/remove/",
        views.collaborator_remove,
        name="collaborator_remove",
    ),
    # Intake and decomposition.
    path("tasks/adhoc/", views_plan.adhoc_create, name="adhoc"),
    path("tasks/intake-check/", views_plan.intake_check, name="intake_check"),
    path("tasks/<int:pk>/subtasks/", views_plan.subtask_add, name="subtask_add"),
    path("tasks/<int:pk>/dependencies/", views_plan.dependency_add, name="dependency_add"),
    path(
        "tasks/<int:pk>/dependencies/<int:pred>-<int:succ>/remove/",
        views_plan.dependency_remove,
        name="dependency_remove",
    ),
    path("tasks/<int:pk>/milestones/", views_plan.milestone_add, name="milestone_add"),
    path(
        "tasks/<int:pk>/milestones/<int:milestone_id>/", views_plan.milestone_action, name="milestone_action"
    ),
    path("tasks/<int:pk>/template/save/", views_plan.template_save, name="template_save"),
    path("tasks/<int:pk>/template/apply/", views_plan.template_apply, name="template_apply"),
    path("tasks/<int:pk>/recurrence/", views_plan.recurrence_set, name="recurrence_set"),
    path("tasks/<int:pk>/comments/", views_plan.comment_add, name="comment_add"),
    path("board/", views_plan.board, name="board"),
    path("board/more/", views_plan.board_more, name="board_more"),
    path("timeline/", views_plan.timeline, name="timeline"),
    path("workload/", views_plan.workload, name="workload"),
    path("workload/handover/", views_plan.workload_handover, name="workload_handover"),
    path("workload/reassign/<int:pk>/", views_plan.workload_reassign, name="workload_reassign"),
    path("departments/<int:dept_id>/rules/", views_plan.department_policy, name="department_policy"),
    path("calendar/", views_plan.calendar_view, name="calendar"),
    # Not built yet: each shows a "coming in a later release" page; later releases replace these.
    path("dashboard/", views.coming_soon, {"section": "dashboard"}, name="dashboard"),
    path("weekly-review/", views.coming_soon, {"section": "weekly_review"}, name="weekly_review"),
    path("knowledge/", views.coming_soon, {"section": "knowledge"}, name="knowledge"),
]
