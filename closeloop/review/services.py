"""Every write of acceptance and retrospectives: submitting for acceptance, reviewing it
criterion by criterion, consenting to change frozen criteria, writing a retrospective.

Task status moves only through `tasks.services.task_transition` (the one status machine in
`tasks.states`): 待验收 on submission, 已完成 or 返工 on the verdict. Each function takes the
acting person, checks permission and state, writes in one transaction, appends a TaskEvent
and queues notifications in that transaction.
"""

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from closeloop.core.errors import Conflict, NotAllowed, Unavailable, ValidationFailed, raise_if_errors
from closeloop.core.versioning import saved_meanwhile
from closeloop.notify.services import notify
from closeloop.orgs.models import User
from closeloop.review import files as deliverable_files
from closeloop.review import search
from closeloop.review.models import (
    CriteriaConsent,
    CriterionCheck,
    Deliverable,
    DeliverableKind,
    Retrospective,
    ReviewPolicy,
    StagedUpload,
    Submission,
    Verdict,
    is_web_address,
)
from closeloop.tasks import permissions
from closeloop.tasks import selectors as task_selectors
from closeloop.tasks.models import AcceptanceCriterion, Task
from closeloop.tasks.services import record_event, task_message, task_transition
from closeloop.tasks.states import TRANSITIONS, Status

log = logging.getLogger(__name__)

TEXT_MAX = 5000
LINK_MAX = 500
LINKS_MAX = 20
TAG_MAX = 20
TAGS_MAX = 10
MEASURE_LIMIT = Decimal("1e10")


@dataclass(frozen=True)
class CheckIn:
    """The reviewer's result for one criterion of the submission (`check` = CriterionCheck id).
    `measured` for a measurable criterion (the comparator decides); `passed` otherwise."""

    check: int
    passed: bool | None = None
    measured: str | Decimal | float | int | None = None
    comment: str = ""


def _bad_text(value: str) -> bool:
    return "\x00" in (value or "")


def _text(errors: dict, field: str, value: str, *, required: bool, label: str, limit: int = TEXT_MAX) -> str:
    value = (value or "").strip()
    if _bad_text(value):
        errors.setdefault(field, []).append(_("%(f)s contains a NUL character.") % {"f": label})
    elif required and not value:
        errors.setdefault(field, []).append(_("%(f)s is required.") % {"f": label})
    elif len(value) > limit:
        errors.setdefault(field, []).append(
            _("%(f)s: at most %(n)s characters (now %(len)s).") % {"f": label, "n": limit, "len": len(value)}
        )
    return value


def parse_measure(raw) -> Decimal | None:
    """A measured value as typed: "97", "97%", "９７％", "0.97" stays 0.97. None when empty;
    raises ValueError when it is not a number or out of range."""
    if raw is None:
        return None
    if isinstance(raw, Decimal | int | float) and not isinstance(raw, bool):
        value = Decimal(str(raw))
    else:
        text = unicodedata.normalize("NFKC", str(raw)).strip().rstrip("%").strip().replace(",", "")
        if not text:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(text) from None
    if not value.is_finite() or abs(value) >= MEASURE_LIMIT:
        raise ValueError(str(raw))
    return value.quantize(Decimal("0.0001"))


def compare(measured: Decimal, comparator: str, threshold: Decimal) -> bool:
    """What the criterion's comparator says of the measured value (数据准确率 ≥ 95: 97 passes)."""
    return {
        ">=": measured >= threshold,
        ">": measured > threshold,
        "<=": measured <= threshold,
        "<": measured < threshold,
        "=": measured == threshold,
    }[comparator]


def may_submit(user: User, task: Task) -> bool:
    return user.pk == task.owner_id and (task.status, Status.SUBMITTED) in TRANSITIONS


def _criteria_missing() -> Conflict:
    message = _(
        "This task has no acceptance criteria (验收标准): add at least one criterion before "
        "submitting it for acceptance, so the reviewer has something to check."
    )
    return Conflict(message, code="criteria_missing", fields={"criteria": [message]})


