from django import forms
from django.utils.translation import gettext_lazy as _

from closeloop.core.dates import DateField, validate_in_range
from closeloop.core.errors import field_message
from closeloop.core.ids import is_id
from closeloop.core.searchbox import SEARCH_MAX, cut_search
from closeloop.core.widgets import FastSelect
from closeloop.orgs.models import User
from closeloop.orgs.selectors import member_department_ids
from closeloop.orgs.widgets import PeoplePicker, PeopleSuggestions, PersonPicker, person_label
from closeloop.tasks.models import AdhocCategory, Comparator, Frequency, Priority, TaskType
from closeloop.tasks.states import Status


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class PersonChoiceField(forms.ModelChoiceField):
    """One person, picked by search (`PersonPicker`): the page lists only the chosen person
    and a few suggestions, never every active person."""

    widget = PersonPicker

    def label_from_instance(self, obj):
        return person_label(obj)

    def to_python(self, value):
        if value not in self.empty_values and not is_id(value):
            # A 30-digit id overflows the database's integer: refused as no such person.
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        person = super().to_python(value)
        # The picker shows the chosen person again without looking them up a second time.
        self.picked = {person.pk: person} if person is not None else {}
        return person


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    widget = PeoplePicker

    def label_from_instance(self, obj):
        return person_label(obj)

    def clean(self, value):
        people = super().clean(value)
        self.picked = {p.pk: p for p in people}
        return people


def active_people():
    # Owners and collaborators may come from any department (cross-department work).
    return User.objects.filter(is_active=True).order_by("name", "username")


def suggest_people(form: forms.Form, suggestions: PeopleSuggestions | None) -> None:
    """Offer `suggestions` in every people picker of `form` (one load for all of them)."""
    if suggestions is None:
        return
    for field in form.fields.values():
        if isinstance(field.widget, PersonPicker):
            field.widget.suggestions = suggestions


def colleagues(user) -> PeopleSuggestions:
    """What the pickers of a page without a task offer: the people of my own departments."""
    return PeopleSuggestions(department_ids=member_department_ids(user), known=[user])


def task_people(task) -> PeopleSuggestions:
    """What the pickers on a task's page offer: the people of the task's department (its owner,
    already loaded, shows without a query)."""
    return PeopleSuggestions(department_ids=[task.department_id], known=[task.owner])


