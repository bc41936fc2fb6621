from django import template
from django.core.signals import setting_changed
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html
from django.utils.translation import get_language, gettext, ngettext

from closeloop.notify.selectors import unread_count

register = template.Library()

_BELL_SVG = format_html(
    '<svg class="icon" viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" '
    'stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">'
    '<path d="{}"/><path d="{}"/></svg>',
    "M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9",
    "M10.3 21a1.94 1.94 0 0 0 3.4 0",
)
_URLS: dict[tuple, tuple[str, str]] = {}
_BELLS: dict[tuple, str] = {}  # (script prefix, URL conf, language, count) → the bell
_BELLS_MAX = 1000


def _forget_bells(**kwargs) -> None:
    _BELLS.clear()


setting_changed.connect(_forget_bells)


def _bell_urls() -> tuple[str, str]:
    key = (get_script_prefix(), get_urlconf())
    urls = _URLS.get(key)
    if urls is None:
        urls = _URLS[key] = (reverse("notify:list"), reverse("notify:bell"))
    return urls


@register.simple_tag(takes_context=True)
def notify_unread(context) -> int:
    """The signed-in person's unread count: one COUNT on the inbox index."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return unread_count(user) if user is not None else 0


@register.simple_tag(takes_context=True)
def notify_bell(context) -> str:
    """The header's bell with the unread count (refreshed by htmx on `notify:changed`); built
    in Python, as it is on every signed-in page (issue 16). Empty for someone signed out."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if user is None or not user.is_authenticated:
        return ""
    n = unread_count(user)
    # The bell depends only on the count, the language and the URL conf: built once each
    # (format_html and the translations were ~200 Python calls of every signed-in page).
    key = (get_script_prefix(), get_urlconf(), get_language(), n)
    html = _BELLS.get(key)
    if html is None:
        if len(_BELLS) >= _BELLS_MAX:
            _BELLS.clear()
        html = _BELLS[key] = _bell(n)
    return html


def _bell(n: int) -> str:
    list_url, bell_url = _bell_urls()
    count = ""
    if n:
        count = format_html(
            '<span class="notify-bell__count" data-unread="{}">{}</span>', n, "99+" if n > 99 else n
        )
    return format_html(
        '<a class="notify-bell" id="notify-bell" href="{}" hx-get="{}" hx-trigger="notify:changed from:body" '
        'hx-swap="outerHTML" title="{}" aria-label="{}">{}{}</a>',
        list_url,
        bell_url,
        gettext("Notifications"),
        ngettext("%(counter)s unread notification", "%(counter)s unread notifications", n) % {"counter": n},
        _BELL_SVG,
        count,
    )
