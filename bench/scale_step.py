"""Where each page's time goes at scale (issue 16, item 4): every page the navigation names,
rendered in-process for a department head and a specialist over a generated database, with
each query's time and, for the slowest, the database's own plan (PostgreSQL `EXPLAIN
(ANALYZE, BUFFERS)`, SQLite `EXPLAIN QUERY PLAN`).

    python -m bench.scale_step --database-url postgres://postgres@127.0.0.1:5432/cl_bench_m
    python -m bench.scale_step --database-url sqlite:///var/bench/bench-M.sqlite3 --only dashboard,weekly_review
    python -m bench.scale_step --database-url URL --explain 0        # timings only

A diagnosis, not the measurement: the timed figures are `make bench`'s (served by gunicorn,
measured from another process). Here each page is rendered `--repeat` times after one
warm-up and the median total and SQL times are printed, then the queries of the last render
that took longest, with their plans.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from bench.generate import configure

PAGES = [
    ("my_work", "/"),
    ("list", "/tasks/"),
    ("task_page", None),  # a visible task with subtasks, filled in below
    ("board", "/board/"),
    ("timeline", None),
    ("workload", "/workload/"),
    ("calendar", "/calendar/"),
    ("dashboard", "/dashboard/"),
    ("weekly_review", "/weekly-review/"),
    ("knowledge", "/knowledge/?q=%E6%8A%A5%E8%A1%A8"),  # 知识库, searching 报表
]


# Target p95 at scale M for every page the navigation names (issue 16 item 5).
TARGET_NAV_MS = 100.0


def scale_endpoints(endpoint: type, target_ms: float | None = TARGET_NAV_MS) -> list:
    """The pages the navigation names that `bench/run.py` did not measure yet: 工作量, 日历
    and 知识库 (searching 报表). `endpoint` is run.py's Endpoint class."""
    return [
        endpoint("workload", "工作量 workload", "web", "GET", ["/workload/"], target_ms),
        endpoint("calendar", "日历 calendar (this month)", "web", "GET", ["/calendar/"], target_ms),
        endpoint("knowledge", "知识库 search 报表", "web", "GET", ["/knowledge/?q=%E6%8A%A5%E8%A1%A8"], 50.0),
    ]


def sweeps() -> dict[str, float]:
    """The job sweeps at scale (target ≤ 5 s each at scale M): the reminder run and forecast
    sweep (`bench.tracking_step.measure_sweep`, at a moment the reminders fire), and the
    escalation sweep over the generated issues at a moment every open issue's next rung is
    due (three days on: the backlog after downtime, the worst case). Writes rungs and
    notifications; run it last on a benchmark database."""
    import os
    from datetime import timedelta

    from django.utils import timezone

    from bench.tracking_step import measure_sweep
    from closeloop.collab.jobs import escalate_issues
    from closeloop.collab.models import Issue

    out: dict[str, float] = {"loadavg_before": os.getloadavg()[0]}
    for key, seconds in measure_sweep().items():
        out[f"tracking_{key}_s"] = round(seconds, 3)
    at = timezone.now() + timedelta(days=3)
    out["open_issues"] = Issue.objects.filter(status="open").count()
    t0 = time.perf_counter()
    out["escalation_rungs"] = escalate_issues(at)
    out["escalation_sweep_s"] = round(time.perf_counter() - t0, 3)
    out["loadavg_after"] = os.getloadavg()[0]
    return out


def _explain(sql: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return [str(r[-1]) for r in cursor.fetchall()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", required=True)
    p.add_argument("--only", default="", help="comma-separated page keys")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--explain", type=int, default=2, help="plans of the N slowest queries per page")
    p.add_argument("--role", choices=("head", "specialist", "both"), default="head")
    p.add_argument(
        "--sweeps",
        action="store_true",
        help="instead of pages: time the job sweeps over the whole database (writes to it)",
    )
    args = p.parse_args(argv)
    configure(args.database_url)
    if args.sweeps:
        print(sweeps())
        return 0

    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.run import bench_people
    from closeloop.tasks.models import Task

    only = {k for k in args.only.split(",") if k}
    people = bench_people()
    if args.role != "both":
        people = [p for p in people if p[0] == args.role]
    print(f"{Task.objects.count():,} tasks, {connection.vendor}")
    for role, user in people:
        biggest = (
            Task.objects.visible_to(user)
            .filter(parent__isnull=True)
            .annotate(n=Count("children"))
            .order_by("-n", "id")
            .values_list("id", flat=True)
            .first()
        )
        client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE="zh-hans")
        client.force_login(user)
        for key, url in PAGES:
            if only and key not in only:
                continue
            url = url or (f"/tasks/{biggest}/" if key == "task_page" else f"/timeline/?task={biggest}")
            client.get(url)  # warm-up
            totals, sqls = [], []
            for _ in range(args.repeat):
                with CaptureQueriesContext(connection) as ctx:
                    t0 = time.perf_counter()
                    resp = client.get(url)
                    totals.append((time.perf_counter() - t0) * 1000)
                sqls.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
            queries = ctx.captured_queries
            print(
                f"\n== {role} {key} {url} → {resp.status_code}: {statistics.median(totals):.1f} ms median, "
                f"SQL {statistics.median(sqls):.1f} ms in {len(queries)} queries"
            )
            slowest = sorted(queries, key=lambda q: -float(q["time"]))[: max(args.explain, 3)]
            for i, q in enumerate(slowest):
                print(f"  {float(q['time']) * 1000:7.1f} ms  {q['sql'][:300]}")
                if i < args.explain and q["sql"].lstrip().upper().startswith("SELECT"):
                    for line in _explain(q["sql"]):
                        print(f"      | {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
