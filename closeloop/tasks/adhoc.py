"""Quick capture of ad-hoc work (临时任务) and the respond-by time a department's policy gives it.
Same rules as `services`: keyword-only, actor first, one transaction, an event, notifications queued.
"""

import zoneinfo
from datetime import datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.errors import raise_if_errors
from closeloop.orgs.calendar import add_workdays
from closeloop.orgs.models import Department, User
from closeloop.tasks.models import (
    AdhocCategory,
    Customer,
    Priority,
    Source,
    Task,
    TaskType,
)
from closeloop.tasks.services import (
    CriterionIn,
    department_policy,
    task_create,
)

# -- ad-hoc work -----------------------------------------------------------------------------


def _dept_tz(department: Department) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(department.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("Asia/Shanghai")


def respond_by_for(*, department: Department, priority: int, now: datetime | None = None) -> datetime:
    """When ad-hoc work must be answered, from the department's policy: high priority an exact
    time (default 24 hours from now); medium and low the end of the working day N working
    days ahead on the work calendar (default 3 and 5)."""
    now = now or timezone.now()
    policy = department_policy(department)
    if priority == Priority.HIGH:
        return now + timedelta(hours=policy.respond_high_hours)
    days = policy.respond_medium_workdays if priority == Priority.MEDIUM else policy.respond_low_workdays
    tz = _dept_tz(department)
    local_day = now.astimezone(tz).date()
    day = add_workdays(local_day, days)
    return datetime.combine(day, department.workday_end or time(18, 0), tzinfo=tz)


def adhoc_capture(
    *,
    actor: User,
    department: Department,
    title: str,
    category: str,
    priority: int,
    owner: User,
    customer: Customer | None = None,
    notes: str = "",
    criterion: str = "",
    now: datetime | None = None,
) -> Task:
    """临时任务: take urgent work in with a respond-by time from the department's policy. Due
    on the respond-by day; the owner is notified (task.assigned) and sees it in 我的工作 with
    a countdown."""
    errors: dict[str, list[str]] = {}
    if category not in AdhocCategory.values:
        errors.setdefault("adhoc_category", []).append(_("Choose what kind of ad-hoc work this is."))
    if priority not in Priority.values:
        errors.setdefault("priority", []).append(_("Unknown priority."))
    raise_if_errors(errors)
    respond_by = respond_by_for(department=department, priority=priority, now=now)
    due = respond_by.astimezone(_dept_tz(department)).date()
    return task_create(
        actor=actor,
        department=department,
        title=title,
        owner=owner,
        due_date=due,
        priority=priority,
        task_type=TaskType.COLLABORATIVE if category == AdhocCategory.MEETING else TaskType.PROJECT,
        source=Source.ADHOC,
        adhoc_category=category,
        respond_by=respond_by,
        customer=customer,
        notes=notes,
        criteria=[CriterionIn(text=criterion)] if criterion.strip() else [],
        require_criteria=False,
    )
