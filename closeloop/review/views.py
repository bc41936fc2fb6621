"""Review pages: submit for acceptance (phone first, with files), review criterion by
criterion, download a deliverable (authorized, always as an attachment), the retrospective,
the knowledge base and the lessons offered on the new-task form. Thin: selectors read,
services write."""

import datetime as dt
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from closeloop.core.errors import DomainError, NotFound, Unavailable, ValidationFailed
from closeloop.core.pagination import CappedIdPaginator
from closeloop.core.searchbox import cut_search
from closeloop.core.versioning import parse_version
from closeloop.orgs.selectors import departments_for
from closeloop.review import html, selectors, services
from closeloop.review.files import STORAGE_ERRORS, is_missing
from closeloop.review.models import CriterionCheck, Submission, Verdict, measured_display
from closeloop.tasks import permissions
from closeloop.tasks.models import AcceptanceCriterion, Customer, Project, TaskType
from closeloop.tasks.selectors import access_task, submit_obstacles
from closeloop.tasks.states import Status

log = logging.getLogger(__name__)

# Served as plain bytes: a browser must never render an uploaded page or drawing as ours.
_NEVER_INLINE = {"text/html", "image/svg+xml", "text/markdown"}


def error_box(exc: DomainError | None, heading: str) -> dict | None:
    """What the box above a form says of `exc`, each problem once: for fields refused
    (ValidationFailed) `heading` ("nothing was saved…") over every field's messages — the
    error's own message is the first of them, so it is not the heading too; for the
    question of the submit form (`confirm_required`) the question alone (the form asks it
    by the tick box); otherwise the error's message, with any field message that says
    something else."""
    if exc is None:
        return None
    said = list(dict.fromkeys(m for msgs in exc.fields.values() for m in msgs))
    if exc.code == "confirm_required":
        return {"heading": exc.message, "items": [], "warning": True}
    if isinstance(exc, ValidationFailed) and said:
        return {"heading": heading, "items": said, "warning": False}
    return {"heading": exc.message, "items": [m for m in said if m != exc.message], "warning": False}


def _parse_date(raw: str) -> tuple[dt.date | None, bool]:
    raw = (raw or "").strip()
    if not raw:
        return None, True
    try:
        return dt.date.fromisoformat(raw), True
    except ValueError:
        return None, False


def _last_rework(task) -> dict | None:
    """The reviewer's comments of the task's latest attempt when it was sent back (the
    failed criteria with their comments, the overall comment), for the owner resubmitting;
    None when the latest attempt was not sent back (or there is none)."""
    rounds = (
        selectors.review_rounds(task)
        if task.status in (Status.REWORK, Status.IN_PROGRESS, Status.BLOCKED)
        else []
    )
    last = rounds[-1] if rounds else None
    if last is None or last["verdict"] != Verdict.REWORK:
        return None
    last["failed"] = [
        {**c, "measured_display": measured_display(c["measured"], c["unit"])}
        for c in last["checks"]
        if c["passed"] is False
    ]
    return last


