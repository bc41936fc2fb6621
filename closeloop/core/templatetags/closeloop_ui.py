"""Small UI components shared by every app's templates: icons, badges, progress bars, form
fields and sortable column headers."""

from typing import Any

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django_htmx.jinja import htmx_script as django_htmx_script

from closeloop.core.escape import esc

register = template.Library()

# Status and priority labels live with the tasks app; templates pass the label in when they
# have it (`get_status_display`), so core does not import tasks.


_ICONS_URL: dict[str, str] = {}  # STATIC_URL and storage → the sprite's URL


def _icons_url() -> str:
    """The sprite's URL, looked up once per STATIC_URL (a storage lookup on every icon was a
    tenth of the layout's time)."""
    key = f"{settings.STATIC_URL} {settings.STORAGES.get('staticfiles', {}).get('BACKEND')}"
    url = _ICONS_URL.get(key)
    if url is None:
        url = _ICONS_URL[key] = static("closeloop/icons.svg")
    return url


_ASSET_URLS: dict[tuple[str, str, str], str] = {}
_HTMX = "django_htmx/htmx-2.min.js"


@register.simple_tag
def asset(path: str) -> str:
    """`{% static path %}`, looked up once per process and STATIC_URL (the storage's lookup
    on each of the layout's three assets was a tenth of a signed-in 404's calls; the files are
    not fingerprinted, and a fingerprinting storage reads its manifest once anyway)."""
    key = (settings.STATIC_URL, str(settings.STORAGES.get("staticfiles", {}).get("BACKEND")), path)
    url = _ASSET_URLS.get(key)
    if url is None:
        url = _ASSET_URLS[key] = static(path)
    return url


@register.simple_tag(takes_context=True)
def htmx_script(context) -> str:
    """django-htmx's `{% htmx_script %}` (htmx 2, minified, with this response's CSP nonce):
    the same tag, its URL looked up once (`asset`; django-htmx's static() and format_html
    were ~150 Python calls of every page). With DEBUG on, django-htmx's own (it adds its
    debug script)."""
    nonce = context.get("csp_nonce")
    if settings.DEBUG:
        return django_htmx_script(nonce=nonce)
    src = esc(asset(_HTMX))
    if nonce is None:
        return mark_safe(f'<script src="{src}" defer></script>')  # noqa: S308 - escaped
    return mark_safe(f'<script src="{src}" defer nonce="{esc(nonce)}"></script>')  # noqa: S308


_ICONS: dict[tuple, str] = {}  # (name, class, sprite URL) → the <svg>


@register.simple_tag
def icon(name: str, extra_class: str = "") -> str:
    """An icon of the sprite; built once per name, class and sprite URL (format_html was ~60
    Python calls an icon, a dozen a task page)."""
    if not isinstance(name, str) or not isinstance(extra_class, str):  # lazy text: as it was
        return _icon(name, extra_class)
    # A template's quoted name is a SafeString (not escaped): its own key.
    key = (name, type(name), extra_class, type(extra_class), _icons_url())
    html = _ICONS.get(key)
    if html is None:
        if len(_ICONS) >= _BUILT_MAX:
            _ICONS.clear()
        html = _ICONS[key] = _icon(name, extra_class)
    return html


def _icon(name, extra_class) -> str:
    return format_html(
        '<svg class="icon {}" aria-hidden="true"><use href="{}#{}"></use></svg>',
        extra_class,
        _icons_url(),
        name,
    )


@register.simple_tag
def status_badge(value: str, label: str) -> str:
    # format_html's result, each value escaped as conditional_escape (core.escape.esc).
    return mark_safe(f'<span class="badge status--{esc(value)}">{esc(label)}</span>')  # noqa: S308


@register.simple_tag
def priority_badge(value: int, label: str) -> str:
    return mark_safe(f'<span class="badge prio prio--{esc(value)}">{esc(label)}</span>')  # noqa: S308


_BARS: dict[int, str] = {}  # percentage → the bar


