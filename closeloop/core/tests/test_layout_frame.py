"""The user menu built from a frame kept per language (issue 16, item 1) is the HTML the
format_html version wrote, with the person's name escaped; `{% asset %}` is `{% static %}`."""

import pytest
from django.template import Context, Template
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext as _

from closeloop.core.templatetags.closeloop_ui import _csrf_input, _menu_links, icon, initials, user_menu
from closeloop.orgs.models import User


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
        _csrf_input(context),
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


def test_an_asset_is_its_static_url():
    for path in ("closeloop/app.css", "notify/notify.css", "closeloop/app.js", "a b/<x>.css"):
        rendered = Template("{% load closeloop_ui static %}{% asset p %}|{% static p %}").render(
            Context({"p": path})
        )
        new, old = rendered.split("|")
        assert new == old
        assert static(path)
