"""Django's form renderer with the commonest widgets written in Python (issue 16, item 2).

Every input, textarea and select on a page was a template render of its own, with one more
include for its attributes and, for a select, one per option: the task page's 18 widgets
were a fifth of its time. `FastRenderer` builds those widgets' HTML in Python, character for
character what Django's templates produce (`core/tests/test_forms_renderer.py` compares them),
and leaves every other template (radio lists, multi-widgets, the app's own widgets) to
Django. Set as `FORM_RENDERER`.
"""

from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeData

WIDGETS = "django/forms/widgets/"
# Django's widget templates that are exactly `{% include "django/forms/widgets/input.html" %}`.
INPUT_TEMPLATES = frozenset(
    f"{WIDGETS}{name}.html"
    for name in (
        "input",
        "checkbox",
        "color",
        "date",
        "datetime",
        "email",
        "file",
        "hidden",
        "number",
        "password",
        "search",
        "tel",
        "text",
        "time",
        "url",
    )
)
OPTION_TEMPLATE = f"{WIDGETS}select_option.html"


def _s(value) -> str:
    """`{{ value|stringformat:'s' }}`: the value as text, escaped unless already safe."""
    if isinstance(value, SafeData):
        return str(value)
    return escape(str(value))


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            out.append(f" {conditional_escape(name)}")
        else:
            out.append(f' {conditional_escape(name)}="{_s(value)}"')
    return "".join(out)


def render_input(widget: dict) -> str:
    value = widget["value"]
    shown = f' value="{_s(value)}"' if value is not None else ""
    return (
        f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
        f"{shown}{_attrs(widget['attrs'])}>"
    )


def render_textarea(widget: dict) -> str:
    value = widget["value"]
    return (
        f'<textarea name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{conditional_escape(value) if value else ''}</textarea>"
    )


def _option(option: dict) -> str:
    return (
        f'<option value="{_s(option["value"])}"{_attrs(option["attrs"])}>'
        f"{conditional_escape(option['label'])}</option>"
    )


def render_select(widget: dict) -> str | None:
    """django/forms/widgets/select.html; None when an option has a template of its own."""
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        for option in group_choices:
            if option["template_name"] != OPTION_TEMPLATE:
                return None
            # The include keeps select_option.html's final newline.
            parts.append(f"\n  {_option(option)}\n")
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


PYTHON_WIDGETS = {
    **dict.fromkeys(INPUT_TEMPLATES, render_input),
    f"{WIDGETS}textarea.html": render_textarea,
    f"{WIDGETS}select.html": render_select,
    OPTION_TEMPLATE: _option,
}


class FastRenderer(DjangoTemplates):
    """Django's default renderer, with the widgets of PYTHON_WIDGETS built in Python."""

    def render(self, template_name, context, request=None):
        build = PYTHON_WIDGETS.get(template_name)
        if build is not None and "widget" in context and len(context) == 1:
            html = build(context["widget"])
            if html is not None:
                return html
        return super().render(template_name, context, request=request)
