"""The 时间线 timeline page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from closeloop.orgs.selectors import visible_department_ids
from closeloop.planning.selectors import timeline as timeline_selectors
from closeloop.planning.views.common import _department_choice
from closeloop.tasks import selectors

# -- timeline ----------------------------------------------------------------------------------


@login_required
def timeline(request):
    """时间线: one task with its subtasks (?task=ID), or a department's open top-level tasks."""
    zoom = request.GET.get("zoom", "week")
    root = None
    if request.GET.get("task"):
        root = selectors.access_task(request.user, request.GET["task"])
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
            "ignored_filters": [] if root else choice.ignored,
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
