"""Benchmark data and measurement of acceptance and the knowledge base (issue 13).

Data step — registered in bench/generate.py after the tracking step: every done task gets
one accepted submission and (up to 50,000) a retrospective with a lesson drawn from a
head's usual ones, indexed as the service indexes it; 20 submitted tasks of the first
department get 10 criteria and 3 rounds (`review_rounds`).

Rows of `make bench` — `review_endpoints`, added to bench/run.py's list: 知识库 searches and
the review / task page of those tasks (see bench/README.md).

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


REVIEW_TASKS = 20  # tasks of the first department waiting for their third attempt's review
REVIEW_CRITERIA = 10
REVIEW_ROUNDS = 3


def review_rounds(ctx: Any) -> None:
    """Up to REVIEW_TASKS submitted top-level tasks of the first department (not the head's own,
    no named reviewer: the head accepts them) get REVIEW_CRITERIA criteria (a third measurable)
    and REVIEW_ROUNDS attempts: two sent back for rework, each criterion judged and the failed
    ones commented, with a file and a link; the third waiting for review. These are the pages
    `review_endpoints` measures."""
    import datetime as dt
    from decimal import Decimal

    from bench.generate import CRITERIA_MEASURABLE, CRITERIA_TEXT, REWORK_NOTES, save
    from closeloop.review.models import CriterionCheck, Deliverable, Submission
    from closeloop.tasks.models import AcceptanceCriterion

    dept = ctx.departments[0]
    head_id = ctx.staff[dept.id]["head"].id
    chosen = [
        t
        for t in ctx.tasks
        if t.department_id == dept.id
        and t.status == "submitted"
        and t.parent_id is None
        and t.owner_id != head_id
        and not t.reviewer_id
    ][:REVIEW_TASKS]
    if not chosen:
        return
    ids = [t.id for t in chosen]
    AcceptanceCriterion.objects.filter(task_id__in=ids).delete()
    rng = ctx.rng
    criteria, subs, checks, files = [], [], [], []
    sub_id = (Submission.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    crit_id = (AcceptanceCriterion.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    for t in chosen:
        spec = []
        for pos in range(1, REVIEW_CRITERIA + 1):
            if pos % 3 == 1:
                text, metric, comparator, threshold, unit = CRITERIA_MEASURABLE[
                    pos % len(CRITERIA_MEASURABLE)
                ]
            else:
                text, metric, comparator, threshold, unit = rng.choice(CRITERIA_TEXT), "", "", None, ""
            row = dict(
                id=crit_id, task_id=t.id, position=pos, text=text, metric=metric,
                comparator=comparator, threshold=threshold, unit=unit,
            )  # fmt: skip
            crit_id += 1
            criteria.append(row)
            spec.append(row)
        start = (t.submitted_at or ctx.now) - dt.timedelta(days=2 * REVIEW_ROUNDS)
        for attempt in range(1, REVIEW_ROUNDS + 1):
            at = start + dt.timedelta(days=2 * (attempt - 1))
            last = attempt == REVIEW_ROUNDS
            subs.append(
                dict(
                    id=sub_id, task_id=t.id, department_id=t.department_id, attempt=attempt, submitted_by_id=t.owner_id, submitted_at=at,
                    key_results=f"第{attempt}次提交:完成10个区域的月报,附数据明细", completed_on=at.date(),
                    progress_at_submit=100, verdict="pending" if last else "rework",
                    reviewed_by_id=None if last else head_id,
                    reviewed_at=None if last else at + dt.timedelta(hours=20),
                    review_comment="" if last else REWORK_NOTES[attempt % len(REWORK_NOTES)],
                )
            )  # fmt: skip
            for c in spec:
                failed = not last and c["position"] in (attempt, attempt + 3)
                measured = None
                if c["metric"] and not last:
                    measured = c["threshold"] - 1 if failed and c["comparator"] == ">=" else c["threshold"]
                checks.append(
                    dict(
                        submission_id=sub_id, criterion_id=c["id"], position=c["position"], text=c["text"],
                        metric=c["metric"], comparator=c["comparator"], threshold=c["threshold"],
                        unit=c["unit"], passed=None if last else not failed,
                        measured=None if measured is None else Decimal(measured),
                        comment=REWORK_NOTES[c["position"] % len(REWORK_NOTES)] if failed else "",
                    )
                )  # fmt: skip
            files.append(
                dict(
                    submission_id=sub_id, kind="file", file=f"deliverables/bench/{t.id}-{attempt}.pdf",
                    name=f"月度销售报表-第{attempt}版.pdf", content_type="application/pdf", size=182_000, url="",
                )
            )  # fmt: skip
            files.append(
                dict(
                    submission_id=sub_id, kind="link", file="", name="数据明细",
                    url=f"https://pan.example.com/s/{t.id}-{attempt}", content_type="", size=0,
                )
            )  # fmt: skip
            sub_id += 1
    save(ctx, AcceptanceCriterion, criteria)
    save(ctx, Submission, subs)
    save(ctx, CriterionCheck, checks)
    save(ctx, Deliverable, files)


def review_data(ctx: Any) -> None:
    import datetime as dt

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
                "department_id": t.department_id,
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
    for t, r in zip(done, rows, strict=False):
        written = (getattr(t, "completed_at", None) or ctx.now) + dt.timedelta(hours=ctx.rng.randrange(2, 72))
        r["created_at"] = r["updated_at"] = min(written, ctx.now)
    save(ctx, Retrospective, rows)
    review_rounds(ctx)


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


def review_endpoints(user, rng) -> list:
    """Rows of `make bench` (bench/run.py) for `user`: 知识库 searches on the page and the API
    (target 50 ms p95, judged with at least 50,000 retrospectives: `--scale 5` or more), and
    the review page and task page of a task with 10 criteria and 3 rounds (the task page
    target). The review page only for someone who may accept those tasks."""
    from bench.run import TARGET_PAGE_MS, Endpoint
    from closeloop.review.models import Retrospective, Submission
    from closeloop.review.selectors import visible_retrospectives
    from closeloop.tasks.models import Task
    from closeloop.tasks.permissions import can_review

    total = Retrospective.objects.count()
    visible = visible_retrospectives(user).count()
    lessons = f"{total:,} lessons, {visible:,} visible"
    out = [
        Endpoint("knowledge_q", "知识库 q=报表", "web", "GET", ["/knowledge/?q=%E6%8A%A5%E8%A1%A8"], TARGET_MS, rows=lessons),
        Endpoint(
            "knowledge_q2", "知识库 q=跨部门 资源", "web", "GET",
            ["/knowledge/?q=%E8%B7%A8%E9%83%A8%E9%97%A8+%E8%B5%84%E6%BA%90"], TARGET_MS, rows=lessons,
        ),
        Endpoint("knowledge_tag", "知识库 tag=客户", "web", "GET", ["/knowledge/?tag=%E5%AE%A2%E6%88%B7"], TARGET_MS, rows=lessons),
        Endpoint("knowledge", "知识库, no query", "web", "GET", ["/knowledge/"], TARGET_MS, rows=lessons),
        Endpoint(
            "knowledge_api", "API knowledge q=报表", "api", "GET",
            ["/api/v1/knowledge?q=%E6%8A%A5%E8%A1%A8&limit=20"], TARGET_MS, rows=lessons,
        ),
    ]  # fmt: skip
    three = (
        Submission.objects.filter(attempt=REVIEW_ROUNDS, verdict="pending")
        .values_list("task_id", flat=True)
        .order_by("task_id")
    )
    tasks = list(Task.objects.visible_to(user).filter(pk__in=list(three)).select_related("department"))
    if tasks:
        rows = f"{len(tasks)} tasks in turn, {REVIEW_CRITERIA} criteria, {REVIEW_ROUNDS} rounds"
        out.append(
            Endpoint("task_page_rounds", "task page, 3 rounds", "web", "GET",
                     [f"/tasks/{t.pk}/" for t in tasks], TARGET_PAGE_MS, rows=rows)
        )  # fmt: skip
        reviewable = [t for t in tasks if can_review(user, t)]
        if reviewable:
            out.append(
                Endpoint("review_page", "验收 review page, 3 rounds", "web", "GET",
                         [f"/tasks/{t.pk}/review/" for t in reviewable], TARGET_PAGE_MS, rows=rows)
            )  # fmt: skip
    return out


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