@login_required
def submit(request, pk: int):
    """Submit for acceptance. Asks up front whether to submit a leaf task below 100 % (a tick
    box on the form, not a round trip); files chosen on a form that comes back anyway (a
    refused field, no deliverable) are kept on the server (`services.submission_stage_files`)
    and shown as ticked boxes, so they are never dropped without the owner seeing it.
    What the service refuses whatever the form says (no acceptance criteria, open subtasks:
    `tasks.selectors.submit_obstacles`) is said instead of the form, with the link to add
    criteria for those who may; a task already submitted or accepted says so, with a link
    back. After 返工 the sent-back round's links are prefilled and its files offered ticked
    (`carry`), so nothing has to be uploaded again."""
    task = access_task(request.user, pk)
    criteria = list(AcceptanceCriterion.objects.filter(task=task).order_by("position", "id"))
    earliest, today = services.completion_window(task)
    ctx = {
        "task": task,
        "criteria": criteria,
        "error": None,
        "box": None,
        "posted": {"completed_on": today.isoformat()},
        "need_confirm": False,
        "earliest": earliest.isoformat(),
        "today": today.isoformat(),
        "staged": [],
        "files_not_kept": 0,
    }
    if not services.may_submit(request.user, task):
        # Said as what it is (already handed in, accepted, not yours), with the way back.
        ctx["state"] = {Status.SUBMITTED: "submitted", Status.DONE: "done"}.get(task.status, "")
        ctx["may_review"] = task.status == Status.SUBMITTED and permissions.can_review(request.user, task)
        if not ctx["state"]:
            ctx["refused"] = _("Only the owner submits an in-progress or reworked task for acceptance.")
        status = (409 if ctx["state"] else 403) if request.method == "POST" else 200
        return render(request, "review/submit.html", ctx, status=status)
    # What the service would refuse whatever the form says, said before the form (no form).
    obstacles = submit_obstacles(task)
    if obstacles:
        ctx["obstacles"] = obstacles
        ctx["may_add_criteria"] = permissions.can_edit(request.user, task)
        return render(request, "review/submit.html", ctx, status=409 if request.method == "POST" else 200)
    ctx["ask_progress"] = task.progress < 100 and not task.has_subtasks()
    ctx["rework"] = _last_rework(task)
    if ctx["rework"] is not None and request.method != "POST":
        # Resubmitting after 返工: the last round's links and files are offered again.
        ctx["posted"]["links"] = [d["url"] for d in ctx["rework"]["deliverables"] if d["kind"] == "link"]
        ctx["posted"]["carry"] = [d["id"] for d in ctx["rework"]["deliverables"] if d["kind"] == "file"]
    if ctx["rework"] is not None:
        ctx["carry_files"] = [d for d in ctx["rework"]["deliverables"] if d["kind"] == "file"]
    if request.method == "POST":
        posted = {
            "key_results": request.POST.get("key_results", ""),
            "completed_on": request.POST.get("completed_on", ""),
            "links": [x for x in request.POST.getlist("links") if x.strip()],
            "carry": [
                int(x)
                for x in request.POST.getlist("carry")
                if x.isascii() and x.isdigit() and int(x) < 2**31
            ],
            # "progress": the box asked up front (below 100 %); "1": the question the form
            # came back with (nothing handed in, or the progress box left unticked).
            "confirm": "1" in request.POST.getlist("confirm"),
            "confirm_progress": "progress" in request.POST.getlist("confirm"),
        }
        ctx["posted"] = posted
        staged = request.POST.getlist("staged")
        files = request.FILES.getlist("files")
        completed_on, ok = _parse_date(posted["completed_on"])
        try:
            if not ok:
                not_a_date = _("The completion date is not a date (YYYY-MM-DD).")
                raise ValidationFailed(not_a_date, fields={"completed_on": [not_a_date]})
            services.submission_create(
                actor=request.user,
                task=task,
                key_results=posted["key_results"],
                completed_on=completed_on,
                links=posted["links"],
                files=files,
                staged=staged,
                carry=posted["carry"],
                confirm=posted["confirm"],
                confirm_progress=posted["confirm_progress"],
            )
        except DomainError as exc:
            ctx["error"] = exc
            ctx["box"] = error_box(exc, _("Not submitted. Please correct the marked fields."))
            ctx["need_confirm"] = exc.code == "confirm_required"
            # The service asks about the progress first: with the box up front ticked (or
            # none shown), the question is "nothing handed in".
            ctx["ask_empty"] = ctx["need_confirm"] and (not ctx["ask_progress"] or posted["confirm_progress"])
            ctx["staged"] = selectors.staged_uploads(request.user, task, staged)
            if files:
                try:
                    ctx["staged"] += services.submission_stage_files(
                        actor=request.user, task=task, files=files
                    )
                except DomainError:
                    ctx["files_not_kept"] = len(files)
            return render(request, "review/submit.html", ctx, status=exc.status)
        messages.success(request, _("Submitted for acceptance; the reviewer has been notified."))
        return redirect(task)
    return render(request, "review/submit.html", ctx)


