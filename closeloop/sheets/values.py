"""Cell values as people type them into the 日常任务清单表, turned into task fields.

Each parser takes the raw cell (str, number, date or datetime, as openpyxl or csv gives it)
and returns the value, or raises `CellError` with a message that names what was expected.
The rules come from DESIGN.md "The four templates" and issue 14: dates as date cells, Excel
serial numbers or text (2026-10-15, 2026/10/15, 2026年10月15日, 10月15日 with the year of the
sheet's title); progress as 0.6, 60 or "60%"; the handbook's Chinese labels or English.
"""

import datetime as dt
import re
from typing import Any

from django.utils.translation import gettext as _

from closeloop.sheets.reading import Percent
from closeloop.tasks.models import Priority, TaskType
from closeloop.tasks.states import Status

MIN_YEAR, MAX_YEAR = 1900, 2100
# Excel's day 1 is 1900-01-01, with the 1900 leap-year bug: serial 60 is the phantom 29 Feb.
EXCEL_EPOCH = dt.date(1899, 12, 30)
SERIAL_MIN, SERIAL_MAX = 61, 73050  # 1900-03-01 … 2099-12-31


class CellError(ValueError):
    """A cell that cannot be read as its column's kind; the message is shown to the person."""


def text(value: Any) -> str:
    """A cell as stripped text ('' for empty); whole numbers without a trailing .0."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _checked(year: int, month: int, day: int) -> dt.date:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise CellError(_("the year %(year)s is outside 1900–2100") % {"year": year})
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise CellError(_("%(y)s-%(m)s-%(d)s is not a date") % {"y": year, "m": month, "d": day}) from None


def from_serial(number: float) -> dt.date:
    """An Excel serial day number (the date's value in a cell formatted as a number)."""
    if not SERIAL_MIN <= number <= SERIAL_MAX:
        raise CellError(
            _("%(n)s is not a date (as a number it should be an Excel date serial)") % {"n": number}
        )
    return EXCEL_EPOCH + dt.timedelta(days=int(number))


_FULL = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$"
)
_SHORT = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def parse_date(value: Any, *, year: int | None) -> tuple[dt.date, str]:
    """A due date from a cell. Returns (date, warning or ''): a date without a year (10月15日)
    takes `year` (from the sheet's title) and warns when there is none and today's was used.
    Raises CellError for anything else, or a year outside 1900–2100."""
    if isinstance(value, dt.datetime):
        return _checked(value.year, value.month, value.day), ""
    if isinstance(value, dt.date):
        return _checked(value.year, value.month, value.day), ""
    if isinstance(value, bool):
        raise CellError(_("expected a date"))
    if isinstance(value, (int, float)):
        return from_serial(value), ""
    raw = text(value)
    if re.fullmatch(r"\d{5}(\.0+)?", raw):
        return from_serial(float(raw)), ""
    match = _FULL.match(raw)
    if match:
        return _checked(int(match[1]), int(match[2]), int(match[3])), ""
    match = _SHORT.match(raw)
    if match:
        warning = ""
        if year is None:
            year = dt.date.today().year  # noqa: DTZ011 - only a fallback year for "10月15日"
            warning = _("no year in the sheet's title; %(year)s assumed") % {"year": year}
        return _checked(year, int(match[1]), int(match[2])), warning
    raise CellError(
        _("'%(value)s' is not a date (write 2026-10-15, 2026/10/15 or 2026年10月15日)") % {"value": raw[:40]}
    )


