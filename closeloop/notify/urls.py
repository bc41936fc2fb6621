from django.urls import path

from closeloop.notify import views

app_name = "notify"
urlpatterns = [
    path("notifications/", views.notification_list, name="list"),
    path("notifications/<int:pk>/open/", views.notification_open, name="open"),
    path("notifications/<int:pk>/read/", views.notification_read, name="read"),
    path("notifications/read-all/", views.notification_read_all, name="read_all"),
    path("notifications/preferences/", views.preferences, name="preferences"),
    path("notifications/bell/", views.bell, name="bell"),
]
