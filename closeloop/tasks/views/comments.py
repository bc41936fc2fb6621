"""Comments on the task page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from closeloop.core.errors import DomainError
from closeloop.tasks import comments as comment_services
from closeloop.tasks import selectors


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
        messages.error(request, error.message)
    return redirect(reverse("tasks:detail", args=[pk]) + "#comments")
