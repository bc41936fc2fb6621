"""Comments on the task page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from closeloop.core.errors import DomainError
from closeloop.tasks import comments as comment_services
from closeloop.tasks import extensions, selectors


@login_required
@require_POST
def comment_add(request, pk: int):
    task = selectors.access_task(request.user, pk)
    error = None
    try:
        comment_services.comment_add(actor=request.user, task=task, body=request.POST.get("body", ""))
    except DomainError as exc:
        error = exc
    if request.htmx:
        comments = selectors.task_comments(task)
        return render(
            request,
            "tasks/_comments.html",
            {
                "task": task,
                "comments": comments,
                "comment_error": error,
                "posted": request.POST.get("body", "") if error else "",
            },
        )
    if error:
        # Without JS the task page itself, at this address, the message under the comment box
        # and what was typed still in it (a redirect lost both: a 5,001-character comment).
        posted = request.POST.get("body", "")
        return extensions.task_page(
            request,
            pk,
            status=error.status,
            context=lambda _task: {"comment_error": error, "posted": posted},
        )
    return redirect(reverse("tasks:detail", args=[pk]) + "#comments")
