"""closeloop_ui's icon, badges and progress bar, kept or built with core.escape.esc (issue 16,
item 2), write what their format_html versions wrote, for every kind of value."""

from django.test import override_settings
from django.utils import translation
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from closeloop.core.templatetags import closeloop_ui as ui


def _old_icon(name, extra_class=""):
    return format_html(
        '<svg class="icon {}" aria-hidden="true"><use href="{}#{}"></use></svg>',
        extra_class,
        ui._icons_url(),
        name,
    )


def _old_bar(value):
    try:
        pct = max(0, min(100, int(value or 0)))
    except (TypeError, ValueError):
        pct = 0
    return format_html(
        '<span class="progress{}" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{}">'
        '<span class="progress__bar"><span class="progress__fill" style="width:{}%"></span></span>'
        '<span class="progress__num">{}%</span></span>',
        " progress--done" if pct == 100 else "",
        pct,
        pct,
        pct,
    )


VALUES = [
    "done",
    "<b>x</b>",
    'a"b',
    "it's & co",
    3,
    0,
    None,
    mark_safe("<i>safe</i>"),
    mark_safe("<b>x</b>"),  # the same text as a str above: kept apart
    gettext_lazy("Overdue"),
]


def test_badges_and_icons_are_the_format_html_ones():
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for value in VALUES:
                for label in VALUES:
                    assert ui.status_badge(value, label) == format_html(
                        '<span class="badge status--{}">{}</span>', value, label
                    )
                    assert ui.priority_badge(value, label) == format_html(
                        '<span class="badge prio prio--{}">{}</span>', value, label
                    )
                for _ in range(2):  # built, then kept
                    assert ui.icon(value) == _old_icon(value)
                    assert ui.icon("check", value) == _old_icon("check", value)
                    assert ui.icon(value, "x<y") == _old_icon(value, "x<y")
    with override_settings(STATIC_URL="/elsewhere/"):  # a kept icon follows the sprite's URL
        assert "/elsewhere/" in ui.icon("check") and ui.icon("check") == _old_icon("check")


def test_the_progress_bar_is_the_format_html_one():
    for value in (*range(-3, 104), None, "", "42", "x", 55.9, True, [], "100"):
        for _ in range(2):
            assert ui.progress_bar(value) == _old_bar(value), value
