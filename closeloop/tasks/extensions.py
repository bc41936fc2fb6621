"""Extension points for the apps to the right of tasks (tracking, collaboration, review).

They add a panel to the task page, and flags to task rows, without tasks importing them:
each app registers its callables in `AppConfig.ready()`, as jobs register with the worker.

- A *context* is `fn(request, task, *, suggest) -> dict`, merged into the task page's template
  context (planning's plan: subtasks, dependencies, milestones, recurrence, comments).
- A *panel* is `fn(request, task) -> str` (rendered HTML), shown on the task page.
- A *home panel* is `fn(request) -> str` (rendered HTML, "" for nothing), shown on 我的工作.
- A *decision source* is `fn(user, limit) -> (count, [Decision])`: what waits for this
  person's decision (tracking's delay warnings; collab may add escalations), shown on
  我的工作 next to the tasks awaiting their acceptance.
- A *quick action* source is `fn(request, task) -> [(label, url)]`: links shown at the top
  of the task page with the status buttons (tracking: 更新进度, 发起延期预警 for the owner).
- A *list action* is `fn(request) -> str` (rendered HTML), shown under the task list with
  its current filters (the sheets app's 导出 / 导入).
- A *workload column* source is `fn(user, *, department, people) -> [WorkloadColumn]`:
  extra per-person figures on 工作量 (planning's page), e.g. collab's load in other
  departments. The source decides who may see them (return [] otherwise) and must read in
  bulk: a constant number of queries whatever the number of people.
- The *task page* itself, `task_page(request, pk, *, status, context)`, for an app's view to
  answer a refused form without JavaScript with the page and the form in place (planning's
  plan forms); tasks registers its renderer (`register_task_page`), as apps may not import
  another app's views.
- *Row flags* are a pair: `prepare(queryset) -> queryset` loads what the flags need with the
  list's own query (so lists stay constant-query), and `render(task, today) -> str`.
- A *list condition* is `fn(*, department, owner, now) -> Q | None`, registered under a
  name: a filter of the task list that another app knows how to write (tracking's "owed",
  `?owed=1`: tasks whose owner owes today's update). The list ANDs it with what the person
  sees (`selectors._filtered`); None means no task matches. `department` and `owner` are the
  list's other filters (ids or None), for the source to narrow what it reads.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.safestring import SafeString, mark_safe

from closeloop.core.escape import esc

Panel = Callable[[HttpRequest, object], str]
Prepare = Callable[[QuerySet], QuerySet]
RenderFlags = Callable[[object, date], str]

Context = Callable[..., dict]

_contexts: list[Context] = []
_panels: list[Panel] = []
_home_panels: list[Callable[[HttpRequest], str]] = []
_row_flags: list[tuple[Prepare, RenderFlags]] = []
_list_actions: list[Callable[[HttpRequest], str]] = []


@dataclass(frozen=True)
class Decision:
    """One thing waiting for someone's decision: what kind (a short label, "延期预警"), the
    line to show, where to decide it, and an optional date to decide by."""

    kind: str
    text: str
    url: str
    by: str = ""


DecisionSource = Callable[..., tuple[int, list[Decision]]]
_decisions: list[DecisionSource] = []


def register_decision_source(fn: DecisionSource) -> None:
    if fn not in _decisions:
        _decisions.append(fn)


def decisions_for(user, *, limit: int = 10) -> tuple[int, list[Decision]]:
    """Everything the registered sources say waits for `user`'s decision: (total count, the
    first `limit` of each source)."""
    total, rows = 0, []
    for fn in _decisions:
        count, items = fn(user, limit)
        total += count
        rows.extend(items)
    return total, rows


_task_page: list[Callable[..., HttpResponse]] = []


def register_task_page(fn: Callable[..., HttpResponse]) -> None:
    """Set the task page's renderer (tasks does, in `TasksConfig.ready`)."""
    _task_page[:] = [fn]


def task_page(
    request: HttpRequest, pk: int, *, status: int, context: Callable[[object], dict]
) -> HttpResponse:
    """The task page of `pk` answered with HTTP `status`, its context completed by
    `context(task) -> dict` (see `tasks.views.tasks.render_task_page`). Http404 for a task
    the person does not see."""
    return _task_page[0](request, pk, status=status, context=context)


def register_task_context(fn: Context) -> None:
    if fn not in _contexts:
        _contexts.append(fn)


def task_context(request: HttpRequest, task, *, suggest=None) -> dict:
    """What every registered context adds to the task page, merged in registration order."""
    ctx: dict = {}
    for fn in _contexts:
        ctx.update(fn(request, task, suggest=suggest))
    return ctx


QuickActions = Callable[[HttpRequest, object], list[tuple[str, str]]]
_quick_actions: list[QuickActions] = []


def register_quick_actions(fn: QuickActions) -> None:
    if fn not in _quick_actions:
        _quick_actions.append(fn)


