"""Forms of the collaboration pages: parse and bound-check input; the services decide."""

import datetime as dt

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from closeloop.collab import ladder
from closeloop.collab.models import PROBLEM_MAX, RESOLUTION_MAX, Cadence, SyncChannel
from closeloop.core.dates import DateField
from closeloop.orgs.models import Department, User
from closeloop.tasks.forms import DateInput
from closeloop.tasks.models import TaskCollaborator
from closeloop.tasks.permissions import can_edit

MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)


def task_people(task) -> list[User]:
    """Who may be chosen as resolver or party without leaving the page: the people on the
    task and who leads its department. (The service checks each sees the task.) Uses what
    the task page has loaded (owner, initiator, reviewer, `collaborator_list`); one query
    for the rest."""
    known: dict[int, User] = {}
    for rel in ("owner", "initiator", "reviewer"):
        if getattr(task, f"{rel}_id", None) and rel in task._state.fields_cache:
            known[getattr(task, f"{rel}_id")] = getattr(task, rel)
    collaborators = getattr(task, "collaborator_list", None)
    ids = [
        task.owner_id,
        task.initiator_id,
        task.reviewer_id,
        task.department.head_id,
        task.department.deputy_id,
    ]
    if collaborators is None:
        ids += list(TaskCollaborator.objects.filter(task_id=task.pk).values_list("user_id", flat=True))
    else:
        known.update({u.pk: u for u in collaborators})
        ids += [u.pk for u in collaborators]
    missing = [i for i in ids if i and i not in known]
    if missing:
        known.update({u.pk: u for u in User.objects.filter(pk__in=missing)})
    return [known[i] for i in dict.fromkeys(ids) if i in known and known[i].is_active]


class _DateBounded(forms.Form):
    def _in_range(self, value, field):
        if (
            value is not None
            and not MIN_DATE <= (value.date() if isinstance(value, dt.datetime) else value) <= MAX_DATE
        ):
            raise forms.ValidationError(_("Give a date between 1900 and 2100."))
        return value


def deadline_help(department) -> str:
    """The deadline field's help: its default, and that the escalation ladder runs from the
    raising time whatever the deadline (the handbook's 24 hours), in the department's own
    settings (`ladder.settings_for`)."""
    cfg = ladder.settings_for(department)
    if cfg.levels < 1:
        return str(_("Default: 24 hours from now. Issues of this department do not escalate."))
    if cfg.working_hours:
        text = _(
            "Default: 24 hours from now. Whatever the deadline, an issue still open %(hours)s working hours after it is raised escalates to the department head."
        )
    else:
        text = _(
            "Default: 24 hours from now. Whatever the deadline, an issue still open %(hours)s hours after it is raised escalates to the department head."
        )
    return str(text) % {"hours": cfg.first_after_hours}


class IssueQuickForm(_DateBounded):
    problem = forms.CharField(
        label=_("Problem"), max_length=PROBLEM_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )
    resolver = forms.TypedChoiceField(label=_("Resolver"), coerce=int)
    deadline = forms.DateTimeField(
        label=_("Deadline"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Default: 24 hours from now."),
    )
    party_users = forms.TypedMultipleChoiceField(
        label=_("People involved"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    party_departments = forms.ModelMultipleChoiceField(
        label=_("Departments involved"),
        queryset=Department.objects.none(),
        required=False,
        help_text=_("Their heads and deputies are told, and may read this issue (not the rest of the task)."),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, task, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.people = task_people(task)
        self.fields["deadline"].help_text = deadline_help(task.department)
        # Only people who see the task may resolve it: someone of another department is
        # added as a collaborator first (by who may add them; the raiser may not be one).
        self.add_people_url = (
            f"{reverse('tasks:detail', args=[task.pk])}?open=collaborators#people"
            if user is not None and can_edit(user, task)
            else ""
        )
        self.fields["resolver"].help_text = (
            _(
                "Only people who see this task are listed. To ask someone of another department, add them as a collaborator first."
            )
            if self.add_people_url
            else _(
                "Only people who see this task are listed. To ask someone of another department, ask the owner or the department head to add them as a collaborator first."
            )
        )
        choices = [(u.pk, u.display_name) for u in self.people]
        self.fields["resolver"].choices = choices
        self.fields["party_users"].choices = choices
        self.fields["party_departments"].queryset = Department.objects.exclude(parent__isnull=True).order_by(
            "code"
        )
        if not self.is_bound:
            self.initial.setdefault("resolver", task.owner_id)

    def clean_problem(self):
        value = self.cleaned_data["problem"]
        if "\x00" in value:
            raise forms.ValidationError(_("Remove the NUL character from this text."))
        return value

    def clean_deadline(self):
        value = self._in_range(self.cleaned_data.get("deadline"), "deadline")
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value

    def people_by_id(self, ids) -> list[User]:
        by_id = {u.pk: u for u in self.people}
        return [by_id[i] for i in ids if i in by_id]


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label=_("Resolution"),
        max_length=RESOLUTION_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class WithdrawForm(forms.Form):
    """The reason for withdrawing an issue: optional for its raiser, asked of a head or deputy
    (`services.issue_withdraw` checks it; the form only shows it)."""

    reason = forms.CharField(
        label=_("Reason for withdrawing"),
        max_length=RESOLUTION_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PlanForm(forms.Form):
    cadence = forms.ChoiceField(label=_("Cadence"), choices=Cadence.choices)
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Weekdays"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[
            (0, _("Mon")),
            (1, _("Tue")),
            (2, _("Wed")),
            (3, _("Thu")),
            (4, _("Fri")),
            (5, _("Sat")),
            (6, _("Sun")),
        ],
    )
    custom = forms.CharField(label=_("Custom cadence"), max_length=200, required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=SyncChannel.choices)
    channel_detail = forms.CharField(label=_("Link or place"), max_length=500, required=False)
    sync_time = forms.TimeField(
        label=_("Sync time"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )


class MinutesForm(forms.Form):
    title = forms.CharField(label=pgettext_lazy("meeting minutes", "Meeting subject"), max_length=200)
    # ISO in the value (a type=date input shows nothing for "2026/12/02"): the default, today,
    # showed an empty date.
    held_on = DateField(label=_("Date"), widget=DateInput())
    attendees = forms.TypedMultipleChoiceField(
        label=_("Attendees"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    decisions = forms.CharField(
        label=_("Decisions"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.people = people
        self.fields["attendees"].choices = [(u.pk, u.display_name) for u in people]

    def clean_held_on(self):
        value = self.cleaned_data["held_on"]
        if not MIN_DATE <= value <= MAX_DATE:
            raise forms.ValidationError(_("Give a date between 1900 and 2100."))
        return value


class IssueFilterForm(forms.Form):
    """/issues/'s filters, read from the query string: a value a filter does not have is
    left out and named on the page (`tasks.forms.ignored_filters`), the others apply."""

    show = forms.ChoiceField(
        label=pgettext_lazy("issue list filter", "Show"),
        required=False,
        choices=[
            ("mine", _("All mine")),
            ("raised", _("Raised by me")),
            ("resolve", _("Mine to resolve")),
            ("escalated", _("Escalated to me")),
            ("departments", _("Involving my departments")),
        ],
    )
    state = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("open", pgettext_lazy("issue status", "Open")),
            ("closed", _("Resolved or withdrawn")),
            ("all", _("All")),
        ],
    )
    overdue = forms.BooleanField(label=_("Past the deadline only"), required=False)
