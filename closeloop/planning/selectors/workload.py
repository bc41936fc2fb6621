"""Reads of the 工作量 workload view: open tasks per person and week in a department."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.utils.translation import gettext as _

from closeloop.core.errors import NotFound
from closeloop.orgs.models import Department, User
from closeloop.orgs.selectors import visible_department_ids
from closeloop.tasks.models import (
    Priority,
    Task,
    subtree_q,
)
from closeloop.tasks.selectors import local_today, visibility
from closeloop.tasks.services import department_policy
from closeloop.tasks.states import OPEN_STATUSES

# The open statuses named: `status IN (…)` is a range of the (owner, status, due) index, while
# `NOT IN (done, cancelled)` reads every task a person ever had (issue 16).
_OPEN = sorted(OPEN_STATUSES)
# The slots of a count beside the weeks 0…n-1.
OVERDUE, LATER = -1, 1000

# -- workload --------------------------------------------------------------------------------


@dataclass
class PersonLoad:
    person: User
    weeks: list[dict]
    overdue: int
    later: int
    by_priority: dict[int, int]
    total: int
    overloaded: bool


def workload_departments(user: User) -> list[Department]:
    """Departments whose 工作量 the user may open: those whose every task they see — their
    own, and for heads and deputies those below (`orgs.selectors.visible_department_ids`);
    admins every one. The weekly review's rule: a department's figures per person are for
    the people who see all of its work, not for a collaborator who sees a few of its tasks
    (their counts would read as "this person is free"). Ordered by code."""
    departments = Department.objects.order_by("code")
    if user.is_superuser:
        return list(departments)
    return list(departments.filter(id__in=visible_department_ids(user)))


def may_see_workload(user: User, department: Department) -> bool:
    """`workload_departments`' rule for one department, without a query."""
    return user.is_superuser or department.pk in visible_department_ids(user)


def workload(user, *, department: Department, weeks: int = 6, today: date | None = None) -> dict:
    """工作量: per member of `department`, their open tasks the viewer may see, by priority and
    by due week (overdue, this week, the next weeks, later), flagged when a week holds more
    than the department's threshold. Four queries whatever the number of tasks, the counts
    grouped in SQL (a few rows per person). NotFound when `department` is not one of
    `workload_departments(user)`."""
    if not may_see_workload(user, department):
        raise NotFound(_("Department not found."))
    today = today or local_today()
    monday = today - timedelta(days=today.weekday())
    policy = department_policy(department)
    people = list(
        User.objects.filter(memberships__department=department, is_active=True)
        .order_by("name", "username")
        .distinct()
    )
    week_starts = [monday + timedelta(weeks=i) for i in range(weeks)]
    # Counted by person, priority and slot in SQL (overdue, each week shown, later): a few
    # rows per person, where counting by due date returned one per person and day.
    slot = Case(
        When(due_date__lt=today, then=Value(OVERDUE)),
        *(
            When(due_date__lt=start + timedelta(weeks=1), then=Value(i))
            for i, start in enumerate(week_starts)
        ),
        default=Value(LATER),
        output_field=IntegerField(),
    )
    parts = [
        part.filter(status__in=_OPEN, owner_id__in=[p.pk for p in people])
        .annotate(slot=slot)
        .values("owner_id", "priority", "slot")
        .annotate(n=Count("id"))
        .order_by()
        for part in _visible_parts(user)
    ]
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0] if parts else []
    loads: dict[int, dict] = {
        p.pk: {
            "weeks": [{"n": 0, "high": 0} for _ in range(weeks)],
            "overdue": 0,
            "later": 0,
            "prio": {1: 0, 2: 0, 3: 0},
        }
        for p in people
    }
    for r in rows:
        load = loads[r["owner_id"]]
        n = r["n"]
        load["prio"][r["priority"]] = load["prio"].get(r["priority"], 0) + n
        i = r["slot"]
        if i == OVERDUE:
            load["overdue"] += n
            i = 0  # still to be done: it weighs on this week
        if i == LATER:
            load["later"] += n
        else:
            load["weeks"][i]["n"] += n
            if r["priority"] == Priority.HIGH:
                load["weeks"][i]["high"] += n
    out = []
    for p in people:
        load = loads[p.pk]
        for w in load["weeks"]:
            w["over"] = w["n"] > policy.overload_per_week
        out.append(
            PersonLoad(
                person=p,
                weeks=load["weeks"],
                overdue=load["overdue"],
                later=load["later"],
                by_priority=load["prio"],
                total=sum(load["prio"].values()),
                overloaded=any(w["over"] for w in load["weeks"]),
            )
        )
    return {
        "people": out,
        "week_starts": week_starts,
        "policy": policy,
        "threshold": policy.overload_per_week,
    }


def _visible_parts(user) -> list:
    """The tasks `user` may see (`tasks.visibility`) as disjoint querysets: those of the
    departments they see whole, then those elsewhere they see by name (own, review, help, the
    subtrees and links around them) — none when there are none. Counted apart and added: under
    the rule's one OR, PostgreSQL read every task the department's people ever owned and then
    their rows (bench s5, a head's ~45 people: 19,318 index entries, 4,423 heap pages, 24 ms);
    apart, the first is an index-only range of (owner, department, status, due, priority) for
    each person (3.7 ms), and SQLite reads it without the table (13.5 → ~10 ms)."""
    if user.is_superuser:
        return [Task.objects.all()]
    v = visibility(user)
    parts = [Task.objects.filter(department_id__in=sorted(v.departments))] if v.departments else []
    named = Q(id__in=v.ids) if v.ids else Q(pk__in=[])
    for prefix in v.subtrees:
        named |= subtree_q(prefix)
    if v.ids or v.subtrees:
        parts.append(Task.objects.filter(named).exclude(department_id__in=sorted(v.departments)))
    return parts


def person_open_tasks(user, *, person: User, limit: int = 100) -> list[Task]:
    return list(
        Task.objects.visible_to(user)
        .filter(status__in=_OPEN)
        .filter(owner=person)
        .select_related("department")
        .order_by("due_date", "priority", "id")[:limit]
    )