def quick_actions(request: HttpRequest, task) -> list[tuple[str, str]]:
    """The (label, url) links every registered source offers on this task, in order."""
    return [pair for fn in _quick_actions for pair in fn(request, task)]


def register_task_panel(fn: Panel) -> None:
    if fn not in _panels:
        _panels.append(fn)


def register_home_panel(fn: Callable[[HttpRequest], str]) -> None:
    if fn not in _home_panels:
        _home_panels.append(fn)


def home_panels(request: HttpRequest) -> list[str]:
    return [html for html in (fn(request) for fn in _home_panels) if html]


ListCondition = Callable[..., object]
_list_conditions: dict[str, ListCondition] = {}


def register_list_condition(name: str, fn: ListCondition) -> None:
    _list_conditions[name] = fn


def list_condition(name: str, *, department: int | None, owner: int | None, now) -> object | None:
    """The registered list condition `name` (a Q over the tasks), or None — no task matches —
    when it says so or no app registered it."""
    fn = _list_conditions.get(name)
    return None if fn is None else fn(department=department, owner=owner, now=now)


def register_list_action(fn: Callable[[HttpRequest], str]) -> None:
    if fn not in _list_actions:
        _list_actions.append(fn)


def list_actions(request: HttpRequest) -> list[str]:
    return [fn(request) for fn in _list_actions]


def register_row_flags(*, prepare: Prepare, render: RenderFlags) -> None:
    if all(r is not render for _p, r in _row_flags):
        _row_flags.append((prepare, render))


def task_panels(request: HttpRequest, task) -> list[str]:
    return [fn(request, task) for fn in _panels]


def prepare_rows(qs: QuerySet) -> QuerySet:
    for prepare, _render in _row_flags:
        qs = prepare(qs)
    return qs


def row_flags(task, today: date) -> SafeString:
    """What every registered renderer adds to a task row, joined. Each value is escaped
    unless already safe (`esc`, conditional_escape's result, as format_html_join did, at
    ~175 Python calls a row on 我的工作, issue 16); most rows have no flag."""
    out = ""
    for _p, render in _row_flags:
        html = render(task, today)
        if html:
            out += esc(html)
    return mark_safe(out)  # noqa: S308 - each part escaped by esc


# -- closing ---------------------------------------------------------------------------------
#
# A *close hook* is `fn(tasks, *, actor, status, now)`: `tasks.services.task_transition`
# calls every registered one inside its transaction, after the tasks' rows became 已完成 or
# 已取消 — whichever path closed them (acceptance in review, cancel on the task page or the
# API, an import) — with the task moved and, for a cancel, the open subtasks cancelled with
# it (department loaded), all closed as `status`. What an app keeps about open work ends
# there (tracking closes the tasks' pending delay warnings and drops their forecasts). A hook
# writes through its app's own services, reads for all the tasks at once (a cancel's cost
# must not grow with the subtasks) and must not fail for tasks with nothing to close.

CloseHook = Callable[..., None]
_close_hooks: list[CloseHook] = []


def register_close_hook(fn: CloseHook) -> None:
    if fn not in _close_hooks:
        _close_hooks.append(fn)


def task_closed(tasks, *, actor, status: str, now) -> None:
    """Run every close hook for `tasks` (a list of Task), just closed as `status` by `actor`
    at `now`."""
    for fn in _close_hooks:
        fn(tasks, actor=actor, status=status, now=now)


# -- acceptance and intake hooks (used by review) -------------------------------------------
#
# - A *routed transition*: `register_routed_transition(status, url_fn)` says that moving a task
#   to `status` happens on another app's page (`url_fn(task) -> str`), with more than a note
#   (submitting deliverables, checking each criterion). The task page links there instead of
#   offering a one-tap button, and the generic transition endpoints (web and API) refuse it.
# - A *criteria guard*: `fn(actor, task)` raises a DomainError when the task's acceptance
#   criteria may not change now; `task_update` calls it, inside its transaction, before it
#   replaces changed criteria.
# - A *form panel*: `fn(request) -> str` (rendered HTML) shown on the new-task form.

RouteUrl = Callable[[object], str]
CriteriaGuard = Callable[[object, object], None]
FormPanel = Callable[[HttpRequest], str]

_routed: dict[str, RouteUrl] = {}
_criteria_guards: list[CriteriaGuard] = []
_form_panels: list[FormPanel] = []


def register_routed_transition(status: str, url_fn: RouteUrl) -> None:
    _routed[str(status)] = url_fn


def routed_transition_url(task, status: str) -> str | None:
    fn = _routed.get(str(status))
    return fn(task) if fn is not None else None


def register_criteria_guard(fn: CriteriaGuard) -> None:
    if fn not in _criteria_guards:
        _criteria_guards.append(fn)


