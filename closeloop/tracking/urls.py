from django.urls import path

from closeloop.tracking import views

app_name = "tracking"

urlpatterns = [
    path("updates/today/", views.today, name="today"),
    path("tasks/<int:pk>/updates/", views.task_updates, name="task_updates"),
    path("tasks/<int:pk>/delay-warnings/new/", views.warning_new, name="warning_new"),
    path("delay-warnings/<int:pk>/", views.warning_decide, name="warning_decide"),
]
