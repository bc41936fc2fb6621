"""Sign-in through the company's IM: per-platform switches, used codes, and the audit log.

The app credentials themselves are the company-wide IM app channel of `notify` (the same
corp id / app key / app id and secret that send one-to-one messages): one place to set and
rotate them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Platform(models.TextChoices):
    WECOM = "wecom", _("WeCom")
    DINGTALK = "dingtalk", _("DingTalk")
    FEISHU = "feishu", _("Feishu / Lark")


class SignInSetup(models.Model):
    """Whether people may sign in through one platform, and whether an unknown platform id may
    be matched once by the mobile number the platform reports."""

    platform = models.CharField(_("platform"), max_length=10, choices=Platform.choices, unique=True)
    enabled = models.BooleanField(_("sign-in enabled"), default=False)
    allow_mobile_lookup = models.BooleanField(
        _("match unknown ids by mobile once"),
        default=False,
        help_text=_(
            "When a platform id belongs to nobody, look the person up once by the mobile number "
            "the platform reports, and store the id on them."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("IM sign-in setting")
        verbose_name_plural = _("IM sign-in settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(platform__in=[p.value for p in Platform]), name="signinsetup_platform_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.get_platform_display()


class UsedCode(models.Model):
    """A hash of every authorization code already presented: a code is accepted once. Rows
    older than `IMSIGNIN_CODE_KEEP_SECONDS` are pruned (platform codes live minutes)."""

    digest = models.CharField(max_length=64, unique=True)
    used_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.digest[:12]


class Outcome(models.TextChoices):
    SIGNED_IN = "signed_in", _("Signed in")
    TESTED = "tested", _("Test sign-in")
    LINKED = "linked", _("Signed in, id linked by mobile")
    UNKNOWN = "unknown", _("Refused: nobody has this id")
    DEACTIVATED = "deactivated", _("Refused: person deactivated")
    AMBIGUOUS = "ambiguous", _("Refused: id matches several people")
    BAD_STATE = "bad_state", _("Refused: missing, forged or expired state")
    CODE_REUSED = "code_reused", _("Refused: code already used")
    BAD_REQUEST = "bad_request", _("Refused: bad callback")
    PLATFORM_ERROR = "platform_error", _("Refused: platform error")


class SignInEvent(models.Model):
    """The audit log: one row per IM sign-in attempt that reached the callback."""

    at = models.DateTimeField(_("at"), db_index=True)
    platform = models.CharField(_("platform"), max_length=10, choices=Platform.choices)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    platform_user_id = models.CharField(_("platform user id"), max_length=100, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("IM sign-in event")
        verbose_name_plural = _("IM sign-in events")
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=[o.value for o in Outcome]), name="signinevent_outcome_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.platform} {self.outcome}"
