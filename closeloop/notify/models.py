from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """One in-app notification for one person. Rendered at read time in their language."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=60)
    data = models.JSONField(default=dict, blank=True)
    link = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at", "-created_at"], name="notif_inbox")]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"

    def render(self, language: str | None = None):
        from closeloop.notify.kinds import render

        return render(self.kind, self.data, language=language or self.recipient.language)


class ChannelKind(models.TextChoices):
    # Group channels: one message per event into a department's group (or another system).
    WECOM_ROBOT = "wecom_robot", _("WeCom group robot")
    DINGTALK_ROBOT = "dingtalk_robot", _("DingTalk group robot")
    FEISHU_BOT = "feishu_bot", _("Feishu / Lark group bot")
    WEBHOOK = "webhook", _("Signed webhook")
    # Personal channels: one message per person.
    EMAIL = "email", _("Email")
    WECOM_APP = "wecom_app", _("WeCom app message")
    DINGTALK_APP = "dingtalk_app", _("DingTalk work notification")
    FEISHU_APP = "feishu_app", _("Feishu / Lark app bot")


GROUP_KINDS = frozenset(
    {ChannelKind.WECOM_ROBOT, ChannelKind.DINGTALK_ROBOT, ChannelKind.FEISHU_BOT, ChannelKind.WEBHOOK}
)
PERSONAL_KINDS = frozenset(
    {ChannelKind.EMAIL, ChannelKind.WECOM_APP, ChannelKind.DINGTALK_APP, ChannelKind.FEISHU_APP}
)


class Channel(models.Model):
    """Somewhere outside Closeloop that messages go: a department's IM group robot, another
    system's webhook, or a company-wide personal channel (email, an IM app).

    `url` and `secret` are secrets (a robot's URL carries its key): they are never shown back
    in full; see `masked_url` / `masked_secret`."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=ChannelKind.choices)
    department = models.ForeignKey(
        "orgs.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notify_channels",
        help_text=_(
            "The department whose group this is. Empty: every department (webhooks) or company-wide."
        ),
    )
    url = models.TextField(_("URL"), blank=True)
    secret = models.TextField(_("secret"), blank=True)
    keyword = models.CharField(
        _("keyword"), max_length=50, blank=True, help_text=_("DingTalk keyword security.")
    )
    config = models.JSONField(_("settings"), default=dict, blank=True)
    # Event kinds this channel carries; empty means the default for its kind (see routing).
    events = models.JSONField(_("events"), default=list, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    disabled_reason = models.TextField(_("why disabled"), blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success at"), null=True, blank=True)
    held_dropped = models.PositiveIntegerField(
        _("held messages dropped"),
        default=0,
        help_text=_("Messages dropped, oldest first, because more were held than the limit."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name", "id"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in ChannelKind]), name="channel_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def is_group(self) -> bool:
        return self.kind in GROUP_KINDS

    @property
    def masked_url(self) -> str:
        from closeloop.notify.secrets import mask_url

        return mask_url(self.url)

    @property
    def masked_secret(self) -> str:
        from closeloop.notify.secrets import mask

        return mask(self.secret)


class DeliveryState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # Waiting for its channel to be enabled again (disabled by the admin or by a permanent
    # error); bounded per channel by NOTIFY_HOLD_MAX, oldest dropped and counted.
    HELD = "held", _("Held (channel disabled)")


class Delivery(models.Model):
    """The outbox: one row per (event, recipient channel), written in the same transaction as
    the event. The row id is the idempotency key (webhook-id, Feishu uuid)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    notification = models.ForeignKey(
        Notification, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    kind = models.CharField(max_length=60)
    data = models.JSONField(default=dict, blank=True)
    link = models.CharField(max_length=500, blank=True)
    # People to @-mention in a group message.
    mentions = models.JSONField(default=list, blank=True)
    digest = models.BooleanField(default=False)

    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.QUEUED)
    run_after = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    claimed_by = models.CharField(max_length=200, blank=True)
    claim = models.CharField(max_length=32, blank=True, db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    detail = models.TextField(blank=True, help_text=_("What the platform answered, e.g. invalid recipients."))
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            models.Index(fields=["state", "run_after"], name="delivery_due"),
            models.Index(fields=["state", "lease_until"], name="delivery_lease"),
            models.Index(fields=["recipient", "channel", "state"], name="delivery_digest"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=[s.value for s in DeliveryState]), name="delivery_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} → {self.channel_id}"


class Preference(models.Model):
    """A person's choices: which events on which channel, quiet hours, digest window."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_preference"
    )
    # {event kind: [channel kind, …]}; a kind not listed follows the default routing.
    routes = models.JSONField(default=dict, blank=True)
    quiet_start = models.TimeField(_("quiet hours start"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet hours end"), null=True, blank=True)
    digest_minutes = models.PositiveIntegerField(
        _("digest window (minutes)"),
        default=0,
        help_text=_("Messages within this window become one message. 0: send each at once."),
    )

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.CheckConstraint(
                condition=Q(digest_minutes__lte=24 * 60), name="pref_digest_at_most_a_day"
            ),
        ]

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"


class RateWindow(models.Model):
    """A shared rolling rate budget: the times (Unix seconds) of the latest sends under `key`,
    at most as many as the budget's limit. One row per key, locked while a worker takes from
    it, so every worker draws on the same budget the way the platform counts it: "at most 20
    in any 60 s", not "20 per clock minute" (issue 11, item 9)."""

    key = models.CharField(max_length=120, unique=True)
    sends = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.key}: {len(self.sends)}"


class AccessToken(models.Model):
    """An IM app's access token, cached in the database: one place for every process."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="access_token")
    token = models.TextField()
    expires_at = models.DateTimeField()
    fetched_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"token of channel {self.channel_id}"
