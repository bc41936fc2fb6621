"""Pages of the sheets app: upload → preview → confirm an import, and the .xlsx exports.

Thin: reading and validating is `importing`, writing is `services`, exporting is `exporting`.
The uploaded file lives only between preview and confirm (`uploads`).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from closeloop.core.errors import DomainError
from closeloop.orgs.models import Department
from closeloop.orgs.selectors import department_visible_list, departments_for
from closeloop.sheets import uploads
from closeloop.sheets.exporting import Scope, export_filename, template_for, write_workbook
from closeloop.sheets.importing import LABELS
from closeloop.sheets.people import LABELS as PEOPLE_LABELS
from closeloop.sheets.people import PeopleImportRefused, people_import_apply, write_people
from closeloop.sheets.reading import check_size
from closeloop.sheets.services import ImportRefused, task_import_apply
from closeloop.tasks import selectors as task_selectors
from closeloop.tasks.forms import FilterForm
from closeloop.tasks.selectors import access_task


def _too_big(request) -> str:
    """Refuse an oversized upload from its Content-Length, before Django reads the body."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    try:
        check_size(max(length - 64 * 1024, 0))  # the form's other fields and boundaries
    except DomainError as exc:
        return exc.message
    return ""


def _departments(user):
    return list(departments_for(user).order_by("code"))


def _render_form(request, *, error: str = "", status: int = 200, department_id=None):
    return render(
        request,
        "sheets/import.html",
        {"departments": _departments(request.user), "error": error, "department_id": department_id},
        status=status,
    )


def _preview(request, plan, *, token: str = "", filename: str = "", status: int = 200, people: bool = False):
    """The preview: rows with an error first, then the rows that create or change something
    (in sheet order); unchanged rows without a message folded into one line with their count,
    so a phone shows what needs a look, not a card per row."""
    labels = PEOPLE_LABELS if people else LABELS
    shown, folded = [], []
    for r in sorted(plan.rows, key=lambda r: (r.action != "error", r.row)):
        if r.action == "unchanged" and not r.warnings:
            folded.append(r)
            continue
        shown.append(
            {
                "r": r,
                "changes": [(str(r.labels.get(k) or labels[k]), a, b) for k, (a, b) in r.changes.items()],
            }
        )
    counts = plan.counts()
    target = _("People directory") if people else f"{plan.department.name} ({plan.department.code})"
    return render(
        request,
        "sheets/preview.html",
        {
            "plan": plan,
            "rows": shown,
            "folded": folded,
            "counts": counts,
            "changes": counts["create"] + counts["update"],
            "token": token,
            "filename": filename,
            "target": target,
            "sheet": getattr(plan, "sheet", ""),
            "sheet_count": len(getattr(plan, "sheets", ())),
            "again_url": reverse("sheets:people_import" if people else "sheets:import"),
        },
        status=status,
    )


@login_required
def import_upload(request):
    """GET: the upload form. POST: store the file, validate every row, show the preview; a
    file with errors is deleted at once (fix it and upload again)."""
    if request.method != "POST":
        return _render_form(request)
    if too_big := _too_big(request):
        return _render_form(request, error=too_big, status=413)
    department = Department.objects.filter(
        pk__in=[d.pk for d in _departments(request.user)], pk=request.POST.get("department") or 0
    ).first()
    if department is None:
        return _render_form(request, error=_("Choose a department."), status=422)
    try:
        token, path = uploads.save(request.FILES.get("file"))
    except DomainError as exc:
        return _render_form(request, error=exc.message, status=422, department_id=department.pk)
    filename = getattr(request.FILES.get("file"), "name", "")[:200]
    try:
        plan = task_import_apply(
            actor=request.user, department=department, path=path, source_name=filename, dry_run=True
        )
    except DomainError as exc:
        path.unlink(missing_ok=True)
        return _render_form(request, error=exc.message, status=422, department_id=department.pk)
    if not plan.ok:
        path.unlink(missing_ok=True)
        return _preview(request, plan, filename=filename, status=422)
    uploads.remember(request.session, token, {"kind": "tasks", "department": department.pk, "name": filename})
    return _preview(request, plan, token=token, filename=filename)


@login_required
@require_POST
def import_confirm(request, token: str):
    """Validate again and write everything, or nothing; the file is deleted either way."""
    found = uploads.claim(request.session, token)
    if found is None:
        messages.error(request, _("That upload has expired or was already imported; upload the file again."))
        return redirect("sheets:import")
    info, path = found
    if info.get("kind") == "people":
        return _people_confirm(request, token, info, path)
    department = Department.objects.filter(pk=info["department"]).first()
    try:
        plan = task_import_apply(
            actor=request.user, department=department, path=path, source_name=info["name"]
        )
    except ImportRefused as exc:
        return _preview(request, exc.plan, filename=info["name"], status=422)
    except DomainError as exc:
        return _render_form(request, error=exc.message, status=422)
    finally:
        uploads.discard(request.session, token)
    counts = plan.counts()
    messages.success(
        request,
        _("Imported: %(create)s created, %(update)s updated, %(unchanged)s unchanged.") % counts,
    )
    return redirect(f"{reverse('tasks:list')}?department={department.pk}")


