"""Admin pages for channels and deliveries. Channel writes go through the services (the SSRF
guard and platform checks run on save); secrets are never shown back in full."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from closeloop.core.errors import DomainError
from closeloop.notify import channel_check, services
from closeloop.notify.models import Channel, Delivery, DeliveryState, Notification
from closeloop.notify.transports import TransportError


class ChannelForm(forms.ModelForm):
    url = forms.CharField(
        label=_("URL"),
        required=False,
        widget=forms.TextInput(attrs={"size": 80, "autocomplete": "off"}),
        help_text=_(
            "A robot's URL carries its key: it is not shown again. Leave empty to keep the stored one."
        ),
    )
    secret = forms.CharField(
        label=_("Secret"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Signing secret, app secret or whsec_… key. Leave empty to keep the stored one."),
    )

    class Meta:
        model = Channel
        fields = ["name", "kind", "department", "url", "secret", "keyword", "config", "events"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Never put a stored secret or hook URL back into the page.
        self.initial["url"] = ""
        self.initial["secret"] = ""
        if self.instance.pk:
            self.fields["url"].help_text = gettext("Stored: %(url)s. ") % {
                "url": self.instance.masked_url or "-"
            } + str(self.fields["url"].help_text)

    def _post_clean(self):
        """Validate through the services (platform, SSRF guard) on a copy, so the stored
        secret stays when the field is left empty."""
        if self.errors:
            return
        candidate = Channel.objects.get(pk=self.instance.pk) if self.instance.pk else Channel()
        for field in self.Meta.fields:
            value = self.cleaned_data.get(field)
            if field in ("url", "secret") and not (value or "").strip():
                continue
            if value is None and field in ("config", "events"):
                value = {} if field == "config" else []
            setattr(candidate, field, value)
        try:
            services._validate_channel(candidate)
        except DomainError as exc:
            for field, errs in exc.fields.items():
                self.add_error(field if field in self.fields else None, errs)


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = [
        "name",
        "kind",
        "department",
        "shown_url",
        "enabled",
        "held",
        "held_dropped",
        "last_error_short",
        "last_success_at",
    ]
    list_filter = ["kind", "enabled", "department"]
    readonly_fields = [
        "enabled",
        "disabled_reason",
        "held_dropped",
        "last_error",
        "last_error_at",
        "last_success_at",
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(held_count=Count("deliveries", filter=Q(deliveries__state=DeliveryState.HELD)))
        )

    @admin.display(description=_("held messages"), ordering="held_count")
    def held(self, obj):
        return obj.held_count

    actions = ["send_test", "disable", "enable", "fill_ids"]

    @admin.display(description=_("URL"))
    def shown_url(self, obj):
        return obj.masked_url

    @admin.display(description=_("last error"))
    def last_error_short(self, obj):
        return (obj.last_error or "")[:120]

    def save_model(self, request, obj, form, change):
        data = {
            f: form.cleaned_data.get(f)
            for f in ["name", "kind", "department", "url", "secret", "keyword", "config", "events"]
        }
        data["config"] = data["config"] or {}
        data["events"] = data["events"] or []
        if change:
            saved = services.channel_update(actor=request.user, channel=obj, **data)
        else:
            saved = services.channel_create(actor=request.user, **data)
        obj.pk = saved.pk

    @admin.action(description=_("Send a test message"))
    def send_test(self, request, queryset):
        for channel in queryset:
            d = channel_check.channel_test(actor=request.user, channel=channel)
            if d.state == DeliveryState.SENT:
                self.message_user(
                    request,
                    gettext("%(name)s: test message sent.") % {"name": channel.name},
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request,
                    gettext("%(name)s: %(state)s — %(error)s")
                    % {"name": channel.name, "state": d.get_state_display(), "error": d.last_error},
                    messages.ERROR,
                )

    @admin.action(description=_("Disable"))
    def disable(self, request, queryset):
        for channel in queryset:
            services.channel_disable(actor=request.user, channel=channel)

    @admin.action(description=_("Enable (and release held messages)"))
    def enable(self, request, queryset):
        for channel in queryset:
            try:
                services.channel_enable(actor=request.user, channel=channel)
            except DomainError as exc:
                self.message_user(request, f"{channel.name}: {exc.message}", messages.ERROR)

    @admin.action(description=_("Fill people's missing IM ids from their mobiles"))
    def fill_ids(self, request, queryset):
        for channel in queryset:
            try:
                n = services.fill_platform_ids(actor=request.user, channel=channel)
            except (DomainError, TransportError) as exc:
                self.message_user(request, f"{channel.name}: {getattr(exc, 'message', exc)}", messages.ERROR)
            else:
                self.message_user(
                    request, gettext("%(name)s: %(n)s id(s) filled.") % {"name": channel.name, "n": n}
                )


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "channel",
        "recipient",
        "state",
        "attempts",
        "run_after",
        "sent_at",
        "error_short",
    ]
    list_filter = ["state", "channel__kind", "channel"]
    list_select_related = ["channel", "recipient"]
    search_fields = ["kind", "last_error"]
    actions = ["resend"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    @admin.display(description=_("last error"))
    def error_short(self, obj):
        return (obj.last_error or "")[:160]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Resend"))
    def resend(self, request, queryset):
        for d in queryset:
            services.delivery_resend(actor=request.user, delivery=d)
        self.message_user(request, gettext("%(n)s delivery(ies) queued again.") % {"n": queryset.count()})


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "recipient", "kind", "created_at", "read_at"]
    list_filter = ["kind"]
    list_select_related = ["recipient"]
    readonly_fields = ["recipient", "kind", "data", "link", "actor", "created_at", "read_at"]

    def has_add_permission(self, request):
        return False
