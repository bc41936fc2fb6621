"""A select widget that renders its options in Python.

Django renders each <option> through a template, which adds up on the list's filter bar,
rendered with every list page. People are picked by search instead (orgs/widgets.py).
"""

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join


class FastSelect(forms.Select):
    def _selected(self, value) -> set[str]:
        if value is None:
            return set()
        values = value if isinstance(value, (list, tuple)) else [value]
        return {str(v) for v in values if v is not None and v != ""}

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        selected = self._selected(self.format_value(value))
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (choice_value, " selected" if str(choice_value) in selected else "", label)
                for choice_value, label in self._flat_choices()
            ),
        )
        return format_html("<select{}>{}</select>", flatatt(final), options)

    def _flat_choices(self):
        for value, label in self.choices:
            if isinstance(label, (list, tuple)):  # an optgroup: flatten it
                yield from ((v, lbl) for v, lbl in label)
            else:
                yield ("" if value is None else getattr(value, "value", value)), label
