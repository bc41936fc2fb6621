"""Daily updates (进度更新), delay warnings (延期预警), the risk forecast and each department's
tracking settings. Task rows stay the tasks app's: everything here is keyed by task."""

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class UpdateState(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    BLOCKED = "blocked", _("Blocked")


class ProgressUpdate(models.Model):
    """One owner's update on one task for one day. Editing the same day replaces it; a day
    filled in afterwards (补报) is marked `late`; earlier entries are immutable."""

    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="progress_updates")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The day reported on, in the department's time zone.
    day = models.DateField(_("day"))
    # Null on a task with subtasks: its percent is the roll-up of its subtasks.
    percent = models.PositiveSmallIntegerField(_("progress"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=UpdateState.choices, default=UpdateState.IN_PROGRESS
    )
    blocker = models.CharField(_("waiting on"), max_length=300, blank=True)
    note = models.TextField(_("note"), blank=True)
    late = models.BooleanField(_("filled in late"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "-id"]
        verbose_name = _("progress update")
        verbose_name_plural = _("progress updates")
        constraints = [
            models.UniqueConstraint(fields=["task", "day"], name="update_once_per_task_day"),
            models.CheckConstraint(
                condition=Q(percent__isnull=True) | (Q(percent__gte=0) & Q(percent__lte=100)),
                name="update_percent_0_100",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["in_progress", "blocked"]), name="update_state_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state="blocked") | ~Q(blocker=""), name="update_blocked_names_blocker"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_id}@{self.day}"


class DelayReason(models.TextChoices):
    CHANGED_REQUIREMENTS = "requirements", _("Changed requirements")  # 需求变更
    RESOURCES = "resources", _("Not enough resources")  # 资源不足
    DEPENDENCY = "dependency", _("Blocked by a dependency")  # 依赖阻塞
    PRIORITY = "priority", _("Priorities changed")  # 优先级调整
    OTHER = "other", _("Other")  # 其他


class WarningStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting decision")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    # The task closed (done or cancelled) before anyone decided: nothing left to decide.
    CLOSED = "closed", _("Closed with the task")


class DelayWarning(models.Model):
    """延期预警: the owner says the task will slip, why, and until when. The head decides;
    a warning still pending when its task closes is closed with it (`decided_at` the moment
    the task closed, no `decided_by`)."""

    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="delay_warnings")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=20, choices=DelayReason.choices)
    explanation = models.TextField(_("explanation"))
    old_due_date = models.DateField(_("due date before"))
    new_due_date = models.DateField(_("new due date"))
    # Raised at least one working day before the due date.
    on_time = models.BooleanField(_("raised on time"))
    status = models.CharField(
        _("status"), max_length=10, choices=WarningStatus.choices, default=WarningStatus.PENDING
    )
    raised_at = models.DateTimeField()
    # One working day after raising: undecided by then, it goes to the head's superior.
    decide_by = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(_("comment"), blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = _("delay warning")
        verbose_name_plural = _("delay warnings")
        constraints = [
            models.UniqueConstraint(
                fields=["task"], condition=Q(status="pending"), name="delay_warning_one_pending_per_task"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "approved", "rejected", "closed"]),
                name="warning_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(new_due_date__gt=models.F("old_due_date")), name="warning_moves_later"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "decide_by"], name="warning_status_decide_by"),
            models.Index(fields=["task", "-raised_at"], name="warning_task_time"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} → {self.new_due_date}"


class ForecastReason(models.TextChoices):
    NO_UPDATES = "no_updates", _("No progress reported yet")
    TOO_EARLY = "too_early", _("Too early to judge")
    ON_TRACK = "on_track", _("On track")
    BEHIND = "behind", _("Forecast finish is after the due date")
    STALLED = "stalled", _("Progress has stalled")
    DONE = "done", _("Complete")


class TaskForecast(models.Model):
    """The risk forecast of one task, recomputed whenever an update or a decision is written
    and re-judged by the daily sweep (see `tracking.forecast`). The fit is stored so the
    sweep never reads update history."""

    task = models.OneToOneField(
        "tasks.Task", primary_key=True, on_delete=models.CASCADE, related_name="forecast"
    )
    forecast_date = models.DateField(_("forecast finish"), null=True, blank=True)
    # Percent per calendar day from the fit; null when fewer than one usable point.
    slope = models.FloatField(null=True, blank=True)
    last_day = models.DateField(null=True, blank=True)
    last_percent = models.PositiveSmallIntegerField(default=0)
    points = models.PositiveSmallIntegerField(default=0)
    # Due date the forecast was judged against; the sweep refreshes it when the task's moves.
    due_date = models.DateField()
    # A third of the task's time: before this day the forecast never raises an alarm.
    judge_from = models.DateField()
    at_risk = models.BooleanField(_("at risk"), default=False)
    reason = models.CharField(
        max_length=20, choices=ForecastReason.choices, default=ForecastReason.NO_UPDATES
    )
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("task forecast")
        verbose_name_plural = _("task forecasts")
        indexes = [models.Index(fields=["at_risk"], name="forecast_at_risk")]

    def __str__(self) -> str:
        return f"{self.task_id}: {self.forecast_date} ({self.reason})"


class TrackingSettings(models.Model):
    """Per-department cadence settings. A department without a row uses the defaults."""

    department = models.OneToOneField(
        "orgs.Department", on_delete=models.CASCADE, related_name="tracking_settings"
    )
    # Monday=0 … Friday=4: weekly updates are due and the weekly review is ready on the last
    # working day of the week up to this weekday.
    review_weekday = models.PositiveSmallIntegerField(_("review day"), default=4)
    weekly_review_at = models.TimeField(_("weekly review posted at"), default=time(16, 0))
    reminder_minutes_before_end = models.PositiveSmallIntegerField(
        _("reminder minutes before end of day"), default=15
    )

    class Meta:
        verbose_name = _("tracking settings")
        verbose_name_plural = _("tracking settings")
        constraints = [
            models.CheckConstraint(condition=Q(review_weekday__lte=6), name="tracking_review_weekday_valid"),
        ]

    def __str__(self) -> str:
        return str(self.department_id)
