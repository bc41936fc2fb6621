"""Benchmark data and measurement of acceptance and the knowledge base (issue 13).

Data step — registered in bench/generate.py after the tracking step: every done task gets
one accepted submission and (up to 50,000) a retrospective with a lesson drawn from a
head's usual ones, indexed as the service indexes it.

Measurement — `python -m bench.review_step [--synthetic 50000] [--requests 40]`
(DJANGO_SETTINGS_MODULE set, the database in DATABASE_URL or the default SQLite file)
renders, in-process with Django's test client, 知识库 searches (two-character 报表, two
words, a tag, no query) on the page and the API for a department head, and prints p50/p95
server time against the 50 ms target. `--synthetic N` first adds a department with N done
tasks, each with a retrospective (for an empty database).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

TARGET_MS = 50.0
MAX_RETROSPECTIVES = 50_000

WORKED = [
    "每日站会同步进度,问题当天有人认领",
    "模板复用,汇总只需半天",
    "提前与客户确认需求范围,返工少",
    "数据口径先与财务对齐,一次通过验收",
    "里程碑拆得细,风险提前暴露",
]
IMPROVE = [
    "提前确认跨部门资源,设计和技术排期在启动会上锁定",
    "报表取数前先与财务对齐口径和区域清单",
    "客户反馈要在 24 小时内回复并记录",
    "验收标准要写成可量化的指标",
    "数据提取申请提前 3 个工作日提给技术部",
]
TAGS = [["跨部门", "资源"], ["报表", "数据口径"], ["客户"], ["验收"], ["数据"]]


def _retro_row(task, dept_code: str, customer: str, project: str, rng) -> dict:
    from closeloop.tasks.search import index_text

    i = rng.randrange(len(WORKED))
    j = rng.randrange(len(IMPROVE))
    tags = TAGS[j]
    return {
        "task_id": task.id,
        "department_id": task.department_id,
        "author_id": task.owner_id,
        "what_worked": WORKED[i],
        "to_improve": IMPROVE[j],
        "tags": tags,
        "tags_text": "," + ",".join(tags) + ",",
        "minutes_link": "",
        "search_text": index_text(
            task.code,
            f"{dept_code}-{task.code}",
            task.title,
            customer,
            project,
            WORKED[i],
            IMPROVE[j],
            " ".join(tags),
        ),
    }


def review_data(ctx: Any) -> None:
    from bench.generate import save
    from closeloop.review.models import Retrospective, Submission

    dept_code = {d.id: d.code for d in ctx.departments}
    project = {p.id: p.name for p in ctx.projects}
    customer = {c.id: c.name for c in ctx.customers}
    done = [t for t in ctx.tasks if t.status == "done"]
    subs = []
    for t in done:
        at = getattr(t, "completed_at", None) or ctx.now
        subs.append(
            {
                "task_id": t.id,
                "attempt": 1,
                "submitted_by_id": t.owner_id,
                "submitted_at": at,
                "key_results": "按验收标准完成",
                "completed_on": at.astimezone(ctx.tz).date(),
                "verdict": "accepted",
                "reviewed_by_id": t.initiator_id,
                "reviewed_at": at,
            }
        )
    save(ctx, Submission, subs)
    rows = [
        _retro_row(
            t,
            dept_code[t.department_id],
            customer.get(t.customer_id, ""),
            project.get(t.project_id, ""),
            ctx.rng,
        )
        for t in done[:MAX_RETROSPECTIVES]
    ]
    for r in rows:
        r["created_at"] = r["updated_at"] = ctx.now
    save(ctx, Retrospective, rows)


def _synthetic(n: int) -> None:
    import datetime as dt
    import random

    from django.utils import timezone

    from closeloop.orgs.models import Membership
    from closeloop.review.models import Retrospective
    from closeloop.tasks.models import Task
    from closeloop.tasks.search import task_index_text
    from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member

    rng = random.Random(13)
    now = timezone.now()
    titles = [
        "月度销售报表",
        "跨部门新品上线活动",
        "客户需求调研",
        "老用户召回活动",
        "季度经营分析",
        "渠道拓展计划",
    ]
    base = Task.objects.count()
    per_dept = n // 5
    for d in range(5):
        dept = DepartmentFactory(code=f"KB{d + 1}", name=f"知识部{d + 1}")
        head = UserFactory(username=f"kb{d + 1}_head", name=f"知识负责人{d + 1}")
        add_member(head, dept, Membership.Role.MANAGER)
        dept.head = head
        dept.save(update_fields=["head"])
        people = [head]
        for i in range(10):
            u = UserFactory(username=f"kb{d + 1}_p{i}", name=f"知识{d + 1}-{i}")
            add_member(u, dept)
            people.append(u)
        tasks = []
        for i in range(per_dept):
            code = f"K{base + d * per_dept + i + 1:06d}"
            title = f"{rng.choice(titles)}{i}"
            owner = rng.choice(people)
            tasks.append(
                Task(
                    department=dept, initiator=head, owner=owner, code=code, title=title, status="done",
                    progress=100, due_date=now.date() - dt.timedelta(days=i % 300),
                    original_due_date=now.date(), completed_at=now,
                    search_text=task_index_text(department_code=dept.code, code=code, title=title),
                )
            )  # fmt: skip
        Task.objects.bulk_create(tasks, batch_size=5000)
        rows = [
            Retrospective(**_retro_row(t, dept.code, "", "", rng))
            for t in Task.objects.filter(department=dept).only(
                "id", "code", "title", "owner_id", "department_id"
            )
        ]
        Retrospective.objects.bulk_create(rows, batch_size=5000)


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
    from closeloop.review.models import Retrospective

    top = Retrospective.objects.values("department_id").annotate(n=Count("id")).order_by("-n").first()
    dept = Department.objects.get(pk=top["department_id"])
    client = Client()
    client.force_login(dept.head)
    total = Retrospective.objects.count()
    results = {}
    for name, url in (
        ("page q=报表", "/knowledge/?q=%E6%8A%A5%E8%A1%A8"),
        ("page q=跨部门 资源", "/knowledge/?q=%E8%B7%A8%E9%83%A8%E9%97%A8+%E8%B5%84%E6%BA%90"),
        ("page tag=客户", "/knowledge/?tag=%E5%AE%A2%E6%88%B7"),
        ("page, no query", "/knowledge/"),
        ("API q=报表", "/api/v1/knowledge?q=%E6%8A%A5%E8%A1%A8&limit=20"),
    ):
        times = _timed(client, url, requests)
        p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
        results[f"{name} ({total} lessons, {top['n']} visible)"] = {
            "p50": statistics.median(times),
            "p95": p95,
            "target": TARGET_MS,
        }
    return results


def main() -> None:
    import django

    django.setup()
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--synthetic", type=int, default=0)
    args = parser.parse_args()
    if args.synthetic:
        _synthetic(args.synthetic)
    for name, r in measure(args.requests).items():
        verdict = "ok" if r["p95"] <= r["target"] else "SLOW"
        print(
            f"{name:48s} p50 {r['p50']:7.1f} ms  p95 {r['p95']:7.1f} ms  (target {r['target']:.0f}) {verdict}"
        )


if __name__ == "__main__":
    main()
