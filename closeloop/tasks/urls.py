"""The task pages. The top-level URL conf mounts these and `planning.urls` together in the
`tasks` namespace."""

from django.urls import path

from closeloop.tasks.views import comments, intake, policy
from closeloop.tasks.views import tasks as views

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
    path("tasks/<int:pk>/override-dependencies/", views.dependency_override, name="dependency_override"),
    path("tasks/<int:pk>/collaborators/", views.collaborator_add, name="collaborator_add"),
    path("tasks/<int:pk>/people/forms/<str:name>/", views.people_form, name="people_form"),
    path(
        "tasks/<int:pk>/collaborators/<int:user_id>/remove/",
        views.collaborator_remove,
        name="collaborator_remove",
    ),
    path("tasks/adhoc/", intake.adhoc_create, name="adhoc"),
    path("tasks/intake-check/", intake.intake_check, name="intake_check"),
    path("tasks/<int:pk>/comments/", comments.comment_add, name="comment_add"),
    path("departments/<int:dept_id>/rules/", policy.department_policy, name="department_policy"),
    # Not built yet: each shows a "coming in a later release" page; later releases replace these.
    path("dashboard/", views.coming_soon, {"section": "dashboard"}, name="dashboard"),
    path("weekly-review/", views.coming_soon, {"section": "weekly_review"}, name="weekly_review"),
    path("knowledge/", views.coming_soon, {"section": "knowledge"}, name="knowledge"),
]
