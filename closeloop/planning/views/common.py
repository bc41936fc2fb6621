"""Helpers the plan views share: reading an int from a query, the department a view shows."""

from closeloop.orgs.selectors import department_visible_list, departments_for
from closeloop.tasks.validation import parse_int


def _int(value, default=None):
    return parse_int(value, default)


def _department_choice(request):
    user = request.user
    departments = list(department_visible_list(user))
    dept_id = _int(request.GET.get("department"))
    ids = {d.pk for d in departments}
    if dept_id not in ids:
        own = [d.pk for d in departments_for(user)]
        dept_id = own[0] if own else (departments[0].pk if departments else None)
    current = next((d for d in departments if d.pk == dept_id), None)
    return departments, current
