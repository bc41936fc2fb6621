"""`fast_tags`' `{% translate %}` and `{% url %}` write what Django's do (issue 16, item 2): the
same template rendered with and without `{% load fast_tags %}`, in both languages, with
escaping on and off, repeated (the second rendering is the kept one), on every form the tags
take."""

import pytest
from django.template import engines
from django.test import RequestFactory, override_settings
from django.urls import NoReverseMatch
from django.utils import translation

from closeloop.core.templatetags import fast_tags

SOURCE = """{% load i18n LOAD %}
{% translate "Details" %}|{% translate 'Task ID' %}|{% trans "Overdue" %}
{% translate "Don't & <b>" %}|{% translate "100%% x" %}|{% translate "Remove %(name)s" %}
{% translate msg %}|{% translate "Details" as d %}{{ d }}|{% translate "May" context "month name" %}
{% translate "Details"|upper %}|{% translate "Tasks" noop %}
{% url 'tasks:list' %}|{% url 'tasks:detail' pk %}|{% url "tasks:detail" 0 %}
{% url 'tasks:collaborator_remove' pk other %}|{% url 'tasks:people_form' pk 'reassign' %}
{% url 'tasks:people_form' pk which %}|{% url 'tasks:detail' pk=pk %}|{% url 'tasks:detail' spk %}
{% url 'tasks:detail' pk as here %}{{ here }}|{% url name pk %}
{% autoescape off %}{% url 'tasks:people_form' pk odd %}{% translate "Details" %}{% endautoescape %}
{% url 'tasks:people_form' pk odd %}|{% url 'tasks:dependency_remove' pk other 7 %}"""


def _render(source: str, ctx: dict, request) -> str:
    return engines["django"].from_string(source).render(ctx, request)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_tags_write_what_djangos_write(language):
    request = RequestFactory().get("/")
    fast = SOURCE.replace("LOAD", "fast_tags")
    django = SOURCE.replace("LOAD", "")
    for pk, other in ((1, 2), (12345, 987), (0, 0), (7, 7)):
        ctx = {
            "pk": pk,
            "other": other,
            "spk": str(pk),
            "which": "collaborators",
            "odd": "a&b<c>",
            "msg": "Details",
            "name": "tasks:detail",
        }
        with translation.override(language):
            for _ in range(2):
                assert _render(fast, ctx, request) == _render(django, ctx, request), (pk, other)
    # Kept, not left to Django's node: integer ids, a quoted (safe) string, a variable's string.
    kept = {key[4:] for key, pieces in fast_tags._URLS.items() if pieces is not None}
    assert {
        ("tasks:detail", (None,)),
        ("tasks:people_form", (None, "reassign")),
        ("tasks:people_form", (None, "collaborators")),
        ("tasks:dependency_remove", (None, None, None)),
    } <= kept
    # The forms the fast nodes take (the others are Django's nodes).
    nodes = engines["django"].from_string(fast).template.nodelist
    assert len(nodes.get_nodes_by_type(fast_tags.TranslateOnceNode)) == 7
    assert len(nodes.get_nodes_by_type(fast_tags.URLOnceNode)) == 10


def test_a_url_that_does_not_reverse_raises_as_djangos():
    source = "{% load fast_tags %}{% url 'tasks:detail' n %}"
    for n in (-1, True, None, "x"):
        with pytest.raises(NoReverseMatch):
            _render(source, {"n": n}, None)
    with pytest.raises(NoReverseMatch):
        _render("{% load fast_tags %}{% url 'tasks:nope' 1 %}", {}, None)


def test_the_kept_texts_are_dropped_when_a_setting_changes():
    _render('{% load i18n fast_tags %}{% translate "Details" %}{% url "tasks:detail" 3 %}', {}, None)
    assert fast_tags._TEXT and fast_tags._URLS
    with override_settings(FORCE_SCRIPT_NAME="/x/"):
        assert not fast_tags._TEXT and not fast_tags._URLS
