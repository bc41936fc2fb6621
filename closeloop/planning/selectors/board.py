"""Reads of the 看板 board: columns by status, a page of cards each, fixed query count."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from closeloop.tasks.models import (
    Task,
)
from closeloop.tasks.selectors import allowed_transitions, local_today
from closeloop.tasks.states import Status

# -- board -----------------------------------------------------------------------------------

BOARD_STATUSES = [
    Status.NOT_STARTED,
    Status.IN_PROGRESS,
    Status.BLOCKED,
    Status.REWORK,
    Status.SUBMITTED,
    Status.DONE,
]
OPEN_ON_BOARD = [s.value for s in BOARD_STATUSES if s != Status.DONE]
DONE_DAYS = 14
PER_COLUMN = 12


@dataclass
class Column:
    status: Status
    cards: list[Task]
    count: int

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))


def _board_base(user, *, department_id: int | None, owner_id: int | None, today: date):
    if department_id:
        qs = Task.objects.visible_in_department(user, department_id)
    else:
        qs = Task.objects.visible_to(user)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    # Done cards stay on the board for two weeks; cancelled ones leave it. The cut-off is an
    # aware moment (local midnight), not `completed_at__date`: that casts every row in SQL.
    cutoff = datetime.combine(
        today - timedelta(days=DONE_DAYS), time.min, tzinfo=timezone.get_current_timezone()
    )
    # Named statuses, not "everything but cancelled and old done": the open ones are ranges of
    # the (department, status, due) index, the recent done ones a range of the partial index
    # of done tasks by completion time, so the board never reads the department's history
    # (issue 16).
    return qs.filter(Q(status__in=OPEN_ON_BOARD) | Q(status=Status.DONE, completed_at__gte=cutoff))


def board(
    user,
    *,
    department_id: int | None = None,
    owner_id: int | None = None,
    per_column: int = PER_COLUMN,
    today: date | None = None,
) -> list[Column]:
    """看板: one column per status with its first `per_column` cards (highest priority, then
    soonest due) and the column's total. 1 + len(columns) queries."""
    today = today or local_today()
    base = _board_base(user, department_id=department_id, owner_id=owner_id, today=today)
    totals = base.aggregate(**{s.value: Count("id", filter=Q(status=s)) for s in BOARD_STATUSES})
    columns = []
    for s in BOARD_STATUSES:
        cards = []
        if totals[s.value]:
            cards = list(board_cards(base, status=s, offset=0, limit=per_column))
            for c in cards:
                c.moves = allowed_transitions(user, c)
                c.overdue = c.is_overdue()
        columns.append(Column(status=s, cards=cards, count=totals[s.value]))
    return columns


def board_cards(base, *, status: str, offset: int, limit: int):
    return (
        base.filter(status=status)
        .select_related("owner", "department")
        .only(
            "id",
            "code",
            "title",
            "status",
            "priority",
            "due_date",
            "progress",
            "version",
            "owner_id",
            "initiator_id",
            "reviewer_id",
            "department_id",
            "respond_by",
            "source",
            "parent_id",
            "owner__name",
            "owner__username",
            "department__code",
            "department__name",
            "department__time_zone",
        )
        .order_by("priority", "due_date", "id")[offset : offset + limit]
    )


def board_more(
    user,
    *,
    status: str,
    department_id: int | None,
    owner_id: int | None,
    offset: int,
    limit: int = PER_COLUMN,
) -> list[Task]:
    today = local_today()
    base = _board_base(user, department_id=department_id, owner_id=owner_id, today=today)
    cards = list(board_cards(base, status=status, offset=offset, limit=limit))
    for c in cards:
        c.moves = allowed_transitions(user, c)
        c.overdue = c.is_overdue()
    return cards
