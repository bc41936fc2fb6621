"""Writes of insights: the weekly review's meeting notes, and making a review ready."""

from datetime import date, datetime

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.errors import NotAllowed, ValidationFailed
from closeloop.core.versioning import saved_meanwhile
from closeloop.insights.models import WeeklyReview
from closeloop.notify.services import notify
from closeloop.orgs.models import Department, User
from closeloop.orgs.selectors import is_member
from closeloop.tracking import cadence

NOTES_MAX = 20000


def review_url(department: Department, week_start: date) -> str:
    return reverse("insights:weekly_review") + f"?department={department.pk}&week={week_start.isoformat()}"


def notes_version(review: WeeklyReview | None) -> int:
    """The version of a week's notes a page or API client read: the row's, or 1 when the week
    has no row yet (the version `weekly_review_ready` or the first save creates it with, so a
    row made ready meanwhile does not count as someone's save)."""
    return review.version if review is not None else 1


def weekly_review_notes_save(
    *,
    actor: User,
    department: Department,
    week_start: date,
    notes: str,
    expected_version: int | None = None,
) -> WeeklyReview:
    """Save the meeting notes of a department's week (members and leaders of the department).

    `expected_version` is the version the writer read (`notes_version`); when notes were saved
    since by someone else nothing is written: Conflict (409 `version_conflict`) saying so.
    None skips the check (demo data only; the page and the API always send it). Every save
    raises `version` by one."""
    if not is_member(actor, department.pk):
        raise NotAllowed(
            _("Only members of %(dept)s write its weekly review notes.") % {"dept": department.name}
        )
    notes = (notes or "").strip()
    if len(notes) > NOTES_MAX:
        raise ValidationFailed(
            _("The notes are too long."), fields={"notes": [_("At most 20000 characters.")]}
        )
    week_start = cadence.week_start(week_start)
    with transaction.atomic():
        review, _created = WeeklyReview.objects.select_for_update().get_or_create(
            department=department, week_start=week_start
        )
        if expected_version is not None and review.version != expected_version:
            raise saved_meanwhile(
                _(
                    "Someone else saved these meeting notes after you opened the page; nothing of "
                    "yours was saved. What you typed is kept below, next to what is saved now: "
                    "merge the two and save again."
                ),
                now=review.version,
                sent=expected_version,
            )
        WeeklyReview.objects.filter(pk=review.pk).update(
            notes=notes, notes_by=actor, notes_at=timezone.now(), version=F("version") + 1
        )
    return WeeklyReview.objects.get(pk=review.pk)


def weekly_review_ready(*, department: Department, week_start: date, now: datetime) -> WeeklyReview | None:
    """Mark the week's review ready and post it to the department's group (and tell the head
    and deputy), once: the conditional UPDATE on `posted_at` is the claim."""
    with transaction.atomic():
        review, _created = WeeklyReview.objects.get_or_create(department=department, week_start=week_start)
        if (
            WeeklyReview.objects.filter(pk=review.pk, posted_at__isnull=True).update(
                ready_at=now, posted_at=now
            )
            != 1
        ):
            return None
        notify(
            recipients=[u for u in (department.head, department.deputy) if u is not None],
            kind="weekly_review.ready",
            data={"department": department.name, "week": week_start.isoformat()},
            link=review_url(department, week_start),
            department=department,
        )
    return WeeklyReview.objects.get(pk=review.pk)
