"""main's `my_work()` before the keys of both lists were read in one statement (issue 16),
kept as the reference the new one is compared with (test_my_work_random.py): verbatim but for
what awaits my acceptance, now read from `permissions.acceptors` task by task."""

from datetime import date, timedelta

from django.db.models import Q

from closeloop.tasks import extensions
from closeloop.tasks.models import Task, TaskCollaborator
from closeloop.tasks.selectors import (
    MY_WORK_GROUP_ROWS,
    MY_WORK_REVIEW_ROWS,
    MyWork,
    local_today,
    my_work_rows,
)
from closeloop.tasks.states import CLOSED_STATUSES, Status

MY_WORK_INLINE_IDS = 1000  # main's, which my_work no longer needs (it joins the links)


def reference_my_work(user, *, today: date | None = None, per_group: int = MY_WORK_GROUP_ROWS) -> MyWork:
    today = today or local_today()
    end_of_week = today + timedelta(days=6 - today.weekday())
    helping = TaskCollaborator.objects.filter(user=user).exclude(task__status__in=CLOSED_STATUSES)
    helping_ids = list(helping.values_list("task_id", flat=True)[: MY_WORK_INLINE_IDS + 1])
    if len(helping_ids) > MY_WORK_INLINE_IDS:
        helping_ids = helping.values("task_id")
    mine = Task.objects.filter(Q(owner=user) | Q(id__in=helping_ids)).exclude(status__in=CLOSED_STATUSES)
    groups: dict[str, list[int]] = {"overdue": [], "today": [], "this_week": [], "later": []}
    for pk, due, _priority in sorted(
        mine.values_list("id", "due_date", "priority"), key=lambda r: (r[1], r[2], r[0])
    ):
        if due < today:
            groups["overdue"].append(pk)
        elif due == today:
            groups["today"].append(pk)
        elif due <= end_of_week:
            groups["this_week"].append(pk)
        else:
            groups["later"].append(pk)
    out = MyWork(counts={key: len(ids) for key, ids in groups.items()})
    shown = [pk for ids in groups.values() for pk in ids[:per_group]]
    rows = {t.pk: t for t in extensions.prepare_rows(my_work_rows(Task.objects.filter(pk__in=shown)))}
    for key, ids in groups.items():
        setattr(out, key, [rows[pk] for pk in ids[:per_group] if pk in rows])
    # Who accepts: not main's rule any more (every submitted task of the departments I lead
    # from above, the superior included), but whom the submission notifies
    # (`permissions.acceptors`, walked from each task up), for the tasks without a reviewer.
    from closeloop.tasks.permissions import acceptors

    submitted = (
        Task.objects.filter(status=Status.SUBMITTED)
        .exclude(owner=user)
        .select_related("department", "reviewer")
        .order_by("due_date", "id")
    )
    review_ids = [
        t.pk
        for t in submitted
        if t.reviewer_id == user.pk or (t.reviewer_id is None and user.pk in {u.pk for u in acceptors(t)})
    ]
    out.counts["to_review"] = len(review_ids)
    review = Task.objects.filter(pk__in=review_ids[:MY_WORK_REVIEW_ROWS])
    out.to_review = list(
        extensions.prepare_rows(my_work_rows(review)).order_by("due_date", "id")[:MY_WORK_REVIEW_ROWS]
    )
    return out
