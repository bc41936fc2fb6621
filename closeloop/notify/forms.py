import logging

from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.db import transaction
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from closeloop.notify.kinds import KINDS, kind_label
from closeloop.notify.models import PERSONAL_KINDS, ChannelKind

log = logging.getLogger("closeloop.notify")

PERSONAL_CHOICES = [(k.value, k.label) for k in ChannelKind if k in PERSONAL_KINDS]
# Kinds a person can route; the channel bookkeeping kinds are for admins, and account mail
# (password reset) always goes by email.
ROUTABLE = [k for k in KINDS if not k.startswith(("channel.", "account."))]


class PreferenceForm(forms.Form):
    quiet_start = forms.TimeField(
        label=_("Quiet hours from"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    quiet_end = forms.TimeField(
        label=_("until"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    digest_minutes = forms.IntegerField(
        label=_("Digest window (minutes)"),
        min_value=0,
        max_value=1440,
        initial=0,
        help_text=_("Several messages within this window arrive as one. 0: each at once."),
    )

    def __init__(self, *args, pref=None, **kwargs):
        super().__init__(*args, **kwargs)
        routes = (pref.routes if pref else {}) or {}
        self.route_fields = []
        for kind in ROUTABLE:
            name = "route__" + kind.replace(".", "__")
            self.fields[name] = forms.MultipleChoiceField(
                label=self._label(kind),
                choices=PERSONAL_CHOICES,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                initial=routes.get(kind),
            )
            self.fields[name + "__custom"] = forms.BooleanField(
                label=_("choose myself"), required=False, initial=kind in routes
            )
            self.route_fields.append((kind, name))
        if pref is not None:
            self.initial.update(
                quiet_start=pref.quiet_start, quiet_end=pref.quiet_end, digest_minutes=pref.digest_minutes
            )

    @staticmethod
    def _label(kind: str) -> str:
        """The event's name in the reader's language (`kinds.kind_label`: "A task is assigned
        to you"); every kind has one (`test_preferences` fails for a kind without)."""
        return kind_label(kind)

    def routes(self) -> dict[str, list[str]]:
        """The person's own routes, ``{kind: [channel kind, …]}`` (an empty list: the bell only).

        An event is routed by the person when 自行选择 is ticked, or when a channel is ticked for
        an event that had no own route yet: a box ticked without 自行选择 is a choice too and is
        kept (a tester's report: "saved" but dropped). Unticking 自行选择 of an event that had its
        own route goes back to the default, whatever boxes are still ticked."""
        out = {}
        for kind, name in self.route_fields:
            channels = list(self.cleaned_data.get(name) or [])
            custom = bool(self.cleaned_data.get(name + "__custom"))
            had_own = bool(self.fields[name + "__custom"].initial)
            if custom or (channels and not had_own):
                out[kind] = channels
        return out


class OutboxPasswordResetForm(PasswordResetForm):
    """Django's password reset, with the mail going through the outbox (issue 11, item 4):
    sent at once when the mail server answers, else retried by the worker and shown to the
    admin. The visitor sees the same "check your email" page either way."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        from closeloop.notify.outbox import process_one
        from closeloop.notify.services import account_mail

        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        link = "{}://{}{}".format(
            context["protocol"],
            context["domain"],
            reverse("password_reset_confirm", kwargs={"uidb64": context["uid"], "token": context["token"]}),
        )
        with transaction.atomic():
            delivery = account_mail(
                user=context["user"],
                kind="account.password_reset",
                data={"subject": subject, "body": body.strip()},
                link=link,
            )
        try:
            process_one(delivery.pk, now=timezone.now(), worker_id="password-reset")
        except Exception:  # the worker retries it; the visitor's page does not change
            log.exception("password reset mail %s: first attempt failed", delivery.pk)
