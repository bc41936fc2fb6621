from django.urls import path

from closeloop.review import views

app_name = "review"

urlpatterns = [
    path("tasks/<int:pk>/submit/", views.submit, name="submit"),
    path("tasks/<int:pk>/review/", views.task_review, name="task_review"),
    path("tasks/<int:pk>/criteria-consent/", views.criteria_consent, name="criteria_consent"),
    path("tasks/<int:pk>/retrospective/", views.retrospective, name="retrospective"),
    path("review/checks/<int:pk>/judge/", views.judge, name="judge"),
    path("deliverables/<int:pk>/download/", views.download, name="download"),
    path("departments/<int:dept_id>/retrospective-rules/", views.department_rules, name="department_rules"),
    path("knowledge/", views.knowledge, name="knowledge"),
    path("knowledge/similar/", views.similar, name="similar"),
]
