"""What a task's input must satisfy before a service writes it: the title, the acceptance
criteria, the references, and the department's intake policy (why / what result / worth, and
the vagueness check when the department blocks vague intake). Raises nothing itself: each
check adds messages to the `errors` dict the calling service raises as one ValidationFailed."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from closeloop.core import ids
from closeloop.core.dates import DATE_MAX, DATE_MIN, in_range
from closeloop.core.ids import MAX_ID
from closeloop.orgs.models import Department, Membership, User
from closeloop.orgs.selectors import leads
from closeloop.tasks import intake
from closeloop.tasks.models import (
    AcceptanceCriterion,
    Comparator,
    Customer,
    DepartmentPolicy,
    Priority,
    Project,
    TaskType,
)

TITLE_MAX = 200
REASON_MAX = 500
# Long free text (goal, expected outcome, value, notes): enough for a page of prose.
TEXT_MAX = 10_000
# Dates a person can mean: anything outside is a typo or a fuzzer, and breaks date arithmetic
# (a timeline or .ics feed around 9999-12-31, "daily updates since 0001-01-01").
# Subtasks under subtasks: deeper than this is no longer a plan (and the materialised path of
# 11 characters a level fills its 255 at 23).
MAX_DEPTH = 10
# A criterion threshold fits the column: 14 digits, 4 after the point.
THRESHOLD_LIMIT = Decimal("1e10")
# Units of a percentage: its threshold lies between 0 and 100 (数据准确率 ≥ 95%).
PERCENT_UNITS = frozenset({"%", "％", "percent", "百分比"})
# Units whose quantity may be below zero (a temperature, a change in percentage points); any
# other unit — or none — counts something (元, 个, 天, 分) and takes a threshold of at least 0.
SIGNED_UNITS = frozenset({"℃", "°C", "°F", "°", "度", "个百分点", "pp"})


def parse_int(value, default: int | None = None) -> int | None:
    """An integer typed as ASCII digits (optionally signed) within ±MAX_ID, else `default`:
    "²", "٣", full-width digits and 30-digit numbers in ids and query parameters are not
    numbers a person meant, and a huge one overflows SQLite's integer (a 500)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -MAX_ID <= value <= MAX_ID else default
    if not isinstance(value, str):
        return default
    return ids.parse_int(value.strip().lstrip("+"), default, low=-MAX_ID, high=MAX_ID)


def date_errors(
    errors: dict[str, list[str]],
    field: str,
    value: date | None,
    *,
    low: date = DATE_MIN,
    high: date = DATE_MAX,
) -> bool:
    """Add a message on `field` when `value` lies outside `low`..`high` (by default the dates
    Closeloop works with, DATE_MIN..DATE_MAX; a narrower part of it such as the calendar's,
    `core.dates.CALENDAR_MIN`, for what must show there); True if it did. None passes."""
    if value is not None and not low <= value <= high:
        errors.setdefault(field, []).append(
            _("The date must be between %(min)s and %(max)s.")
            % {"min": low.isoformat(), "max": high.isoformat()}
        )
        return True
    return False


# Whether a stored date can be shown and computed with (rows written before the checks).
date_in_range = in_range


def text_errors(errors: dict[str, list[str]], field: str, value: str | None, max_length: int) -> None:
    """Refuse NUL characters (PostgreSQL cannot store them) and text over `max_length`."""
    if not value:
        return
    if "\x00" in value:
        errors.setdefault(field, []).append(_("The text contains a NUL character."))
    elif len(value) > max_length:
        errors.setdefault(field, []).append(
            _("The text is longer than %(n)s characters.") % {"n": max_length}
        )