def refuse_obstacles(task: Task) -> None:
    """Raise what keeps `task` from being submitted whatever the form says: Conflict
    `criteria_missing` (field `criteria`) when it has no acceptance criterion (DESIGN.md
    "The loop" 1 and 5: criteria are fixed at intake and checked one by one at acceptance;
    an imported or criteria-less task would otherwise be accepted on one click), Conflict
    `subtask_open` naming the open subtasks (the rule `task_transition` applies, said
    before the form's fields are checked)."""
    obstacles = task_selectors.submit_obstacles(task)
    if obstacles.criteria_missing:
        raise _criteria_missing()
    if obstacles.open_subtasks:
        codes = "、".join(f"{t.full_code} {t.title}" for t in obstacles.open_subtasks)
        raise Conflict(
            _("Subtasks still open: %(subs)s. Finish or cancel them before submitting.") % {"subs": codes},
            code="subtask_open",
        )


def submission_create(
    *,
    actor: User,
    task: Task,
    key_results: str,
    completed_on: date | None = None,
    links: Sequence[str] = (),
    files: Sequence = (),
    staged: Sequence[int] = (),
    carry: Sequence[int] = (),
    confirm: bool = False,
    confirm_progress: bool = False,
    now: datetime | None = None,
) -> Submission:
    """The owner submits the task for acceptance (提交验收): key results (required), the date
    the work was completed (default the department's today; not before the task began —
    its start date or the day it was created, whichever is earlier — nor after the
    department's today), links and files: uploaded now (`files`) or kept from the form's
    earlier round (`staged`: ids of the owner's `StagedUpload`s of this task, taken over as
    they are; one that is gone is refused, field `files`, never silently left out), or
    carried over from an earlier attempt of the same task (`carry`: ids of its file
    Deliverables, e.g. the round sent back for rework; the stored file is shared, not
    copied; an id of another task's or not a file is refused, field `files`).

    Refuses first (Conflict, nothing stored) a task without acceptance criteria
    (`criteria_missing`) or with open subtasks (`subtask_open`): `refuse_obstacles`.
    Refuses (ValidationFailed naming the field, nothing stored) bad text, links that are not
    http(s), files over `REVIEW_UPLOAD_MAX_BYTES` or of a type not allowed or whose content
    is not that type. A leaf task below 100 % or a submission without any deliverable needs
    `confirm=True` (field `confirm`); `confirm_progress=True` confirms only the first (the
    submit form asks it up front, before anything is chosen). Numbers the attempt, snapshots the task's criteria into
    CriterionCheck rows (the criteria are frozen from now on), stores the files through the
    review storage and moves the task to 待验收 through `task_transition`, which notifies the
    reviewer. Takes the task's row lock. A failure after a file was stored deletes it; a
    storage that does not answer (disk, S3 endpoint, keys, bucket) raises Unavailable
    (`storage_unavailable`, 503, naming the file) and nothing is kept."""
    now = now or timezone.now()
    if actor.pk != task.owner_id:
        raise NotAllowed(_("Only the owner submits this task for acceptance."))
    refuse_obstacles(task)
    errors: dict[str, list[str]] = {}
    key_results = _text(errors, "key_results", key_results, required=True, label=_("Key results"))
    earliest, today = completion_window(task, now)
    if completed_on is None:
        completed_on = today
    elif not (date(1900, 1, 1) <= completed_on <= date(2100, 12, 31)):
        errors.setdefault("completed_on", []).append(_("The completion date must lie between 1900 and 2100."))
    elif completed_on > today:
        errors.setdefault("completed_on", []).append(
            _("The completion date cannot be later than today (%(d)s).") % {"d": today.isoformat()}
        )
    elif completed_on < earliest:
        errors.setdefault("completed_on", []).append(
            _("The completion date cannot be before the task began (%(d)s).") % {"d": earliest.isoformat()}
        )
    clean_links: list[str] = []
    for i, raw in enumerate(links, start=1):
        link = (raw or "").strip()
        if not link:
            continue
        if len(link) > LINK_MAX or not is_web_address(link) or _bad_text(link):
            errors.setdefault(f"links.{i}", []).append(
                _("Link %(n)s is not a web address (http:// or https://, at most 500 characters).") % {"n": i}
            )
        clean_links.append(link)
    if len(clean_links) > LINKS_MAX:
        errors.setdefault("links", []).append(_("At most %(n)s links.") % {"n": LINKS_MAX})
    checked = []
    kept = _staged_of(actor, task, staged, errors)
    carried = _carried_of(task, carry, errors)
    if len(files) + len(kept) + len(carried) > deliverable_files.max_files():
        errors.setdefault("files", []).append(
            _("At most %(n)s files.") % {"n": deliverable_files.max_files()}
        )
    else:
        for i, upload in enumerate(files, start=1):
            ok, message = deliverable_files.check(upload, f"files.{i}")
            if message:
                errors.setdefault(f"files.{i}", []).append(message)
            else:
                checked.append(ok)
    raise_if_errors(errors)
    if not confirm:
        leaf = not task.has_subtasks()
        if leaf and task.progress < 100 and not confirm_progress:
            raise ValidationFailed(
                _("The task is at %(p)s %%: submit it for acceptance anyway?") % {"p": task.progress},
                fields={"confirm": [_("Confirm to submit below 100 %.")]},
                code="confirm_required",
            )
        if not checked and not kept and not carried and not clean_links:
            raise ValidationFailed(
                _("Nothing is handed in (no file, no link): submit anyway?"),
                fields={"confirm": [_("Confirm to submit without a deliverable.")]},
                code="confirm_required",
            )

    stored: list[str] = []
    try:
        with transaction.atomic():
            current = Task.objects.select_for_update().select_related("department").get(pk=task.pk)
            if current.owner_id != actor.pk:
                raise NotAllowed(_("Only the owner submits this task for acceptance."))
            if (current.status, Status.SUBMITTED) not in TRANSITIONS:
                raise Conflict(
                    _("A task that is %(s)s cannot be submitted for acceptance.")
                    % {"s": Status(current.status).label},
                    code="transition_not_allowed",
                )
            last = Submission.objects.filter(task=current).order_by("-attempt").first()
            attempt = (last.attempt + 1) if last else 1
            submission = Submission.objects.create(
                task=current,
                department_id=current.department_id,
                attempt=attempt,
                submitted_by=actor,
                submitted_at=now,
                key_results=key_results,
                completed_on=completed_on,
                confirmed_incomplete=bool(confirm or confirm_progress),
                progress_at_submit=current.progress,
            )
            criteria = list(AcceptanceCriterion.objects.filter(task=current).order_by("position", "id"))
            if not criteria:  # checked up front too; read again under the task's lock
                raise _criteria_missing()
            CriterionCheck.objects.bulk_create(
                CriterionCheck(
                    submission=submission,
                    criterion=c,
                    position=i,
                    text=c.text,
                    metric=c.metric,
                    comparator=c.comparator,
                    threshold=c.threshold,
                    unit=c.unit,
                )
                for i, c in enumerate(criteria, start=1)
            )
            for n, f in enumerate(checked, start=1):
                d = Deliverable(
                    submission=submission,
                    kind=DeliverableKind.FILE,
                    name=f.name,
                    content_type=f.content_type,
                    size=f.size,
                )
                try:
                    d.file.save(f.name, f.upload, save=False)
                except deliverable_files.STORAGE_ERRORS as exc:
                    log.warning("storing deliverable %r of task %s failed: %s", f.name, current.pk, exc)
                    message = _(
                        "%(name)s could not be stored: the file storage did not answer. Nothing was "
                        "submitted; try again later or tell the administrator."
                    ) % {"name": f.name}
                    raise Unavailable(
                        message, code="storage_unavailable", fields={f"files.{n}": [message]}
                    ) from exc
                stored.append(d.file.name)
                d.save()
            # Files kept from the form's earlier round: the stored file becomes the
            # deliverable's (no copy); the staging rows go (rolled back with the rest).
            taken = StagedUpload.objects.filter(pk__in=[k.pk for k in kept], owner=actor, task=current)
            if taken.count() != len(kept):  # dropped meanwhile (another tab, the clean-up)
                raise ValidationFailed(
                    _("A file kept from your earlier attempt is gone: choose it again."),
                    fields={"files": [_("A file kept from your earlier attempt is gone: choose it again.")]},
                )
            Deliverable.objects.bulk_create(
                [
                    # Kept staging rows and carried deliverables alike: their stored file.
                    *(
                        Deliverable(
                            submission=submission,
                            kind=DeliverableKind.FILE,
                            file=f.file.name,
                            name=f.name,
                            content_type=f.content_type,
                            size=f.size,
                        )
                        for f in (*kept, *carried)
                    ),
                    *(
                        Deliverable(
                            submission=submission, kind=DeliverableKind.LINK, name=link[:255], url=link
                        )
                        for link in clean_links
                    ),
                ]
            )
            taken.delete()
            record_event(
                task=current,
                actor=actor,
                verb="submission_created",
                after={
                    "attempt": attempt,
                    "files": len(checked) + len(kept) + len(carried),
                    "links": len(clean_links),
                },
                note=key_results[:500],
            )
            task_transition(actor=actor, task=current, to=Status.SUBMITTED, note=key_results[:500])
    except BaseException:
        _delete_files(stored)
        raise
    return submission


