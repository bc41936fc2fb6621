"""People's own pages: log in (with "remember me"), profile, API tokens, language."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from closeloop.core.errors import DomainError, NotFound
from closeloop.orgs import services
from closeloop.orgs.forms import LoginForm, ProfileForm, TokenForm
from closeloop.orgs.models import ApiToken


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True
    # "/" (my work) lives in the tasks app's namespace.
    next_page = reverse_lazy("tasks:home")

    def form_valid(self, form):
        response = super().form_valid(form)
        if form.cleaned_data.get("remember_me"):
            self.request.session.set_expiry(settings.REMEMBER_ME_AGE)
        else:
            # 0 = the session cookie ends when the browser closes.
            self.request.session.set_expiry(0)
        user = form.get_user()
        if getattr(user, "language", ""):
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME, user.language, max_age=settings.REMEMBER_ME_AGE, samesite="Lax"
            )
        return response


def _tokens(user):
    # No selector exists for a person's own tokens; the query is scoped to the owner.
    return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at")


def _profile_page(
    request, *, profile_form=None, token_form=None, new_secret=None, new_token=None, status=200
):
    user = request.user
    context = {
        "profile_form": profile_form
        or ProfileForm(
            initial={"language": user.language, "time_zone": user.time_zone}, current_tz=user.time_zone
        ),
        "token_form": token_form or TokenForm(),
        "tokens": _tokens(user),
        "new_secret": new_secret,
        "new_token": new_token,
    }
    return render(request, "orgs/profile.html", context, status=status)


@login_required
def profile(request):
    if request.method == "POST":
        form = ProfileForm(request.POST, current_tz=request.user.time_zone)
        if form.is_valid():
            try:
                services.profile_update(
                    actor=request.user,
                    language=form.cleaned_data["language"],
                    time_zone=form.cleaned_data["time_zone"],
                )
            except DomainError as exc:
                for key, msgs in exc.fields.items():
                    for msg in msgs:
                        form.add_error(key if key in form.fields else None, msg)
                return _profile_page(request, profile_form=form, status=exc.status)
            messages.success(request, _("Your settings were saved."))
            response = redirect("profile")
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                form.cleaned_data["language"],
                max_age=settings.REMEMBER_ME_AGE,
                samesite="Lax",
            )
            return response
        return _profile_page(request, profile_form=form, status=422)
    return _profile_page(request)


@login_required
@require_POST
def token_create(request):
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            token, secret = services.api_token_create(actor=request.user, name=form.cleaned_data["name"])
        except DomainError as exc:
            for key, msgs in exc.fields.items():
                for msg in msgs:
                    form.add_error(key if key in form.fields else None, msg)
            return _profile_page(request, token_form=form, status=exc.status)
        # Rendered, not redirected: the secret is never stored, so this answer is the only
        # place it appears.
        return _profile_page(request, new_secret=secret, new_token=token)
    return _profile_page(request, token_form=form, status=422)


@login_required
@require_POST
def token_revoke(request, token_id: int):
    try:
        token = services.api_token_revoke(actor=request.user, token_id=token_id)
    except NotFound:
        raise Http404 from None
    messages.success(
        request, _("Token “%(name)s” was revoked; scripts using it stop working now.") % {"name": token.name}
    )
    return redirect("profile")


@require_POST
def language_switch(request):
    """Switch the UI language: Django's cookie for this browser, and the person's saved choice
    (which the middleware applies on every device)."""
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language:
        try:
            services.profile_update(actor=request.user, language=language)
        except DomainError as exc:
            messages.error(request, exc.message)
    return set_language(request)
