from django.urls import path

from closeloop.imsignin import views

app_name = "imsignin"

urlpatterns = [
    path("im/<str:platform>/start/", views.start, name="start"),
    path("im/<str:platform>/callback/", views.callback, name="callback"),
    path("admin/im-signin/", views.settings_index, name="admin_index"),
    path("admin/im-signin/people/", views.linked_people, name="admin_people"),
    path("admin/im-signin/<str:platform>/", views.settings_platform, name="admin_platform"),
]
