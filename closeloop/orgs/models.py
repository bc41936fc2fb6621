import zoneinfo
from datetime import date, datetime, time

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


def display_name(
    name: str | None, first_name: str | None, last_name: str | None, username: str | None
) -> str:
    """How a person is named everywhere (`User.display_name`), from the columns of their row:
    the 姓名, else first and last name (joined as `AbstractUser.get_full_name`), else the
    login. For rows read as values, where building a User per row costs ~10 µs. All None
    (a LEFT JOIN that found no person) gives ""."""
    return name or f"{first_name or ''} {last_name or ''}".strip() or username or ""


class User(AbstractUser):
    """A person. `name` is the 姓名 shown everywhere; `username` is the login."""

    name = models.CharField(pgettext_lazy("person", "name"), max_length=100, blank=True)
    mobile = models.CharField(_("mobile"), max_length=32, blank=True)
    wecom_id = models.CharField(_("WeCom user id"), max_length=100, blank=True)
    dingtalk_id = models.CharField(_("DingTalk user id"), max_length=100, blank=True)
    feishu_id = models.CharField(_("Feishu open_id"), max_length=100, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans")
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")

    objects = UserManager()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        # Short-circuit, not `display_name(...)`: rows loaded with `.only("owner__name", …)`
        # must not fetch the deferred first and last names (a query per row) when the 姓名 is
        # there (planning's query pins caught it: the timeline's 21 queries became 81).
        return self.name or self.get_full_name() or self.username


class Department(models.Model):
    """A department in the company tree, with one head and an optional deputy (代理负责人)."""

    code = models.CharField(
        _("code"),
        max_length=20,
        unique=True,
        help_text=_("Short upper-case code shown before task codes, e.g. SALES."),
    )
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("head"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="headed_departments",
    )
    deputy = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("deputy"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deputy_departments",
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    workday_start = models.TimeField(_("working day starts"), default=time(9, 0))
    workday_end = models.TimeField(_("working day ends"), default=time(18, 0))
    # Next top-level task number (T001, T002, …); taken under the department's row lock.
    next_task_number = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        constraints = [
            models.CheckConstraint(
                condition=Q(workday_end__gt=models.F("workday_start")), name="dept_day_ends_after_start"
            ),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="dept_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        """The department's time zone (the company's, settings.TIME_ZONE, when unset or unknown)."""
        for name in (self.time_zone, settings.TIME_ZONE, "Asia/Shanghai"):
            try:
                return zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
                continue
        raise AssertionError("unreachable: Asia/Shanghai is always known")

    def local_today(self, now: datetime | None = None) -> date:
        """Today's calendar date in the department (`now` aware, default the current time).
        Due dates and overdue are decided on this date, whoever looks (DESIGN.md: "today" for
        overdue is the date in the task's department time zone)."""
        from django.utils import timezone

        return (now or timezone.now()).astimezone(self.tzinfo).date()

    @property
    def leaders(self) -> set[int]:
        return {pk for pk in (self.head_id, self.deputy_id) if pk}


class Membership(models.Model):
    class Role(models.TextChoices):
        MANAGER = "manager", _("Manager")
        SUPERVISOR = "supervisor", _("Supervisor")
        SPECIALIST = "specialist", _("Specialist")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.SPECIALIST)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "department"], name="membership_once"),
            models.CheckConstraint(
                condition=Q(role__in=["manager", "supervisor", "specialist"]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.department} ({self.get_role_display()})"


class WorkDay(models.Model):
    """One day of the work calendar that differs from, or confirms, the Monday–Friday rule.

    Seeded from the `chinese-calendar` package (holidays and 调休 make-up workdays) and editable
    by the admin, because the State Council publishes next year's schedule each November.
    """

    class Source(models.TextChoices):
        SEED = "seed", _("Seeded")
        ADMIN = "admin", _("Set by admin")

    date = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=100, blank=True, help_text=_("e.g. 国庆节 or 国庆节调休"))
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ADMIN)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("work calendar")

    def __str__(self) -> str:
        return f"{self.date} {'workday' if self.is_workday else 'day off'} {self.name}"


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the secret is stored; the secret is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