@register.simple_tag
def progress_bar(value) -> str:
    """The progress bar of a percentage (clamped to 0–100; anything not a number is 0), built
    once per percentage."""
    try:
        pct = max(0, min(100, int(value or 0)))
    except (TypeError, ValueError):
        pct = 0
    html = _BARS.get(pct)
    if html is None:
        html = _BARS[pct] = format_html(
            '<span class="progress{}" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{}">'
            '<span class="progress__bar"><span class="progress__fill" style="width:{}%"></span></span>'
            '<span class="progress__num">{}%</span></span>',
            " progress--done" if pct == 100 else "",
            pct,
            pct,
            pct,
        )
    return html


@register.simple_tag
def overdue_flag() -> str:
    return format_html('<span class="flag-overdue">{}</span>', _("Overdue"))


@register.filter
def initials(user) -> str:
    name = getattr(user, "display_name", "") or str(user or "")
    name = name.strip()
    if not name:
        return "?"
    if name[0].isascii():
        parts = name.split()
        return "".join(p[0] for p in parts[:2]).upper()
    return name[-2:] if len(name) >= 2 else name


@register.inclusion_tag("ui/field.html")
def field(bound_field, extra_class: str = ""):
    return {"f": bound_field, "extra_class": extra_class}


@register.simple_tag(takes_context=True)
def sort_link(context, key: str, label: str) -> str:
    """A column header that sorts by `key`, and by `-key` when already sorted by it."""
    request = context["request"]
    current = request.GET.get("sort", "")
    params = request.GET.copy()
    params.pop("page", None)
    if current == key:
        params["sort"] = f"-{key}"
        arrow, cls = " ↑", "sorted"
    elif current == f"-{key}":
        params["sort"] = key
        arrow, cls = " ↓", "sorted"
    else:
        params["sort"] = key
        arrow, cls = "", ""
    url = f"{request.path}?{urlencode(sorted(params.lists()), doseq=True)}"
    return format_html(
        '<a href="{}" class="{}" hx-get="{}" hx-target="#task-table" hx-push-url="true">{}{}</a>',
        url,
        cls,
        url,
        label,
        arrow,
    )


@register.simple_tag(takes_context=True)
def page_url(context, number: int) -> str:
    request = context["request"]
    params = request.GET.copy()
    params["page"] = str(number)
    return f"{request.path}?{urlencode(sorted(params.lists()), doseq=True)}"


# -- the layout around every signed-in page (issue 16, item 1) ------------------------------
# The header, its two copies of the navigation, the user menu and the language switch were
# five template includes with 25 `{% url %}` and 30 `{% translate %}` nodes: about two thirds
# of a signed-in page that shows nothing else. They are built here in Python instead; what
# depends only on the language, the URL conf and the current page is built once per process
# and kept (a few hundred short strings at most).

# (URL name, label, the view names that mark the link as the current page)
NAV = (
    ("tasks:home", _lazy("My work"), ("tasks:home",)),
    ("tasks:list", _lazy("Tasks"), ("tasks:list", "tasks:detail", "tasks:create", "tasks:edit")),
    ("tasks:board", _lazy("Board"), ("tasks:board",)),
    ("tasks:timeline", _lazy("Timeline"), ("tasks:timeline",)),
    ("tasks:workload", _lazy("Workload"), ("tasks:workload",)),
    ("tasks:calendar", _lazy("Calendar"), ("tasks:calendar",)),
    ("insights:dashboard", _lazy("Dashboard"), ("insights:dashboard",)),
    (
        "insights:weekly_review",
        _lazy("Weekly review"),
        ("insights:weekly_review", "insights:weekly_review_print"),
    ),
    ("review:knowledge", _lazy("Knowledge base"), ("review:knowledge",)),
)
_BUILT: dict[tuple, Any] = {}
_BUILT_MAX = 2000


def _built(key: tuple, build) -> Any:
    """`build()` once per process for `key` (with the script prefix, URL conf and language in
    it, so a test that overrides them or a second language gets its own copy)."""
    full = (get_script_prefix(), get_urlconf(), get_language(), *key)
    html = _BUILT.get(full)
    if html is None:
        if len(_BUILT) >= _BUILT_MAX:
            _BUILT.clear()
        html = _BUILT[full] = build()
    return html


def _nav_link(name: str, label, current: tuple[str, ...], view_name: str | None) -> str:
    if view_name in current:
        return format_html('<a href="{}" aria-current="page">{}</a>', reverse(name), label)
    return format_html('<a href="{}">{}</a>', reverse(name), label)


