from django import forms
from django.utils.translation import gettext_lazy as _

from closeloop.core.dates import DateField, validate_in_range
from closeloop.tracking.models import DelayReason, UpdateState


class UpdateForm(forms.Form):
    percent = forms.IntegerField(label=_("Progress %"), required=False, min_value=0, max_value=100)
    state = forms.ChoiceField(label=_("State"), choices=UpdateState.choices, initial=UpdateState.IN_PROGRESS)
    blocker = forms.CharField(label=_("Waiting on whom / what"), required=False, max_length=300)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    day = DateField(
        label=_("Day"),
        required=False,
        validators=[validate_in_range],
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty for today. An earlier day without an update is filled in late (补报)."),
    )


class WarningForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=DelayReason.choices)
    explanation = forms.CharField(label=_("Explanation"), widget=forms.Textarea(attrs={"rows": 3}))
    new_due_date = DateField(
        label=_("New due date"),
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_in_range],
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
