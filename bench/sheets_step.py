"""Benchmark of the spreadsheets (issue 14): import of a 10,000-row 日常任务清单表 (validation
and write, through the task services) and export of up to 100,000 tasks, each with its peak
memory. Each measurement runs in a forked child; its peak memory is what a process doing only
that work would hold: a fresh interpreter with Django and the app loaded plus what the child's
peak RSS grew above the pages it inherited (`_in_child`; a lower bound where the child reuses
memory the bench process freed); the child writes its timing to a pipe.

Called from bench/run.py's background measurement; alone:

    python -c "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='closeloop.settings'; \
        django.setup(); from bench.sheets_step import measure_sheets; print(measure_sheets())"

The import writes 10,000 tasks into the benchmark's database (made for this).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

IMPORT_ROWS = 10_000
EXPORT_TASKS = 100_000


def _proc_kb(field: str) -> int:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in KB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    """Start VmHWM again from the current RSS (Linux: /proc/PID/clear_refs, value 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def _fresh_process_kb() -> int:
    """RSS in KB of a new Python process with Django set up and the sheets code imported."""
    import subprocess
    import sys

    code = (
        "import django; django.setup(); import closeloop.sheets.services, closeloop.sheets.exporting; "
        "print([l for l in open('/proc/self/status') if l.startswith('VmRSS:')][0].split()[1])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=False
    )
    return int(done.stdout.strip() or 0)


def _in_child(fn: Callable[[], dict]) -> dict:
    """Run `fn` in a forked process; its result plus the child's peak RSS in MB."""
    from django.db import connections

    connections.close_all()  # the child opens its own connections
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        inherited = _proc_kb("VmRSS")
        _reset_peak()
        try:
            result = fn()
            result["grown_kb"] = max(0, _proc_kb("VmHWM") - inherited)
        except BaseException as exc:  # report, never return into the parent's code
            result = {"error": f"{type(exc).__name__}: {exc}"}
        with os.fdopen(write, "w") as out:
            out.write(json.dumps(result))
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as inp:
        data = inp.read()
    _pid, _status, usage = os.wait4(pid, 0)
    result = json.loads(data or "{}")
    # The forked child starts with the bench process's pages (the generated data set, 300 MB
    # and more at --scale 5), which ru_maxrss counts: the peak of a process that only imports
    # or exports is a fresh interpreter with Django and the app loaded plus what the work grew.
    if "grown_kb" in result:
        result["peak_mb"] = round((_fresh_process_kb() + result.pop("grown_kb")) / 1024, 1)
    else:
        result["peak_mb"] = round(usage.ru_maxrss / 1024, 1)  # KB on Linux
    # The child's own CPU time (not the database server's): on a loaded machine the wall
    # time says more about the neighbours than about the code.
    result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2)
    return result


def _sheet(path: Path, owners: list[str], rows: int) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("日常任务清单表")
    ws.append(["销售部 2026年 日常任务清单"])
    ws.append(["任务ID", "任务名称", "任务类型", "优先级", "负责人", "截止日期", "当前进度", "状态", "备注"])
    start = dt.date.today()  # noqa: DTZ011
    for i in range(rows):
        ws.append(
            [
                "",
                f"导入任务{i:05d}",
                "事务型",
                "高中低"[i % 3],
                owners[i % len(owners)],
                start + dt.timedelta(days=i % 90),
                (i % 100) / 100,
                "未开始",
                f"批量导入 {i}",
            ]
        )
    wb.save(path)


def measure_import(rows: int = IMPORT_ROWS) -> dict:
    from django.db.models import Count

    from closeloop.orgs.models import Department, Membership, User

    # A business department with its people (not the company root, where the head would own
    # every row and nobody would be told): up to 20 owners, each told once.
    department = (
        Department.objects.exclude(head=None).annotate(n=Count("memberships")).order_by("-n", "pk").first()
    )
    members = list(
        User.objects.filter(memberships__department=department, is_active=True)
        .exclude(name="")
        .values_list("username", flat=True)[:20]
    ) or [department.head.username]
    path = Path(tempfile.mkdtemp()) / "bench-import.xlsx"
    _sheet(path, members, rows)

    def run() -> dict:
        from closeloop.sheets.services import task_import_apply

        head = User.objects.get(pk=department.head_id)
        Membership.objects.get_or_create(user=head, department=department)
        started = time.perf_counter()
        plan = task_import_apply(actor=head, department=department, path=path)
        return {"seconds": round(time.perf_counter() - started, 2), "rows": plan.counts()["create"]}

    try:
        return _in_child(run)
    finally:
        path.unlink(missing_ok=True)
        path.parent.rmdir()


def measure_export(tasks: int = EXPORT_TASKS) -> dict:
    def run() -> dict:
        from closeloop.orgs.models import User
        from closeloop.sheets.exporting import Scope, template_for, write_workbook
        from closeloop.tasks.models import Task

        admin = User.objects.filter(is_superuser=True).first() or User.objects.first()
        admin.is_superuser = True  # in this child only: every task
        qs = Task.objects.order_by("path")[:tasks]
        started = time.perf_counter()
        with write_workbook(template_for("task-list"), Scope(user=admin, queryset=qs)) as out:
            size = out.seek(0, 2)
        return {
            "seconds": round(time.perf_counter() - started, 2),
            "rows": min(tasks, Task.objects.count()),
            "bytes": size,
        }

    return _in_child(run)


def measure_sheets() -> dict[str, float]:
    out: dict[str, float] = {}
    exp = measure_export()
    out["export_100k_s"] = exp.get("seconds", -1)
    out["export_100k_peak_mb"] = exp["peak_mb"]
    out["export_rows"] = exp.get("rows", 0)
    imp = measure_import()
    out["import_10k_s"] = imp.get("seconds", -1)
    out["import_10k_peak_mb"] = imp["peak_mb"]
    out["export_100k_cpu_s"] = exp["cpu_s"]  # the child process: reading rows and writing the file
    out["import_10k_cpu_s"] = imp["cpu_s"]  # the child process (the sheet is made before it forks)
    for name, result in (("export", exp), ("import", imp)):
        if "error" in result:
            print(f"  ! sheets {name} failed: {result['error']}", flush=True)
    return out
