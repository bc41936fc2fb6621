"""The activity list on the task page: each event of the log told as sentences."""

from django.core.exceptions import FieldDoesNotExist
from django.template.defaultfilters import truncatechars
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from closeloop.orgs.models import User
from closeloop.tasks.models import Customer, Priority, Project, Task, TaskType
from closeloop.tasks.states import Status

# -- helpers -------------------------------------------------------------------------------


FIELD_LABELS = {
    "criteria": gettext_lazy("the acceptance criteria"),
}


def _field_label(name: str) -> str:
    if name in FIELD_LABELS:
        return str(FIELD_LABELS[name])
    try:
        return str(Task._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:  # another app's event may name its own fields
        return name


def _value(name: str, raw, names: dict) -> str:
    if raw in (None, "", []):
        return "—"
    try:
        if name == "priority":
            return str(Priority(int(raw)).label)
        if name == "task_type":
            return str(TaskType(raw).label)
        if name == "status":
            return str(Status(raw).label)
        if name in ("reviewer", "owner", "user"):
            return names["people"].get(int(raw), f"#{raw}")
        if name == "project":
            return names["projects"].get(int(raw), f"#{raw}")
        if name == "customer":
            return names["customers"].get(int(raw), f"#{raw}")
        if name == "progress":
            return f"{raw}%"
    except (ValueError, TypeError):
        pass
    if isinstance(raw, list):
        return "; ".join(truncatechars(str(x), 40) for x in raw)
    return truncatechars(str(raw), 80)


# Notes a service once stored for the reader instead of a person writing them: acceptance
# without an overall comment wrote "Accepted" in the accepter's language (验收通过) until
# 2026-12; such rows are told in the reader's language. (verb, status after, note) → text.
GENERATED_NOTES = {
    ("status_changed", "done", "验收通过"): gettext_lazy("Accepted"),
    ("status_changed", "done", "Accepted"): gettext_lazy("Accepted"),
}


def event_note(event) -> str:
    """The event's note as the activity list shows it: what a person wrote, as written; a
    note a service generated (`GENERATED_NOTES`) in the current language."""
    note = event.note or ""
    if not note:
        return ""
    after = getattr(event, "after", None)
    status = after.get("status") if isinstance(after, dict) else None
    generated = GENERATED_NOTES.get((getattr(event, "verb", ""), status, note.strip()))
    return str(generated) if generated is not None else note


def _event_names(events, known: dict[int, str] | None = None) -> dict:
    """The names the events' before/after values point at (people, projects, customers), by
    id. `known` (person id → display name: the people the page has loaded already) saves the
    look-up of those; one query per kind for the rest, none when nothing is missing."""
    known = known or {}
    people, projects, customers = set(), set(), set()
    for e in events:
        for d in (e.before or {}, e.after or {}):
            for key in ("owner", "reviewer", "user"):
                if isinstance(d.get(key), int):
                    people.add(d[key])
            if isinstance(d.get("project"), int):
                projects.add(d["project"])
            if isinstance(d.get("customer"), int):
                customers.add(d["customer"])
    return {
        "people": {
            **{pk: known[pk] for pk in people if pk in known},
            **(
                {u.pk: u.display_name for u in User.objects.filter(pk__in=people - known.keys())}
                if people - known.keys()
                else {}
            ),
        },
        "projects": dict(Project.objects.filter(pk__in=projects).values_list("pk", "name"))
        if projects
        else {},
        "customers": dict(Customer.objects.filter(pk__in=customers).values_list("pk", "name"))
        if customers
        else {},
    }


def describe_event(event, names: dict) -> list[str]:
    """The event log as sentences a person reads: "王总 changed the due date from … to …"."""
    actor = event.actor.display_name if event.actor else _("Closeloop")
    before, after = event.before or {}, event.after or {}
    verb = event.verb
    if verb == "created":
        return [_("%(actor)s created the task") % {"actor": actor}]
    if verb == "updated":
        lines = []
        for key in after.keys() | before.keys():
            if key == "criteria":
                lines.append(_("%(actor)s rewrote the acceptance criteria") % {"actor": actor})
                continue
            lines.append(
                _("%(actor)s changed %(field)s from %(before)s to %(after)s")
                % {
                    "actor": actor,
                    "field": _field_label(key),
                    "before": _value(key, before.get(key), names),
                    "after": _value(key, after.get(key), names),
                }
            )
        return sorted(lines) or [_("%(actor)s edited the task") % {"actor": actor}]
    if verb == "reassigned":
        return [
            _("%(actor)s reassigned the task from %(before)s to %(after)s")
            % {
                "actor": actor,
                "before": _value("owner", before.get("owner"), names),
                "after": _value("owner", after.get("owner"), names),
            }
        ]
    if verb == "status_changed":
        if after.get("with_parent"):
            # Cancelled because its parent (or a task above) was (`services.task_transition`).
            return [
                _("%(actor)s cancelled the task above it, and this one with it (it was %(before)s)")
                % {"actor": actor, "before": _value("status", before.get("status"), names)}
            ]
        if after.get("with_subtasks"):
            n = len(after["with_subtasks"])
            return [
                ngettext(
                    "%(actor)s changed the status from %(before)s to %(after)s, and with it %(n)s open subtask",
                    "%(actor)s changed the status from %(before)s to %(after)s, and with it %(n)s open subtasks",
                    n,
                )
                % {
                    "actor": actor,
                    "before": _value("status", before.get("status"), names),
                    "after": _value("status", after.get("status"), names),
                    "n": n,
                }
            ]
        return [
            _("%(actor)s changed the status from %(before)s to %(after)s")
            % {
                "actor": actor,
                "before": _value("status", before.get("status"), names),
                "after": _value("status", after.get("status"), names),
            }
        ]
    if verb == "collaborator_added":
        return [
            _("%(actor)s added %(person)s as a collaborator")
            % {"actor": actor, "person": _value("user", after.get("user"), names)}
        ]
    if verb == "collaborator_removed":
        return [
            _("%(actor)s removed collaborator %(person)s")
            % {"actor": actor, "person": _value("user", before.get("user"), names)}
        ]
    if verb == "due_date_changed":
        return [
            _("%(actor)s changed the due date from %(before)s to %(after)s: %(reason)s")
            % {
                "actor": actor,
                "before": before.get("due_date", ""),
                "after": after.get("due_date", ""),
                "reason": event.note,
            }
        ]
    if verb == "dependency_overridden":
        return [
            _("%(actor)s let the task start before its predecessors were done: %(reason)s")
            % {"actor": actor, "reason": event.note}
        ]
    if verb == "imported":
        # A task created from a sheet row takes over the state the sheet recorded (sheets).
        state = [_value(k, after[k], names) for k in ("status", "progress") if k in after]
        return [
            _("%(actor)s imported the task in the state its sheet recorded: %(state)s")
            % {"actor": actor, "state": " · ".join(state) if state else "—"}
        ]
    if verb == "delay_warning_decided" and after.get("status") in ("approved", "rejected"):
        # Say which way it went: "decided" alone left the reader to open the warning.
        if after["status"] == "approved":
            return [_("%(actor)s approved the delay warning") % {"actor": actor}]
        return [_("%(actor)s rejected the delay warning") % {"actor": actor}]
    if verb == "became_overdue":
        return [_("The task became overdue (it was due %(date)s)") % {"date": after.get("due_date", "")}]
    values = {
        "actor": actor,
        "before": before.get("progress", before.get("due_date", "")),
        "after": after.get("progress", after.get("due_date", "")),
        "percent": after.get("percent", ""),
        "day": after.get("day", ""),
        "code": after.get("code", ""),
        "title": after.get("title", ""),
        "date": after.get("date", after.get("new_due_date", "")),
        "person": _value("owner", after.get("owner"), names),
        "attempt": after.get("attempt", ""),
    }
    if verb == "progress_update" and after.get("percent") is None:
        # A parent's update carries a note, not a percent (its progress rolls up).
        return [_("%(actor)s posted the update for %(day)s") % values]
    template = EVENT_SENTENCES.get(verb)
    if template is not None:
        return [template % values]
    return [_("%(actor)s: %(verb)s") % {"actor": actor, "verb": verb.replace("_", " ")}]


# The events other parts of the loop write, as sentences (keys of `values` above).
EVENT_SENTENCES = {
    "commented": gettext_lazy("%(actor)s commented"),
    "progress_update": gettext_lazy("%(actor)s posted the update for %(day)s: %(percent)s%%"),
    "progress_rolled_up": gettext_lazy("Progress rolled up from the subtasks: %(before)s%% → %(after)s%%"),
    "delay_warning_raised": gettext_lazy("%(actor)s raised a delay warning, asking for %(date)s"),
    "delay_warning_decided": gettext_lazy("%(actor)s decided the delay warning"),
    "delay_warning_escalated": gettext_lazy("The undecided delay warning went up to the superior"),
    "delay_warning_closed": gettext_lazy(
        "The pending delay warning was closed with the task: no decision is needed"
    ),
    "due_date_moved": gettext_lazy("%(actor)s moved the due date from %(before)s to %(after)s"),
    "dependency_added": gettext_lazy("%(actor)s made this task wait for %(code)s"),
    "dependency_removed": gettext_lazy("%(actor)s removed a dependency"),
    "milestone_added": gettext_lazy("%(actor)s added the milestone %(title)s on %(date)s"),
    "milestone_changed": gettext_lazy("%(actor)s changed a milestone"),
    "milestone_removed": gettext_lazy("%(actor)s removed a milestone"),
    "handed_over": gettext_lazy("%(actor)s handed the task over to %(person)s"),
    "recurred": gettext_lazy("The next occurrence of this recurring task was created"),
    "recurrence_set": gettext_lazy("%(actor)s set the task to recur"),
    "recurrence_stopped": gettext_lazy("%(actor)s stopped the recurrence"),
    "template_applied": gettext_lazy("%(actor)s laid out subtasks from a template"),
    "template_saved": gettext_lazy("%(actor)s saved the subtasks as a template"),
    "issue_raised": gettext_lazy("%(actor)s raised an issue: %(title)s"),
    "issue_resolved": gettext_lazy("%(actor)s resolved the issue: %(title)s"),
    "issue_withdrawn": gettext_lazy("%(actor)s withdrew the issue: %(title)s"),
    "issue_escalated": gettext_lazy("An open issue went up the escalation ladder"),
    "communication_plan_set": gettext_lazy("%(actor)s set the communication plan"),
    "minutes_recorded": gettext_lazy("%(actor)s recorded the meeting minutes %(title)s"),
    "submission_created": gettext_lazy("%(actor)s handed in attempt %(attempt)s for acceptance"),
    "submission_reviewed": gettext_lazy("%(actor)s reviewed attempt %(attempt)s criterion by criterion"),
    "criteria_change_agreed": gettext_lazy("%(actor)s agreed to a change of the frozen acceptance criteria"),
    "retrospective_written": gettext_lazy("%(actor)s wrote the retrospective"),
    "retrospective_updated": gettext_lazy("%(actor)s updated the retrospective"),
}
