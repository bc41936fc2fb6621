"""Import of the 日常任务清单表: read every row, validate it, preview, then apply all or nothing.

`plan_task_import(actor=, department=, path=)` reads the file (see `reading`), finds the
header row by its names, and returns an `ImportPlan`: one `RowResult` per data row (create,
update, unchanged or error, with the cells that change and every warning), plus the rows it
ignored (blank, totals, notes). Nothing is written. `services.task_import_apply` writes a plan
that has no errors, through the tasks services, in one transaction.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closeloop.core.errors import NotFound, ValidationFailed
from closeloop.orgs.models import Department, User
from closeloop.orgs.selectors import member_department_ids, visible_department_ids
from closeloop.sheets import values as V
from closeloop.sheets.reading import Formula, open_sheets
from closeloop.tasks import permissions
from closeloop.tasks.models import Priority, Task, TaskType
from closeloop.tasks.services import TITLE_MAX
from closeloop.tasks.states import ACCEPTANCE_STATES, CLOSED_STATUSES, TRANSITIONS, Status

NOTES_MAX = 5000
HEADER_SCAN_ROWS = 30
UPDATE_BATCH = 1000  # tasks read per query when rows update existing tasks

# The handbook's column names first, then the variants real sheets carry. Compared after
# `_header_key` (no spaces, half-width brackets, lower case); 备注(…) matches by its start.
COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("任务id", "任务编号", "编号", "任务号", "序号id", "id", "taskid", "code"),
    "title": ("任务名称", "任务", "任务标题", "名称", "title", "task"),
    "task_type": ("任务类型", "类型", "type", "tasktype"),
    "priority": ("优先级", "priority"),
    "owner": ("负责人", "责任人", "执行人", "owner"),
    "due_date": ("截止日期", "截止时间", "期望完成时间", "完成时间", "完成期限", "截止", "duedate", "due"),
    "progress": ("当前进度", "进度", "完成进度", "progress"),
    "status": ("状态", "当前状态", "任务状态", "status"),
    "notes": ("备注", "说明", "notes", "note", "remarks"),
    # Not one of the handbook's nine, but a department's sheet may carry it: new tasks take
    # their acceptance criteria from it (one per line or per ；), as intake asks.
    "criteria": ("验收标准", "验收条件", "验收要求", "acceptancecriteria", "criteria"),
    "version": ("数据版本", "version"),
}
# The hidden column the export adds after the handbook's nine: the task's version when it
# was exported, so a re-import of an old file can say which rows were changed since.
VERSION_HEADER = "数据版本(导入时核对,请勿修改)"
LABELS = {
    "code": gettext_lazy("Task ID"),
    "title": gettext_lazy("Task name"),
    "task_type": gettext_lazy("Task type"),
    "priority": gettext_lazy("Priority"),
    "owner": gettext_lazy("Owner"),
    "due_date": gettext_lazy("Due date"),
    "progress": gettext_lazy("Progress"),
    "status": gettext_lazy("Status"),
    "notes": gettext_lazy("Notes"),
    "criteria": gettext_lazy("Acceptance criteria"),
    "version": gettext_lazy("Data version"),
}
# Headers of the handbook's other sheets (and the people directory) that a 日常任务清单表 does
# not have: two of them on the header row name the sheet, so the wrong file is refused by
# name instead of read as a task list. (key after `_header_key`, what the sheet is, where it goes)
OTHER_SHEETS: tuple[tuple[frozenset[str], Any, Any], ...] = (
    (
        frozenset(
            {"上级任务", "协作人", "下一个里程碑", "里程碑日期", "最新更新日期", "最新进展", "阻塞/等待"}
        ),
        gettext_lazy("a 任务进度跟踪表 (progress tracking sheet)"),
        gettext_lazy(
            "It is an export to read, not to import: progress is reported on each task page (每日更新). Import a 日常任务清单表 here — export it from the task list (导出日常任务清单表), edit it, and upload it."
        ),
    ),
    (
        frozenset({"问题", "提出人", "涉及方", "解决人", "解决期限", "解决结果", "解决时间"}),
        gettext_lazy("a 跨部门协作任务表 (cross-department collaboration sheet)"),
        gettext_lazy(
            "It is an export to read, not to import: issues are raised and resolved on each task page (协作问题). Import a 日常任务清单表 here."
        ),
    ),
    (
        frozenset({"成功经验", "改进点", "标签", "复盘"}),
        gettext_lazy("a 任务复盘总结表 (retrospective summary)"),
        gettext_lazy(
            "It is an export to read, not to import: a retrospective is written on the finished task's page. Import a 日常任务清单表 here."
        ),
    ),
    (
        frozenset({"用户名", "账号", "登录名", "手机", "手机号", "邮箱", "企业微信id", "钉钉id", "飞书id"}),
        gettext_lazy("a people directory (人员名录)"),
        gettext_lazy("An administrator imports it under 人员名录 (/sheets/people/), not as a task list."),
    ),
)
TOTALS = ("合计", "总计", "小计", "汇总", "total", "totals", "sum")
CODE_RE = re.compile(r"^(?:(?P<dept>[A-Za-z][A-Za-z0-9_]*)-)?(?P<code>[Tt]\d+(?:-\d+)*)$")
OWNER_WITH_LOGIN = re.compile(r"^(?P<name>.+?)\s*[(（](?P<login>[^()（）]+)[)）]$")
YEAR_RE = re.compile(r"(19\d{2}|20\d{2}|2100)\s*年?")


def _header_key(value: Any) -> str:
    raw = V.text(value).replace("（", "(").replace("）", ")").replace(" ", "").replace("\n", "")
    return raw.lower()


def column_for(header: Any) -> str | None:
    """The task field a header cell names, or None."""
    key = _header_key(header)
    if not key:
        return None
    for name, words in COLUMNS.items():
        if key in words:
            return name
    if key.startswith("备注") or key.startswith("notes"):
        return "notes"
    if key.startswith("数据版本"):
        return "version"
    return None


def other_sheet(cells: list[Any]) -> tuple[Any, Any] | None:
    """(what sheet, where it goes) when a row is the header of another sheet than the
    日常任务清单表 (two of its own headers), else None."""
    keys = {_header_key(c) for c in cells if isinstance(c, str)}
    if any(column_for(k) in ("task_type", "priority") for k in keys):
        return None  # the task list's own columns: extra columns are its business
    for markers, what, where in OTHER_SHEETS:
        if len(keys & markers) >= 2:
            return what, where
    return None


@dataclass
class RowResult:
    """One data row of the sheet. `action` is create, update, unchanged or error; `changes`
    maps a field to (before, after) as shown; `values` holds the parsed fields."""

    row: int
    action: str = "create"
    code: str = ""
    title: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    task_id: int | None = None
    priority_assumed: bool = False
    # column → the note that a synonym was read ('紧急' → 高): shown on a new task, and on an
    # update only when that column changes.
    mapped: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict, repr=False)

    def label(self, column: str) -> str:
        return self.labels.get(column) or str(LABELS[column])

    def error(self, column: str, message: str) -> None:
        self.errors.append(
            _("Row %(row)s %(column)s: %(message)s")
            % {"row": self.row, "column": self.label(column), "message": message}
        )
        self.action = "error"

    def warn(self, column: str, message: str) -> None:
        self.warnings.append(
            _("Row %(row)s %(column)s: %(message)s")
            % {"row": self.row, "column": self.label(column), "message": message}
        )


@dataclass
class ImportPlan:
    department: Department
    header_row: int = 0
    sheet: str = ""  # the worksheet read (an .xlsx), "" for a CSV
    sheets: list[str] = field(default_factory=list)  # every visible worksheet of the file
    columns: dict[str, int] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    rows: list[RowResult] = field(default_factory=list)
    ignored: list[tuple[int, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not any(r.action == "error" for r in self.rows)

    def counts(self) -> dict[str, int]:
        out = {"create": 0, "update": 0, "unchanged": 0, "error": 0, "ignored": len(self.ignored)}
        for r in self.rows:
            out[r.action] += 1
        return out

    def errors(self) -> list[str]:
        return self.problems + [e for r in self.rows for e in r.errors]

    def as_dict(self) -> dict:
        return {
            "department": self.department.code,
            "ok": self.ok,
            "header_row": self.header_row,
            "sheet": self.sheet,
            "counts": self.counts(),
            "problems": self.problems,
            "rows": [
                {
                    "row": r.row,
                    "action": r.action,
                    "code": r.code,
                    "title": r.title,
                    "changes": {k: list(v) for k, v in r.changes.items()},
                    "errors": r.errors,
                    "warnings": r.warnings,
                }
                for r in self.rows
            ],
            "ignored": [{"row": n, "reason": why} for n, why in self.ignored],
        }


# -- who is meant -----------------------------------------------------------------------------


class People:
    """Owner look-up by 姓名, username or mobile, loaded once per import (active people only).
    A name two people share resolves to the department's member if exactly one is."""

    def __init__(self, department: Department):
        self.by_login: dict[str, User] = {}
        self.by_mobile: dict[str, list[User]] = {}
        self.by_name: dict[str, list[User]] = {}
        members = set(User.objects.filter(memberships__department=department).values_list("id", flat=True))
        self.members = members
        for user in User.objects.filter(is_active=True).only("id", "username", "name", "mobile", "is_active"):
            self.by_login[user.username.lower()] = user
            if user.mobile:
                self.by_mobile.setdefault(re.sub(r"\D", "", user.mobile), []).append(user)
            if user.name:
                self.by_name.setdefault(user.name.replace(" ", ""), []).append(user)

    def find(self, raw: str) -> tuple[User | None, str]:
        """(person, '') or (None, the reason)."""
        value = raw.strip()
        match = OWNER_WITH_LOGIN.match(value)
        if match and match["login"].strip().lower() in self.by_login:
            return self.by_login[match["login"].strip().lower()], ""
        candidates = self.by_name.get(value.replace(" ", ""), [])
        if not candidates:
            digits = re.sub(r"\D", "", value)
            if len(digits) >= 7 and digits == value.replace("-", "").replace(" ", "").lstrip("+"):
                candidates = self.by_mobile.get(digits, [])
        if not candidates and value.lower() in self.by_login:
            candidates = [self.by_login[value.lower()]]
        if len(candidates) > 1:
            own = [u for u in candidates if u.pk in self.members]
            if len(own) == 1:
                return own[0], ""
            return None, _("'%(who)s' is ambiguous (%(n)s people); write the username") % {
                "who": value,
                "n": len(candidates),
            }
        if not candidates:
            return None, _("cannot find '%(who)s'") % {"who": value}
        return candidates[0], ""


