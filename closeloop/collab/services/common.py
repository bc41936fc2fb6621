"""Helpers shared by the collaboration services: text checks, the task row."""

from django.utils.translation import gettext as _

from closeloop.tasks.models import Task

DEFAULT_DEADLINE_HOURS = 24
# A deadline further out than this is a typo, not a plan.
MAX_DEADLINE_DAYS = 366
TITLE_MAX = 200
NOTES_MAX = 20000
MAX_ACTION_ITEMS = 50
MAX_CONTACTS = 20


def _text(errors: dict, field: str, value: str | None, *, limit: int, required: str | None = None) -> str:
    """Strip `value`; record an error under `field` when required and empty, too long, or
    holding a NUL byte (which PostgreSQL refuses)."""
    value = (value or "").strip()
    if "\x00" in value:
        errors[field] = [_("Remove the NUL character from this text.")]
    elif required and not value:
        errors[field] = [required]
    elif len(value) > limit:
        errors[field] = [_("Keep this under %(n)s characters.") % {"n": limit}]
    return value


def _task_row(task: Task) -> Task:
    return Task.objects.select_related("department", "owner").get(pk=task.pk)
