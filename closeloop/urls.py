from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from closeloop.api import api
from closeloop.core.status import status_page
from closeloop.notify.forms import OutboxPasswordResetForm
from closeloop.planning.urls import urlpatterns as planning_urls
from closeloop.tasks.urls import urlpatterns as task_urls

urlpatterns = [
    path("", include("closeloop.core.urls")),
    # Before orgs: the reset mail goes through the outbox (orgs may not import notify).
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(form_class=OutboxPasswordResetForm),
        name="password_reset",
    ),
    path("", include("closeloop.orgs.urls")),
    # Before tasks: its placeholder "dashboard/" and "weekly-review/" pages are these now.
    path("", include("closeloop.insights.urls")),
    # Before tasks too: its placeholder "knowledge/" page is review's knowledge base now.
    path("", include("closeloop.review.urls")),
    # Tasks and planning share the "tasks" namespace: the names predate the planning app.
    path("", include((task_urls + planning_urls, "tasks"))),
    path("", include("closeloop.tasks.calendar_urls")),
    path("", include("closeloop.notify.urls")),
    # IM sign-in: /im/<platform>/… and its admin pages under /admin/im-signin/ (before admin/).
    path("", include("closeloop.imsignin.urls")),
    path("", include("closeloop.tracking.urls")),
    path("", include("closeloop.collab.urls")),
    path("", include("closeloop.sheets.urls")),
    path("api/v1/", api.urls),
    path("admin/status/", status_page, name="admin-status"),
    path("admin/", admin.site.urls),
]
