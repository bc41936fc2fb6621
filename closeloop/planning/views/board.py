"""The 看板 board page and its 'more cards' fragment."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from closeloop.planning.selectors import board as board_selectors
from closeloop.planning.views.common import _department_choice, _int
from closeloop.tasks import selectors
from closeloop.tasks.states import Status

# -- board -------------------------------------------------------------------------------------


@login_required
def board(request):
    """看板: columns by status; drag a card (or use its "move to" menu) to change its status."""
    choice = _department_choice(request)
    current = choice.current
    owner_id = request.user.pk if request.GET.get("mine") else None
    columns = board_selectors.board(
        request.user, department_id=current.pk if current else None, owner_id=owner_id
    )
    return render(
        request,
        "tasks/board.html",
        {
            "columns": columns,
            "departments": choice.departments,
            "current": current,
            "ignored_filters": choice.ignored,
            "mine": bool(owner_id),
            "needs_note": [Status.BLOCKED.value, Status.REWORK.value, Status.CANCELLED.value],
            "today": selectors.local_today(),
        },
    )


@login_required
def board_more(request):
    """A column's next cards, for htmx to put in place of its "N more" button; without
    JavaScript the button opens the task list filtered to that column (status, department,
    owner when "mine") — a whole page, where the fragment alone had no layout."""
    current = _department_choice(request).current
    status = request.GET.get("status", "")
    if status not in Status.values:
        raise Http404
    offset = max(0, _int(request.GET.get("offset"), 0))
    owner_id = request.user.pk if request.GET.get("mine") else None
    if not request.htmx:
        params = {"status": status}
        if current:
            params["department"] = current.pk
        if owner_id:
            params["owner"] = owner_id
        return redirect(f"{reverse('tasks:list')}?{urlencode(params)}")
    cards = board_selectors.board_more(
        request.user,
        status=status,
        department_id=current.pk if current else None,
        owner_id=owner_id,
        offset=offset,
    )
    return render(
        request,
        "tasks/_board_cards.html",
        {
            "cards": cards,
            "status": status,
            "next_offset": offset + len(cards),
            "has_more": len(cards) == board_selectors.PER_COLUMN,
            "current": current,
            "mine": bool(owner_id),
            "needs_note": [Status.BLOCKED.value, Status.REWORK.value, Status.CANCELLED.value],
            "today": selectors.local_today(),
        },
    )
