"""The 时间线 timeline page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _

from closeloop.core.ids import is_id
from closeloop.orgs.selectors import visible_department_ids
from closeloop.planning.selectors import timeline as timeline_selectors
from closeloop.planning.views.common import _department_choice
from closeloop.tasks import selectors

# -- timeline ----------------------------------------------------------------------------------


@login_required
def timeline(request):
    """时间线: one task with its subtasks (?task=ID), or a department's open top-level tasks.

    A value the page cannot use (?task=abc, ?zoom=year) is named above the page, as the task
    list names a filter value it does not have, and the page shows what the other parameters
    ask for (the department's timeline, the week zoom). A task id that names no task the
    person sees stays a 404: the page never tells a hidden task from a missing one."""
    ignored: list[dict] = []
    root = None
    raw_task = request.GET.get("task", "").strip()
    if raw_task and is_id(raw_task):
        root = selectors.access_task(request.user, raw_task)
    elif raw_task:
        ignored.append({"label": _("Task"), "value": raw_task, "message": ""})
    zoom = request.GET.get("zoom", "").strip() or "week"
    if zoom not in timeline_selectors.ZOOM_DAY_WIDTH:
        ignored.append({"label": _("Zoom"), "value": zoom, "message": ""})
        zoom = "week"
    choice = _department_choice(request)
    current = choice.current
    data = timeline_selectors.timeline(
        request.user, root=root, department_id=None if root else (current.pk if current else None), zoom=zoom
    )
    return render(
        request,
        "tasks/timeline.html",
        {
            "tl": data,
            "root": root,
            "departments": choice.departments,
            "current": current,
            "zoom": data.zoom,
            # The department is not the page's when it shows one task: not named then.
            "ignored_filters": ignored + ([] if root else choice.ignored),
            # A department the person does not see whole: an empty timeline says why (only
            # the tasks they take part in are shown), not that the department has none.
            "partial": bool(
                current
                and not root
                and not request.user.is_superuser
                and current.pk not in visible_department_ids(request.user)
            ),
        },
    )