def reviewer_errors(
    *, errors: dict[str, list[str]], reviewer: User, department: Department, owner: User | None
) -> None:
    """The reviewer (DESIGN.md "Who may do what"): the head or deputy of the task's department
    (or of one above it), or a manager/supervisor member of it — never the owner."""
    if owner is not None and reviewer.pk == owner.pk:
        errors.setdefault("reviewer", []).append(_("The owner cannot review their own task."))
        return
    if not reviewer.is_active:
        errors.setdefault("reviewer", []).append(_("The reviewer's account is inactive."))
        return
    if reviewer.pk in (department.head_id, department.deputy_id) or leads(reviewer, department.pk):
        return
    if Membership.objects.filter(
        user=reviewer,
        department=department,
        role__in=(Membership.Role.MANAGER, Membership.Role.SUPERVISOR),
    ).exists():
        return
    errors.setdefault("reviewer", []).append(
        _(
            "%(name)s cannot review tasks of %(dept)s: choose its head, deputy or a manager or supervisor there."
        )
        % {"name": reviewer.display_name, "dept": department.name}
    )


@dataclass(frozen=True)
class CriterionIn:
    text: str
    metric: str = ""
    comparator: str = ""
    threshold: Decimal | float | str | None = None
    unit: str = ""


def _clean_criteria(
    criteria: Sequence[CriterionIn], errors: dict[str, list[str]]
) -> list[AcceptanceCriterion]:
    """The criterion rows to store, in order, blank rows skipped; errors under "criteria.N"
    (N counts the rows given, from 1). A measurable criterion has a metric, a comparator and
    a numeric threshold (a trailing "%" is read as the unit): a percentage's (unit in
    PERCENT_UNITS, or "95%") between 0 and 100, any other's at least 0 unless its unit is one
    of SIGNED_UNITS (the handbook's example: 数据准确率 ≥ 95%)."""
    rows: list[AcceptanceCriterion] = []
    for i, c in enumerate(criteria, start=1):
        text = (c.text or "").strip()
        metric = (c.metric or "").strip()
        comparator = (c.comparator or "").strip()
        unit = (c.unit or "").strip()
        raw_threshold = c.threshold
        if not text and not metric:
            continue  # an empty row in a form is not a criterion
        key = f"criteria.{i}"
        if not text:
            errors.setdefault(key, []).append(_("Criterion %(n)s needs a sentence.") % {"n": i})
            continue
        if len(text) > 500:
            errors.setdefault(key, []).append(_("Criterion %(n)s is longer than 500 characters.") % {"n": i})
        if len(metric) > 100 or len(unit) > 20:
            errors.setdefault(key, []).append(
                _("Criterion %(n)s: the metric is at most 100 characters, the unit 20.") % {"n": i}
            )
        if "\x00" in text + metric + unit:
            errors.setdefault(key, []).append(_("Criterion %(n)s contains a NUL character.") % {"n": i})
        threshold: Decimal | None = None
        if raw_threshold not in (None, ""):
            try:
                threshold = Decimal(str(raw_threshold).strip().rstrip("%"))
            except InvalidOperation:
                errors.setdefault(key, []).append(
                    _("Criterion %(n)s: the threshold must be a number.") % {"n": i}
                )
            else:
                if not threshold.is_finite() or abs(threshold) >= THRESHOLD_LIMIT:
                    errors.setdefault(key, []).append(
                        _("Criterion %(n)s: the threshold must be a finite number below 10,000,000,000.")
                        % {"n": i}
                    )
                    threshold = None
                else:
                    threshold = threshold.quantize(Decimal("0.0001"))
                    percent = unit in PERCENT_UNITS or str(raw_threshold).strip().endswith("%")
                    if percent and not 0 <= threshold <= 100:
                        errors.setdefault(key, []).append(
                            _("Criterion %(n)s: a percentage threshold lies between 0 and 100.") % {"n": i}
                        )
                    elif not percent and unit not in SIGNED_UNITS and threshold < 0:
                        errors.setdefault(key, []).append(
                            _("Criterion %(n)s: the threshold cannot be below 0 for the unit “%(unit)s”.")
                            % {"n": i, "unit": unit or "—"}
                        )
        measurable = [bool(metric), bool(comparator), threshold is not None]
        if any(measurable) and not all(measurable):
            errors.setdefault(key, []).append(
                _("Criterion %(n)s: a measurable criterion needs a metric, a comparator and a threshold.")
                % {"n": i}
            )
        if comparator and comparator not in Comparator.values:
            errors.setdefault(key, []).append(_("Criterion %(n)s: unknown comparator.") % {"n": i})
        rows.append(
            AcceptanceCriterion(
                position=i, text=text, metric=metric, comparator=comparator, threshold=threshold, unit=unit
            )
        )
    return rows


