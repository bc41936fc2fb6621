from django.http import HttpResponse
from django.urls import path

app_name = "tasks"


def _placeholder(request, pk):  # replaced by the real task page
    return HttpResponse(str(pk))


urlpatterns = [path("tasks/<int:pk>/", _placeholder, name="detail")]