def completion_window(task: Task, now: datetime | None = None) -> tuple[date, date]:
    """The dates a submission of `task` may say the work was completed on: from the day the
    task began — its start date or the day it was created there, whichever is earlier (an
    imported task may have started before it was entered) — to the department's today
    (DESIGN.md: "today" is the date in the task's department time zone). Needs
    `task.department`."""
    now = now or timezone.now()
    dept = task.department
    today = dept.local_today(now)
    created = dept.local_today(task.created_at) if task.created_at else today
    earliest = min(d for d in (task.start_date, created, today) if d is not None)
    return earliest, today


def _carried_of(task: Task, ids: Sequence, errors: dict) -> list[Deliverable]:
    """The file deliverables of `task`'s earlier attempts named by `ids` (ints), by id, each
    file once. An id that is not one of them (another task's, a link, unknown) is an error
    of field `files`."""
    wanted = list(dict.fromkeys(int(x) for x in ids))
    if not wanted:
        return []
    found = list(
        Deliverable.objects.filter(
            pk__in=wanted, submission__task_id=task.pk, kind=DeliverableKind.FILE
        ).order_by("id")
    )
    if len(found) != len(wanted):
        errors.setdefault("files", []).append(
            _("A file of an earlier attempt you chose to hand in again is not one of this task's files.")
        )
    seen: set[str] = set()
    return [d for d in found if not (d.file.name in seen or seen.add(d.file.name))]


