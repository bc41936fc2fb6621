"""Export of the handbook's four templates as .xlsx, streamed.

A template (`SheetTemplate`) names its handbook title, its columns (header, width, kind,
drop-down choices) and yields rows for what the person may see. `write_workbook` streams
them through `xlsx.SheetWriter` (a string per row; openpyxl's write-only workbook took ~50 µs
a cell) into an anonymous temporary file (gone when closed): rows are produced chunk by
chunk from the database (`values_list(…).iterator(chunk_size=…)`, plain tuples), so 100,000
tasks never sit in memory at once.

The collaboration (跨部门协作任务表) and retrospective (任务复盘总结表) templates read the
data of `collab` and `review` (apps to the left of sheets, which never import it); while an
app is not installed, `template_for` answers that its template is not available.

Formula injection: a text cell that starts with = + - @ tab or CR is written as a string
cell (never a formula) with Excel's quotePrefix style — how Excel itself stores text typed
after an apostrophe — so it shows as typed, stays text when edited, and reads back unchanged.
"""

import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any

from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.errors import NotFound, ValidationFailed
from closeloop.orgs.models import Department, User
from closeloop.sheets.importing import VERSION_HEADER, ambiguous_names
from closeloop.sheets.xlsx import HEADER, QUOTED, TITLE, Cell, SheetWriter
from closeloop.tasks.models import Milestone, Priority, Task, TaskCollaborator, TaskType, subtree_q
from closeloop.tasks.states import Status

CHUNK = 2000
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PRIORITY_LABELS = {Priority.HIGH: "高", Priority.MEDIUM: "中", Priority.LOW: "低"}
TYPE_LABELS = {TaskType.PROJECT: "项目型", TaskType.ROUTINE: "事务型", TaskType.COLLABORATIVE: "协作型"}
STATUS_LABELS = {
    Status.NOT_STARTED: "未开始",
    Status.IN_PROGRESS: "进行中",
    Status.BLOCKED: "阻塞",
    Status.SUBMITTED: "待验收",
    Status.DONE: "已完成",
    Status.REWORK: "返工",
    Status.CANCELLED: "已取消",
}


@dataclass(frozen=True)
class Column:
    """One column: its header as the handbook writes it, width in characters, kind (text,
    date, percent, number), for a drop-down the allowed labels, and whether Excel hides it
    (what the handbook's layout does not have, for Closeloop's own use on re-import)."""

    header: str
    width: int = 14
    kind: str = "text"
    choices: tuple[str, ...] = ()
    hidden: bool = False


@dataclass
class Scope:
    """What to export: a department's tasks (optionally narrowed by the task list's filters),
    or one task with its subtasks. `period` is shown in the title row."""

    user: User
    department: Department | None = None
    task: Task | None = None
    queryset: Any = None  # a visible, filtered Task queryset (the task list's current view)
    period: str = ""
    _departments: list[Department] | None = field(default=None, init=False, repr=False)

    def departments(self) -> list[Department]:
        """The departments the scope's rows belong to, by code (one query, then kept): the
        department asked for, else those of the visible tasks — a person's task list without
        a department filter spans their departments and the tasks they help on elsewhere."""
        if self._departments is None:
            if self.department is not None and self.queryset is None:
                self._departments = [self.department]
            elif self.task is not None and self.queryset is None:
                self._departments = [self.task.department]  # subtasks share their parent's
            else:
                # Two queries, not a subquery: the list's search filter is raw SQL on the
                # task table, which a subquery would rename.
                tasks = scope_tasks(self)
                if tasks.query.is_sliced:  # a capped export (the benchmark's first 100,000)
                    tasks = Task.objects.filter(pk__in=tasks.values("pk"))
                ids = set(tasks.order_by().values_list("department_id", flat=True).distinct())
                self._departments = list(Department.objects.filter(pk__in=ids).order_by("code"))
        return self._departments

    @property
    def mixed(self) -> bool:
        """Whether the rows span departments: then a task ID carries its department's code
        (SALES-T001, README: "SALES-T001 where departments mix"), so that T001 of two
        departments stay two tasks and the file imports back to the same tasks."""
        return len(self.departments()) > 1

    def code(self, department_code: str, code: str) -> str:
        """A task's ID as the sheet writes it: T001, or SALES-T001 when departments mix."""
        return f"{department_code}-{code}" if code and self.mixed else code


