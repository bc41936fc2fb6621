from django.urls import path

from closeloop.sheets import views

app_name = "sheets"

urlpatterns = [
    path("sheets/import/", views.import_upload, name="import"),
    path("sheets/import/<str:token>/confirm/", views.import_confirm, name="import_confirm"),
    path("sheets/import/<str:token>/cancel/", views.import_cancel, name="import_cancel"),
    path("sheets/export/<slug:template>.xlsx", views.export, name="export"),
    path("sheets/people/", views.people_import, name="people_import"),
    path("sheets/people/export.xlsx", views.people_export, name="people_export"),
]
