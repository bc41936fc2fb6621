from django.urls import path

from closeloop.tasks import calendar_feed

app_name = "calendar"
urlpatterns = [
    path("calendar/<str:token>.ics", calendar_feed.feed, name="feed"),
    path("calendar/subscribe/", calendar_feed.subscribe, name="subscribe"),
    path("calendar/subscribe/reset/", calendar_feed.reset, name="reset"),
]