@dataclass
class SheetTemplate:
    key: str
    title: str  # the handbook's name, e.g. 日常任务清单表
    columns: list[Column]
    rows: Callable[[Scope], Iterator[list[Any]]]
    filename: str = ""


REGISTRY: dict[str, SheetTemplate] = {}


def register(template: SheetTemplate) -> SheetTemplate:
    """Add or replace a template (key → SheetTemplate)."""
    REGISTRY[template.key] = template
    return template


def template_for(key: str) -> SheetTemplate:
    """The registered template; ValidationFailed naming the known keys."""
    template = REGISTRY.get(key)
    if template is None:
        raise ValidationFailed(
            _("Unknown template '%(key)s'. Known: %(keys)s.") % {"key": key, "keys": ", ".join(REGISTRY)},
            fields={"template": [_("Unknown template.")]},
        )
    return template


def chunks(iterable: Iterable, size: int = CHUNK) -> Iterator[list]:
    it = iter(iterable)
    while batch := list(islice(it, size)):
        yield batch


def safe(value: Any) -> Any:
    """Whether a text value must be written as literal text (a formula trigger first)."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


# -- the rows of the templates ------------------------------------------------------------


def scope_tasks(scope: Scope):
    """The tasks of the scope the person may see, in tree order, streamed."""
    if scope.queryset is not None:
        qs = scope.queryset
    elif scope.task is not None:
        qs = Task.objects.visible_to(scope.user).filter(subtree_q(scope.task.path)).order_by("path")
    elif scope.department is not None:
        qs = Task.objects.visible_in_department(scope.user, scope.department.pk).order_by("path")
    else:
        qs = Task.objects.none()
    return qs.select_related("owner", "department", "parent")


class OwnerNames:
    """How an owner is written: 姓名, or '姓名 (username)' when two people share the name, so
    the sheet imports back to the same person."""

    def __init__(self) -> None:
        self.shared = ambiguous_names()

    def __call__(self, user: User) -> str:
        name = user.display_name
        return f"{name} ({user.username})" if name in self.shared else name


def task_list_rows(scope: Scope) -> Iterator[list[Any]]:
    """日常任务清单表 rows as plain tuples from the database (no model instances: a third of
    the export's time at 100,000 tasks went into building them)."""
    shared = ambiguous_names()
    fields = (
        "code",
        "title",
        "task_type",
        "priority",
        "owner__name",
        "owner__username",
        "due_date",
        "progress",
    )
    rows = scope_tasks(scope).values_list(*fields, "status", "notes", "version", "department__code")
    for (
        code,
        title,
        task_type,
        priority,
        name,
        username,
        due,
        progress,
        status,
        notes,
        version,
        department_code,
    ) in rows.iterator(chunk_size=CHUNK):
        who = name or username
        yield [
            scope.code(department_code, code),
            title,
            TYPE_LABELS.get(task_type, task_type),
            PRIORITY_LABELS.get(priority, ""),
            f"{who} ({username})" if who in shared else who,
            due,
            progress / 100,
            STATUS_LABELS.get(status, status),
            notes,
            version,
        ]


def progress_rows(scope: Scope) -> Iterator[list[Any]]:
    """任务进度跟踪表: every task and subtask with owner, collaborators, next milestone and the
    latest daily update. Extras are read per chunk of tasks (a handful of queries each)."""
    from closeloop.tracking.models import ProgressUpdate

    owner = OwnerNames()
    for batch in chunks(scope_tasks(scope).iterator(chunk_size=CHUNK)):
        ids = [t.pk for t in batch]
        people: dict[int, list[str]] = {}
        for task_id, name, username in TaskCollaborator.objects.filter(task_id__in=ids).values_list(
            "task_id", "user__name", "user__username"
        ):
            people.setdefault(task_id, []).append(name or username)
        milestones: dict[int, Milestone] = {}
        for m in Milestone.objects.filter(task_id__in=ids, reached_at__isnull=True).order_by(
            "task_id", "date", "id"
        ):
            milestones.setdefault(m.task_id, m)
        latest: dict[int, Any] = {}
        for u in (
            ProgressUpdate.objects.filter(task_id__in=ids)
            .order_by("task_id", "-day")
            .only("task_id", "day", "note", "blocker", "percent")
        ):
            latest.setdefault(u.task_id, u)
        for t in batch:
            m = milestones.get(t.pk)
            u = latest.get(t.pk)
            yield [
                scope.code(t.department.code, t.code),
                t.title,
                # A subtask is in its parent's department.
                scope.code(t.department.code, t.parent.code) if t.parent_id else "",
                owner(t.owner),
                "、".join(people.get(t.pk, [])),
                t.start_date,
                t.due_date,
                t.progress / 100,
                STATUS_LABELS.get(t.status, t.status),
                m.title if m else "",
                m.date if m else None,
                u.day if u else None,
                u.note if u else "",
                u.blocker if u else "",
            ]


register(
    SheetTemplate(
        key="task-list",
        title="日常任务清单表",
        columns=[
            Column("任务ID", 12),
            Column("任务名称", 36),
            Column("任务类型", 10, choices=tuple(TYPE_LABELS.values())),
            Column("优先级", 8, choices=tuple(PRIORITY_LABELS.values())),
            Column("负责人", 14),
            Column("截止日期", 12, "date"),
            Column("当前进度", 10, "percent"),
            Column("状态", 10, choices=tuple(STATUS_LABELS.values())),
            Column("备注(如关联项目/客户)", 40),
            # Hidden: the task's version as exported, so that re-importing an old file says
            # which rows were changed since (importing.VERSION_HEADER).
            Column(VERSION_HEADER, 10, "number", hidden=True),
        ],
        rows=task_list_rows,
    )
)
register(
    SheetTemplate(
        key="progress",
        title="任务进度跟踪表",
        columns=[
            Column("任务ID", 12),
            Column("任务名称", 36),
            Column("上级任务", 10),
            Column("负责人", 14),
            Column("协作人", 20),
            Column("开始日期", 12, "date"),
            Column("截止日期", 12, "date"),
            Column("当前进度", 10, "percent"),
            Column("状态", 10, choices=tuple(STATUS_LABELS.values())),
            Column("下一个里程碑", 24),
            Column("里程碑日期", 12, "date"),
            Column("最新更新日期", 12, "date"),
            Column("最新进展", 40),
            Column("阻塞/等待", 24),
        ],
        rows=progress_rows,
    )
)


def _local(value):
    """An aware timestamp as the naive local time a sheet shows (Excel has no time zones)."""
    if value is None:
        return None
    # To the second: a sheet shows minutes, and microseconds only clutter the cell's value.
    return timezone.localtime(value).replace(tzinfo=None, microsecond=0)


def collaboration_rows(scope: Scope) -> Iterator[list[Any]]:
    """跨部门协作任务表: the issue log of every task in the scope the person may see (an issue
    is visible with its task), per chunk of tasks."""
    from closeloop.collab.models import Issue

    for batch in chunks(scope_tasks(scope).iterator(chunk_size=CHUNK)):
        by_id = {t.pk: t for t in batch}
        issues = (
            Issue.objects.filter(task_id__in=list(by_id))
            .select_related("raised_by", "resolver")
            .prefetch_related("party_users", "party_departments")
            .order_by("task_id", "raised_at", "id")
        )
        for issue in sorted(issues, key=lambda i: (by_id[i.task_id].path, i.raised_at, i.pk)):
            t = by_id[issue.task_id]
            parties = [d.name for d in issue.party_departments.all()] + [
                u.display_name for u in issue.party_users.all()
            ]
            yield [
                scope.code(t.department.code, t.code),
                t.title,
                issue.problem,
                issue.raised_by.display_name,
                "、".join(parties),
                issue.resolver.display_name if issue.resolver_id else "",
                _local(issue.deadline),
                str(issue.get_status_display()),
                issue.resolution,
                _local(issue.resolved_at),
            ]


def retrospective_rows(scope: Scope) -> Iterator[list[Any]]:
    """任务复盘总结表: the retrospective of every task in the scope the person may see."""
    from closeloop.review.models import Retrospective

    owner = OwnerNames()
    for batch in chunks(scope_tasks(scope).iterator(chunk_size=CHUNK)):
        by_id = {t.pk: t for t in batch}
        retros = {r.task_id: r for r in Retrospective.objects.filter(task_id__in=list(by_id))}
        for t in batch:
            r = retros.get(t.pk)
            if r is None:
                continue
            yield [
                scope.code(t.department.code, t.code),
                t.title,
                owner(t.owner),
                _local(t.completed_at),
                r.what_worked,
                r.to_improve,
                "、".join(str(x) for x in (r.tags or [])),
            ]


# The data of these two belongs to apps to the left of sheets (collab, review): sheets reads
# them, they never know sheets. Until an app is installed its template answers "not available".
register(
    SheetTemplate(
        key="collaboration",
        title="跨部门协作任务表",
        columns=[
            Column("任务ID", 12),
            Column("任务名称", 30),
            Column("问题", 40),
            Column("提出人", 12),
            Column("涉及方", 24),
            Column("解决人", 12),
            Column("解决期限", 18, "date"),
            Column("状态", 10),
            Column("解决结果", 40),
            Column("解决时间", 18, "date"),
        ],
        rows=collaboration_rows,
    )
)
register(
    SheetTemplate(
        key="retrospective",
        title="任务复盘总结表",
        columns=[
            Column("任务ID", 12),
            Column("任务名称", 30),
            Column("负责人", 12),
            # yyyy-mm-dd hh:mm is 16 characters: narrower, Excel shows #####.
            Column("完成时间", 18, "date"),
            Column("成功经验", 40),
            Column("改进点", 40),
            Column("标签", 20),
        ],
        rows=retrospective_rows,
    )
)


# -- writing ----------------------------------------------------------------------------------


def write_workbook(template: SheetTemplate, scope: Scope, out: IO[bytes] | None = None) -> IO[bytes]:
    """Write the template for `scope` into `out` (default: an anonymous temporary file, deleted
    when closed) and return it rewound. Row 1: title (department, period, date of export);
    row 2: the header, frozen; dates as date cells, progress as percent; drop-downs on the
    columns with choices. Streamed through `xlsx.SheetWriter` (a string per row)."""
    sheet = SheetWriter(
        template.title,
        widths=[c.width for c in template.columns],
        frozen_rows=2,
        hidden=[i for i, c in enumerate(template.columns, start=1) if c.hidden],
    )
    for i, col in enumerate(template.columns, start=1):
        if col.choices:
            sheet.drop_down(i, col.choices)
    where = scope.task.full_code if scope.task is not None else _where(scope, "name")
    exported = timezone.localdate().isoformat()
    title = " ".join(
        x for x in (where, template.title, scope.period, _("exported %(date)s") % {"date": exported}) if x
    )
    sheet.append([Cell(title, TITLE)])
    sheet.append([Cell(col.header, HEADER) for col in template.columns])
    percent = frozenset(i for i, c in enumerate(template.columns) if c.kind == "percent")
    for row in template.rows(scope):
        sheet.append([Cell(v, QUOTED) if safe(v) else v for v in row], percent)
    if out is None:
        out = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response closes it
    sheet.save(out)
    out.seek(0)
    return out


# More departments than this are named 全部部门 in a file name rather than listed.
NAMED_DEPARTMENTS = 3


def _where(scope: Scope, attr: str) -> str:
    """The departments a department-wide export covers, by `attr` ("code" or "name"): the
    one asked for; those its rows belong to (SALES+MKT), or — no rows — the person's own;
    more than NAMED_DEPARTMENTS, or none at all, as 全部部门 / "All departments"."""
    if scope.department is not None:
        return getattr(scope.department, attr)
    departments = scope.departments() or list(
        Department.objects.filter(memberships__user=scope.user).distinct().order_by("code")
    )
    if not departments or len(departments) > NAMED_DEPARTMENTS:
        return _("All departments")
    return "+".join(getattr(d, attr) for d in departments)


def export_filename(template: SheetTemplate, scope: Scope) -> str:
    """SALES-日常任务清单表-20261202.xlsx: where (the task's SALES-T001, the department's code,
    the departments the rows span as SALES+MKT, or 全部部门), the handbook's title, today's
    date (server time zone). Never starts with a hyphen; the response sends it as RFC 6266
    filename* (Django's FileResponse), so Chinese is safe."""
    where = scope.task.full_code if scope.task is not None else _where(scope, "code")
    return f"{where}-{template.title}-{timezone.localdate():%Y%m%d}.xlsx"


def department_scope(code: str) -> Department:
    """The department by its code (department names and codes are not secret; which of its
    tasks a person gets is decided by the rows' visibility query). NotFound if none."""
    department = Department.objects.filter(code__iexact=(code or "").strip()).first()
    if department is None:
        if not (code or "").strip():
            raise NotFound(_("Department not found: give its code in the parameter department (e.g. SALES)."))
        raise NotFound(
            _("Department not found: no department has the code '%(code)s' (parameter department).")
            % {"code": code.strip()[:40]}
        )
    return department
