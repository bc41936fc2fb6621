"""Throughput under a mixed load (issue 16, items 6 and 7): many people at once, 80 % reads
across the pages and the API, 20 % writes (daily updates, status moves, comments), from load
generator processes of their own against the app served as in production.

    python -m bench.load --database-url URL                       # over a database made by bench.generate
    python -m bench.load --database-url URL --duration 60 --users 24
    python -m bench.load --database-url URL --servers 2 --job-workers 2   # item 7: scale-out

1. In this process (Django, against the bench database): `--users` people of several
   departments (heads and specialists), an API token each, and what each may touch: visible
   tasks to read, own leaf tasks under way for updates, others for block/unblock moves (so
   two people never write the same task and versions never conflict), the timeline of a
   task with subtasks. With `--job-workers`, a signed webhook channel pointing at a local
   receiver (own process) that logs every `webhook-id` it gets.
2. `--servers` gunicorn servers (each `--workers` × `--threads`, gthread, as `make run`) and
   `--job-workers` `closeloop worker` processes, all in their own processes.
3. `--procs` load processes with `--users` virtual users spread over them, one keep-alive
   connection each, closed loop (a user sends its next request when the last one answered,
   `--think` ms later). Each picks an operation by weight (`MIX`); web pages with the session
   of a form login, writes on the web with the CSRF token of the page, API calls with the
   bearer token and the task's `version` where the API asks for it.
4. First `/healthz` alone with the same users (the ceiling of this server on this machine),
   then `--warmup` s unmeasured and `--duration` s measured of the mix.
5. Report: requests/s, error rate (any status ≥ 400 or connection error), p50/p95/p99 per
   operation and overall, the load average, "database is locked" in the servers' logs; with
   job workers, after the outbox drained: deliveries the receiver got twice (webhook-id),
   deliveries sent vs rows, job runs per (job, scope, slot) — each must be 1.
   bench/results/<date>-load-<db>-<label>.json and latest-load-<db>.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import multiprocessing as mp
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench.generate import BENCH_PASSWORD, BENCH_VAR, PROJECT_DIR, configure, production_env

RESULTS_DIR = Path(os.environ.get("CLOSELOOP_BENCH_RESULTS") or Path(__file__).resolve().parent / "results")

# Targets of issue 16 item 6.
TARGET_RPS = 300.0
TARGET_ERROR_RATE = 0.001
TARGET_P95_MS = 100.0

# (operation, weight in %): 80 reads, 20 writes.
MIX: list[tuple[str, int]] = [
    ("my_work", 12),
    ("list", 10),
    ("task_page", 14),
    ("api_get", 10),
    ("api_list", 6),
    ("board", 5),
    ("timeline", 4),
    ("workload", 4),
    ("calendar", 4),
    ("dashboard", 5),
    ("weekly_review", 4),
    ("api_notifications", 2),
    ("w_update", 8),  # POST /api/v1/tasks/<id>/updates
    ("w_transition", 5),  # POST /api/v1/tasks/<id>/transition, blocked ↔ in_progress, with version
    ("w_comment_api", 4),  # POST /api/v1/tasks/<id>/comments
    ("w_comment_web", 3),  # the task page's comment form, with its CSRF token
]
WRITES = {op for op, _ in MIX if op.startswith("w_")}
assert sum(w for _, w in MIX) == 100
assert sum(w for op, w in MIX if op in WRITES) == 20


# -- preparation (Django, in this process) ---------------------------------------------------


def prepare(users: int, seed: int) -> list[dict[str, Any]]:
    """The people of the run and what each touches. Tokens are created through the service."""
    from django.db.models import Count

    from closeloop.orgs.models import Department, Membership
    from closeloop.orgs.services import api_token_create
    from closeloop.tasks.models import Task

    rng = random.Random(seed)
    depts = list(Department.objects.filter(parent__isnull=False, head__isnull=False).order_by("id"))
    people = []
    # A head and specialists of each department in turn, until there are enough.
    per_dept = {
        d.id: [d.head]
        + [
            m.user
            for m in Membership.objects.filter(department=d, role="specialist")
            .exclude(user=d.head)
            .select_related("user")
            .order_by("user__username")[:8]
        ]
        for d in depts
    }
    i = 0
    while len(people) < users and any(per_dept.values()):
        d = depts[i % len(depts)]
        if per_dept[d.id]:
            u = per_dept[d.id].pop(0)
            if u not in people:
                people.append(u)
        i += 1
    taken: set[int] = set()
    plan = []
    for u in people:
        visible = list(Task.objects.visible_to(u).order_by("-id").values_list("id", flat=True)[:2000])
        own = [
            pk
            for pk in Task.objects.filter(owner=u, status="in_progress", children__isnull=True)
            .order_by("id")
            .values_list("id", flat=True)[:40]
            if pk not in taken
        ]
        taken.update(own)
        rng.shuffle(own)
        half = max(1, len(own) // 2)
        biggest = (
            Task.objects.visible_to(u)
            .filter(parent__isnull=True, status__in=["in_progress", "not_started"])
            .annotate(n=Count("children"))
            .order_by("-n", "id")
            .values_list("id", flat=True)
            .first()
        )
        _token, raw = api_token_create(actor=u, name=f"bench-load-{rng.random():.6f}")
        plan.append(
            {
                "username": u.username,
                "token": raw,
                "read": rng.sample(visible, k=min(100, len(visible))),
                "update": own[:half],
                "transition": own[half:] or own[:1],
                "timeline": biggest or (visible[0] if visible else 0),
            }
        )
    return plan


# -- the load (separate processes, stdlib HTTP only) ------------------------------------------


class User:
    """A virtual user: one person's session and token over one keep-alive connection each."""

    def __init__(self, port: int, spec: dict[str, Any], rng: random.Random) -> None:
        from bench.run import Http

        self.spec = spec
        self.rng = rng
        self.web = Http(port)
        self.api = Http(port, token=spec["token"])
        self.port = port
        self.versions: dict[int, int] = {}
        self.blocked: dict[int, bool] = {}
        self.csrf = ""
        self.n = 0

    def login(self) -> str:
        return self.web.login(self.spec["username"], BENCH_PASSWORD)

    def _task(self, key: str) -> int:
        pool = self.spec[key] or self.spec["read"]
        return self.rng.choice(pool)

    def do(self, op: str) -> tuple[int, float, str]:
        """Send one operation; (status, ms of its main request, note)."""
        self.n += 1
        s = self.spec
        if op == "my_work":
            return self.web.request("GET", "/")[::2] + ("",)
        if op == "list":
            return self.web.request("GET", "/tasks/")[::2] + ("",)
        if op == "task_page":
            return self.web.request("GET", f"/tasks/{self._task('read')}/")[::2] + ("",)
        if op == "api_get":
            return self.api.request("GET", f"/api/v1/tasks/{self._task('read')}")[::2] + ("",)
        if op == "api_list":
            return self.api.request("GET", "/api/v1/tasks")[::2] + ("",)
        if op == "board":
            return self.web.request("GET", "/board/")[::2] + ("",)
        if op == "timeline":
            return self.web.request("GET", f"/timeline/?task={s['timeline']}")[::2] + ("",)
        if op == "workload":
            return self.web.request("GET", "/workload/")[::2] + ("",)
        if op == "calendar":
            return self.web.request("GET", "/calendar/")[::2] + ("",)
        if op == "dashboard":
            return self.web.request("GET", "/dashboard/")[::2] + ("",)
        if op == "weekly_review":
            return self.web.request("GET", "/weekly-review/")[::2] + ("",)
        if op == "api_notifications":
            return self.api.request("GET", "/api/v1/notifications")[::2] + ("",)
        if op == "w_update":
            pk = self._task("update")
            body = {"percent": self.rng.randint(5, 95), "note": f"压测进度更新 #{self.n}:已完成区域数据汇总"}
            status, _b, ms = self.api.request("POST", f"/api/v1/tasks/{pk}/updates", body)
            return status, ms, ""
        if op == "w_transition":
            pk = self._task("transition")
            if pk not in self.versions:
                status, body, _ms = self.api.request("GET", f"/api/v1/tasks/{pk}")
                if status != 200:
                    return status, _ms, "version read"
                data = json.loads(body)
                self.versions[pk] = data["version"]
                self.blocked[pk] = data["status"] == "blocked"
            to = "in_progress" if self.blocked.get(pk) else "blocked"
            payload = {"to": to, "version": self.versions[pk], "note": "等待技术部接口支持(压测)"}
            status, body, ms = self.api.request("POST", f"/api/v1/tasks/{pk}/transition", payload)
            if status == 200:
                data = json.loads(body)
                self.versions[pk] = data["version"]
                self.blocked[pk] = data["status"] == "blocked"
            else:
                self.versions.pop(pk, None)  # read it again next time
            return status, ms, "" if status == 200 else body[:200].decode("utf-8", "replace")
        if op == "w_comment_api":
            pk = self._task("read")
            body = {"body": f"压测评论 #{self.n}:数据口径以财务部为准"}
            status, _b, ms = self.api.request("POST", f"/api/v1/tasks/{pk}/comments", body)
            return status, ms, ""
        if op == "w_comment_web":
            pk = self._task("read")
            if not self.csrf:
                status, page, _ms = self.web.request("GET", f"/tasks/{pk}/")
                m = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
                if not m:
                    return status, _ms, "no CSRF token on the task page"
                self.csrf = m[1].decode()
            from urllib.parse import urlencode

            form = urlencode({"csrfmiddlewaretoken": self.csrf, "body": f"压测网页评论 #{self.n}"})
            origin = f"http://127.0.0.1:{self.port}"
            status, _b, ms = self.web.request(
                "POST",
                f"/tasks/{pk}/comments/",
                form,
                headers={"Origin": origin, "Referer": f"{origin}/tasks/{pk}/"},
            )
            return status, ms, ""
        if op == "healthz":
            return self.web.request("GET", "/healthz")[::2] + ("",)
        raise ValueError(op)


