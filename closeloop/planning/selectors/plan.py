"""Reads of the decomposition on the task page: subtasks, dependencies, milestones, comments,
recurrence and the plan's warnings. Starts from `Task.objects.visible_to(user)`.
"""

from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.translation import gettext as _

from closeloop.core import compiled
from closeloop.tasks import extensions, permissions
from closeloop.tasks.models import (
    Comment,
    DecompositionTemplate,
    Milestone,
    RecurrenceRule,
    Task,
    TaskDependency,
    subtree_q,
)
from closeloop.tasks.selectors import COMPILED_TREE, attach_people_and_criteria, need_to_know, task_comments
from closeloop.tasks.states import CLOSED_STATUSES

# -- the decomposition on the task page ------------------------------------------------------


@dataclass
class Plan:
    subtasks: list[Task]
    dependencies: list[TaskDependency]
    milestones: list[Milestone]
    warnings: list[str]
    templates: list[DecompositionTemplate]
    recurrence: RecurrenceRule | None
    comments: list[Comment]
    tree: list[Task] = field(default_factory=list)
    # Subtasks the person is not shown (need-to-know): only their number.
    hidden: int = 0


def plan_warnings(tree: list[Task], dependencies: list[TaskDependency]) -> list[str]:
    """Dates that contradict the plan: a subtask due after its parent, starting before a task
    it depends on (finish-to-start) is due, or due before it. Warnings only: the plan may be being reworked."""
    by_id = {t.pk: t for t in tree}
    out = []
    for t in tree:
        parent = by_id.get(t.parent_id) if t.parent_id else None
        if parent is not None and t.due_date > parent.due_date:
            out.append(
                _("%(code)s is due %(due)s, after its parent %(parent)s (due %(parent_due)s).")
                % {"code": t.code, "due": t.due_date, "parent": parent.code, "parent_due": parent.due_date}
            )
    for dep in dependencies:
        pred, succ = (
            by_id.get(dep.predecessor_id) or dep.predecessor,
            by_id.get(dep.successor_id) or dep.successor,
        )
        if (
            succ.start_date is not None
            and pred.due_date >= succ.start_date
            and succ.status not in CLOSED_STATUSES
            and pred.status not in CLOSED_STATUSES
        ):
            out.append(
                _("%(code)s starts %(start)s, but %(pred)s it waits for is due %(pred_due)s.")
                % {"code": succ.code, "start": succ.start_date, "pred": pred.code, "pred_due": pred.due_date}
            )
        if succ.due_date < pred.due_date and succ.status not in CLOSED_STATUSES:
            out.append(
                _("%(code)s is due %(due)s, before %(pred)s it depends on (due %(pred_due)s).")
                % {"code": succ.code, "due": succ.due_date, "pred": pred.code, "pred_due": pred.due_date}
            )
    return out


def task_plan(user, task: Task, *, subtasks: list[Task] | None = None, templates: bool = True) -> Plan:
    """The subtasks `user` needs to know (others only counted in `hidden`), with owners,
    collaborators and criteria counts; dependencies, milestones (each with `after_due`: its
    task's due date when the milestone lies after it, else None), warnings; the department's templates; the recurrence rule; comments. Nine queries.
    `subtasks`, when given, come from `selectors.task_detail` with their people and criteria
    attached already. `templates=False` leaves the templates out (the task page reads them
    when their form is opened)."""
    if subtasks is None:
        subtasks, hidden = need_to_know(
            user,
            list(
                Task.objects.filter(subtree_q(task.path))
                .exclude(pk=task.pk)
                .select_related("owner")
                .order_by("path")
            ),
        )
        attach_people_and_criteria(subtasks)
    else:
        hidden = getattr(task, "hidden_subtask_count", 0)
    tree = [task, *subtasks]
    ids = [t.pk for t in tree]
    for s in subtasks:
        s.indent = max(0, s.depth - task.depth - 1)
        s.is_leaf = s.next_child_number == 1 or not any(x.parent_id == s.pk for x in subtasks)
    # Compiled once per connection and tree size (core.compiled: building the two querysets
    # was ~4,000 Python calls each), for trees of up to COMPILED_TREE tasks; larger ones by
    # the ORM on each call.
    small = len(ids) <= COMPILED_TREE
    deps = [
        d
        # By id, not by a path range across two joins, so each side uses its FK index.
        for d in (
            compiled.rows(
                ("task_plan.dependencies", len(ids)) if small else None,
                TaskDependency,
                lambda *ids: (
                    TaskDependency.objects.filter(Q(successor_id__in=ids) | Q(predecessor_id__in=ids))
                    .select_related("predecessor", "successor")
                    .order_by("id")
                ),
                ids,
            )
            if extensions.task_has(task, "dependencies", tree=True)
            else ()
        )
        # Only links between tasks the person is shown: a hidden sibling stays a count.
        if hidden == 0 or (d.successor_id in ids and d.predecessor_id in ids)
    ]
    milestones = (
        compiled.rows(
            ("task_plan.milestones", len(ids)) if small else None,
            Milestone,
            lambda *ids: Milestone.objects.filter(task_id__in=ids).order_by("date", "id"),
            ids,
        )
        if extensions.task_has(task, "milestones", tree=True)
        else []
    )
    # A milestone after its own task's due date (the due date moved earlier since it was set,
    # which is allowed: `milestone_date_errors`) is marked on the page, so it is seen.
    due_of = {t.pk: t.due_date for t in tree}
    for m in milestones:
        due = due_of.get(m.task_id)
        m.after_due = due if due is not None and m.date > due else None
    by_pred: dict[int, list[str]] = {}
    for d in deps:
        by_pred.setdefault(d.successor_id, []).append(d.predecessor.code)
    for s in subtasks:
        s.after_codes = by_pred.get(s.pk, [])
    # The department's templates are its members' (shared things, docs/architecture.md).
    templates = (
        list(DecompositionTemplate.objects.filter(department_id=task.department_id).order_by("name"))
        if templates and permissions.can_create_in(user, task.department_id)
        else []
    )
    recurrence = (
        RecurrenceRule.objects.filter(prototype=task).first()
        if extensions.task_has(task, "recurrence")
        else None
    )
    comments = task_comments(task) if extensions.task_has(task, "comments") else []
    return Plan(
        subtasks=subtasks,
        dependencies=deps,
        milestones=milestones,
        warnings=plan_warnings(tree, deps),
        templates=templates,
        recurrence=recurrence,
        comments=comments,
        tree=tree,
        hidden=hidden,
    )
