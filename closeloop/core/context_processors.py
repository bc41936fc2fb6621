from django.conf import settings


def site(request):
    return {"SITE_URL": settings.SITE_URL, "DEMO_MODE": settings.DEMO_MODE}


def csp_nonce(request):
    """`csp_nonce` for templates (and django-htmx's script tag): this response's CSP nonce.
    Lazy: the nonce enters the header only on pages that use it."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
