from django.urls import path

from closeloop.insights import views

app_name = "insights"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("weekly-review/", views.weekly_review, name="weekly_review"),
    path("weekly-review/print/", views.weekly_review_print, name="weekly_review_print"),
    path("weekly-review/export.xlsx", views.weekly_review_export, name="weekly_review_export"),
    path("weekly-review/notes/", views.weekly_review_notes, name="weekly_review_notes"),
    path("weekly-review/minutes/", views.weekly_review_minutes, name="weekly_review_minutes"),
]