def _staged_of(actor: User, task: Task, ids: Sequence, errors: dict) -> list[StagedUpload]:
    """The owner's kept files of `task` named by `ids` (as posted: strings or ints), oldest
    first. An id that is not one of them (gone after a day, taken by a submission made in
    another tab, another person's or task's) is an error of field `files`: the owner chose
    a file that would otherwise be silently left out."""
    wanted: list[int] = []
    for raw in ids:
        try:
            pk = int(raw)
        except (TypeError, ValueError):
            pk = 0
        if not 0 < pk < 2**63:
            errors.setdefault("files", []).append(_("A kept file is not known: choose it again."))
            return []
        wanted.append(pk)
    wanted = list(dict.fromkeys(wanted))
    if not wanted:
        return []
    found = list(
        StagedUpload.objects.filter(pk__in=wanted, owner_id=actor.pk, task_id=task.pk).order_by("id")
    )
    if len(found) != len(wanted):
        errors.setdefault("files", []).append(
            ngettext(
                "%(n)s file kept from your earlier attempt is gone (kept files are deleted after a day): choose it again.",
                "%(n)s files kept from your earlier attempt are gone (kept files are deleted after a day): choose them again.",
                len(wanted) - len(found),
            )
            % {"n": len(wanted) - len(found)}
        )
    return found