def parse_progress(value: Any) -> int:
    """A percent 0–100 from a cell. How a number is read depends on what the cell says it is:
    - a cell formatted as percent (`reading.Percent`): Excel stores the fraction, 60% as 0.6,
      150% as 1.5 — always × 100;
    - text with a % ('60%', '60 ％'): the percent as written;
    - a plain number or numeric text: 0–1 is a fraction (0.6, and 1 for 100%, as sheets
      saved without the format carry it), a whole number 2–100 a percent (60). A plain
      number between 1 and 2 with a fraction part (1.5) is neither a fraction (over 100%) nor
      a believable percent: refused, as are values outside 0–100%.
    Rounded to a whole percent. Raises CellError naming the value as the sheet shows it."""
    if isinstance(value, bool):
        raise CellError(_("expected a percent"))
    if isinstance(value, Percent):
        percent = float(value) * 100
        shown = f"{percent:g}%"
    else:
        raw = text(value).replace("％", "%").replace(" ", "")
        shown = raw[:40]
        is_percent = raw.endswith("%")
        try:
            number = (
                float(raw[:-1] if is_percent else raw)
                if not isinstance(value, (int, float))
                else float(value)
            )
        except ValueError:
            raise CellError(_("'%(value)s' is not a percent") % {"value": shown}) from None
        if number != number:  # NaN
            raise CellError(_("'%(value)s' is not a percent") % {"value": shown})
        if is_percent:
            percent = number
        elif 0 <= number <= 1:
            percent = number * 100
        elif 1 < number < 2 and not number.is_integer():
            raise CellError(
                _(
                    "%(value)s is ambiguous: as a fraction it is %(percent)s%%, over 100%%; write the percent with a %% sign (e.g. 60%%)"
                )
                % {"value": shown, "percent": f"{number * 100:g}"}
            )
        else:
            percent = number
    if not 0 <= percent <= 100:
        raise CellError(_("%(value)s is outside 0–100%%") % {"value": shown})
    return int(percent + 0.5)


def _norm(value: Any) -> str:
    return text(value).replace(" ", "").lower()


PRIORITY_WORDS = {
    Priority.HIGH: ("高", "high", "h", "p1", "紧急", "高优先级"),
    Priority.MEDIUM: ("中", "medium", "m", "p2", "普通", "中优先级", "一般"),
    Priority.LOW: ("低", "low", "l", "p3", "低优先级"),
}
TYPE_WORDS = {
    TaskType.PROJECT: ("项目型", "项目", "project"),
    TaskType.ROUTINE: ("事务型", "事务", "routine", "日常"),
    TaskType.COLLABORATIVE: ("协作型", "协作", "collaborative", "collaboration"),
}
STATUS_WORDS = {
    Status.NOT_STARTED: ("未开始", "待开始", "notstarted", "not_started", "todo"),
    Status.IN_PROGRESS: ("进行中", "处理中", "inprogress", "in_progress", "doing"),
    Status.BLOCKED: ("阻塞", "已阻塞", "blocked"),
    Status.SUBMITTED: ("待验收", "已提交验收", "已提交", "submitted", "awaitingacceptance"),
    Status.DONE: ("已完成", "完成", "done", "completed"),
    Status.REWORK: ("返工", "rework"),
    Status.CANCELLED: ("已取消", "取消", "cancelled", "canceled"),
}


# The words a cell may hold without a note: the handbook's label and the English name. Any
# other word a table knows (紧急, P1, 日常…) is read, and the preview says what it became.
CANONICAL = {
    "priority": frozenset({"高", "中", "低", "high", "medium", "low"}),
    "task_type": frozenset({"项目型", "事务型", "协作型", "project", "routine", "collaborative"}),
    "status": frozenset(
        {"未开始", "进行中", "阻塞", "待验收", "已完成", "返工", "已取消"}
        | {s.value for s in Status}
        | {s.value.replace("_", "") for s in Status}
    ),
}


def mapped(column: str, value: Any) -> bool:
    """Whether a non-empty cell of `column` was read from a synonym (a note is due)."""
    key = _norm(value)
    return bool(key) and key not in CANONICAL[column]


def _lookup(table: dict, value: Any) -> Any:
    key = _norm(value)
    for choice, words in table.items():
        if key in words:
            return choice
    return None


def parse_priority(value: Any) -> int | None:
    """高/中/低 or high/medium/low (None for an empty cell). Raises CellError otherwise."""
    if not text(value):
        return None
    found = _lookup(PRIORITY_WORDS, value)
    if found is None:
        raise CellError(_("'%(value)s' is not a priority (高, 中 or 低)") % {"value": text(value)[:40]})
    return int(found)


def parse_type(value: Any) -> str | None:
    """项目型/事务型/协作型 or project/routine/collaborative (None when empty)."""
    if not text(value):
        return None
    found = _lookup(TYPE_WORDS, value)
    if found is None:
        raise CellError(
            _("'%(value)s' is not a task type (项目型, 事务型 or 协作型)") % {"value": text(value)[:40]}
        )
    return str(found)


def parse_status(value: Any) -> str | None:
    """The handbook's statuses (未开始 … 已取消) or their English names (None when empty)."""
    if not text(value):
        return None
    found = _lookup(STATUS_WORDS, value)
    if found is None:
        raise CellError(
            _("'%(value)s' is not a status (e.g. 未开始, 进行中, 已完成)") % {"value": text(value)[:40]}
        )
    return str(found)
