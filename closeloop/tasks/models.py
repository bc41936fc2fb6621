from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from closeloop.tasks.states import CLOSED_STATUSES, Status


class Project(models.Model):
    """A small shared list, so tasks and lessons can be grouped by project."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return self.name


class TaskType(models.TextChoices):
    PROJECT = "project", _("Project")
    ROUTINE = "routine", _("Routine")
    COLLABORATIVE = "collaborative", _("Collaborative")


class Priority(models.IntegerChoices):
    # Stored as numbers so that "highest first" is a plain ORDER BY.
    HIGH = 1, _("High")
    MEDIUM = 2, _("Medium")
    LOW = 3, _("Low")


class Source(models.TextChoices):
    PLANNED = "planned", _("Planned")
    ADHOC = "adhoc", _("Ad-hoc")


class AdhocCategory(models.TextChoices):
    COMPLAINT = "complaint", _("Customer complaint")
    URGENT_DATA = "urgent_data", _("Urgent data request")
    MEETING = "meeting", _("Ad-hoc meeting")
    OTHER = "other", _("Other")


class TaskQuerySet(models.QuerySet):
    def visible_to(self, user) -> "TaskQuerySet":
        """Every task `user` may see (DESIGN.md "Who sees what"); authorization is this query."""
        from closeloop.tasks.selectors import visibility_q

        if user.is_superuser:
            return self
        return self.filter(visibility_q(user))

    def open(self) -> "TaskQuerySet":
        return self.exclude(status__in=CLOSED_STATUSES)

    def overdue(self, today) -> "TaskQuerySet":
        """Past due and not done nor cancelled. Derived, never stored."""
        return self.open().filter(due_date__lt=today)


class Task(models.Model):
    department = models.ForeignKey(
        "orgs.Department", verbose_name=_("department"), on_delete=models.PROTECT, related_name="tasks"
    )
    initiator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("initiator"), on_delete=models.PROTECT, related_name="initiated_tasks"
    )
    # T001 for a top-level task, T001-1 / T001-1-2 for subtasks; unique within the department.
    code = models.CharField(_("code"), max_length=60)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent task"), null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    # Materialised path of zero-padded ids, "/0000000012/0000000045/": finds a subtree or the
    # chain above without recursion, and sorts a tree depth-first as plain text.
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    next_child_number = models.PositiveIntegerField(default=1, editable=False)

    title = models.CharField(_("title"), max_length=200)
    goal = models.TextField(_("background / goal"), blank=True)
    expected_outcome = models.TextField(_("expected outcome"), blank=True)
    value = models.TextField(_("business value"), blank=True)
    task_type = models.CharField(_("type"), max_length=20, choices=TaskType.choices, default=TaskType.PROJECT)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.MEDIUM)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="owned_tasks"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review_tasks",
        help_text=_("Accepts the deliverable; the department head or deputy when empty."),
    )
    collaborators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("collaborators"),
        through="TaskCollaborator",
        through_fields=("task", "user"),
        related_name="collaborating_tasks",
        blank=True,
    )

    start_date = models.DateField(_("start date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), db_index=True)
    # The due date first agreed; approved delays move `due_date` and keep this.
    original_due_date = models.DateField(_("original due date"), editable=False)
    project = models.ForeignKey(Project, verbose_name=_("project"), null=True, blank=True, on_delete=models.PROTECT)
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), null=True, blank=True, on_delete=models.PROTECT)
    notes = models.TextField(_("notes"), blank=True)

    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.PLANNED)
    adhoc_category = models.CharField(_("ad-hoc category"), max_length=20, choices=AdhocCategory.choices, blank=True)
    respond_by = models.DateTimeField(_("respond by"), null=True, blank=True)

    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NOT_STARTED)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    # Bumped by every write; compare-and-set guards against lost updates.
    version = models.PositiveIntegerField(default=1)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["department_id", "id"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        constraints = [
            models.UniqueConstraint(fields=["department", "code"], name="task_code_unique_in_department"),
            models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=100), name="task_progress_0_100"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in Status]), name="task_status_valid"),
            models.CheckConstraint(condition=Q(priority__in=[p.value for p in Priority]), name="task_priority_valid"),
            models.CheckConstraint(condition=Q(task_type__in=[t.value for t in TaskType]), name="task_type_valid"),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True) | Q(due_date__gte=models.F("start_date")),
                name="task_due_not_before_start",
            ),
        ]
        indexes = [
            models.Index(fields=["department", "status", "due_date"], name="task_dept_status_due"),
            models.Index(fields=["owner", "status", "due_date"], name="task_owner_status_due"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("tasks:detail", args=[self.pk])

    @property
    def full_code(self) -> str:
        """SALES-T001: the code wherever departments mix. Needs `department` loaded."""
        return f"{self.department.code}-{self.code}"

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    def is_overdue(self, today) -> bool:
        return self.is_open and self.due_date < today

    @staticmethod
    def make_path(parent_path: str | None, pk: int) -> str:
        return f"{parent_path or '/'}{pk:010d}/"

    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/") if p][:-1]


class TaskCollaborator(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="collaborator_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collaborator_links")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "user"], name="collaborator_once")]
        indexes = [models.Index(fields=["user", "task"], name="collab_user_task")]

    def __str__(self) -> str:
        return f"{self.user} on {self.task_id}"


class Comparator(models.TextChoices):
    GTE = ">=", "≥"
    GT = ">", ">"
    LTE = "<=", "≤"
    LT = "<", "<"
    EQ = "=", "="


class AcceptanceCriterion(models.Model):
    """验收标准: a sentence, optionally measurable (metric comparator threshold, e.g. 数据准确率 ≥ 95%)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="criteria")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(_("criterion"), max_length=500)
    metric = models.CharField(_("metric"), max_length=100, blank=True)
    comparator = models.CharField(_("comparator"), max_length=2, choices=Comparator.choices, blank=True)
    threshold = models.DecimalField(_("threshold"), max_digits=14, decimal_places=4, null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)

    class Meta:
        ordering = ["task_id", "position", "id"]
        verbose_name = _("acceptance criterion")
        verbose_name_plural = _("acceptance criteria")
        constraints = [
            models.CheckConstraint(
                condition=(Q(metric="") & Q(comparator="") & Q(threshold__isnull=True))
                | (~Q(metric="") & ~Q(comparator="") & Q(threshold__isnull=False)),
                name="criterion_measurable_all_or_none",
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def is_measurable(self) -> bool:
        return bool(self.metric)

    @property
    def measure_display(self) -> str:
        if not self.is_measurable:
            return ""
        threshold = f"{self.threshold.normalize():f}" if self.threshold is not None else ""
        return f"{self.metric} {self.get_comparator_display()} {threshold}{self.unit}"


class TaskEvent(models.Model):
    """The append-only event log: audit trail, activity feed, source of reports and notifications."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verb = models.CharField(max_length=40)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Set on events that must happen once (e.g. "overdue:<task>:<due date>"); unique in the database.
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["task", "-created_at"], name="event_task_time")]

    def __str__(self) -> str:
        return f"{self.task_id} {self.verb}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Task events are append-only.")
        super().save(*args, **kwargs)


class CalendarToken(models.Model):
    """The secret in a person's calendar feed URL (/calendar/<token>.ics). One per person,
    resettable; it dies with the account (cascade) and stops working when they leave."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_token")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("calendar token")
        verbose_name_plural = _("calendar tokens")

    def __str__(self) -> str:
        return f"calendar token of {self.user_id}"