def ambiguous_names() -> set[str]:
    """Names two active people share: exports write these as '姓名 (username)'."""
    return set(
        User.objects.filter(is_active=True)
        .exclude(name="")
        .values("name")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("name", flat=True)
    )


# -- reading the sheet ------------------------------------------------------------------------


def _find_header(
    rows: Iterable[tuple[int, list[Any]]], plan: ImportPlan
) -> tuple[int | None, int | None, tuple[int, Any, Any] | None]:
    """Consume rows until the header; return (header row number, year named above it, and
    (row, what, where) when the header found is another sheet's)."""
    year: int | None = None
    for number, cells in rows:
        other = other_sheet(cells)
        if other is not None:
            return None, year, (number, *other)
        found = {}
        for i, cell in enumerate(cells):
            name = column_for(cell)
            if name and name not in found:
                found[name] = i
        if "title" in found and len(found) >= 3:
            plan.columns = found
            plan.headers = {name: V.text(cells[i]).split("(")[0].split("（")[0] for name, i in found.items()}
            return number, year, None
        for cell in cells:
            match = YEAR_RE.search(V.text(cell)) if isinstance(cell, str) else None
            if match and year is None:
                year = int(match[1])
        if number >= HEADER_SCAN_ROWS:
            break
    return None, year, None


