"""The registry of notification kinds and how each is rendered.

Rendering happens at delivery (or when the in-app list is shown), inside
`translation.override(language)`, from the data the feature service handed to `notify()`:
`code`, `title`, `by`, `note`, `due`, … A key the data lacks renders as an empty string, so an
old row never breaks a page.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class Kind:
    name: str
    # Short line: bell list, message title, email subject.
    title: Any
    # Longer text, optional.
    body: Any = ""
    # What the person should do on the linked page; the button text.
    action: Any = _("Open")
    # The same in at most 4 characters, for buttons that hold no more (WeCom's textcard).
    button: Any = pgettext_lazy("short button", "Open")
    # Asks one person to act: goes to that person's own channels by default.
    personal: bool = False
    # Department-wide news: goes to the department's group by default.
    group: bool = False
    render_fn: Callable[[Mapping[str, Any]], tuple[str, str]] | None = field(default=None, compare=False)
    # What the event is, in a few words, for the notification settings ("A task is assigned to
    # you"): the title is a message template with holes for its data, not a name.
    label: Any = ""


KINDS: dict[str, Kind] = {}


def kind_label(name: str) -> str:
    """The event's name in the current language ("A task is assigned to you"), for the
    notification settings: `Kind.label` (each app names the kinds it registers), else ""
    (unknown)."""
    spec = KINDS.get(name)
    return str(spec.label) if spec is not None else ""


def register_kind(kind: Kind) -> Kind:
    KINDS[kind.name] = kind
    return kind


def _decided(data: Mapping[str, Any]) -> tuple[str, str]:
    values = _Blank(data)
    if data.get("approved"):
        title = _("%(by)s approved the new due date %(new_due)s of %(code)s %(title)s") % values
    else:
        title = _("%(by)s rejected the delay of %(code)s %(title)s") % values
    return str(title), str(data.get("note") or "")


def _escalated(data: Mapping[str, Any]) -> tuple[str, str]:
    """`issue.escalated`: the level and whom it went to — "escalated to level 1: 王强 (销售部)"
    (data "to": the person the rung names, "" when the department has nobody to name;
    "department": the rung's department)."""
    values = _Blank(data)
    if data.get("to"):
        title = _(
            "An issue on %(code)s %(title)s is unresolved: escalated to level %(level)s, %(to)s (%(department)s)"
        )
    elif data.get("department"):
        title = _(
            "An issue on %(code)s %(title)s is unresolved: escalated to level %(level)s (%(department)s)"
        )
    else:
        title = _("An issue on %(code)s %(title)s is unresolved: escalated to level %(level)s")
    return str(title % values), str(data.get("note") or "")


def _assigned(data: Mapping[str, Any]) -> tuple[str, str]:
    values = _Blank(data)
    if data.get("due"):
        return str(_("%(by)s assigned you %(code)s %(title)s, due %(due)s") % values), ""
    return str(_("%(by)s assigned you %(code)s %(title)s") % values), ""


def _assigned_many(data: Mapping[str, Any]) -> tuple[str, str]:
    # One message for many tasks handed to one person at once (an import): the count, then
    # up to `ASSIGNED_MANY_LISTED` of them, one a line.
    items = [t for t in data.get("tasks") or [] if isinstance(t, dict)]
    title = _("%(by)s assigned you %(count)s tasks") % {
        "by": data.get("by", ""),
        "count": data.get("count", ""),
    }
    lines = [" ".join(str(t.get(k, "")) for k in ("code", "title", "due") if t.get(k)) for t in items]
    more = int(data.get("count") or 0) - len(items)
    if more > 0:
        lines.append(str(_("… and %(n)s more") % {"n": more}))
    if data.get("note"):
        lines.insert(0, str(data["note"]))
    return str(title), "\n".join(lines)


def _cancelled(data: Mapping[str, Any]) -> tuple[str, str]:
    """`task.cancelled`: the task, and what went with it — for its owner and collaborators
    the number of open subtasks cancelled with it (`subtask_count`), for an owner of some of
    those subtasks who is not on the task itself their own (`mine`, `subtasks` listed up to
    `tasks.services.CANCELLED_SUBTASKS_LISTED`, one a line after the reason)."""
    values = _Blank(data)
    mine = int(data.get("mine") or 0)
    count = int(data.get("subtask_count") or 0)
    lines = [str(data["note"])] if data.get("note") else []
    items = [t for t in data.get("subtasks") or [] if isinstance(t, dict)]
    named = [" ".join(str(t.get(k, "")) for k in ("code", "title") if t.get(k)) for t in items]
    if mine == 1 and named:
        title = _("%(by)s cancelled %(code)s %(title)s, and with it your subtask %(sub)s") % _Blank(
            data, sub=named[0]
        )
    elif mine:
        title = _("%(by)s cancelled %(code)s %(title)s, and with it %(n)s of your subtasks") % _Blank(
            data, n=mine
        )
        lines += named
        if mine > len(items):
            lines.append(str(_("… and %(n)s more") % {"n": mine - len(items)}))
    elif count:
        title = ngettext(
            "%(by)s cancelled %(code)s %(title)s and its %(n)s open subtask",
            "%(by)s cancelled %(code)s %(title)s and its %(n)s open subtasks",
            count,
        ) % _Blank(data, n=count)
    else:
        title = _("%(by)s cancelled %(code)s %(title)s") % values
    return str(title), "\n".join(lines)


def _prerendered(data: Mapping[str, Any]) -> tuple[str, str]:
    # Account mail is worded when it is asked for, in the asker's language.
    return str(data.get("subject") or ""), str(data.get("body") or "")


def _reminder(data: Mapping[str, Any]) -> tuple[str, str]:
    items = data.get("tasks") or []
    if items:
        title = _("Post today's update on %(count)s task(s)") % {"count": len(items)}
        body = "\n".join(
            " ".join(str(t.get(k, "")) for k in ("code", "title", "owner") if t.get(k))
            for t in items
            if isinstance(t, dict)
        )
        return str(title), body
    return str(_("Post today's update on %(code)s %(title)s") % _Blank(data)), ""


for _kind in [
    Kind(
        "task.assigned",
        _("%(by)s assigned you %(code)s %(title)s"),
        personal=True,
        action=_("Open the task"),
        render_fn=_assigned,
        label=_("A task is assigned to you"),
    ),
    Kind(
        "task.assigned_many",
        _("%(by)s assigned you %(count)s tasks"),
        personal=True,
        action=_("Open my tasks"),
        render_fn=_assigned_many,
        label=_("Several tasks are assigned to you at once"),
    ),
    Kind(
        "task.collaborator_added",
        _("%(by)s added you as a collaborator on %(code)s %(title)s"),
        personal=True,
        action=_("Open the task"),
        label=_("You are added as a collaborator"),
    ),
    Kind(
        "task.submitted",
        _("%(by)s submitted %(code)s %(title)s for acceptance"),
        "%(note)s",
        personal=True,
        action=_("Accept or send back"),
        button=pgettext_lazy("short button", "Accept"),
        label=_("A task is submitted for your acceptance"),
    ),
    Kind("task.accepted", _("%(by)s accepted %(code)s %(title)s"), "%(note)s", label=_("A task is accepted")),
    Kind(
        "task.rework",
        _("%(by)s sent %(code)s %(title)s back for rework"),
        "%(note)s",
        personal=True,
        action=_("See the comments"),
        label=_("A task is sent back for rework"),
    ),
    Kind(
        "task.cancelled",
        _("%(by)s cancelled %(code)s %(title)s"),
        "%(note)s",
        render_fn=_cancelled,
        label=_("A task is cancelled"),
    ),
    Kind(
        "task.blocked",
        _("%(code)s %(title)s is blocked"),
        "%(note)s",
        personal=True,
        action=_("Help unblock"),
        button=pgettext_lazy("short button", "Help"),
        label=_("A task is blocked"),
    ),
    Kind(
        "task.overdue",
        _("%(code)s %(title)s is overdue (due %(due)s)"),
        personal=True,
        action=_("Update progress or ask for a delay"),
        button=pgettext_lazy("short button", "Update"),
        label=_("A task is overdue"),
    ),
    Kind(
        "task.due_date_changed",
        _("%(by)s moved the due date of %(code)s %(title)s from %(old_due)s to %(due)s"),
        "%(note)s",
        personal=True,
        action=_("Open the task"),
        label=_("A task's due date is moved"),
    ),
    Kind(
        "task.dependency_slipped",
        _("%(pred)s is now due %(due)s, after %(code)s %(title)s was to start (%(start)s)"),
        personal=True,
        action=_("Check the plan"),
        label=_("A predecessor now ends after your task was to start"),
    ),
    Kind(
        "task.dependency_overridden",
        _("%(by)s let %(code)s %(title)s start before its predecessors are done"),
        "%(note)s",
        personal=True,
        action=_("Open the task"),
        label=_("A task starts before its predecessors are done"),
    ),
    Kind(
        "mentioned",
        _("%(by)s mentioned you on %(code)s %(title)s"),
        "%(note)s",
        personal=True,
        action=_("Reply"),
        label=_("You are mentioned"),
    ),
    Kind(
        "due_soon",
        _("%(code)s %(title)s is due %(due)s"),
        personal=True,
        action=_("Update progress"),
        label=_("A task is due soon"),
    ),
    Kind(
        "update_reminder",
        _("Post today's update on %(code)s %(title)s"),
        personal=True,
        group=True,
        action=_("Update progress"),
        render_fn=_reminder,
        label=_("Reminder to post today's update"),
    ),
    Kind(
        "delay_warning.raised",
        _("%(by)s asks to move %(code)s %(title)s to %(new_due)s"),
        "%(note)s",
        personal=True,
        action=_("Approve or reject the delay"),
        button=pgettext_lazy("short button", "Decide"),
        label=_("A delay warning asks for your decision"),
    ),
    Kind(
        "delay_warning.decided",
        _("Delay decided"),
        personal=True,
        action=_("Open the task"),
        render_fn=_decided,
        label=_("Your delay warning is decided"),
    ),
    Kind(
        "issue.raised",
        _("%(by)s raised an issue on %(code)s %(title)s"),
        "%(note)s",
        personal=True,
        group=True,
        action=_("Resolve the issue"),
        label=_("An issue is raised"),
    ),
    Kind(
        "issue.escalated",
        _("An issue on %(code)s %(title)s is unresolved: escalated to level %(level)s"),
        "%(note)s",
        personal=True,
        group=True,
        action=_("Resolve the issue"),
        render_fn=_escalated,
        label=_("An issue is escalated"),
    ),
    Kind(
        "weekly_review.ready",
        _("The weekly review of %(department)s is ready"),
        group=True,
        action=_("Open the weekly review"),
        button=pgettext_lazy("short button", "Review"),
        label=_("The weekly review is ready"),
    ),
    Kind(
        "channel.disabled",
        _("Channel %(channel)s was disabled"),
        "%(error)s",
        personal=True,
        action=_("Check the channel"),
        label=_("A channel is disabled"),
    ),
    Kind(
        "channel.test",
        _("Test message from Closeloop"),
        _("If you can read this, the channel works."),
        label=_("Test message"),
    ),
    Kind(
        "account.password_reset",
        _("Closeloop password reset"),
        personal=True,
        action=_("Set a new password"),
        render_fn=_prerendered,
        label=_("Password reset"),
    ),
]:
    register_kind(_kind)


@dataclass
class Rendered:
    title: str
    body: str
    action: str
    button: str = ""


def render(kind: str, data: Mapping[str, Any] | None, *, language: str | None = None) -> Rendered:
    """Title, body and button text of one notification in `language`."""
    data = data or {}
    values = _Blank({k: ("" if v is None else v) for k, v in data.items()})
    spec = KINDS.get(kind)
    with translation.override(language or settings.LANGUAGE_CODE):
        if spec is None:
            return Rendered(
                title=str(data.get("title") or kind), body=str(data.get("note") or ""), action=str(_("Open"))
            )
        if spec.render_fn is not None:
            title, body = spec.render_fn(values)
        else:
            title = str(spec.title) % values
            body = str(spec.body) % values if spec.body else ""
        return Rendered(
            title=" ".join(title.split()), body=body.strip(), action=str(spec.action), button=str(spec.button)
        )


def absolute(link: str) -> str:
    if not link:
        return settings.SITE_URL + "/"
    if link.startswith(("http://", "https://")):
        return link
    return settings.SITE_URL.rstrip("/") + "/" + link.lstrip("/")