def _nav_html(view_name: str | None) -> str:
    # One link a line, as the template had it.
    links = format_html_join("\n", "{}", ((_nav_link(*item, view_name),) for item in NAV))
    return format_html("\n{}\n", links)


@register.simple_tag(takes_context=True)
def nav_links(context) -> str:
    """The main navigation's links; the current page's link has aria-current="page"."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    view_name = match.view_name if match is not None else None
    return _built(("nav", view_name), lambda: _nav_html(view_name))


def _csrf_input(context) -> str:
    """The form's hidden CSRF input (format_html's result, as a plain str: the caller marks
    what it joins it into safe)."""
    token = context.get("csrf_token")
    if not token or token == "NOTPROVIDED":
        return ""
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{esc(token)}">'


@register.simple_tag(takes_context=True)
def lang_switch(context, css: str = "") -> str:
    """The 中文 / EN buttons: a form posting to the language switch, back to this page."""
    request = context.get("request")
    current = get_language()
    buttons = _built(
        ("lang", current),
        lambda: format_html_join(
            "\n  ",
            '<button type="submit" name="language" value="{}" lang="{}" aria-pressed="{}" title="{}">{}</button>',
            (
                (code, code, "true" if code == current else "false", title, text)
                for code, title, text in (("zh-hans", "简体中文", "中文"), ("en", "English", "EN"))
            ),
        ),
    )
    action = _built(("url", "language_switch"), lambda: reverse("language_switch"))
    here = request.get_full_path() if request is not None else ""
    # format_html's result: each value through esc (conditional_escape's), the buttons and the
    # CSRF input already HTML.
    return mark_safe(  # noqa: S308
        f'<form method="post" action="{esc(action)}" class="{esc(css)}">{_csrf_input(context)}\n'
        f'  <input type="hidden" name="next" value="{esc(here)}">\n  {buttons}\n</form>'
    )


def _menu_links(is_staff: bool) -> str:
    links = [
        format_html('<a href="{}">{}{}</a>', reverse("profile"), icon("user"), _("Profile and API tokens")),
        format_html('<a href="{}">{}{}</a>', reverse("password_change"), icon("lock"), _("Change password")),
    ]
    if is_staff:
        links.append(
            format_html('<a href="{}">{}{}</a>', reverse("admin:index"), icon("key"), _("Administration"))
        )
    return format_html_join("\n          ", "{}", ((link,) for link in links))


def _user_menu_frame(is_staff: bool) -> tuple[str, ...]:
    """The user menu's HTML around the person's initials, name and username and the CSRF
    input, as the pieces between them (language, URL conf and staff-ness are in the cache
    key of `_built`)."""
    marks = ("\x00initials\x00", "\x00name\x00", "\x00username\x00", "\x00csrf\x00")
    html = format_html(
        '<details class="menu">\n'
        '        <summary><span class="avatar">{}</span><span class="user-name">{}</span>{}</summary>\n'
        '        <div class="menu__panel">\n'
        '          <div class="menu__label">{}</div>\n'
        "          {}\n"
        "          <hr>\n"
        '          <form method="post" action="{}">{}\n'
        '            <button type="submit" class="menu__item">{}{}</button>\n'
        "          </form>\n"
        "        </div>\n"
        "      </details>",
        marks[0],  # placeholders: no character escaping changes
        marks[1],
        icon("chevron-down"),
        marks[2],
        _menu_links(is_staff),
        reverse("logout"),
        marks[3],
        icon("logout"),
        _("Log out"),
    )
    pieces = [str(html)]
    for mark in marks:
        pieces[-1:] = pieces[-1].split(mark)
    return tuple(pieces)


@register.simple_tag(takes_context=True)
def user_menu(context) -> str:
    """The signed-in person's menu: name, profile, password, administration, log out. The
    frame is built once per language (`_user_menu_frame`); the person's initials, name and
    username are escaped into it on each page."""
    user = context["user"]
    is_staff = bool(user.is_staff)
    frame = _built(("menu-frame", is_staff), lambda: _user_menu_frame(is_staff))
    return mark_safe(  # noqa: S308 - the frame is format_html's; the rest is escaped here
        frame[0]
        + escape(initials(user))
        + frame[1]
        + escape(user.display_name)
        + frame[2]
        + escape(user.username)
        + frame[3]
        + _csrf_input(context)
        + frame[4]
    )
