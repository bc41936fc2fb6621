"""Reads of the 看板 board: columns by status, a page of cards each, fixed query count."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import CharField, Count, Value
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


def _visible(user, *, department_id: int | None, owner_id: int | None):
    if department_id:
        qs = Task.objects.visible_in_department(user, department_id)
    else:
        qs = Task.objects.visible_to(user)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    return qs


def _done_since(today: date) -> datetime:
    """Done cards stay on the board for two weeks; cancelled ones leave it. The cut-off is an
    aware moment (local midnight), not `completed_at__date`: that casts every row in SQL."""
    return datetime.combine(
        today - timedelta(days=DONE_DAYS), time.min, tzinfo=timezone.get_current_timezone()
    )


def _column(visible, status: str, today: date):
    """A column's tasks, each status on its own: an open status is a range of the
    (department, status, priority, due) index, already in the cards' order, so a column's
    first cards are its first index entries; the done column is a range of the partial index of
    done tasks by completion time. Not one "open, or done lately" clause narrowed per column:
    under that OR both databases read the done column through (department, status) — every
    task the department ever finished (bench s5, ~11,000 rows, 10.7 ms on SQLite) — and sorted
    each open column whole (2,600–3,900 rows, ~3 ms each; issue 16)."""
    if status == Status.DONE:
        return visible.filter(status=Status.DONE, completed_at__gte=_done_since(today))
    if status not in OPEN_ON_BOARD:
        return visible.none()  # cancelled tasks leave the board
    return visible.filter(status=status)


def _totals(visible, today: date) -> dict[str, int]:
    """Each column's count in one statement: the open statuses grouped over their index ranges
    (index-only), UNION ALL the recent done ones (bench s5, a head: 4.8 → 0.5 ms on SQLite,
    where counting under one "open or recently done" OR fetched every row it counted)."""
    open_counts = visible.filter(status__in=OPEN_ON_BOARD).order_by().values("status").annotate(n=Count("id"))
    # The status as a constant, not the column: the partial index of done tasks holds no status,
    # and reading it from each row cost ~2,900 table visits (bench s5, 6.4 → 0.5 ms).
    done_counts = (
        _column(visible, Status.DONE, today)
        .order_by()
        .annotate(done=Value(Status.DONE.value, output_field=CharField()))
        .values("done")
        .annotate(n=Count("id"))
    )
    found = dict(open_counts.values_list("status", "n").union(done_counts.values_list("done", "n"), all=True))
    return {s.value: found.get(s.value, 0) for s in BOARD_STATUSES}


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
    visible = _visible(user, department_id=department_id, owner_id=owner_id)
    totals = _totals(visible, today)
    columns = []
    for s in BOARD_STATUSES:
        cards = []
        if totals[s.value]:
            cards = list(board_cards(_column(visible, s, today), offset=0, limit=per_column))
            for c in cards:
                c.moves = allowed_transitions(user, c)
                c.overdue = c.is_overdue()
        columns.append(Column(status=s, cards=cards, count=totals[s.value]))
    return columns


def board_cards(column, *, offset: int, limit: int):
    """`column` (`_column`) as cards: what a card shows, highest priority then soonest due.
    With the department's head and deputy, which `allowed_transitions` asks of each card."""
    return (
        column.select_related("owner", "department")
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
            "department__head_id",
            "department__deputy_id",
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
    visible = _visible(user, department_id=department_id, owner_id=owner_id)
    cards = list(board_cards(_column(visible, status, local_today()), offset=offset, limit=limit))
    for c in cards:
        c.moves = allowed_transitions(user, c)
        c.overdue = c.is_overdue()
    return cards
