"""Model instances from rows of hand-written SQL, converted as the ORM converts them (issue 16).

On the paths every request takes (the signed-in person, a task read through the API), building
and compiling an ORM query costs several times running it. Those few statements are written
once per database vendor from the models' metadata and run with plain parameters; this turns
their rows back into the instances the ORM would have built (dates, times, decimals and
booleans converted by the backend's and the fields' own converters).
"""

from django.db import connection
from django.db.models import Model

_FIELDS: dict[tuple[str, type], list] = {}  # (vendor, model) → [(attname, converters, column)]


def _fields(model: type[Model]) -> list:
    key = (connection.vendor, model)
    fields = _FIELDS.get(key)
    if fields is None:
        fields = []
        for f in model._meta.concrete_fields:
            col = f.get_col(model._meta.db_table)
            converters = [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)]
            fields.append((f.attname, converters, col))
        _FIELDS[key] = fields
    return fields


def columns(model: type[Model], alias: str) -> str:
    """Every concrete column of `model` as a SELECT list over the table alias `alias`, in the
    order `instance` reads them."""
    qn = connection.ops.quote_name
    return ", ".join(f"{alias}.{qn(f.column)}" for f in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    """How many columns `columns(model, …)` selects."""
    return len(model._meta.concrete_fields)


def instance(model: type[Model], values) -> Model:
    """A `model` instance (as loaded from the database: `_state.adding` False) from the raw
    values of `columns(model, …)`, in order."""
    fields = _fields(model)
    converted = []
    for (_name, converters, col), value in zip(fields, values, strict=True):
        for convert in converters:
            value = convert(value, col, connection)
        converted.append(value)
    return model.from_db(connection.alias, [name for name, _c, _col in fields], converted)