def _cell(cells: list[Any], index: int | None) -> Any:
    if index is None or index >= len(cells):
        return None
    return cells[index]


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _show(field_name: str, value: Any) -> str:
    """A field's value as the sheet shows it, for the diff."""
    if value is None:
        return ""
    if field_name == "priority":
        return str(Priority(value).label)
    if field_name == "task_type":
        return str(TaskType(value).label)
    if field_name == "status":
        return str(Status(value).label)
    if field_name == "owner":
        return value.display_name
    if field_name == "progress":
        return f"{value}%"
    if field_name == "criteria":
        return "；".join(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


CRITERION_MAX = 500
_CRITERIA_SPLIT = re.compile(r"[\n;；]+")
_CRITERION_NUMBER = re.compile(r"^\s*(?:[(（]?\d{1,2}[)）.、．]|[①-⑳]|[-•·*])\s*")


def split_criteria(raw: Any) -> list[str]:
    """The acceptance criteria a 验收标准 cell holds: one per line or per ；/; , a leading
    number ("1." "2、" "(3)" "①") or bullet dropped, blanks skipped. "" or None: []."""
    out = []
    for part in _CRITERIA_SPLIT.split(V.text(raw) if raw is not None else ""):
        text = _CRITERION_NUMBER.sub("", part).strip()
        if text:
            out.append(text)
    return out


def _parse_row(
    result: RowResult, cells: list[Any], plan: ImportPlan, people: People, year: int | None
) -> None:
    cols = plan.columns
    for name, index in cols.items():
        value = _cell(cells, index)
        if isinstance(value, Formula):
            result.error(
                name,
                _(
                    "a formula without a computed value (%(f)s); open and save the file in Excel, or type the value"
                )
                % {"f": value.text[:40]},
            )
        elif isinstance(value, str) and "\x00" in value:
            result.error(name, _("contains a NUL character"))
    if result.errors:
        return
    result.code = V.text(_cell(cells, cols.get("code")))
    title = V.text(_cell(cells, cols.get("title")))
    result.title = title
    values = result.values
    if len(title) > TITLE_MAX:
        result.error(
            "title", _("longer than %(max)s characters (%(n)s)") % {"max": TITLE_MAX, "n": len(title)}
        )
    values["title"] = title
    for name, parser in (
        ("task_type", V.parse_type),
        ("priority", V.parse_priority),
        ("status", V.parse_status),
    ):
        if name not in cols:
            continue
        raw = _cell(cells, cols[name])
        try:
            values[name] = parser(raw)
        except V.CellError as exc:
            result.error(name, str(exc))
            continue
        if values[name] is not None and V.mapped(name, raw):
            result.mapped[name] = _("'%(value)s' read as %(label)s") % {
                "value": V.text(raw)[:40],
                "label": _show(name, values[name]),
            }
    if values.get("priority") is None and not any(result.label("priority") in e for e in result.errors):
        values["priority"] = int(Priority.MEDIUM)
        result.warn("priority", _("empty; 中 (medium) assumed"))
        result.priority_assumed = True
    if "due_date" in cols:
        raw = _cell(cells, cols["due_date"])
        if _is_blank(raw):
            values["due_date"] = None
        else:
            try:
                values["due_date"], warning = V.parse_date(raw, year=year)
                if warning:
                    result.warn("due_date", warning)
            except V.CellError as exc:
                result.error("due_date", str(exc))
    if "progress" in cols:
        raw = _cell(cells, cols["progress"])
        if not _is_blank(raw):
            try:
                values["progress"] = V.parse_progress(raw)
            except V.CellError as exc:
                result.error("progress", str(exc))
    if "owner" in cols:
        raw = V.text(_cell(cells, cols["owner"]))
        if raw:
            person, why = people.find(raw)
            if person is None:
                result.error("owner", why)
            values["owner"] = person
        else:
            values["owner"] = None
    if "notes" in cols:
        notes = V.text(_cell(cells, cols["notes"]))
        if len(notes) > NOTES_MAX:
            result.error(
                "notes", _("longer than %(max)s characters (%(n)s)") % {"max": NOTES_MAX, "n": len(notes)}
            )
        values["notes"] = notes
    if "criteria" in cols:
        values["criteria"] = criteria = split_criteria(_cell(cells, cols["criteria"]))
        for i, text in enumerate(criteria, start=1):
            if len(text) > CRITERION_MAX:
                result.error(
                    "criteria",
                    _("criterion %(i)s is longer than %(max)s characters (%(n)s)")
                    % {"i": i, "max": CRITERION_MAX, "n": len(text)},
                )
    if "version" in cols:
        raw = V.text(_cell(cells, cols["version"]))
        if raw.isdigit():
            values["version"] = int(raw)
        elif raw:
            result.warn(
                "version", _("'%(value)s' is not a version number; not compared") % {"value": raw[:20]}
            )


# A sheet's word is no submission and no review: `states.ACCEPTANCE_STATES` (待验收, 已完成,
# 返工) are refused here with the import's own sentence, before `tasks.bulk` (which refuses
# them too) is reached.


def _acceptance_error(result: RowResult, status: str, *, new: bool) -> None:
    label = Status(status).label
    if new:
        message = _(
            "a new task cannot start as %(status)s: a task is submitted, accepted or sent back only through acceptance on its page (the owner submits, the reviewer checks the criteria). Import it as 未开始 or 进行中."
        )
    else:
        message = _(
            "%(status)s is reached only through acceptance on the task page (the owner submits key results, the reviewer checks each criterion), not by import."
        )
    result.error("status", message % {"status": label})


def _plan_create(result: RowResult, actor: User, department: Department, today: date) -> None:
    values = result.values
    values.pop("version", None)
    if not values.get("title"):
        result.error("title", _("required"))
    if "owner" not in values or values.get("owner") is None:
        if not any(result.label("owner") in e for e in result.errors):
            result.error("owner", _("required: exactly one owner"))
    if values.get("due_date") is None and not any(result.label("due_date") in e for e in result.errors):
        result.error("due_date", _("required"))
    if values.get("task_type") is None:
        values["task_type"] = str(TaskType.PROJECT)
        result.warn("task_type", _("empty; 项目型 (project) assumed"))
    status = values.get("status") or Status.NOT_STARTED
    values["status"] = str(status)
    if status in ACCEPTANCE_STATES:
        _acceptance_error(result, status, new=True)
    if "criteria" in values and not values["criteria"] and status != Status.CANCELLED:
        result.warn(
            "criteria",
            _("empty: the task cannot be submitted for acceptance until criteria are added on its page"),
        )
    due = values.get("due_date")
    if due is not None and due < today and status != Status.CANCELLED:
        result.warn(
            "due_date",
            _("%(date)s is in the past (today is %(today)s): the new task is overdue from the start")
            % {"date": due.isoformat(), "today": today.isoformat()},
        )
    for name, note in result.mapped.items():
        result.warn(name, note)
    if not permissions.can_create_in(actor, department.pk):
        result.error("code", _("only members of %(dept)s can create tasks there") % {"dept": department.name})
    if result.action != "error":
        result.action = "create"
        for name in (
            "title",
            "task_type",
            "priority",
            "owner",
            "due_date",
            "progress",
            "status",
            "notes",
            "criteria",
        ):
            if values.get(name) not in (None, "", []):
                result.changes[name] = ("", _show(name, values[name]))


def _plan_update(
    result: RowResult, actor: User, task: Task, *, has_subtasks: bool, department: Department
) -> None:
    """Compare a row with the existing `task` and check who may make its changes; `department`
    is the import's (a task of another one is named SALES-T001 in the messages)."""
    values = result.values
    shown_code = task.code if task.department_id == department.pk else task.full_code
    result.task_id = task.pk
    exported_version = values.pop("version", None)
    # Criteria of an existing task are edited on its page (frozen once submitted): the
    # column is read for new tasks only.
    values.pop("criteria", None)
    if not values.get("title"):
        values.pop("title", None)  # an empty cell keeps the title
    for name in ("owner", "due_date", "task_type", "priority", "progress", "status"):
        if values.get(name) is None:
            values.pop(name, None)
    if result.priority_assumed:
        values.pop("priority", None)  # an empty priority on an existing task keeps its priority
        result.warnings = [w for w in result.warnings if result.label("priority") not in w]
    current = {
        "title": task.title,
        "task_type": task.task_type,
        "priority": task.priority,
        "owner": task.owner,
        "due_date": task.due_date,
        "progress": task.progress,
        "status": task.status,
        "notes": task.notes,
    }
    changed = {}
    for name, value in values.items():
        if name == "owner":
            if value.pk != task.owner_id:
                changed[name] = value
        elif value != current[name]:
            changed[name] = value
    for name, value in changed.items():
        result.changes[name] = (_show(name, current[name]), _show(name, value))
    result.values = changed
    if not changed:
        result.action = "unchanged"
        return
    result.action = "update"
    for name, note in result.mapped.items():
        if name in changed:
            result.warn(name, note)
    if exported_version is not None and exported_version != task.version:
        result.warn(
            "version",
            _(
                "this row was changed in Closeloop after the export (version %(then)s then, %(now)s now); importing it overwrites those changes with the sheet's %(fields)s"
            )
            % {
                "then": exported_version,
                "now": task.version,
                "fields": "、".join(result.label(n) for n in LABELS if n in changed),
            },
        )
    if not permissions.can_edit(actor, task):
        result.error(
            "code", _("only the owner, the initiator or the head may change %(code)s") % {"code": shown_code}
        )
        return
    if task.status in CLOSED_STATUSES:
        result.error(
            "status",
            _("%(code)s is closed (%(status)s) and no longer changes")
            % {"code": shown_code, "status": Status(task.status).label},
        )
        return
    if "owner" in changed and not permissions.can_reassign(actor, task):
        result.error("owner", _("only the initiator or the head can hand the task to someone else"))
    if "due_date" in changed and not permissions.can_reassign(actor, task):
        result.error(
            "due_date", _("only the initiator or the head can move the due date; raise a delay warning")
        )
    if "progress" in changed:
        if actor.pk != task.owner_id:
            result.error("progress", _("only the owner reports progress"))
        elif has_subtasks:
            result.error("progress", _("a task with subtasks takes its progress from them"))
    if "status" in changed:
        kind = TRANSITIONS.get((Status(task.status), Status(changed["status"])))
        if changed["status"] in ACCEPTANCE_STATES:
            _acceptance_error(result, changed["status"], new=False)
        elif kind is None:
            result.error(
                "status",
                _("%(from)s cannot become %(to)s in one step")
                % {"from": Status(task.status).label, "to": Status(changed["status"]).label},
            )
        elif not permissions.plays(actor, kind, task):
            result.error(
                "status",
                _("only %(who)s can make it %(to)s")
                % {"who": kind.label, "to": Status(changed["status"]).label},
            )


def check_import_access(actor: User, department: Department) -> None:
    """The importer must see the whole department (member, or head above it); someone who
    may not see its tasks gets NotFound, as for any object they may not see."""
    if actor.is_superuser:
        return
    if department.pk not in visible_department_ids(actor) and department.pk not in member_department_ids(
        actor
    ):
        raise NotFound(_("Department not found."))


def _no_header(plan: ImportPlan, other: tuple[str, int, Any, Any] | None) -> ValidationFailed:
    if other is not None:
        sheet, row, what, where = other
        place = (
            _("sheet '%(sheet)s', row %(row)s") % {"sheet": sheet, "row": row}
            if sheet
            else _("row %(row)s") % {"row": row}
        )
        message = _("This file is %(what)s (its header on %(place)s), not a 日常任务清单表. %(where)s") % {
            "what": what,
            "place": place,
            "where": where,
        }
        return ValidationFailed(message, fields={"file": [message]})
    wanted = _(
        "a row with 任务名称 and at least two more of 任务ID, 任务类型, 优先级, 负责人, 截止日期, 当前进度, 状态, 备注"
    )
    if len(plan.sheets) > 1:
        message = _(
            "No header row found in any sheet of the workbook (%(sheets)s): one needs %(wanted)s."
        ) % {
            "sheets": "、".join(plan.sheets),
            "wanted": wanted,
        }
    elif plan.sheets and plan.sheets[0]:
        message = _("No header row found in sheet '%(sheet)s' (the only sheet): it needs %(wanted)s.") % {
            "sheet": plan.sheets[0],
            "wanted": wanted,
        }
    else:
        message = _("No header row found: the sheet needs %(wanted)s.") % {"wanted": wanted}
    return ValidationFailed(message, fields={"file": [_("No header row found.")]})


def _header_sheet(plan: ImportPlan, path: Path | str, name: str) -> tuple[Iterator, int, int | None]:
    """The rows of the first sheet whose header names the task list's columns, read past the
    header; (rows, header row, year of its title). A workbook often opens with 填表说明 or
    another sheet: every visible sheet is tried, in order, and the plan names the one read."""
    sheets = open_sheets(path, name=name)
    plan.sheets = [s.name for s in sheets]
    other = None
    for sheet in sheets:
        rows = sheet.rows()
        header, year, found_other = _find_header(rows, plan)
        if header is not None:
            plan.sheet = sheet.name
            return rows, header, year
        close = getattr(rows, "close", None)
        if close is not None:
            close()
        if found_other is not None and other is None:
            other = (sheet.name, *found_other)
    raise _no_header(plan, other)


def _other_departments(
    actor: User, department: Department, elsewhere: dict[str, list[tuple[RowResult, str]]]
) -> list[tuple[RowResult, int]]:
    """Rows whose ID names another department (MKT-T001 in an import for SALES), as an export
    spanning departments writes them: (row, task id) for each task of that department the
    importer may see — compared like any row, so an unchanged row is 不变 and a change is
    held to the same rules (who may edit, closed tasks) — and a row error for the rest:
    an unknown department code, or a task not there or not visible. A new task is created
    only in `department`, never in the prefix's. `elsewhere`: prefix (upper case) → [(row,
    code without prefix)]. One query per department named."""
    found: list[tuple[RowResult, int]] = []
    for prefix, rows in elsewhere.items():
        other = Department.objects.filter(code__iexact=prefix).first()
        if other is None:
            for result, _code in rows:
                result.error(
                    "code",
                    _("%(code)s: no department has the code %(prefix)s; write the task ID without it")
                    % {"code": result.code, "prefix": prefix},
                )
            continue
        ids = dict(
            Task.objects.visible_to(actor)
            .filter(department=other, code__in=[c for _r, c in rows])
            .values_list("code", "id")
        )
        for result, code in rows:
            if code in ids:
                found.append((result, ids[code]))
                continue
            result.error(
                "code",
                _(
                    "%(code)s is not a task of %(other)s that you can see. A new task is created only in %(dept)s, the department of this import: write its ID without %(prefix)s- or leave it empty"
                )
                % {"code": result.code, "other": other.name, "dept": department.name, "prefix": prefix},
            )
    return found


def _warn_twins(actor: User, department: Department, creating: list[RowResult]) -> None:
    """A new row (no task ID) with the title, owner and due date of an open task of
    `department` the importer sees: warned, naming that task's ID — importing a sheet without
    its 任务ID column a second time made every row again, silently (a tester's find). Still
    created if the importer goes on (two tasks may share a name); one query."""
    titles = {r.values.get("title") for r in creating if r.values.get("title")}
    if not titles:
        return
    existing: dict[tuple[str, int, date], str] = {}
    for code, title, owner_id, due in (
        Task.objects.visible_in_department(actor, department.pk)
        .filter(title__in=sorted(titles))
        .exclude(status__in=CLOSED_STATUSES)
        .order_by("id")
        .values_list("code", "title", "owner_id", "due_date")
    ):
        existing.setdefault((title, owner_id, due), code)
    for result in creating:
        owner = result.values.get("owner")
        key = (result.values.get("title"), getattr(owner, "pk", None), result.values.get("due_date"))
        code = existing.get(key)
        if code:
            result.warn(
                "title",
                _(
                    "%(code)s already has this name, owner and due date: importing makes a second task; "
                    "to update %(code)s instead, put %(code)s in the %(column)s column"
                )
                % {"code": code, "column": result.label("code")},
            )


def plan_task_import(*, actor: User, department: Department, path: Path | str, name: str = "") -> ImportPlan:
    """Read and validate the whole file; write nothing. `name`: the file's name as uploaded.

    Raises ValidationFailed (field `file`) for a file over the limits, unreadable, not a
    spreadsheet, another of the handbook's sheets, or with no header row in any sheet;
    NotFound when `actor` may not see `department`. Every row problem is in the plan instead
    (`plan.ok` is False)."""
    check_import_access(actor, department)
    plan = ImportPlan(department=department)
    rows, header, year = _header_sheet(plan, path, name)
    plan.header_row = header
    today = department.local_today()
    people = People(department)
    # Codes first (plain pairs, however many tasks the department has); the tasks a row
    # updates are read whole after the last row, in batches.
    task_ids = (
        {
            code.upper(): pk
            for code, pk in Task.objects.visible_in_department(actor, department.pk).values_list("code", "id")
        }
        if "code" in plan.columns
        else {}
    )
    updates: list[tuple[RowResult, int]] = []
    creating: list[RowResult] = []  # new tasks (every other row's action is decided later)
    seen: dict[tuple[str, str], int] = {}  # (department prefix or "", code) → row
    elsewhere: dict[str, list[tuple[RowResult, str]]] = {}  # prefix → (row, code)
    for number, cells in rows:
        data = [cells[i] if i < len(cells) else None for i in plan.columns.values()]
        if all(_is_blank(c) for c in data):
            if not all(_is_blank(c) for c in cells):
                plan.ignored.append((number, _("no task columns filled (a note)")))
            else:
                plan.ignored.append((number, _("blank row")))
            continue
        first = next((V.text(c) for c in cells if not _is_blank(c)), "")
        if _header_key(first).rstrip(":：") in TOTALS or _header_key(first).startswith(
            ("合计", "总计", "小计")
        ):
            plan.ignored.append((number, _("totals row")))
            continue
        result = RowResult(row=number, labels=plan.headers)
        _parse_row(result, cells, plan, people, year)
        filled = sum(not _is_blank(c) for c in data)
        if not result.values.get("title") and filled < 3 and not result.errors:
            plan.ignored.append((number, _("no task name (a note or trailing row)")))
            continue
        plan.rows.append(result)
        if result.action == "error":
            continue
        code = result.code.strip()
        match = CODE_RE.match(code) if code else None
        prefix = (match["dept"] or "").upper() if match else ""
        if prefix == department.code.upper():
            prefix = ""  # SALES-T001 imported into SALES: its own T001
        key = (prefix, match["code"].upper() if match else code.upper())
        if key[1] and key in seen:
            result.error("code", _("%(code)s is also on row %(row)s") % {"code": code, "row": seen[key]})
            continue
        if key[1]:
            seen[key] = number
        if prefix:
            # Another department's task, as an export that spans departments writes it: found
            # among the tasks of that department the importer may see, after the last row.
            elsewhere.setdefault(prefix, []).append((result, key[1]))
            continue
        task_id = task_ids.get(key[1]) if key[1] else None
        if task_id is not None:
            updates.append((result, task_id))
        else:
            if code:
                result.warn(
                    "code",
                    _("%(code)s is not a task of %(dept)s: a new task, numbered by Closeloop")
                    % {"code": code, "dept": department.code},
                )
            _plan_create(result, actor, department, today)
            if result.action == "create":
                creating.append(result)
    _warn_twins(actor, department, creating)
    updates += _other_departments(actor, department, elsewhere)
    for start in range(0, len(updates), UPDATE_BATCH):
        batch = updates[start : start + UPDATE_BATCH]
        tasks = Task.objects.select_related("department", "owner").in_bulk([pk for _r, pk in batch])
        parents = set(
            Task.objects.filter(parent_id__in=list(tasks)).values_list("parent_id", flat=True).distinct()
        )
        for result, pk in batch:
            _plan_update(result, actor, tasks[pk], has_subtasks=pk in parents, department=department)
    if not plan.rows:
        plan.problems.append(
            _("The sheet has no task rows below its header (row %(row)s).") % {"row": header}
        )
    return plan