class TaskForm(forms.Form):
    """The task's own fields. Acceptance criteria are repeated rows parsed by the view
    (`parse_criteria`); owner and collaborators only on create (reassign and collaborators
    have their own actions on the task page)."""

    department = forms.ModelChoiceField(label=_("Department"), queryset=None, empty_label=None)
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        help_text=_("Name who, what result, by when — e.g. “Reply to customer A's complaint about exports”."),
    )
    goal = forms.CharField(
        label=_("Background / goal"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    expected_outcome = forms.CharField(
        label=_("Expected outcome"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    value = forms.CharField(
        label=_("Business value"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Why it matters, e.g. “reach the Q3 sales target”."),
    )
    task_type = forms.ChoiceField(label=_("Type"), choices=TaskType.choices, initial=TaskType.PROJECT)
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=Priority.choices, coerce=int, initial=Priority.MEDIUM
    )
    owner = PersonChoiceField(
        label=_("Owner"), queryset=None, help_text=_("Exactly one person answers for the task.")
    )
    reviewer = PersonChoiceField(
        label=_("Reviewer"),
        queryset=None,
        required=False,
        empty_label=_("The department head"),
        help_text=_("Accepts the result; never the owner."),
    )
    collaborators = PeopleChoiceField(
        label=_("Collaborators"),
        queryset=None,
        required=False,
        help_text=_("People who help, from any department."),
    )
    start_date = DateField(label=_("Start date"), required=False, widget=DateInput())
    due_date = DateField(label=_("Due date"), widget=DateInput())
    project = forms.CharField(
        label=_("Project"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"list": "project-options", "autocomplete": "off"}),
        help_text=_("Pick one from the list or type a new name."),
    )
    customer = forms.CharField(
        label=_("Customer"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"list": "customer-options", "autocomplete": "off"}),
        help_text=_("Pick one from the list or type a new name."),
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    reason = forms.CharField(
        label=_("Why the due date moves"),
        required=False,
        max_length=500,
        help_text=_("Required when you change the due date; kept in the activity log, the owner is told."),
    )

    def __init__(
        self,
        *args,
        departments=None,
        edit: bool = False,
        suggest=None,
        can_move_due: bool = True,
        can_name_reviewer: bool = True,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        people = active_people()
        self.fields["owner"].queryset = people
        self.fields["reviewer"].queryset = people
        self.fields["collaborators"].queryset = people
        suggest_people(self, suggest)
        if not edit:
            del self.fields["reason"]
        if edit:
            for name in ("department", "owner", "collaborators"):
                del self.fields[name]
            if not can_move_due:
                # The owner moves the due date through a delay warning (DESIGN.md).
                self.fields["due_date"].disabled = True
                self.fields["due_date"].help_text = _(
                    "To move the due date, raise a delay warning on the task page: the head decides."
                )
                del self.fields["reason"]
            if not can_name_reviewer:
                self.fields["reviewer"].disabled = True
                self.fields["reviewer"].help_text = _("Named by the initiator or the department head.")
        else:
            self.fields["department"].queryset = departments
            del self.fields["version"]
            # Intake (DESIGN.md "The loop" 1): why, what result, what it is worth.
            for name in ("goal", "expected_outcome", "value"):
                self.fields[name].required = True


def parse_criteria(data) -> list[dict]:
    """The criterion rows of a posted form, in order, blank rows included (the service skips
    them, and its error keys "criteria.N" count them)."""
    cols = {k: data.getlist(f"c_{k}") for k in ("text", "metric", "comparator", "threshold", "unit")}
    n = max((len(v) for v in cols.values()), default=0)
    return [{k: (v[i] if i < len(v) else "").strip() for k, v in cols.items()} for i in range(n)]


COMPARATOR_CHOICES = [("", "—"), *Comparator.choices]


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=Status.choices)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(required=False)


class ReassignForm(forms.Form):
    owner = PersonChoiceField(label=_("New owner"), queryset=None)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)

    def __init__(self, *args, suggest=None, **kwargs):
        # Its own ids: the task page holds several people pickers, each searched by its id.
        kwargs.setdefault("auto_id", "reassign_%s")
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = active_people()
        suggest_people(self, suggest)


class CollaboratorForm(forms.Form):
    user = PersonChoiceField(label=_("Person"), queryset=None)

    def __init__(self, *args, suggest=None, **kwargs):
        kwargs.setdefault("auto_id", "collab_%s")
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = active_people()
        suggest_people(self, suggest)


class DepartmentFilterForm(forms.Form):
    """A page's department filter, read from the query string (`?department=ID`) among
    `departments` (what the page offers): a bad or not offered value is left out and named
    on the page (`ignored_filters`, shown by `ui/ignored_filters.html`). The task list's
    filters and the plan views (board, timeline, workload, calendar) read it so."""

    department = forms.TypedChoiceField(
        label=_("Department"), required=False, coerce=int, empty_value=None, widget=FastSelect
    )

    def __init__(self, *args, departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [("", _("All"))] + [(d.pk, d.name) for d in departments]


def ignored_filters(form: forms.Form) -> list[dict]:
    """The filters of the query string given a value they do not have (`?priority=high`: the
    priorities are 1 to 3), each `{"label", "value", "message"}`, for the page to say so and
    apply the others. `message` is the field's own refusal when it says more than "not one of
    its values" (`?due=2026-13-45`: not a valid date, and the format), else "". Call after
    `form.is_valid()`."""
    ignored = []
    for name, errors in form.errors.as_data().items():
        if name not in form.fields or not form.data.get(name):
            continue
        label = form.fields[name].label
        said = [field_message(label, m) for e in errors if e.code != "invalid_choice" for m in e.messages]
        ignored.append({"label": label, "value": form.data[name], "message": " ".join(said)})
    return ignored


class FlagInput(forms.CheckboxInput):
    """A check box whose value is read as given (`FlagField` judges it): Django's takes any
    text, "abc" too, for "on"."""

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class FlagField(forms.Field):
    """A yes/no filter of the query string (`?owed=1`): "1", "on", "true", "yes" are on;
    blank, "0", "off", "false", "no" off; anything else is refused as not one of its values
    (named on the page by `ignored_filters`), not taken for "on"."""

    widget = FlagInput
    # Django's own words (translated by Django), as a choice field refuses a value.
    default_error_messages = {"invalid_choice": forms.ChoiceField.default_error_messages["invalid_choice"]}
    ON = frozenset({"1", "on", "true", "yes"})
    OFF = frozenset({"", "0", "off", "false", "no"})

    def to_python(self, value) -> bool:
        if value is None or isinstance(value, bool):
            return bool(value)
        text = str(value).strip().lower()
        if text in self.ON:
            return True
        if text in self.OFF:
            return False
        raise forms.ValidationError(
            self.error_messages["invalid_choice"],
            code="invalid_choice",
            params={"value": value},
        )


class FilterForm(DepartmentFilterForm):
    """The list's filters, read from the query string: a bad value is left out and named on
    the page (`ignored_filters`), the other filters still apply. A search longer than
    `core.searchbox.SEARCH_MAX` characters (only typed into the address: the box has
    `maxlength`) is cut to that, the box shows what was searched for, and `q_cut` is True for
    the page to say so."""

    field_order = ("q", "department", "task_type", "priority", "owner", "status", "overdue", "due", "owed")

    q = forms.CharField(label=_("Search"), required=False)
    task_type = forms.ChoiceField(label=_("Type"), required=False, widget=FastSelect)
    priority = forms.TypedChoiceField(
        label=_("Priority"), required=False, coerce=int, empty_value=None, widget=FastSelect
    )
    owner = PersonChoiceField(
        label=_("Owner"),
        queryset=None,
        required=False,
        empty_label=_("All"),
        widget=PersonPicker(inline=True),
    )
    status = forms.ChoiceField(label=_("Status"), required=False, widget=FastSelect)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    due = DateField(label=_("Due on"), required=False, widget=DateInput(), validators=[validate_in_range])
    # 仪表盘's "N more" of a person who has not updated today links here (`?owner=ID&owed=1`).
    owed = FlagField(label=_("Owes today's update"), required=False)

    def __init__(self, data=None, *args, departments=(), suggest=None, **kwargs):
        q, self.q_cut = cut_search(data.get("q", "")) if data is not None else ("", False)
        if self.q_cut:
            data = data.copy()
            data["q"] = q
        super().__init__(data, *args, departments=departments, **kwargs)
        any_ = [("", _("All"))]
        self.fields["task_type"].choices = any_ + list(TaskType.choices)
        self.fields["priority"].choices = any_ + list(Priority.choices)
        self.fields["owner"].queryset = active_people()
        suggest_people(self, suggest)
        self.fields["status"].choices = [("", _("All")), ("open", _("Open (not done or cancelled)"))] + list(
            Status.choices
        )
        self.fields["q"].widget.attrs.update(
            {"placeholder": _("Title, code, project or customer"), "type": "search", "maxlength": SEARCH_MAX}
        )


# -- intake and decomposition ---------------------------------------------------------------


class AdhocForm(forms.Form):
    """临时任务 quick capture: what, which kind, how urgent, who."""

    department = forms.ModelChoiceField(label=_("Department"), queryset=None, empty_label=None)
    title = forms.CharField(
        label=_("What needs doing"),
        max_length=200,
        help_text=_("Name who, what result — e.g. “回复A客户关于导出功能的投诉”."),
    )
    adhoc_category = forms.ChoiceField(label=_("Kind"), choices=())
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=Priority.choices, coerce=int, initial=Priority.HIGH
    )
    owner = PersonChoiceField(label=_("Owner"), queryset=None)
    customer = forms.CharField(
        label=_("Customer"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"list": "customer-options", "autocomplete": "off"}),
    )
    criterion = forms.CharField(
        label=_("Done when"),
        required=False,
        max_length=500,
        help_text=_("Optional: the acceptance criterion."),
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, departments=None, suggest=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments
        self.fields["owner"].queryset = active_people()
        suggest_people(self, suggest)
        self.fields["adhoc_category"].choices = AdhocCategory.choices


class SubtaskForm(forms.Form):
    title = forms.CharField(label=_("Subtask"), max_length=200)
    owner = PersonChoiceField(
        label=_("Owner"), queryset=None, required=False, empty_label=_("Choose the owner")
    )
    collaborators = PeopleChoiceField(label=_("Collaborators"), queryset=None, required=False)
    start_date = DateField(label=_("Start date"), required=False, widget=DateInput())
    due_date = DateField(label=_("Due date"), required=False, widget=DateInput())
    weight = forms.IntegerField(label=_("Weight"), min_value=1, max_value=100, initial=1, required=False)
    criterion = forms.CharField(label=_("Acceptance criterion"), required=False, max_length=500)
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, suggest=None, **kwargs):
        kwargs.setdefault("auto_id", "subtask_%s")
        super().__init__(*args, **kwargs)
        people = active_people()
        self.fields["owner"].queryset = people
        self.fields["collaborators"].queryset = people
        suggest_people(self, suggest)


class MilestoneForm(forms.Form):
    title = forms.CharField(label=_("Milestone"), max_length=200)
    # A text that is no date is refused here; the days a milestone may take (the calendar's
    # years, on or before the task's due date) are the service's one rule
    # (`planning.services.decomposition.milestone_date_errors`), which names them.
    date = DateField(label=_("Date"), widget=DateInput())


class RecurrenceForm(forms.Form):
    frequency = forms.ChoiceField(label=_("Repeats"), choices=Frequency.choices)
    weekday = forms.TypedChoiceField(
        label=_("Weekday"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[
            (0, _("Monday")),
            (1, _("Tuesday")),
            (2, _("Wednesday")),
            (3, _("Thursday")),
            (4, _("Friday")),
            (5, _("Saturday")),
            (6, _("Sunday")),
        ],
    )
    nth_workday = forms.IntegerField(label=_("Nth working day"), required=False, min_value=1, max_value=23)
    day_of_month = forms.IntegerField(label=_("Day of month"), required=False, min_value=1, max_value=31)
    lead_days = forms.IntegerField(label=_("Create days ahead"), initial=5, min_value=0, max_value=60)


class HandoverForm(forms.Form):
    from_user = forms.IntegerField(widget=forms.HiddenInput)
    to_user = PersonChoiceField(label=_("Hand all open tasks over to"), queryset=None)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)

    def __init__(self, *args, suggest=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = active_people()
        suggest_people(self, suggest)
