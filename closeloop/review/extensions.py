"""What review adds to pages the tasks app owns, through `closeloop.tasks.extensions`: the
acceptance panel on the task page (the rework banner, every round, links to submit or
review, the retrospective), the submit/accept transitions routed to this app's pages, the
criteria freeze, and the lessons of similar past tasks on the new-task form."""

from django.template.loader import render_to_string
from django.urls import reverse

from closeloop.core import compiled
from closeloop.review import html, selectors, services
from closeloop.review.models import Retrospective, Submission, Verdict, measured_display
from closeloop.tasks import extensions, permissions
from closeloop.tasks.selectors import submit_obstacles
from closeloop.tasks.states import Status


def task_panel(request, task) -> str:
    """Three queries whatever the number of rounds (`selectors.review_rounds`, the
    retrospective); the rounds are built in Python (review/html.py). None for a task the task
    page's presence flags say has no submission and no retrospective."""
    user = request.user
    rounds = selectors.review_rounds(task) if extensions.task_has(task, "submissions") else []
    pending = next((s for s in rounds if s["verdict"] == Verdict.PENDING), None)
    banner = (
        rounds[-1]
        if rounds and task.status == Status.REWORK and rounds[-1]["verdict"] == Verdict.REWORK
        else None
    )
    if banner is not None:
        for c in banner["checks"]:
            c["measured_display"] = measured_display(c["measured"], c["unit"])
    retro = _retrospective(task.pk) if extensions.task_has(task, "retrospective") else None
    context = {
        "task": task,
        "rounds": rounds,
        "rounds_html": html.acceptance_rounds(list(reversed(rounds))),
        "banner": banner,
        "pending": pending,
        # With no criteria or open subtasks the task page's actions say why instead.
        "may_submit": services.may_submit(user, task) and not submit_obstacles(task),
        "may_review": pending is not None and permissions.can_review(user, task),
        "frozen": bool(rounds) and task.is_open,
        "may_consent": bool(rounds) and task.is_open and permissions.can_review(user, task),
        "retro": retro,
        "may_write_retro": task.status == Status.DONE and services.may_write_retrospective(user, task),
    }
    return render_to_string("review/_panel.html", context, request=request)


def _retrospective_query(task_id: int):
    return Retrospective.objects.select_related("author", "edited_by").filter(task_id=task_id)[:1]


def _retrospective(task_id: int) -> Retrospective | None:
    """`Retrospective.objects.select_related("author", "edited_by").filter(task=task).first()` (its
    ordering, at most one row: one per task), by a query compiled once per connection
    (`core.compiled.rows`; prepared on PostgreSQL): compiling it was ~1,000 Python calls of
    a task page with a retrospective (issue 16)."""
    rows = compiled.rows("review.task_panel.retrospective", Retrospective, _retrospective_query, [task_id])
    return rows[0] if rows else None


def form_panel(request) -> str:
    return render_to_string("review/_similar_slot.html", {}, request=request)


def create_lessons(user, task) -> list[dict]:
    """For the task API's create answer: lessons of the most similar past tasks."""
    lessons = selectors.similar_lessons(
        user,
        title=task.title,
        customer_id=task.customer_id,
        project_id=task.project_id,
        task_type=task.task_type,
        department_id=task.department_id,
    )
    return [
        {
            "task_id": r.task_id,
            "full_code": r.task.full_code,
            "title": r.task.title,
            "what_worked": r.what_worked,
            "to_improve": r.to_improve,
            "tags": r.tags,
        }
        for r in lessons
        if r.task_id != task.pk
    ]


def _submit_url(task) -> str:
    return reverse("review:submit", args=[task.pk])


def _review_url(task) -> str:
    return reverse("review:task_review", args=[task.pk])


def register() -> None:
    extensions.register_task_panel(task_panel)
    extensions.register_task_presence("submissions", Submission)
    extensions.register_task_presence("retrospective", Retrospective)
    extensions.register_routed_transition(Status.SUBMITTED, _submit_url)
    extensions.register_routed_transition(Status.DONE, _review_url)
    extensions.register_routed_transition(Status.REWORK, _review_url)
    extensions.register_criteria_guard(services.criteria_guard)
    extensions.register_form_panel(form_panel)
    extensions.register_create_lessons(create_lessons)
