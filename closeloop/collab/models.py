"""Cross-department collaboration (协作沟通): the issue log (跨部门协作任务表) with its
escalation ladder, meeting minutes (会议纪要) and their action items, each task's
communication plan, and each department's escalation settings. Task rows stay the tasks
app's: everything here is keyed by task (or, for minutes, by department)."""

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

PROBLEM_MAX = 1000
RESOLUTION_MAX = 2000


class IssueStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("issue status", "Open")
    RESOLVED = "resolved", _("Resolved")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Issue(models.Model):
    """One row of the 跨部门协作任务表: a problem raised on a task, who is involved, the one
    person who resolves it and by when. Open issues climb the escalation ladder
    (`Escalation`) until resolved or withdrawn; `level` and `next_escalation_at` are the
    ladder's cursor, moved only by `services.issue_escalate`."""

    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="issues")
    problem = models.TextField(_("problem"))
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField(_("raised at"))
    resolver = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("resolver"), on_delete=models.PROTECT, related_name="+"
    )
    party_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("people involved"), blank=True, related_name="+"
    )
    party_departments = models.ManyToManyField(
        "orgs.Department", verbose_name=_("departments involved"), blank=True, related_name="+"
    )
    deadline = models.DateTimeField(_("deadline"))
    status = models.CharField(
        _("status"), max_length=10, choices=IssueStatus.choices, default=IssueStatus.OPEN
    )
    resolution = models.TextField(_("resolution"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    # The highest escalation level reached, and when the next one is due (null: none left
    # or closed). The sweep reads only open rows whose time has come (index below).
    level = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)
    # The task's department, copied onto the issue (issue 16): 仪表盘 counts and lists a
    # department's open issues through the partial index below, where looking each open
    # issue's task up (every open issue of the company) cost 5–10 ms a page. A task never
    # changes department; `save()` fills it from the task when a caller did not.
    task_department = models.ForeignKey(
        "orgs.Department", on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = _("issue")
        verbose_name_plural = _("issues")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "resolved", "withdrawn"]), name="issue_status_valid"
            ),
            models.CheckConstraint(condition=~Q(problem=""), name="issue_has_problem"),
            models.CheckConstraint(
                condition=Q(status="open") | Q(resolved_at__isnull=False), name="issue_closed_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(status="resolved") | ~Q(resolution=""), name="issue_resolved_has_resolution"
            ),
            models.CheckConstraint(
                condition=Q(deadline__gt=models.F("raised_at")), name="issue_deadline_after_raise"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_escalation_at"], condition=Q(status="open"), name="issue_open_next_escalation"
            ),
            models.Index(fields=["task", "status"], name="issue_task_status"),
            # 仪表盘: a department's open issues, the escalated ones (level ≥ 1) a range.
            models.Index(
                fields=["task_department", "level"], condition=Q(status="open"), name="issue_open_dept_level"
            ),
            # 我的工作's "mine to resolve", in deadline order, read as the index's first rows
            # (a head resolves ~300 open issues: the resolver index alone read and sorted them).
            models.Index(
                fields=["resolver", "deadline", "id"],
                condition=Q(status="open"),
                name="issue_open_resolver_deadline",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.problem[:40]}"

    def save(self, *args, **kwargs) -> None:
        if self.task_department_id is None:
            self.task_department_id = (
                self.task.department_id
                if "task" in self._state.fields_cache
                else self._meta.get_field("task")
                .related_model.objects.values_list("department_id", flat=True)
                .get(pk=self.task_id)
            )
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("collab:issue", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == IssueStatus.OPEN


class Escalation(models.Model):
    """One rung of an issue's ladder: recorded exactly once per (issue, level) — the unique
    constraint is what makes two workers, or a rerun, harmless."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="escalations")
    level = models.PositiveSmallIntegerField(_("level"))
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    department = models.ForeignKey(
        "orgs.Department", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When the rung was due, and when the sweep recorded it.
    due_at = models.DateTimeField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["issue", "level"]
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        constraints = [
            models.UniqueConstraint(fields=["issue", "level"], name="escalation_once_per_issue_level"),
            models.CheckConstraint(condition=Q(level__gte=1), name="escalation_level_positive"),
        ]
        indexes = [models.Index(fields=["escalated_to", "-created_at"], name="escalation_receiver")]

    def __str__(self) -> str:
        return f"{self.issue_id}@L{self.level}"


class CollabSettings(models.Model):
    """Per-department escalation settings. A department without a row uses the defaults:
    level 1 after 24 hours, each further level 24 hours later, two levels, clock hours."""

    department = models.OneToOneField(
        "orgs.Department", on_delete=models.CASCADE, related_name="collab_settings"
    )
    first_after_hours = models.PositiveSmallIntegerField(_("first escalation after (hours)"), default=24)
    then_every_hours = models.PositiveSmallIntegerField(_("next level after (hours)"), default=24)
    levels = models.PositiveSmallIntegerField(_("levels"), default=2)
    working_hours = models.BooleanField(_("count working hours only"), default=False)

    class Meta:
        verbose_name = _("collaboration settings")
        verbose_name_plural = _("collaboration settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(first_after_hours__gte=1, first_after_hours__lte=720),
                name="collab_first_hours_range",
            ),
            models.CheckConstraint(
                condition=Q(then_every_hours__gte=1, then_every_hours__lte=720),
                name="collab_every_hours_range",
            ),
            models.CheckConstraint(condition=Q(levels__gte=0, levels__lte=5), name="collab_levels_range"),
        ]

    def __str__(self) -> str:
        return str(self.department_id)


class Cadence(models.TextChoices):
    DAILY = "daily", _("Daily stand-up")
    WEEKLY = "weekly", _("N times a week")
    CUSTOM = "custom", _("Custom")


class SyncChannel(models.TextChoices):
    DOCUMENT = "document", _("Shared document")
    PHONE = "phone", _("Phone")
    IM = "im", _("IM group")
    MEETING = "meeting", _("Meeting")


class CommunicationPlan(models.Model):
    """How the departments of a cross-department task keep in sync (沟通机制): cadence,
    channel, and one contact per department (`PlanContact`)."""

    task = models.OneToOneField("tasks.Task", on_delete=models.CASCADE, related_name="communication_plan")
    cadence = models.CharField(_("cadence"), max_length=10, choices=Cadence.choices, default=Cadence.DAILY)
    # Monday=0 … Sunday=6, for the weekly cadence; e.g. [0, 2, 4].
    weekdays = models.JSONField(_("weekdays"), default=list, blank=True)
    custom = models.CharField(_("custom cadence"), max_length=200, blank=True)
    channel = models.CharField(
        _("channel"), max_length=10, choices=SyncChannel.choices, default=SyncChannel.MEETING
    )
    channel_detail = models.CharField(_("link or place"), max_length=500, blank=True)
    sync_time = models.TimeField(_("sync time"), default=time(9, 30))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("communication plan")
        verbose_name_plural = _("communication plans")
        constraints = [
            models.CheckConstraint(
                condition=Q(cadence__in=["daily", "weekly", "custom"]), name="plan_cadence_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=["document", "phone", "im", "meeting"]), name="plan_channel_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_id}: {self.cadence}"


class PlanContact(models.Model):
    plan = models.ForeignKey(CommunicationPlan, on_delete=models.CASCADE, related_name="contacts")
    department = models.ForeignKey("orgs.Department", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "department"], name="plan_one_contact_per_department")
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}/{self.department_id}"


class Minutes(models.Model):
    """会议纪要: written conclusions every party reads the same way. Attached to a task (its
    action items become subtasks) or to a department (they become its tasks)."""

    task = models.ForeignKey(
        "tasks.Task", null=True, blank=True, on_delete=models.CASCADE, related_name="minutes"
    )
    department = models.ForeignKey("orgs.Department", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    held_on = models.DateField(_("date"))
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("attendees"), related_name="+"
    )
    notes = models.TextField(_("notes"), blank=True)
    decisions = models.TextField(_("decisions"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-held_on", "-id"]
        verbose_name = _("meeting minutes")
        verbose_name_plural = _("meeting minutes")
        constraints = [models.CheckConstraint(condition=~Q(title=""), name="minutes_has_title")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("collab:minutes", args=[self.pk])


class ActionItem(models.Model):
    """待办: one action agreed in a meeting, with an owner and a due date; `task` links to the
    task or subtask it became (one step, `services.action_item_to_task`)."""

    minutes = models.ForeignKey(Minutes, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(_("action"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="+"
    )
    due_date = models.DateField(_("due date"))
    task = models.OneToOneField(
        "tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="from_action_item"
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        constraints = [models.CheckConstraint(condition=~Q(title=""), name="action_item_has_title")]

    def __str__(self) -> str:
        return self.title
