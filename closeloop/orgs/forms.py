import zoneinfo

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

COMMON_TIME_ZONES = [
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Australia/Sydney",
    "UTC",
]


class LoginForm(AuthenticationForm):
    remember_me = forms.BooleanField(label=_("Remember me for 30 days"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class ProfileForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    time_zone = forms.ChoiceField(label=_("Time zone"))

    def __init__(self, *args, current_tz: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        zones = list(COMMON_TIME_ZONES)
        if current_tz and current_tz not in zones:
            zones.insert(0, current_tz)
        # Accept any valid zone posted (e.g. by a script); offer the common ones.
        posted = self.data.get("time_zone") if self.is_bound else None
        if posted and posted not in zones and posted in zoneinfo.available_timezones():
            zones.append(posted)
        self.fields["time_zone"].choices = [(z, z) for z in zones]


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("What will use it, e.g. “weekly export script”."),
    )
