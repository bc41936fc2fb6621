from django.urls import path

from closeloop.tasks import views

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
    # Not built yet: each shows a "coming in a later release" page; later releases replace these.
    path("board/", views.coming_soon, {"section": "board"}, name="board"),
    path("timeline/", views.coming_soon, {"section": "timeline"}, name="timeline"),
    path("workload/", views.coming_soon, {"section": "workload"}, name="workload"),
    path("calendar/", views.coming_soon, {"section": "calendar"}, name="calendar"),
    path("dashboard/", views.coming_soon, {"section": "dashboard"}, name="dashboard"),
    path("weekly-review/", views.coming_soon, {"section": "weekly_review"}, name="weekly_review"),
    path("knowledge/", views.coming_soon, {"section": "knowledge"}, name="knowledge"),
]