def submission_stage_files(*, actor: User, task: Task, files: Sequence) -> list[StagedUpload]:
    """Keep the files the owner chose on a submit form that comes back (the progress
    question, a refused field), so that they need not be chosen again: each acceptable file
    (`files.check`: type, size, content) is stored in the review storage as the owner's
    `StagedUpload` of `task`; refused ones are left out (the submission's own check names
    them). Only the owner of a task they may submit. Returns the kept rows; a storage that
    does not answer raises Unavailable and keeps nothing."""
    if not may_submit(actor, task):
        raise NotAllowed(_("Only the owner submits this task for acceptance."))
    kept: list[StagedUpload] = []
    stored: list[str] = []
    try:
        for upload in list(files)[: deliverable_files.max_files()]:
            ok, _message = deliverable_files.check(upload, "files")
            if ok is None:
                continue
            row = StagedUpload(
                owner=actor, task=task, name=ok.name, content_type=ok.content_type, size=ok.size
            )
            try:
                row.file.save(ok.name, ok.upload, save=False)
            except deliverable_files.STORAGE_ERRORS as exc:
                log.warning("keeping %r of task %s failed: %s", ok.name, task.pk, exc)
                raise Unavailable(
                    _("The file storage did not answer; try again later."), code="storage_unavailable"
                ) from exc
            stored.append(row.file.name)
            row.save()
            kept.append(row)
    except BaseException:
        _delete_files(stored)
        StagedUpload.objects.filter(pk__in=[row.pk for row in kept]).delete()
        raise
    return kept


def _delete_files(names: Sequence[str]) -> None:
    from closeloop.review.models import deliverable_storage

    storage = deliverable_storage()
    for name in names:
        try:
            storage.delete(name)
        except deliverable_files.STORAGE_ERRORS:  # pragma: no cover - best effort clean-up
            log.exception("could not delete %r", name)


def may_review(user: User, task: Task) -> bool:
    """Who accepts (DESIGN.md): the named reviewer, or the head or deputy — never the owner; a
    head's own task goes to the superior. The same rule as the status machine's REVIEWER."""
    return permissions.can_review(user, task)


