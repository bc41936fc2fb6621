"""A field's choice label as `get_<field>_display()` gives it, for rows built in Python
(issue 16, item 2): Django's method makes every choice hashable and forces the label through
the translation machinery on each call, ~300 Python calls per label on the task page."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.utils.encoding import force_str


def choice_display(obj: Model, name: str) -> Any:
    """`obj.get_<name>_display()`: the label of the value of field `name` of `obj` in the
    active language (a str), or the value itself when it is not one of the choices (as
    Django's method: None stays None). Raises FieldDoesNotExist for an unknown field."""
    field = obj._meta.get_field(name)
    value = getattr(obj, field.attname)
    for key, label in field.flatchoices:
        if key == value:
            return str(label)
    return force_str(value, strings_only=True)
