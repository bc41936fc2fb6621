"""Benchmark data and measurement of intake and decomposition (issue 4).

Data step — register in bench/generate.py after the "tasks and subtasks" step:

    from bench.plan_step import plan_data
    step("plan: search index, dependencies, milestones")(plan_data)

It chains each parent's subtasks with finish-to-start dependencies and puts a milestone on
every parent (the search text is generate.py's own step).

Measurement — `python -m bench.plan_step [--requests 40]` (DJANGO_SETTINGS_MODULE set, the
bench database in DATABASE_URL) renders, in-process with Django's test client, the board of
the department with the most open tasks and the timeline of the task with the most subtasks,
and prints p50/p95 server time against the 150 ms target. With `--synthetic` it first adds a
department with 2,000 open tasks and a task with 200 subtasks (for an empty database).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

TARGET_MS = 150.0


def plan_data(ctx: Any) -> None:
    from bench.generate import save
    from closeloop.tasks.models import Milestone, TaskDependency

    # The search text is filled by generate.py's own step; this one adds the plan rows
    # (created at the dataset's moment; the chains hold each pair once).
    deps: list[tuple[int, int]] = []
    milestones: list[tuple[int, int, str, Any, bool]] = []
    department_of = {t.id: t.department_id for t in ctx.tasks}
    due_of = {t.id: t.due_date for t in ctx.tasks}
    cancelled = {t.id for t in ctx.tasks if t.status == "cancelled"}
    for parent_id, kids in ctx.children.items():
        if not kids:
            continue
        ordered = sorted(kids, key=lambda k: getattr(k, "id", k))
        ids = [getattr(k, "id", k) for k in ordered]
        deps.extend(zip(ids, ids[1:], strict=False))
        due = (
            max(getattr(k, "due_date", ctx.today) for k in ordered)
            if hasattr(ordered[0], "due_date")
            else ctx.today
        )
        # The milestone rule (`planning.services.decomposition.milestone_date_errors`): on or
        # before the parent's due date. The generator lays subtasks out by then already, so
        # this changes no row; it keeps the data valid if that layout ever changes.
        due = min(due, due_of[parent_id])
        milestones.append((parent_id, department_of[parent_id], "阶段评审", due, parent_id in cancelled))
    save(ctx, TaskDependency, deps, columns=("predecessor_id", "successor_id"))
    save(
        ctx,
        Milestone,
        milestones,
        columns=("task_id", "task_department_id", "title", "date", "task_cancelled"),
    )


def _synthetic() -> None:
    import datetime as dt

    from django.utils import timezone

    from closeloop.orgs.models import Membership
    from closeloop.tasks.models import Task, TaskDependency
    from closeloop.tasks.search import task_index_text
    from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member

    today = timezone.localdate()
    dept = DepartmentFactory(code="BENCH", name="压测部")
    head = UserFactory(username="bench_head", name="压测负责人", password="closeloop-demo")
    add_member(head, dept, Membership.Role.MANAGER)
    dept.head = head
    dept.save(update_fields=["head"])
    people = []
    for i in range(20):
        u = UserFactory(username=f"bench_p{i}", name=f"压测{i}")
        add_member(u, dept)
        people.append(u)
    statuses = ["not_started", "in_progress", "blocked", "submitted", "rework"]
    rows = []
    for i in range(2000):
        code = f"T{i + 1:04d}"
        due = today + dt.timedelta(days=i % 40 - 5)
        rows.append(
            Task(
                department=dept,
                initiator=head,
                owner=people[i % 20],
                code=code,
                title=f"月度销售报表{i}",
                due_date=due,
                original_due_date=due,
                status=statuses[i % 5],
                priority=1 + i % 3,
                search_text=task_index_text(department_code="BENCH", code=code, title=f"月度销售报表{i}"),
            )
        )
    Task.objects.bulk_create(rows, batch_size=1000)
    root = Task.objects.filter(department=dept).order_by("id").first()
    Task.objects.filter(pk=root.pk).update(
        path=Task.make_path(None, root.pk), start_date=today, due_date=today + dt.timedelta(days=60)
    )
    root.refresh_from_db()
    kids = []
    for i in range(200):
        due = today + dt.timedelta(days=i // 4)
        kids.append(
            Task(
                department=dept,
                initiator=head,
                owner=people[i % 20],
                code=f"{root.code}-{i + 1}",
                title=f"子任务{i}",
                parent=root,
                depth=1,
                due_date=due,
                original_due_date=due,
                start_date=due - dt.timedelta(days=2),
            )
        )
    Task.objects.bulk_create(kids, batch_size=1000)
    kids = list(Task.objects.filter(parent=root).order_by("id"))
    for k in kids:
        k.path = Task.make_path(root.path, k.pk)
    Task.objects.bulk_update(kids, ["path"])
    Task.objects.filter(pk=root.pk).update(next_child_number=201)
    TaskDependency.objects.bulk_create(
        [TaskDependency(predecessor=a, successor=b) for a, b in zip(kids, kids[1:], strict=False)]
    )


def _timed(client, url: str, n: int) -> list[float]:
    client.get(url)  # warm-up
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get(url)
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    return sorted(out)


def measure(requests: int = 40) -> dict[str, dict[str, float]]:
    from django.db.models import Count
    from django.test import Client

    from closeloop.orgs.models import Department
    from closeloop.tasks.models import Task
    from closeloop.tasks.states import CLOSED_STATUSES

    busiest = (
        Task.objects.exclude(status__in=CLOSED_STATUSES)
        .values("department_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    widest = Task.objects.filter(parent__isnull=True).order_by("-next_child_number").first()
    dept = Department.objects.get(pk=busiest["department_id"])
    client = Client()
    client.force_login(dept.head or Task.objects.filter(department=dept).first().initiator)
    results = {}
    for name, url in (
        (f"board ({busiest['n']} open tasks)", f"/board/?department={dept.pk}"),
        (f"timeline ({widest.next_child_number - 1} subtasks)", f"/timeline/?task={widest.pk}"),
    ):
        times = _timed(client, url, requests)
        p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
        results[name] = {"p50": statistics.median(times), "p95": p95, "target": TARGET_MS}
    return results


def main() -> None:
    import django

    django.setup()
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--synthetic", action="store_true")
    args = parser.parse_args()
    if args.synthetic:
        _synthetic()
    for name, r in measure(args.requests).items():
        verdict = "ok" if r["p95"] <= r["target"] else "SLOW"
        print(
            f"{name:40s} p50 {r['p50']:7.1f} ms  p95 {r['p95']:7.1f} ms  (target {r['target']:.0f}) {verdict}"
        )


if __name__ == "__main__":
    main()
