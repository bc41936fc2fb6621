"""The form renderer builds inputs, textareas and selects in Python: each must be exactly
what Django's own templates render, escaping included."""

import datetime as dt

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from closeloop.core.forms_renderer import FastRenderer

ATTRS = {"class": 'a"b<c>', "required": True, "disabled": False, "maxlength": 30, "data-x": "&", "step": 0.5}

CASES = [
    (forms.TextInput(attrs=ATTRS), "标题 <b>&\"'"),
    (forms.TextInput(), None),
    (forms.TextInput(), ""),
    (forms.TextInput(), mark_safe("<i>safe</i>")),  # noqa: S308 — the case under test
    (forms.NumberInput(attrs={"min": 0, "max": 100}), 42),
    (forms.DateInput(attrs={"type": "date"}), dt.date(2026, 12, 1)),
    (forms.DateTimeInput(), dt.datetime(2026, 12, 1, 9, 30)),
    (forms.EmailInput(), "a@example.com"),
    (forms.URLInput(), "https://example.com/?a=1&b=2"),
    (forms.PasswordInput(), "secret"),
    (forms.PasswordInput(render_value=True), "secret"),
    (forms.HiddenInput(), 7),
    (forms.CheckboxInput(), True),
    (forms.CheckboxInput(), False),
    (forms.Textarea(attrs={"rows": 3}), "第一行\n<script>&</script>"),
    (forms.Textarea(), ""),
    (forms.Textarea(), None),
    (forms.Select(choices=[("", "—"), (1, "一"), (2, "<二>"), ("x", mark_safe("<b>三</b>"))]), 2),  # noqa: S308
    (forms.Select(choices=[(1, gettext_lazy("Tasks")), (2, 2)]), None),
    (forms.Select(choices=[("组一", [(1, "a"), (2, "b")]), ("组<二>", [(3, "c")]), (4, "d")]), 3),
    (forms.SelectMultiple(choices=[(1, "a"), (2, "b"), (3, "c")]), [1, 3]),
    (forms.NullBooleanSelect(), True),
    (forms.SelectDateWidget(years=[2026]), dt.date(2026, 3, 4)),  # a multi-widget: Django's templates
    (forms.RadioSelect(choices=[(1, "a"), (2, "b")]), 1),  # its own templates: Django's
]


@pytest.mark.parametrize("widget,value", CASES)
def test_each_widget_renders_as_djangos_templates_do(widget, value):
    ours = widget.render("field", value, attrs={"id": "id_field"}, renderer=FastRenderer())
    django = widget.render("field", value, attrs={"id": "id_field"}, renderer=DjangoTemplates())
    assert ours == django


def test_it_is_the_renderer_of_every_form(settings):
    class F(forms.Form):
        title = forms.CharField()

    assert settings.FORM_RENDERER == "closeloop.core.forms_renderer.FastRenderer"
    assert isinstance(F().renderer, FastRenderer)
