"""Helpers the plan views share: reading an int from a query, the department a view shows."""

from dataclasses import dataclass, field

from closeloop.orgs.models import Department
from closeloop.orgs.selectors import department_visible_list, departments_for
from closeloop.tasks.forms import DepartmentFilterForm, ignored_filters
from closeloop.tasks.selectors import default_department
from closeloop.tasks.validation import parse_int


def _int(value, default=None):
    return parse_int(value, default)


@dataclass
class DepartmentChoice:
    """The department a plan view shows. `departments`: those it offers; `current`: the one
    asked for (`?department=ID`) when offered, else the viewer's own first, else the first
    offered, else None — a department above others without tasks of its own giving way to the
    first below it (`tasks.selectors.default_department`); `asked`: a department was asked for and offered; `ignored`: the
    value given when it was not (bad or not offered), as the task list names it
    (`tasks.forms.ignored_filters`, shown by `ui/ignored_filters.html`)."""

    departments: list[Department]
    current: Department | None
    asked: bool = False
    ignored: list[dict] = field(default_factory=list)


def _department_choice(request, departments=None) -> DepartmentChoice:
    """`departments`: what the view offers (default every department, as the task list: the
    view then shows the tasks of it the viewer sees). Never raises for a bad value."""
    user = request.user
    departments = list(department_visible_list(user) if departments is None else departments)
    form = DepartmentFilterForm(request.GET, departments=departments)
    form.is_valid()
    dept_id = form.cleaned_data.get("department")
    asked = dept_id is not None
    if not asked:
        ids = {d.pk for d in departments}
        own = [d.pk for d in departments_for(user) if d.pk in ids]
        dept_id = own[0] if own else (departments[0].pk if departments else None)
    current = next((d for d in departments if d.pk == dept_id), None)
    if not asked and current is not None:
        # The CEO's own department is 总公司, which holds no tasks: its first department below.
        current = default_department([current], among=departments)
    return DepartmentChoice(departments, current, asked=asked, ignored=ignored_filters(form))
