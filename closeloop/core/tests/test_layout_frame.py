"""The user menu built from a frame kept per language (issue 16, item 1) is the HTML the
format_html version wrote, with the person's name escaped; `{% asset %}` is `{% static %}`;
the language switch is the format_html version's; `{% htmx_script %}` is django-htmx's."""

import pytest
from django.template import Context, Template
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django_htmx.jinja import htmx_script as django_htmx_script

from closeloop.core.templatetags.closeloop_ui import (
    _csrf_input,
    _menu_links,
    htmx_script,
    icon,
    initials,
    lang_switch,
    user_menu,
)
from closeloop.orgs.models import User


def _old_csrf_input(context) -> str:
    """The CSRF input as format_html wrote it (the reference of `_csrf_input`)."""
    token = context.get("csrf_token")
    if not token or token == "NOTPROVIDED":
        return ""
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)


def _old_user_menu(context) -> str:
    """The user menu as it was written before the frame (the reference)."""
    user = context["user"]
    return format_html(
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
        initials(user),
        user.display_name,
        icon("chevron-down"),
        user.username,
        _menu_links(bool(user.is_staff)),
        reverse("logout"),
        _old_csrf_input(context),
        icon("logout"),
        _("Log out"),
    )


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("is_staff", [False, True])
@pytest.mark.parametrize(
    "name,username",
    [("王总", "sales_head"), ('<script>alert("x")</script>', "a&b<i>"), ("", "plain"), ("Ann Lee", "ann")],
)
def test_the_menu_is_the_html_it_was(language, is_staff, name, username):
    user = User(pk=1, username=username, name=name, is_staff=is_staff)
    for token in ("tok<en>123", "", "NOTPROVIDED"):
        context = {"user": user, "csrf_token": token}
        with translation.override(language):
            new, old = user_menu(context), _old_user_menu(context)
        assert new == old
        assert "<script>" not in new and "<i>" not in new
        assert _csrf_input(context) == _old_csrf_input(context)


def test_an_asset_is_its_static_url():
    for path in ("closeloop/app.css", "notify/notify.css", "closeloop/app.js", "a b/<x>.css"):
        rendered = Template("{% load closeloop_ui static %}{% asset p %}|{% static p %}").render(
            Context({"p": path})
        )
        new, old = rendered.split("|")
        assert new == old
        assert static(path)


def _old_lang_switch(context, css: str = "") -> str:
    """The language switch as format_html wrote it (the reference)."""
    request = context.get("request")
    current = translation.get_language()
    buttons = format_html_join(
        "\n  ",
        '<button type="submit" name="language" value="{}" lang="{}" aria-pressed="{}" title="{}">{}</button>',
        (
            (code, code, "true" if code == current else "false", title, text)
            for code, title, text in (("zh-hans", "简体中文", "中文"), ("en", "English", "EN"))
        ),
    )
    return format_html(
        '<form method="post" action="{}" class="{}">{}\n'
        '  <input type="hidden" name="next" value="{}">\n  {}\n</form>',
        reverse("language_switch"),
        css,
        _old_csrf_input(context),
        request.get_full_path() if request is not None else "",
        buttons,
    )


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_language_switch_is_the_html_it_was(rf, language):
    for path in ("/tasks/", '/tasks/?q=<b>"x"&a=1', "/profile/"):
        for token in ("tok<en>123", "", "NOTPROVIDED"):
            for css in ("lang-switch", mark_safe("a<b"), 'x"y'):
                context = {"request": rf.get(path), "csrf_token": token}
                with translation.override(language):
                    new, old = lang_switch(context, css), _old_lang_switch(context, css)
                assert new == old and isinstance(new, SafeString)
    assert lang_switch({"request": None, "csrf_token": ""}) == _old_lang_switch(
        {"request": None, "csrf_token": ""}
    )


def test_the_htmx_script_is_django_htmxs(settings):
    for nonce in ("abc123", "", None, 'a"<b>', SimpleLazyObject(lambda: "lazy-nonce")):
        context = {} if nonce is None else {"csp_nonce": nonce}
        new, old = htmx_script(context), django_htmx_script(nonce=nonce)
        assert new == old and isinstance(new, SafeString)
    settings.DEBUG = True  # django-htmx's own, with its debug script
    assert htmx_script({"csp_nonce": "n"}) == django_htmx_script(nonce="n")