def check_criteria_change(actor, task) -> None:
    for fn in _criteria_guards:
        fn(actor, task)


def register_form_panel(fn: FormPanel) -> None:
    if fn not in _form_panels:
        _form_panels.append(fn)


def form_panels(request: HttpRequest) -> list[str]:
    return [fn(request) for fn in _form_panels]


# - *Create lessons*: `fn(user, task) -> list[dict]` with the keys of `api.LessonOut`: what the
#   knowledge base offers for a task just created through the API.
CreateLessons = Callable[[object, object], list[dict]]
_create_lessons: list[CreateLessons] = []


def register_create_lessons(fn: CreateLessons) -> None:
    if fn not in _create_lessons:
        _create_lessons.append(fn)


def create_lessons(user, task) -> list[dict]:
    return [lesson for fn in _create_lessons for lesson in fn(user, task)]


@dataclass(frozen=True)
class WorkloadColumn:
    """One extra column of 工作量: its header, an optional hint (the header's title), and the
    figure per person id (a person missing from `values` shows as none)."""

    label: str
    values: dict[int, int]
    hint: str = ""


WorkloadColumns = Callable[..., list[WorkloadColumn]]
_workload_columns: list[WorkloadColumns] = []


def register_workload_columns(fn: WorkloadColumns) -> None:
    if fn not in _workload_columns:
        _workload_columns.append(fn)


def workload_columns(user, *, department, people: list) -> list[WorkloadColumn]:
    """The extra columns every registered source offers `user` for `people` (User rows, the
    members of `department` the page lists), in registration order."""
    if not people:
        return []
    return [col for fn in _workload_columns for col in fn(user, department=department, people=people)]


# -- presence flags on the task page ----------------------------------------------------------
#
# A *presence* is `register_task_presence(name, model, columns)`: the task page's own query
# (`selectors.task_detail`) reads, for the task and each subtask it loads, whether `model`
# has a row whose column (any of `columns`) is the task's id, as one EXISTS per name in the
# same SELECT. A hook asks `task_has(task, name)` and skips its query when the answer is no:
# most tasks have no minutes, delay warning or retrospective, so the page does not spend a
# round trip on each empty panel (issue 16, item 2). A task not loaded that way (a fragment
# an htmx POST renders) answers True, so the hook reads as before.

_presence: dict[str, tuple[str, tuple[str, ...]]] = {}
# (database vendor, outer table) → the annotations built from `_presence`; emptied when a
# presence is registered. The expressions are shared: a query resolving them copies them.
_annotations: dict[tuple[str, str], dict] = {}


def register_task_presence(name: str, model, columns: str | tuple[str, ...] = "task_id") -> None:
    """Ask the task page's query whether `model` (a Django model class) has a row pointing at
    the task through `columns` (column names: one, or several for "any of"). `name` is what
    `task_has` is asked with; registering a name again replaces it."""
    cols = (columns,) if isinstance(columns, str) else tuple(columns)
    _presence[name] = (model._meta.db_table, cols)
    _annotations.clear()


def presence_annotations(outer_table: str) -> dict:
    """`{"has_<name>": RawSQL(EXISTS …)}` for every registered presence, to annotate a query
    over `outer_table` (the tasks table). Raw SQL: a dozen ORM subqueries would cost more
    Python than the queries they save. Built once per database vendor and table (a dozen
    BooleanFields were ~300 Python calls of every task page, and of its 404); a new dict each
    call, of the same expressions."""
    from django.db import connection

    key = (connection.vendor, outer_table)
    built = _annotations.get(key)
    if built is None:
        built = _annotations[key] = _build_annotations(connection, outer_table)
    return dict(built)


def _build_annotations(connection, outer_table: str) -> dict:
    from django.db.models import BooleanField
    from django.db.models.expressions import RawSQL

    q = connection.ops.quote_name
    outer = f"{q(outer_table)}.{q('id')}"
    out = {}
    for name, (table, cols) in _presence.items():
        # Only quoted identifiers from models' _meta: no value of anyone's goes into the SQL.
        sql = " OR ".join(
            f"EXISTS(SELECT 1 FROM {q(table)} WHERE {q(col)} = {outer})"  # noqa: S608
            for col in cols
        )
        out[f"has_{name}"] = RawSQL(f"({sql})", (), output_field=BooleanField())  # noqa: S611
    return out


def task_has(task, name: str, *, tree: bool = False) -> bool:
    """Whether `task` (or, with `tree=True`, it or one of its loaded `subtask_list`) has rows
    of the registered presence `name`. True when the task was not loaded with the flags (the
    caller then reads, as it would without them)."""
    flag = getattr(task, f"has_{name}", None)
    if flag is None:
        return True
    if flag:
        return True
    if tree:
        return any(getattr(s, f"has_{name}", True) for s in getattr(task, "subtask_list", ()))
    return False
