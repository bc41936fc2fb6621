from django.contrib import admin
from django.urls import include, path

from closeloop.api import api
from closeloop.core.status import status_page

urlpatterns = [
    path("", include("closeloop.core.urls")),
    path("", include("closeloop.orgs.urls")),
    path("", include("closeloop.tasks.urls")),
    path("", include("closeloop.tasks.calendar_urls")),
    path("", include("closeloop.notify.urls")),
    path("api/v1/", api.urls),
    path("admin/status/", status_page, name="admin-status"),
    path("admin/", admin.site.urls),
]
