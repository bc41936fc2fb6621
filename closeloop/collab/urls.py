from django.urls import path

from closeloop.collab import views

app_name = "collab"

urlpatterns = [
    path("tasks/<int:pk>/issues/new/", views.issue_add, name="issue_add"),
    path("issues/", views.issue_list, name="issue_list"),
    path("issues/<int:pk>/", views.issue_detail, name="issue"),
    path("issues/<int:pk>/resolve/", views.issue_resolve, name="issue_resolve"),
    path("issues/<int:pk>/withdraw/", views.issue_withdraw, name="issue_withdraw"),
    path("tasks/<int:pk>/communication-plan/", views.plan_edit, name="plan"),
    path("tasks/<int:pk>/minutes/new/", views.minutes_new, name="minutes_new"),
    path("minutes/<int:pk>/", views.minutes_detail, name="minutes"),
    path(
        "minutes/<int:pk>/action-items/<int:item_id>/task/", views.action_item_task, name="action_item_task"
    ),
]