def submission_review(
    *,
    actor: User,
    submission: Submission,
    checks: Sequence[CheckIn],
    verdict: str | None = None,
    comment: str = "",
    now: datetime | None = None,
) -> Submission:
    """The reviewer's verdict on a pending submission. Each criterion (as frozen in the
    submission) gets a result: for a measurable one the measured value, which the comparator
    judges against the threshold (`passed` is ignored); otherwise `passed`. A failed criterion
    needs a comment (`checks.N.comment`); a value that is not a number is refused
    (`checks.N.measured`). All pass → the task is 已完成; any fail → 返工, with the failed
    criteria and their comments as the note. A submission without criteria takes `verdict`
    ("accepted" / "rework"; rework needs `comment`). Compare-and-sets the submission's
    verdict: a second review answers Conflict."""
    now = now or timezone.now()
    task = Task.objects.select_related("department", "department__parent", "owner", "reviewer").get(
        pk=submission.task_id
    )
    if not may_review(actor, task):
        raise NotAllowed(
            _("Only the reviewer (the head, the deputy or the named reviewer, never the owner) accepts.")
        )
    rows = list(CriterionCheck.objects.filter(submission=submission).order_by("position", "id"))
    given = {c.check: c for c in checks}
    errors: dict[str, list[str]] = {}
    comment = _text(errors, "comment", comment, required=False, label=_("Overall comment"))
    unknown = set(given) - {r.pk for r in rows}
    if unknown:
        errors.setdefault("checks", []).append(_("Some results are for criteria of another submission."))
    for row in rows:
        key = f"checks.{row.position}"
        item = given.get(row.pk)
        row_comment = (item.comment or "").strip() if item else ""
        if _bad_text(row_comment):
            errors.setdefault(f"{key}.comment", []).append(
                _("Criterion %(n)s: the comment contains a NUL character.") % {"n": row.position}
            )
        elif len(row_comment) > TEXT_MAX:
            errors.setdefault(f"{key}.comment", []).append(
                _("Criterion %(n)s: the comment has at most %(max)s characters (now %(len)s).")
                % {"n": row.position, "max": TEXT_MAX, "len": len(row_comment)}
            )
        row.comment = row_comment
        if row.is_measurable:
            try:
                measured = parse_measure(item.measured if item else None)
            except ValueError:
                errors.setdefault(f"{key}.measured", []).append(
                    _("Criterion %(n)s: the measured value must be a number.") % {"n": row.position}
                )
                continue
            if measured is None:
                errors.setdefault(f"{key}.measured", []).append(
                    _("Criterion %(n)s: enter the measured %(metric)s.")
                    % {"n": row.position, "metric": row.metric}
                )
                continue
            row.measured = measured
            row.passed = compare(measured, row.comparator, row.threshold)
        else:
            if item is None or item.passed is None:
                errors.setdefault(f"{key}.passed", []).append(
                    _("Criterion %(n)s: pass or fail?") % {"n": row.position}
                )
                continue
            row.passed = bool(item.passed)
        if row.passed is False and not row.comment:
            errors.setdefault(f"{key}.comment", []).append(
                _("Criterion %(n)s failed: say what must change.") % {"n": row.position}
            )
    if rows:
        accepted = all(r.passed for r in rows) if not errors else False
    else:
        if verdict not in (Verdict.ACCEPTED, Verdict.REWORK):
            errors.setdefault("verdict", []).append(_("Accept or send back?"))
        elif verdict == Verdict.REWORK and not comment:
            errors.setdefault("comment", []).append(_("Say what must be reworked."))
        accepted = verdict == Verdict.ACCEPTED
    raise_if_errors(errors)

    outcome = Verdict.ACCEPTED if accepted else Verdict.REWORK
    if outcome == Verdict.REWORK:
        failed = [f"{r.position}. {r.text}: {r.comment}" for r in rows if r.passed is False]
        note = "\n".join([*failed, comment] if comment else failed) or comment
    else:
        note = comment
    with transaction.atomic():
        changed = Submission.objects.filter(pk=submission.pk, verdict=Verdict.PENDING).update(
            verdict=outcome, reviewed_by=actor, reviewed_at=now, review_comment=comment
        )
        if changed != 1:
            raise Conflict(_("This submission has already been reviewed."), code="already_reviewed")
        for row in rows:
            CriterionCheck.objects.filter(pk=row.pk).update(
                passed=row.passed, measured=row.measured, comment=row.comment
            )
        current = Task.objects.select_for_update().get(pk=task.pk)
        record_event(
            task=current,
            actor=actor,
            verb="submission_reviewed",
            after={
                "attempt": submission.attempt,
                "verdict": outcome,
                "passed": sum(1 for r in rows if r.passed),
                "failed": sum(1 for r in rows if r.passed is False),
            },
            note=note[:2000],
        )
        target = Status.DONE if outcome == Verdict.ACCEPTED else Status.REWORK
        # No default note: "Accepted" stored in the accepter's language read as Chinese to an
        # English reader (the status line already says 已完成 / done in the reader's).
        task_transition(actor=actor, task=current, to=target, note=note[:2000])
    return Submission.objects.select_related("reviewed_by").get(pk=submission.pk)


def criteria_change_consent(
    *, actor: User, task: Task, note: str, now: datetime | None = None
) -> CriteriaConsent:
    """The reviewer records consent to change criteria frozen by a submission (the handbook:
    agree on criteria up front). One open consent per task; the next criteria change on the
    task uses it. Notifies the owner."""
    now = now or timezone.now()
    task = Task.objects.select_related("department", "owner").get(pk=task.pk)
    if not may_review(actor, task):
        raise NotAllowed(_("Only the reviewer may agree to change frozen criteria."))
    errors: dict[str, list[str]] = {}
    note = _text(errors, "note", note, required=True, label=_("Reason"))
    raise_if_errors(errors)
    if not task.is_open:
        raise Conflict(_("The task is closed."), code="task_closed")
    with transaction.atomic():
        existing = CriteriaConsent.objects.filter(task=task, used_at__isnull=True).first()
        if existing is not None:
            return existing
        consent = CriteriaConsent.objects.create(task=task, given_by=actor, given_at=now, note=note)
        record_event(task=task, actor=actor, verb="criteria_change_agreed", note=note)
        notify(
            recipients=[task.owner],
            kind="review.criteria_consent",
            data=task_message(task, actor, note=note),
            link=task.get_absolute_url(),
            actor=actor,
        )
    return consent


