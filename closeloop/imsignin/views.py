"""IM sign-in pages: start (→ the platform), callback (→ signed in, or a page saying why
not), and the admin's settings and linked-ids pages."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import user_passes_test
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from closeloop.core.errors import DomainError
from closeloop.core.searchbox import cut_search
from closeloop.imsignin import services
from closeloop.imsignin.forms import CREDENTIALS, SetupForm
from closeloop.imsignin.models import SignInSetup
from closeloop.imsignin.platforms import PLATFORMS
from closeloop.orgs.models import User

BACKEND = "django.contrib.auth.backends.ModelBackend"


def _password_login_url(next_url: str) -> str:
    # `password=1` keeps an in-app browser on the form instead of starting OAuth again.
    from urllib.parse import urlencode

    query = {"password": "1"}
    if next_url:
        query["next"] = next_url
    return reverse("login") + "?" + urlencode(query)


def _refused(request, *, message: str, status: int, next_url: str = ""):
    return render(
        request,
        "imsignin/refused.html",
        {"message": message, "password_url": _password_login_url(next_url)},
        status=status,
    )


@never_cache
@require_GET
def start(request, platform: str):
    """Send the browser to the platform's authorize page with a fresh state. `mode=qr`: WeCom's
    desktop QR login; `test=1` (admins): check the setup without signing in as someone else."""
    if platform not in PLATFORMS:
        raise Http404
    next_url = services.safe_next(request.GET.get("next"))
    test = request.GET.get("test") == "1" and request.user.is_authenticated and request.user.is_superuser
    try:
        url = services.signin_begin(
            session=request.session,
            platform_key=platform,
            next_url=next_url,
            mode=request.GET.get("mode", ""),
            test=test,
        )
    except DomainError as exc:
        return _refused(request, message=exc.message, status=400, next_url=next_url)
    return redirect(url)


def _meta(request) -> dict:
    return {"ip": request.META.get("REMOTE_ADDR", ""), "user_agent": request.headers.get("User-Agent", "")}


@never_cache
@require_GET
def callback(request, platform: str):
    if platform not in PLATFORMS:
        raise Http404
    code = request.GET.get("code") or request.GET.get("authCode") or ""
    try:
        result = services.signin_complete(
            session=request.session,
            platform_key=platform,
            state=request.GET.get("state", ""),
            code=code,
            error=request.GET.get("error", ""),
            request_meta=_meta(request),
        )
    except services.SignInRefused as exc:
        return _refused(request, message=exc.message, status=exc.status, next_url=exc.next)
    if result.test:
        return render(
            request,
            "imsignin/test_result.html",
            {
                "platform": PLATFORMS[platform],
                "person": result.person,
                "platform_user_id": result.platform_user_id,
            },
        )
    # The same session rules as a password sign-in: login() rotates the session key, and the
    # session ends with the browser (remember-me is off unless the person ticks it there).
    login(request, result.person, backend=BACKEND)
    request.session.set_expiry(0)
    response = redirect(result.next or settings.LOGIN_REDIRECT_URL)
    if getattr(result.person, "language", ""):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            result.person.language,
            max_age=settings.REMEMBER_ME_AGE,
            samesite="Lax",
        )
    return response


# -- admin ----------------------------------------------------------------------------------

admin_required = user_passes_test(lambda u: u.is_active and u.is_superuser, login_url="admin:login")


@admin_required
@require_GET
def settings_index(request):
    setups = {s.platform: s for s in SignInSetup.objects.all()}
    configured = set(services.configured_platforms())
    rows = [
        {
            "key": key,
            "platform": platform,
            "enabled": bool(setups.get(key) and setups[key].enabled),
            "ready": key in configured,
        }
        for key, platform in PLATFORMS.items()
    ]
    return render(request, "imsignin/admin_index.html", {"rows": rows})


@admin_required
@require_http_methods(["GET", "POST"])
def settings_platform(request, platform: str):
    if platform not in PLATFORMS:
        raise Http404
    channel = services.app_channel(platform)
    setup = SignInSetup.objects.filter(platform=platform).first()
    if request.method == "POST":
        form = SetupForm(request.POST, platform_key=platform)
        if form.is_valid():
            try:
                services.setup_save(
                    actor=request.user,
                    platform_key=platform,
                    enabled=form.cleaned_data["enabled"],
                    allow_mobile_lookup=form.cleaned_data["allow_mobile_lookup"],
                    credentials=form.credentials(),
                    secret=form.cleaned_data.get("secret") or "",
                )
            except DomainError as exc:
                for key, msgs in exc.fields.items():
                    for msg in msgs:
                        form.add_error(key if key in form.fields else None, msg)
                if not exc.fields:
                    form.add_error(None, exc.message)
            else:
                messages.success(request, _("Sign-in settings saved."))
                return redirect("imsignin:admin_platform", platform=platform)
        status = 422
    else:
        initial = {
            "enabled": bool(setup and setup.enabled),
            "allow_mobile_lookup": bool(setup and setup.allow_mobile_lookup),
        }
        if channel is not None:
            for key, *_rest in CREDENTIALS[platform]:
                initial[key] = channel.config.get(key, "")
        form = SetupForm(initial=initial, platform_key=platform)
        status = 200
    context = {
        "platform_key": platform,
        "platform": PLATFORMS[platform],
        "form": form,
        "channel": channel,
        "masked_secret": channel.masked_secret if channel else "",
        "redirect_uri": services.redirect_uri(platform),
        "ready": platform in services.configured_platforms(),
        "test_url": reverse("imsignin:start", args=[platform])
        + "?test=1"
        + ("&mode=qr" if platform == "wecom" else ""),
    }
    return render(request, "imsignin/admin_platform.html", context, status=status)


@admin_required
@require_GET
def linked_people(request):
    """Who has which IM id (admins): search by name, username or id; 50 a page."""
    q = cut_search(" ".join(request.GET.get("q", "").split()))[0]
    people = User.objects.order_by("username").only(
        "username", "name", "is_active", "mobile", "wecom_id", "dingtalk_id", "feishu_id"
    )
    if q:
        people = people.filter(
            Q(username__icontains=q)
            | Q(name__icontains=q)
            | Q(wecom_id=q)
            | Q(dingtalk_id=q)
            | Q(feishu_id=q)
            | Q(mobile=q)
        )
    page = Paginator(people, 50).get_page(request.GET.get("page"))
    return render(request, "imsignin/admin_people.html", {"page": page, "q": q})