def _people_confirm(request, token, info, path):
    try:
        plan = people_import_apply(actor=request.user, path=path, name=info["name"])
    except PeopleImportRefused as exc:
        return _preview(request, exc.plan, filename=info["name"], status=422, people=True)
    except DomainError as exc:
        return render(request, "403.html", {"message": exc.message}, status=403)
    finally:
        uploads.discard(request.session, token)
    messages.success(
        request,
        _("Imported: %(create)s created, %(update)s updated, %(unchanged)s unchanged.") % plan.counts(),
    )
    return redirect("sheets:people_import")


@login_required
def people_import(request):
    """The people directory: GET the form (and the export link), POST a sheet → preview.
    Administrators only."""
    if not request.user.is_superuser:
        return render(
            request, "403.html", {"message": _("Only an administrator can add or change people.")}, status=403
        )
    if request.method != "POST":
        return render(request, "sheets/people.html", {})
    if too_big := _too_big(request):
        return render(request, "sheets/people.html", {"error": too_big}, status=413)
    try:
        token, path = uploads.save(request.FILES.get("file"))
    except DomainError as exc:
        return render(request, "sheets/people.html", {"error": exc.message}, status=422)
    filename = getattr(request.FILES.get("file"), "name", "")[:200]
    try:
        plan = people_import_apply(actor=request.user, path=path, dry_run=True, name=filename)
    except DomainError as exc:
        path.unlink(missing_ok=True)
        return render(request, "sheets/people.html", {"error": exc.message}, status=422)
    if not plan.ok:
        path.unlink(missing_ok=True)
        return _preview(request, plan, filename=filename, status=422, people=True)
    uploads.remember(request.session, token, {"kind": "people", "name": filename})
    return _preview(request, plan, token=token, filename=filename, people=True)


@login_required
def people_export(request):
    if not request.user.is_superuser:
        return render(
            request,
            "403.html",
            {"message": _("Only an administrator can export the people directory.")},
            status=403,
        )
    out = write_people(request.user)
    return FileResponse(out, as_attachment=True, filename="people.xlsx")


@login_required
@require_POST
def import_cancel(request, token: str):
    info = (request.session.get(uploads.SESSION_KEY) or {}).get(token) or {}
    uploads.discard(request.session, token)
    return redirect("sheets:people_import" if info.get("kind") == "people" else "sheets:import")


def _bad_filters(form) -> list[str]:
    """Each query-string filter given a value it does not take, named by its parameter:
    `department=abc` or a department the person does not see (the form offers only those)."""
    bad = []
    for name, errors in form.errors.as_data().items():
        value = form.data.get(name)
        if name not in form.fields or not value:
            continue
        if name == "department":
            bad.append(
                _("?department=%(value)s is not a department you can see (give the id of one of yours)")
                % {"value": value[:40]}
            )
            continue
        said = " ".join(m for e in errors if e.code != "invalid_choice" for m in e.messages)
        bad.append(
            _("?%(param)s=%(value)s is not a valid %(label)s%(detail)s")
            % {
                "param": name,
                "value": value[:40],
                "label": str(form.fields[name].label).lower(),
                "detail": f" ({said})" if said else "",
            }
        )
    return bad


@login_required
def export(request, template: str):
    """A template as .xlsx: `?task=<id>` for a task with its subtasks, else the task list with
    the same filters as the 任务 page (department, type, priority, owner, status, search)."""
    try:
        sheet = template_for(template)
    except DomainError as exc:
        return render(request, "404.html", {"message": exc.message}, status=404)
    user = request.user
    if request.GET.get("task"):
        task = access_task(user, request.GET["task"])
        scope = Scope(user=user, task=task)
    else:
        form = FilterForm(request.GET, departments=department_visible_list(user))
        form.is_valid()
        if bad := _bad_filters(form):
            # The list page leaves a bad filter out and says so; a file has no place to say
            # it, and the whole department's sheet is not what was asked for.
            message = _("Nothing exported: %(filters)s.") % {"filters": "; ".join(bad)}
            return render(request, "400.html", {"message": message}, status=400)
        data = getattr(form, "cleaned_data", {})
        filters = task_selectors.TaskFilters(
            department=data.get("department"),
            task_type=data.get("task_type") or None,
            priority=data.get("priority"),
            owner=data["owner"].pk if data.get("owner") else None,
            status=data.get("status") or None,
            overdue=bool(data.get("overdue")),
            q=data.get("q") or "",
            sort=request.GET.get("sort") if request.GET.get("sort") in task_selectors.SORTS else "code",
            owed=bool(data.get("owed")),
        )
        department = Department.objects.filter(pk=filters.department).first() if filters.department else None
        scope = Scope(
            user=user, department=department, queryset=task_selectors.task_list(user, filters), period=""
        )
    out = write_workbook(sheet, scope)
    return FileResponse(out, as_attachment=True, filename=export_filename(sheet, scope))