def _review_context(request, task, submission: dict, all_rounds: list[dict], **extra) -> dict:
    """`submission` is one of `all_rounds` (`selectors.review_rounds` dicts: checks and
    deliverables included), so the page's queries do not grow with criteria or rounds. The
    criteria, deliverables and earlier rounds are built in Python (review/html.py)."""
    posted = extra.get("posted") or {}
    errors = extra.pop("field_errors", {})
    rows = [
        {
            "check": c,
            "measured": posted.get(f"measured-{c['id']}", ""),
            "judged": judged(c, posted.get(f"measured-{c['id']}")),
            "passed": posted.get(f"passed-{c['id']}", ""),
            "comment": posted.get(f"comment-{c['id']}", ""),
            "errors": [
                m for k, msgs in errors.items() if k.startswith(f"checks.{c['position']}.") for m in msgs
            ],
        }
        for c in submission["checks"]
    ]
    return {
        "task": task,
        "submission": submission,
        "deliverables": html.deliverables(submission["deliverables"]),
        "criteria": html.review_rows(rows),
        "rounds": html.earlier_rounds([s for s in all_rounds if s["id"] != submission["id"]]),
        "error": None,
        "posted": {},
        **extra,
        "box": error_box(
            extra.get("error"), _("The verdict was not given. Please correct the marked fields.")
        ),
    }


def judged(check: dict, raw: str | None) -> str:
    """What the comparator says of a measured value as posted — "pass", "fail", "bad" (not
    a number) or "" (nothing typed, or a criterion that is not measured) — as `judge` answers
    while the reviewer types, so a form that comes back keeps its verdict."""
    if not check["metric"] or raw is None:
        return ""
    try:
        value = services.parse_measure(raw)
    except ValueError:
        return "bad"
    if value is None:
        return ""
    return "pass" if services.compare(value, check["comparator"], check["threshold"]) else "fail"


@login_required
def task_review(request, pk: int):
    """The pending attempt of a task, criterion by criterion."""
    task = access_task(request.user, pk)
    all_rounds = selectors.review_rounds(task)
    pending = next((s for s in all_rounds if s["verdict"] == Verdict.PENDING), None)
    if pending is None:
        messages.info(request, _("Nothing is waiting for acceptance on this task."))
        return redirect(task)
    if not services.may_review(request.user, task):
        return render(
            request,
            "403.html",
            {
                "message": _(
                    "Only the reviewer (the head, the deputy or the named reviewer, never the owner) accepts."
                ),
                "back_url": task.get_absolute_url(),
            },
            status=403,
        )
    if request.method == "POST":
        items = []
        posted: dict[str, str] = dict(request.POST.items())
        for c in pending["checks"]:
            raw_pass = request.POST.get(f"passed-{c['id']}", "")
            items.append(
                services.CheckIn(
                    check=c["id"],
                    passed={"1": True, "0": False}.get(raw_pass),
                    measured=request.POST.get(f"measured-{c['id']}"),
                    comment=request.POST.get(f"comment-{c['id']}", ""),
                )
            )
        try:
            done = services.submission_review(
                actor=request.user,
                submission=Submission.objects.get(pk=pending["id"]),
                checks=items,
                verdict=request.POST.get("verdict") or None,
                comment=request.POST.get("comment", ""),
            )
        except DomainError as exc:
            ctx = _review_context(
                request, task, pending, all_rounds, error=exc, posted=posted, field_errors=exc.fields
            )
            return render(request, "review/review.html", ctx, status=exc.status)
        if done.verdict == Verdict.ACCEPTED:
            messages.success(request, _("Accepted: the task is done."))
        else:
            messages.warning(request, _("Sent back for rework with your comments."))
        return redirect(task)
    return render(request, "review/review.html", _review_context(request, task, pending, all_rounds))


@login_required
def judge(request, pk: int):
    """What the comparator says of a typed value (htmx, as the reviewer types)."""
    check = CriterionCheck.objects.select_related("submission").filter(pk=pk).first()
    if check is None or not check.metric:
        raise Http404
    access_task(request.user, check.submission.task_id)
    try:
        value = services.parse_measure(request.GET.get(f"measured-{pk}"))
    except ValueError:
        return render(request, "review/_judge.html", {"state": "bad"})
    if value is None:
        return render(request, "review/_judge.html", {"state": ""})
    passed = services.compare(value, check.comparator, check.threshold)
    return render(request, "review/_judge.html", {"state": "pass" if passed else "fail", "check": check})


