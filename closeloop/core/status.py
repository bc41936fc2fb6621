"""The admin status page: worker heartbeats, recent periodic runs, and warnings that apps
register (e.g. the work calendar lacking next year's schedule)."""

import datetime as dt
from collections.abc import Callable

from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.models import JobRun, WorkerHeartbeat

WarningProvider = Callable[[], list[str]]
WARNINGS: list[WarningProvider] = []
ALIVE_WITHIN = dt.timedelta(seconds=30)


def register_status_warning(fn: WarningProvider) -> None:
    if fn not in WARNINGS:
        WARNINGS.append(fn)


def collect_warnings() -> list[str]:
    out: list[str] = []
    for fn in WARNINGS:
        out.extend(fn())
    return out


@staff_member_required
def status_page(request):
    now = timezone.now()
    workers = list(WorkerHeartbeat.objects.all()[:50])
    for w in workers:
        w.alive = w.stopped_at is None and now - w.last_seen <= ALIVE_WITHIN
    warnings = collect_warnings()
    if not any(w.alive for w in workers):
        warnings.insert(
            0, _("No worker is running: reminders, escalations and deliveries are not being sent.")
        )
    return render(
        request,
        "core/status.html",
        {
            "title": _("System status"),
            "workers": workers,
            "runs": JobRun.objects.order_by("-started_at")[:30],
            "warnings": warnings,
            "now": now,
        },
    )