def _client(
    ports: list[int],
    specs: list[dict],
    ops: list[tuple[str, int]],
    seconds: float,
    warmup: float,
    think_ms: float,
    seed: int,
    out: Any,
) -> None:
    """One load process: a thread per virtual user; sends its samples to `out`."""
    samples: list[tuple[str, int, float, float]] = []
    notes: Counter = Counter()
    lock = threading.Lock()
    start = time.monotonic() + 2.0  # everyone logged in first
    begin = start + warmup
    end = begin + seconds
    names = [op for op, _ in ops]
    weights = [w for _, w in ops]

    def run(i: int, spec: dict) -> None:
        rng = random.Random(seed * 1000 + i)
        u = User(ports[i % len(ports)], spec, rng)
        error = u.login() if any(not op.startswith("api") and op != "healthz" for op in names) else ""
        if error:
            with lock:
                notes[f"login: {error}"] += 1
            return
        while time.monotonic() < start:
            time.sleep(0.01)
        local = []
        while (now := time.monotonic()) < end:
            op = rng.choices(names, weights)[0]
            try:
                status, ms, note = u.do(op)
            except Exception as exc:  # noqa: BLE001 — a connection error is a failed request
                status, ms, note = 0, 0.0, f"{type(exc).__name__}: {exc}"
                u.web.conn.close()
                u.api.conn.close()
            if now >= begin:
                local.append((op, status, ms, time.monotonic() - begin))
                if note:
                    with lock:
                        notes[f"{op} {status}: {note[:160]}"] += 1
            if think_ms:
                time.sleep(rng.expovariate(1000.0 / think_ms))
        with lock:
            samples.extend(local)

    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(specs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((samples, dict(notes)))


def run_load(
    ports: list[int],
    plan: list[dict],
    *,
    procs: int,
    ops: list[tuple[str, int]],
    seconds: float,
    warmup: float,
    think_ms: float,
    seed: int,
) -> tuple[list, dict]:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    groups = [plan[i::procs] for i in range(procs)]
    children = [
        ctx.Process(target=_client, args=(ports, g, ops, seconds, warmup, think_ms, seed + k, queue))
        for k, g in enumerate(groups)
        if g
    ]
    for c in children:
        c.start()
    samples: list = []
    notes: Counter = Counter()
    for _ in children:
        s, n = queue.get()
        samples.extend(s)
        notes.update(n)
    for c in children:
        c.join()
    return samples, dict(notes)


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summarise(samples: list, seconds: float) -> dict[str, Any]:
    by_op: dict[str, list] = defaultdict(list)
    for op, status, ms, _t in samples:
        by_op[op].append((status, ms))

    def block(rows: list) -> dict[str, Any]:
        times = [ms for status, ms in rows if 0 < status < 400]
        errors = sum(1 for status, _ in rows if status == 0 or status >= 400)
        return {
            "n": len(rows),
            "per_s": round(len(rows) / seconds, 1),
            "errors": errors,
            "statuses": dict(Counter(status for status, _ in rows)),
            "p50_ms": round(pct(times, 0.5) or 0, 1),
            "p95_ms": round(pct(times, 0.95) or 0, 1),
            "p99_ms": round(pct(times, 0.99) or 0, 1),
        }

    total = block([(s, ms) for _op, s, ms, _t in samples])
    total["error_rate"] = round(total["errors"] / total["n"], 5) if total["n"] else None
    reads = block([(s, ms) for op, s, ms, _t in samples if op not in WRITES])
    writes = block([(s, ms) for op, s, ms, _t in samples if op in WRITES])
    return {
        "total": total,
        "reads": reads,
        "writes": writes,
        "ops": {op: block(r) for op, r in sorted(by_op.items())},
    }


# -- servers, workers, receiver ----------------------------------------------------------------

_RECEIVER = """
import asyncio, sys
log = open(sys.argv[1], "a", buffering=1)

async def handle(reader, writer):
    try:
        head = await reader.readuntil(b"\\r\\n\\r\\n")
        length, mid = 0, b"-"
        for line in head.split(b"\\r\\n"):
            low = line.lower()
            if low.startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
            if low.startswith(b"webhook-id:"):
                mid = line.split(b":", 1)[1].strip()
        if length:
            await reader.readexactly(length)
        log.write(mid.decode() + "\\n")
        writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n")
        await writer.drain()
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"""


def start_receiver(log_path: Path) -> tuple[subprocess.Popen, str]:
    log_path.write_text("")
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", _RECEIVER, str(log_path)], stdout=subprocess.PIPE, text=True
    )
    port = int(proc.stdout.readline().strip())
    return proc, f"http://127.0.0.1:{port}/hook"