def criteria_guard(actor: User, task: Task) -> None:
    """Registered with `tasks.extensions`: criteria are frozen from the first submission; a
    change needs the reviewer's open consent, which it uses up. Runs inside task_update's
    transaction. A task that has no criterion has nothing frozen: adding its first ones
    needs no consent (a task submitted before criteria were required, then sent back, could
    otherwise never get any and never be submitted again)."""
    if not Submission.objects.filter(task_id=task.pk).exists():
        return
    if not AcceptanceCriterion.objects.filter(task_id=task.pk).exists():
        return
    consent = (
        CriteriaConsent.objects.select_for_update().filter(task_id=task.pk, used_at__isnull=True).first()
    )
    if consent is None:
        raise Conflict(
            _(
                "The acceptance criteria are frozen since the first submission; the reviewer must agree to a change first."
            ),
            code="criteria_frozen",
        )
    CriteriaConsent.objects.filter(pk=consent.pk).update(used_at=timezone.now())


# -- retrospectives ---------------------------------------------------------------------------


def policy_for(department_id: int) -> ReviewPolicy:
    return ReviewPolicy.objects.filter(department_id=department_id).first() or ReviewPolicy(
        department_id=department_id
    )


def review_policy_update(
    *, actor: User, department, required_types: Sequence[str], reminder_workdays
) -> ReviewPolicy:
    """The head or deputy sets which task types need a retrospective and after how many
    working days (1–60) a missing one is reminded."""
    from closeloop.orgs.selectors import leads
    from closeloop.tasks.models import TaskType

    if not leads(actor, department.pk):
        raise NotAllowed(_("Only the department head or deputy changes these rules."))
    errors: dict[str, list[str]] = {}
    types = list(dict.fromkeys(required_types))
    if any(t not in TaskType.values for t in types):
        errors.setdefault("required_types", []).append(_("Unknown task type."))
    try:
        days = int(reminder_workdays)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= 60:
        errors.setdefault("reminder_workdays", []).append(_("A whole number of working days from 1 to 60."))
    raise_if_errors(errors)
    with transaction.atomic():
        policy, _created = ReviewPolicy.objects.update_or_create(
            department=department, defaults={"retro_required_types": types, "retro_reminder_workdays": days}
        )
    return policy


def may_write_retrospective(user: User, task: Task) -> bool:
    return permissions.can_edit(user, task) or permissions.can_review(user, task)


def parse_tags(raw) -> list[str]:
    """Tags from a list or a string split on commas, 、，and spaces; NFKC, de-duplicated."""
    if isinstance(raw, str):
        parts = re.split(r"[,，、;；\s]+", unicodedata.normalize("NFKC", raw))
    else:
        parts = [unicodedata.normalize("NFKC", str(p)) for p in raw or []]
    return list(dict.fromkeys(p.strip().lstrip("#") for p in parts if p and p.strip().lstrip("#")))


def retro_version(retro: Retrospective | None) -> int:
    """The version a retrospective form or API client read: the row's, or 0 when none is
    written yet (so two people who both open the empty form cannot both write it unnoticed)."""
    return retro.version if retro is not None else 0


