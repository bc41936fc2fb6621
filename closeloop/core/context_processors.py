from django.conf import settings

from closeloop.core.searchbox import SEARCH_MAX


def site(request):
    """`SITE_URL`, `DEMO_MODE`, and `SEARCH_MAX` (a search box's `maxlength`, core.searchbox)."""
    return {"SITE_URL": settings.SITE_URL, "DEMO_MODE": settings.DEMO_MODE, "SEARCH_MAX": SEARCH_MAX}


def csp_nonce(request):
    """`csp_nonce` for templates (and django-htmx's script tag): this response's CSP nonce.
    Lazy: the nonce enters the header only on pages that use it."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
