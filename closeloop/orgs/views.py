"""People's own pages: log in (with "remember me"), profile, API tokens, language; and the
people pickers' search."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.html import format_html
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language

from closeloop.core import compiled
from closeloop.core.errors import DomainError
from closeloop.orgs import selectors, services
from closeloop.orgs.forms import LoginForm, ProfileForm, TokenForm
from closeloop.orgs.models import ApiToken
from closeloop.orgs.widgets import SEARCH_PARAMS, parse_ids, people_options


def login_extensions() -> list:
    """Other ways to sign in, named by dotted path in `settings.LOGIN_EXTENSIONS` (so orgs
    imports none of them). Each offers `auto_redirect(request, next_url) -> str | None` (send
    this browser straight elsewhere, e.g. an IM app's own browser into its OAuth) and
    `buttons(request, next_url) -> [{"platform", "label", "url"}]` for the login page."""
    return [import_string(path) for path in getattr(settings, "LOGIN_EXTENSIONS", [])]


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True
    # "/" (my work) lives in the tasks app's namespace.
    next_page = reverse_lazy("tasks:home")

    def get(self, request, *args, **kwargs):
        # `password=1`: the person chose the password form (e.g. after an IM sign-in was refused).
        if not request.user.is_authenticated and request.GET.get("password") != "1":
            next_url = self.get_redirect_url()
            for extension in login_extensions():
                target = extension.auto_redirect(request, next_url)
                if target:
                    return redirect(target)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        next_url = self.get_redirect_url()
        context["login_buttons"] = [
            b for ext in login_extensions() for b in ext.buttons(self.request, next_url)
        ]
        return context

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


def _tokens(user) -> list[ApiToken]:
    """The person's own API tokens, live first, newest first. No selector exists for a
    person's own tokens; the query is scoped to the owner, compiled once per database
    (core.compiled: building it was ~600 Python calls of the profile page)."""
    return compiled.rows("orgs.profile.tokens", ApiToken, _tokens_query, (user.pk,))


def _tokens_query(user_id: int):
    return ApiToken.objects.filter(user_id=user_id).order_by("revoked_at", "-created_at")


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
    token = services.api_token_revoke(actor=request.user, token_id=token_id)
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


@require_GET
def people_search(request):
    """A people picker's options for what was typed (htmx swaps them into its <select>): the
    people already chosen there, then up to 20 active people matching `q` — or, with nothing
    typed, the suggestions the page offered (`suggest`). `field` names the picker, whose chosen
    ids come along under that name; `blank` is its empty choice. To htmx it also says, out of
    band, what was found, under the search box. Two queries at most.

    Any signed-in person may find any active person (the directory is company-wide: owners and
    collaborators come from every department); the options show name and username only."""
    if not request.user.is_authenticated:
        if request.htmx:
            return HttpResponse(status=401)  # htmx swaps nothing; the next page load logs in
        return redirect_to_login(request.get_full_path())
    q = " ".join(request.GET.get("q", "").split())
    field = request.GET.get("field", "")
    chosen_ids = parse_ids(request.GET.getlist(field)) if field and field not in SEARCH_PARAMS else []
    status = group = ""
    if q:
        found = selectors.people_search(q=q)
        limit = selectors.PEOPLE_SEARCH_LIMIT
        offered = found[:limit]
        by_id = {u.pk: u for u in offered}
        by_id.update(selectors.people_by_ids(pk for pk in chosen_ids if pk not in by_id))
        group = _("Matches for “%(q)s”") % {"q": q}
        if len(found) > limit:
            status = _("More than %(n)s found: choose in the list, or type more of the name.") % {"n": limit}
        elif offered:
            status = ngettext(
                "%(n)s person found: choose in the list.",
                "%(n)s people found: choose in the list.",
                len(offered),
            ) % {"n": len(offered)}
        else:
            status = _("No one found for “%(q)s”.") % {"q": q}
    else:
        suggest_ids = parse_ids(request.GET.get("suggest", "").split(","), selectors.PEOPLE_SUGGESTION_LIMIT)
        by_id = selectors.people_by_ids([*chosen_ids, *suggest_ids])
        offered = [by_id[pk] for pk in suggest_ids if pk in by_id]
    html = people_options(
        chosen=[by_id[pk] for pk in chosen_ids if pk in by_id],
        offered=offered,
        blank=request.GET.get("blank"),
        group=group or None,
    )
    if request.htmx and request.htmx.target:
        html += format_html(
            '<span id="{}_status" hx-swap-oob="innerHTML">{}</span>', request.htmx.target, status
        )
    return HttpResponse(html)