def start_job_worker(database_url: str, n: int, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, **production_env(database_url), "NOTIFY_ALLOW_LOOPBACK": "1"}
    log = open(log_path, "w")  # noqa: SIM115 — lives as long as the worker
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "closeloop.manage", "worker", "--id", f"bench-worker-{n}"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def duplicates_report(receiver_log: Path, since, channel) -> dict[str, Any]:
    """After the run: every delivery and job run must have happened once. Deliveries are
    those of this run's channel: channels an earlier `bench.run` left behind are disabled,
    and their deliveries wait as held, as they would for any disabled channel."""
    from django.db.models import Count

    from closeloop.core.models import JobRun
    from closeloop.notify.models import Delivery, DeliveryState

    ids = [line.strip() for line in receiver_log.read_text().splitlines() if line.strip()]
    seen = Counter(ids)
    runs = JobRun.objects.filter(started_at__gte=since)
    twice = runs.values("job", "scope", "slot").annotate(n=Count("id")).filter(n__gt=1).count()
    queued = Delivery.objects.filter(channel=channel, created_at__gte=since)
    return {
        "webhook_received": len(ids),
        "webhook_distinct": len(seen),
        "webhook_received_twice": sum(1 for v in seen.values() if v > 1),
        "deliveries_created": queued.count(),
        "deliveries_sent": queued.filter(state=DeliveryState.SENT).count(),
        "deliveries_left": queued.exclude(state=DeliveryState.SENT).count(),
        "job_runs": runs.count(),
        "deliveries_by_worker": dict(Counter(queued.values_list("claimed_by", flat=True))),
        "job_slots_run_twice": twice,
    }


