"""Select widgets that render their options in Python.

Django renders each <option> through a template; a page with several people pickers (owner,
reviewer, collaborators, reassign) renders hundreds of them, which costs tens of
milliseconds. These produce the same markup directly.
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
        if self.allow_multiple_selected:
            final["multiple"] = True
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


class FastSelectMultiple(FastSelect):
    allow_multiple_selected = True

    def value_from_datadict(self, data, files, name):
        try:
            getter = data.getlist
        except AttributeError:
            getter = data.get
        return getter(name)

    def value_omitted_from_data(self, data, files, name):
        return False
