"""Shapes every API router shares: the one error body and the list envelope."""

from datetime import date
from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, Field

from closeloop.core.dates import check_in_range

# A date within 1900–2100 (closeloop.core.dates): outside it the request answers 422 naming
# the field, instead of failing later on date arithmetic.
InRangeDate = Annotated[date, AfterValidator(check_in_range)]


class ErrorOut(Schema):
    """Every error answer. `code` is stable (for programs), `message` is for people, `fields`
    maps an input field (dotted path, list positions from 1, e.g. `criteria.1.text`) to its
    messages when the input was at fault."""

    code: str = Field(examples=["validation_error"])
    message: str = Field(examples=["title: A task needs a title."])
    fields: dict[str, list[str]] | None = None


# The error answers most operations can give; each operation adds its own.
AUTH_ERRORS: dict[int, type[Schema]] = {401: ErrorOut}
READ_ERRORS: dict[int, type[Schema]] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, type[Schema]] = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}
# Writes to a task must say which version they read (version or If-Match), else 428.
VERSIONED_WRITE_ERRORS: dict[int, type[Schema]] = {**WRITE_ERRORS, 428: ErrorOut}


class PageMeta(Schema):
    count: int = Field(description="How many items match, across all pages.")
    limit: int
    offset: int