def _check_fields(
    *,
    errors: dict[str, list[str]],
    title: str | None = None,
    start_date: date | None = None,
    due_date: date | None = None,
    owner: User | None = None,
    reviewer: User | None = None,
    task_type: str | None = None,
    priority: int | None = None,
    check_title: bool = True,
) -> None:
    if check_title:
        if not (title or "").strip():
            errors.setdefault("title", []).append(_("A task needs a title."))
        elif len(title or "") > TITLE_MAX:
            errors.setdefault("title", []).append(_("The title is longer than 200 characters."))
        elif "\x00" in (title or ""):
            errors.setdefault("title", []).append(_("The text contains a NUL character."))
    bad_dates = date_errors(errors, "start_date", start_date)
    if due_date is None:
        errors.setdefault("due_date", []).append(_("A task needs a due date."))
    elif date_errors(errors, "due_date", due_date) or bad_dates:
        pass
    elif start_date is not None and due_date < start_date:
        errors.setdefault("due_date", []).append(_("The due date is before the start date."))
    if owner is None:
        errors.setdefault("owner", []).append(_("A task needs exactly one owner."))
    elif not owner.is_active:
        errors.setdefault("owner", []).append(_("The owner's account is inactive."))
    if reviewer is not None and owner is not None and reviewer.pk == owner.pk:
        errors.setdefault("reviewer", []).append(_("The owner cannot review their own task."))
    if task_type is not None and task_type not in TaskType.values:
        errors.setdefault("task_type", []).append(_("Unknown task type."))
    if priority is not None and priority not in Priority.values:
        errors.setdefault("priority", []).append(_("Unknown priority."))


def department_policy(department: Department | int) -> DepartmentPolicy:
    """The department's intake policy; the defaults when none was saved (not written)."""
    dept_id = department.pk if isinstance(department, Department) else department
    found = DepartmentPolicy.objects.filter(department_id=dept_id).first()
    return found or DepartmentPolicy(department_id=dept_id)


def known_names() -> list[str]:
    """Customers, projects and people whose mention names a party in a task's text."""
    names = list(Customer.objects.filter(active=True).values_list("name", flat=True)[:2000])
    names += list(Project.objects.filter(active=True).values_list("name", flat=True)[:2000])
    names += [n for n in User.objects.filter(is_active=True).values_list("name", flat=True)[:5000] if n]
    return names


def _check_intake(
    *,
    errors: dict[str, list[str]],
    department: Department,
    title: str,
    goal: str,
    expected_outcome: str,
    value: str,
    customer: Customer | None,
    project: Project | None,
) -> None:
    for field, text, message in (
        ("goal", goal, _("Say why: the background and goal of the task.")),
        ("expected_outcome", expected_outcome, _("Say what result is expected.")),
        ("value", value, _("Say what the task is worth to the business.")),
    ):
        if not (text or "").strip():
            errors.setdefault(field, []).append(message)
    if not (title or "").strip() or not department_policy(department).block_vague_intake:
        return
    names = known_names() + [x.name for x in (customer, project) if x is not None]
    verdict = intake.check(title, goal, expected_outcome, known_names=names)
    if verdict.vague:
        errors.setdefault("title", []).append(verdict.hint())
