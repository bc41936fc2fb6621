"""Benchmark data of cross-department collaboration (issue 16, scale M): the issue log
(跨部门协作任务表) with the escalation ladder each issue climbed, as `collab.services` would
have left it under the default ladder (first rung 24 h after raising, the next 24 h later,
two levels: the head of the task's department, then the head of its parent).

About 3 % of tasks carry an issue (a collaborative task or one with a cross-department
collaborator more often); issues on closed tasks are resolved or withdrawn, those on open
tasks are open in two of three cases. An open issue's `level` and `next_escalation_at` are
what the sweep would have recorded by now, so the escalation job's next run reads only what
comes due after the dataset was made.

Registered in bench/generate.py after the other feature steps:

    from bench.collab_step import collab_data
    step("collab: issues, escalations")(collab_data)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

PROBLEMS = [
    "接口文档与实际返回不一致,需技术部确认",
    "用户数据口径不统一,需运营部提供明细",
    "活动预算超出,需财务部审批",
    "合同条款需法务审核后才能推进",
    "客户需求变更,需产品部重新评估排期",
    "物料设计稿未按期交付",
    "报表数据与财务数据有差异",
    "外部供应商交付延迟",
]
RESOLUTIONS = ["已与对方部门对齐口径", "对方已提供数据", "预算审批已通过", "已调整排期并同步客户"]
FIRST_AFTER = timedelta(hours=24)
THEN_EVERY = timedelta(hours=24)
LEVELS = 2


def collab_data(ctx: Any) -> None:
    from bench.generate import CLOSED, save
    from closeloop.collab.models import Escalation, Issue

    rng = ctx.rng
    dept_by_id = {d.id: d for d in ctx.departments}
    issues: list[dict] = []
    rungs: list[dict] = []
    parties: list[dict] = []
    for t in ctx.tasks:
        helpers = ctx.collaborators.get(t.id, ())
        chance = 0.12 if helpers else 0.02
        if rng.random() >= chance:
            continue
        dept = dept_by_id[t.department_id]
        others = [d for d in ctx.departments if d.id != dept.id]
        party = rng.choice(others) if others else dept
        head = ctx.staff[party.id]["head"]
        resolver_id = head.id if head else t.owner_id
        raised = ctx.between(
            t.created_at, min(ctx.now - timedelta(hours=1), t.completed_at or t.cancelled_at or ctx.now)
        )
        closed_task = t.status in CLOSED
        if closed_task or rng.random() < 0.34:
            status = "withdrawn" if rng.random() < 0.1 else "resolved"
            end = t.completed_at or t.cancelled_at or ctx.now
            resolved_at = ctx.between(raised + timedelta(minutes=30), max(end, raised + timedelta(hours=1)))
            resolved_at = min(resolved_at, ctx.now)
        else:
            status, resolved_at = "open", None
        until = resolved_at or ctx.now
        # Rungs recorded before the issue was closed (or by now).
        level = 0
        while level < LEVELS and raised + FIRST_AFTER + THEN_EVERY * level <= until:
            level += 1
        nxt = raised + FIRST_AFTER + THEN_EVERY * level if status == "open" and level < LEVELS else None
        issue_id = ctx.next_ids(Issue, 1)[0]
        issues.append(
            dict(
                id=issue_id,
                task_id=t.id,
                task_department_id=t.department_id,
                problem=rng.choice(PROBLEMS),
                raised_by_id=t.owner_id,
                raised_at=raised,
                resolver_id=resolver_id,
                deadline=raised + timedelta(hours=rng.choice((24, 48, 72))),
                status=status,
                resolution=rng.choice(RESOLUTIONS) if status == "resolved" else "",
                resolved_by_id=resolver_id if resolved_at else None,
                resolved_at=resolved_at,
                level=level,
                next_escalation_at=nxt,
            )
        )
        parties.append(dict(issue_id=issue_id, department_id=party.id))
        for lv in range(1, level + 1):
            to_dept = dept if lv == 1 else ctx.root
            due = raised + FIRST_AFTER + THEN_EVERY * (lv - 1)
            rungs.append(
                dict(
                    issue_id=issue_id,
                    level=lv,
                    escalated_to_id=(to_dept.head_id or to_dept.deputy_id),
                    department_id=to_dept.id,
                    due_at=due,
                    created_at=min(due + timedelta(minutes=rng.randint(0, 2)), ctx.now),
                )
            )
    save(ctx, Issue, issues)
    save(ctx, Issue.party_departments.through, parties)
    save(ctx, Escalation, rungs)
