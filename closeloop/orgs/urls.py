from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from closeloop.orgs import views

# Not namespaced: Django's auth views and templates reverse these names directly
# ("login", "password_reset_confirm", …).
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(success_url=reverse_lazy("password_reset_complete")),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/", views.token_create, name="profile_token_create"),
    path("profile/tokens/<int:token_id>/revoke/", views.token_revoke, name="profile_token_revoke"),
    path("language/", views.language_switch, name="language_switch"),
    path("people/search/", views.people_search, name="people_search"),
    path("i18n/", include("django.conf.urls.i18n")),
]