@login_required
def download(request, pk: int):
    """A deliverable file, after the same visibility check as its task; always a download."""
    d = selectors.access_deliverable(request.user, pk)
    try:
        # Read from the storage (local folder or bucket) and streamed from here: the bucket is
        # private and no address of it is ever handed out.
        handle = d.file.open("rb")
    except STORAGE_ERRORS as exc:
        if is_missing(exc):
            raise NotFound(_("File not found.")) from None
        log.warning("reading deliverable %s failed: %s", d.pk, exc)
        down = Unavailable(_("The file storage did not answer; try again later."), code="storage_unavailable")
        if request.path.startswith("/api/"):
            raise down from exc
        return HttpResponse(down.message, status=503, content_type="text/plain; charset=utf-8")
    content_type = "application/octet-stream" if d.content_type in _NEVER_INLINE else d.content_type
    response = FileResponse(handle, as_attachment=True, filename=d.name, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def criteria_consent(request, pk: int):
    task = access_task(request.user, pk)
    try:
        services.criteria_change_consent(actor=request.user, task=task, note=request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(task)
    messages.success(request, _("Recorded: the acceptance criteria may be changed once."))
    return redirect(task)


@login_required
def retrospective(request, pk: int):
    task = access_task(request.user, pk)
    retro = selectors.retrospective_of(request.user, pk)
    allowed = services.may_write_retrospective(request.user, task)
    may_write = allowed and task.status == "done"
    ctx = {
        "task": task,
        "retro": retro,
        "may_write": may_write,
        # Said as the reason it is: not theirs to write, or not accepted yet.
        "not_allowed": not allowed,
        "error": None,
        "box": None,
        "posted": {},
    }
    if request.method == "POST":
        if not may_write:
            ctx["error"] = DomainError(
                _(
                    "Only the owner, the initiator, the head or the reviewer writes the retrospective of a done task."
                )
            )
            ctx["box"] = error_box(ctx["error"], "")
            return render(request, "review/retrospective.html", ctx, status=403)
        posted = {k: request.POST.get(k, "") for k in ("what_worked", "to_improve", "tags", "minutes_link")}
        sent = parse_version(request.POST.get("version"))
        ctx["posted"] = {**posted, "version": request.POST.get("version", "")}
        try:
            # A form without a version (opened before versions existed) is checked as stale:
            # shown what is stored next to what was typed, never saved over it unchecked.
            services.retrospective_write(
                actor=request.user, task=task, expected_version=-1 if sent is None else sent, **posted
            )
        except DomainError as exc:
            if exc.code == "version_conflict":
                # Keep every word typed, against the version stored now, and show what is
                # stored: saving again is then a choice made knowingly.
                stored = selectors.retrospective_of(request.user, pk)
                ctx["stored"] = stored
                ctx["posted"]["version"] = services.retro_version(stored)
            ctx["error"] = exc
            ctx["box"] = error_box(exc, _("Nothing was saved. Please correct the marked fields."))
            if exc.code == "version_conflict":
                ctx["box"]["items"] = []  # the version numbers are for API clients
            return render(request, "review/retrospective.html", ctx, status=exc.status)
        messages.success(request, _("Retrospective saved and shared with the team."))
        return redirect(task.get_absolute_url() + "#retrospective")
    if retro is not None:
        ctx["posted"] = {
            "what_worked": retro.what_worked,
            "to_improve": retro.to_improve,
            "tags": "，".join(retro.tags),
            "minutes_link": retro.minutes_link,
        }
    ctx["posted"]["version"] = services.retro_version(retro)
    return render(request, "review/retrospective.html", ctx)


def _int(raw) -> int | None:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2**31 else None


class LessonPaginator(CappedIdPaginator):
    """The knowledge page's paginator: the newest cap + 1 ids in one query give both the
    bounded count and every reachable page (`selectors.newest_ids`); a page's lessons are read
    as plain values (`selectors.lessons`), not model instances."""

    @cached_property
    def _ids(self) -> list[int]:
        return selectors.newest_ids(self.object_list, self.cap)

    @cached_property
    def _bounded_count(self) -> int:
        return len(self._ids)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        return self._get_page(selectors.lessons(self._ids[bottom:top]), number, self)


@login_required
def knowledge(request):
    g = request.GET
    # A search typed into the address past the box's maxlength is cut, and the page says so.
    q, q_cut = cut_search(g.get("q", ""))
    filters = selectors.KnowledgeFilters(
        q=q.replace("\x00", ""),
        tag=g.get("tag", "")[:40].replace("\x00", ""),
        task_type=g.get("type", "") if g.get("type", "") in TaskType.values else "",
        customer=_int(g.get("customer")),
        project=_int(g.get("project")),
        department=_int(g.get("department")),
    )
    # A phrase no lesson holds as written falls back to its words anywhere (合同模板预审).
    found, loose = selectors.knowledge_search(request.user, filters)
    page = LessonPaginator(found, 20, cap=selectors.KNOWLEDGE_COUNT_CAP).get_page(g.get("page"))
    # The drop-downs and the cards are built in Python (review/html.py): through the template
    # language they were most of the page's time.
    named = ("id", "name")
    selects = html.knowledge_selects(
        filters,
        departments=departments_for(request.user).order_by("code").values_list(*named),
        customers=Customer.objects.filter(active=True).order_by("name").values_list(*named)[:200],
        projects=Project.objects.filter(active=True).order_by("name").values_list(*named)[:200],
    )
    results = html.knowledge_results(
        page=page,
        filters=filters,
        tags=selectors.tags_in_use(request.user),
        query_string=g.urlencode(),
        loose=loose,
    )
    # On a phone the drop-downs fold behind 筛选, open while one of them is in use.
    filtered = bool(filters.task_type or filters.customer or filters.project or filters.department)
    return render(
        request,
        "review/knowledge.html",
        {"filters": filters, "selects": selects, "results": results, "filtered": filtered, "q_cut": q_cut},
    )


@login_required
def similar(request):
    """The lessons of similar past tasks for the new-task form (htmx fragment)."""
    g = request.GET
    customer = (
        Customer.objects.filter(name=(g.get("customer") or "").strip()).first() if g.get("customer") else None
    )
    project = (
        Project.objects.filter(name=(g.get("project") or "").strip()).first() if g.get("project") else None
    )
    lessons = selectors.similar_lessons(
        request.user,
        title=(g.get("title") or "")[:200],
        customer_id=customer.pk if customer else None,
        project_id=project.pk if project else None,
        task_type=g.get("task_type", ""),
        department_id=_int(g.get("department")),
    )
    return render(request, "review/_similar.html", {"lessons": lessons})


@login_required
def department_rules(request, dept_id: int):
    """A department's retrospective rules (head or deputy; others see them)."""
    from closeloop.orgs.models import Department
    from closeloop.orgs.selectors import leads

    department = Department.objects.filter(
        pk=dept_id, pk__in=departments_for(request.user).values("pk")
    ).first()
    if department is None:
        raise Http404
    policy = services.policy_for(department.pk)
    ctx = {
        "department": department,
        "policy": policy,
        "types": TaskType.choices,
        "error": None,
        "may_edit": leads(request.user, department.pk),
    }
    if request.method == "POST":
        try:
            services.review_policy_update(
                actor=request.user,
                department=department,
                required_types=request.POST.getlist("required_types"),
                reminder_workdays=request.POST.get("reminder_workdays"),
            )
        except DomainError as exc:
            ctx["error"] = exc
            ctx["box"] = error_box(exc, _("Nothing was saved. Please correct the marked fields."))
            return render(request, "review/rules.html", ctx, status=exc.status)
        messages.success(request, _("Retrospective rules saved."))
        return redirect("review:department_rules", dept_id=department.pk)
    return render(request, "review/rules.html", ctx)
