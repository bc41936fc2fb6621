from django import forms
from django.utils.translation import gettext_lazy as _

# Credential fields per platform: (config key, label, required, integer).
CREDENTIALS = {
    "wecom": [
        ("corp_id", _("Corp ID (企业ID)"), True, False),
        ("agent_id", _("AgentId"), True, True),
    ],
    "dingtalk": [
        ("app_key", _("AppKey (Client ID)"), True, False),
        ("agent_id", _("AgentId"), True, True),
        ("corp_id", _("CorpId"), False, False),
    ],
    "feishu": [
        ("app_id", _("App ID (cli_…)"), True, False),
    ],
}


class SetupForm(forms.Form):
    enabled = forms.BooleanField(label=_("People may sign in through this platform"), required=False)
    allow_mobile_lookup = forms.BooleanField(
        label=_("Match an unknown id once by the mobile number the platform reports"), required=False
    )
    secret = forms.CharField(
        label=_("App secret"),
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Never shown again. Leave empty to keep the stored one."),
    )

    def __init__(self, *args, platform_key: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.platform_key = platform_key
        for key, label, required, integer in CREDENTIALS[platform_key]:
            if integer:
                self.fields[key] = forms.IntegerField(
                    label=label, required=required, min_value=1, max_value=2**63 - 1
                )
            else:
                self.fields[key] = forms.CharField(label=label, required=required, max_length=100)

    def credentials(self) -> dict:
        out = {}
        for key, _label, _required, integer in CREDENTIALS[self.platform_key]:
            value = self.cleaned_data.get(key)
            out[key] = value if integer else (value or "").strip()
        return out