def retrospective_write(
    *,
    actor: User,
    task: Task,
    what_worked: str,
    to_improve: str,
    tags=(),
    minutes_link: str = "",
    expected_version: int | None = None,
) -> Retrospective:
    """Write (or rewrite) the retrospective of a done task: the owner, initiator, head, deputy
    or reviewer. At least one of what worked / what to improve; up to 10 tags of 20
    characters; `minutes_link` empty or a web address (http:// or https://). The first version is
    shared with the team (owner, collaborators, head and deputy; the department's group). The
    first writer stays `author`; a rewrite records `edited_by` (the actor) and `edited_at`.

    `expected_version` is the version the writer read (`retro_version`: 0 before the first
    save); when it is no longer the stored one — someone saved in the meantime — nothing is
    written: Conflict (409 `version_conflict`) saying so. None skips the check (demo data and
    other internal writers only; the page and the API always send it). Every save raises
    `version` by one; the first creates the row at version 1."""
    task = Task.objects.select_related("department", "owner", "customer", "project").get(pk=task.pk)
    if not may_write_retrospective(actor, task):
        raise NotAllowed(
            _("Only the owner, the initiator, the head or the reviewer writes the retrospective.")
        )
    if task.status != Status.DONE:
        raise Conflict(_("A retrospective is written once the task is accepted."), code="not_done")
    errors: dict[str, list[str]] = {}
    what_worked = _text(errors, "what_worked", what_worked, required=False, label=_("What worked"))
    to_improve = _text(errors, "to_improve", to_improve, required=False, label=_("What to improve"))
    if not errors and not what_worked and not to_improve:
        errors.setdefault("what_worked", []).append(_("Write what worked or what to improve."))
    tag_list = parse_tags(tags)
    if len(tag_list) > TAGS_MAX:
        errors.setdefault("tags", []).append(_("At most %(n)s tags.") % {"n": TAGS_MAX})
    elif any(len(t) > TAG_MAX or "\x00" in t for t in tag_list):
        errors.setdefault("tags", []).append(_("A tag has at most %(n)s characters.") % {"n": TAG_MAX})
    minutes_link = _text(
        errors, "minutes_link", minutes_link, required=False, label=_("Minutes (link)"), limit=LINK_MAX
    )
    if minutes_link and "minutes_link" not in errors and not is_web_address(minutes_link):
        # Shown as a link on the task page: only a web address, never `javascript:` or text.
        errors["minutes_link"] = [_("Minutes (link): give a web address starting with http:// or https://.")]
    raise_if_errors(errors)
    fields = {
        "what_worked": what_worked,
        "to_improve": to_improve,
        "tags": tag_list,
        "tags_text": ("," + ",".join(tag_list) + ",") if tag_list else "",
        "minutes_link": minutes_link,
        "search_text": search.index_text(
            task=task, what_worked=what_worked, to_improve=to_improve, tags=tag_list
        ),
    }
    with transaction.atomic():
        Task.objects.select_for_update().filter(pk=task.pk).first()
        retro = Retrospective.objects.filter(task=task).first()
        if expected_version is not None and retro_version(retro) != expected_version:
            raise saved_meanwhile(
                _(
                    "Someone else saved this retrospective after you opened it; nothing of yours "
                    "was saved. What you typed is kept below, next to what is saved now: merge "
                    "the two and save again."
                ),
                now=retro_version(retro),
                sent=expected_version,
            )
        if retro is None:
            retro = Retrospective.objects.create(
                task=task, department=task.department, author=actor, **fields
            )
            record_event(task=task, actor=actor, verb="retrospective_written", after={"tags": tag_list})
            dept = task.department
            team = [task.owner, dept.head, dept.deputy, *User.objects.filter(collaborator_links__task=task)]
            notify(
                recipients=[u for u in team if u is not None],
                kind="review.retrospective_shared",
                data=task_message(task, actor, note=(to_improve or what_worked)[:200]),
                link=task.get_absolute_url() + "#retrospective",
                actor=actor,
                department=dept,
            )
        else:
            now = timezone.now()
            Retrospective.objects.filter(pk=retro.pk).update(
                **fields, updated_at=now, edited_by=actor, edited_at=now, version=F("version") + 1
            )
            record_event(task=task, actor=actor, verb="retrospective_updated", after={"tags": tag_list})
    return Retrospective.objects.select_related("task", "author", "edited_by").get(task=task)