# -- main ----------------------------------------------------------------------------------------


def markdown(report: dict[str, Any]) -> str:
    t = report["load"]["total"]
    h = report["healthz"]["total"]
    lines = [
        f"# Mixed load, {report['database']} — {report['date']}",
        "",
        f"{report['dataset']} · git {report['git']} · {report['servers']} server(s) × "
        f"{report['workers']} workers × {report['threads']} threads · {report['job_workers']} job worker(s) · "
        f"{report['users']} users in {report['procs']} load processes · {report['seconds']} s measured · "
        f"load average {report['loadavg_before']} → {report['loadavg_after']}",
        "",
        "| figure | measured | target | × healthz | result |",
        "|---|---:|---:|---:|---|",
        f"| requests/s (mix) | {t['per_s']} | ≥ {TARGET_RPS:.0f} | {t['per_s'] / h['per_s']:.2f} of "
        f"{h['per_s']} | {'pass' if t['per_s'] >= TARGET_RPS else 'FAIL'} |",
        f"| errors | {t['errors']} of {t['n']} ({(t['error_rate'] or 0) * 100:.3f} %) | < 0.1 % | | "
        f"{'pass' if (t['error_rate'] or 0) < TARGET_ERROR_RATE else 'FAIL'} |",
        f"| p95 (all) | {t['p95_ms']} ms | ≤ {TARGET_P95_MS:.0f} ms | {t['p95_ms'] / max(h['p95_ms'], 0.1):.0f} | "
        f"{'pass' if t['p95_ms'] <= TARGET_P95_MS else 'FAIL'} |",
        f'| "database is locked" in the logs | {report["database_locked"]} | 0 | | '
        f"{'pass' if report['database_locked'] == 0 else 'FAIL'} |",
        "",
        "| operation | n | per s | errors | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, b in [
        ("healthz alone", h),
        ("all", t),
        ("reads", report["load"]["reads"]),
        ("writes", report["load"]["writes"]),
        *report["load"]["ops"].items(),
    ]:
        lines.append(
            f"| {name} | {b['n']} | {b['per_s']} | {b['errors']} | {b['p50_ms']} | {b['p95_ms']} | {b['p99_ms']} |"
        )
    if report.get("once"):
        o = report["once"]
        ok = o["webhook_received_twice"] == 0 and o["job_slots_run_twice"] == 0 and o["deliveries_left"] == 0
        lines += [
            "",
            f"Once each ({'pass' if ok else 'FAIL'}): {o['deliveries_created']} deliveries queued during the run, "
            f"{o['deliveries_sent']} sent, {o['deliveries_left']} left; the receiver got {o['webhook_received']} "
            f"webhooks, {o['webhook_distinct']} distinct, {o['webhook_received_twice']} twice; "
            f"sent by {o['deliveries_by_worker']}; {o['job_runs']} job runs, {o['job_slots_run_twice']} slots run twice.",
        ]
    if report["notes"]:
        lines += ["", "Notes (first of each kind):", ""]
        lines += [f"- {k} ×{v}" for k, v in list(report["notes"].items())[:15]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from bench.run import free_port, git_revision, start_server, stop_server

    p = argparse.ArgumentParser(description="Mixed read/write load against the app served as in production.")
    p.add_argument(
        "--database-url", required=True, help="a database made by bench.generate (it is written to)"
    )
    p.add_argument("--users", type=int, default=16, help="virtual users (people), default 16")
    p.add_argument("--procs", type=int, default=2, help="load generator processes, default 2")
    p.add_argument("--duration", type=float, default=30, help="measured seconds, default 30")
    p.add_argument("--warmup", type=float, default=5, help="unmeasured seconds first, default 5")
    p.add_argument("--think", type=float, default=0, help="mean pause between a user's requests, ms")
    p.add_argument("--servers", type=int, default=1, help="gunicorn servers (each its own master), default 1")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers per server, default 2")
    p.add_argument(
        "--threads", type=int, default=2, help="threads per gunicorn worker, default 2 (as `make run`)"
    )
    p.add_argument("--job-workers", type=int, default=0, help="`closeloop worker` processes (item 7)")
    p.add_argument("--seed", type=int, default=16)
    p.add_argument("--label", default="", help="name of the result files, e.g. M or scale-out")
    p.add_argument("--no-save", action="store_true")
    args = p.parse_args(argv)

    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    configure(args.database_url)
    from django.db import connection, connections
    from django.utils import timezone

    from closeloop.tasks.models import Task

    vendor = "postgres" if connection.vendor == "postgresql" else connection.vendor
    dataset = f"{Task.objects.count():,} tasks"
    plan = prepare(args.users, args.seed)
    since = timezone.now()
    receiver = None
    receiver_log = BENCH_VAR / f"load-receiver-{vendor}.log"
    if args.job_workers:
        import base64

        from closeloop.notify.models import Channel, ChannelKind

        receiver, hook = start_receiver(receiver_log)
        secret = "whsec_" + base64.b64encode(b"bench-load-secret-0123456789ab").decode()
        channel = Channel.objects.create(
            name=f"bench-load-{since:%H%M%S}", kind=ChannelKind.WEBHOOK, url=hook, secret=secret
        )
    connections.close_all()  # the load processes are forked: no shared database connection

    servers, ports, workers = [], [], []
    logs = []
    try:
        for i in range(args.servers):
            port = free_port()
            log = BENCH_VAR / f"load-gunicorn-{vendor}-{i}.log"
            logs.append(log)
            servers.append(start_server(args.database_url, port, args.workers, args.threads, log))
            ports.append(port)
        for i in range(args.job_workers):
            log = BENCH_VAR / f"load-worker-{vendor}-{i}.log"
            logs.append(log)
            workers.append(start_job_worker(args.database_url, i, log))
        print(
            f"{len(plan)} users; servers on {ports}; {len(workers)} job worker(s); load {loadavg()}",
            flush=True,
        )
        h_samples, _ = run_load(
            ports,
            plan,
            procs=args.procs,
            ops=[("healthz", 1)],
            seconds=5,
            warmup=1,
            think_ms=args.think,
            seed=args.seed,
        )
        healthz = summarise(h_samples, 5)
        print(
            f"healthz alone: {healthz['total']['per_s']} /s, p95 {healthz['total']['p95_ms']} ms", flush=True
        )
        before = loadavg()
        samples, notes = run_load(
            ports,
            plan,
            procs=args.procs,
            ops=MIX,
            seconds=args.duration,
            warmup=args.warmup,
            think_ms=args.think,
            seed=args.seed,
        )
        after = loadavg()
        load = summarise(samples, args.duration)
        once = None
        if args.job_workers:
            # Let the workers drain what the run queued (at most a minute), then count.
            from closeloop.notify.models import Delivery, DeliveryState

            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if (
                    not Delivery.objects.filter(channel=channel, created_at__gte=since)
                    .exclude(state=DeliveryState.SENT)
                    .exists()
                ):
                    break
                time.sleep(1)
            time.sleep(1)
            once = duplicates_report(receiver_log, since, channel)
    finally:
        for s in servers:
            stop_server(s)
        for w in workers:
            stop_server(w)
        if receiver is not None:
            receiver.terminate()
            receiver.wait()
    locked = sum(log.read_text(errors="replace").count("database is locked") for log in logs if log.exists())
    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": vendor,
        "dataset": dataset,
        "git": git_revision()["short"] + ("+dirty" if git_revision()["dirty"] else ""),
        "servers": args.servers,
        "workers": args.workers,
        "threads": args.threads,
        "job_workers": args.job_workers,
        "users": len(plan),
        "procs": args.procs,
        "seconds": args.duration,
        "cores": os.cpu_count(),
        "loadavg_before": before,
        "loadavg_after": after,
        "healthz": healthz,
        "load": load,
        "database_locked": locked,
        "once": once,
        "notes": notes,
    }
    table = markdown(report)
    print(table)
    if not args.no_save:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        label = args.label or ("scale-out" if args.servers > 1 or args.job_workers else "mix")
        day = dt.date.today().isoformat()
        (RESULTS_DIR / f"{day}-load-{vendor}-{label}.json").write_text(
            json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        (RESULTS_DIR / f"latest-load-{vendor}-{label}.md").write_text(table, encoding="utf-8")
    t = load["total"]
    ok = (t["error_rate"] or 0) < TARGET_ERROR_RATE and locked == 0
    if once:
        ok = ok and once["webhook_received_twice"] == 0 and once["job_slots_run_twice"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
