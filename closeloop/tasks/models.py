from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from closeloop.tasks.states import CLOSED_STATUSES, OPEN_STATUSES, Status
from closeloop.tasks.visibility import subtree_q, visibility_q  # noqa: F401 (subtree_q: re-exported, long imported from here)


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
    # "Project" alone is also the project field; the context tells translators this is 项目型.
    PROJECT = "project", pgettext_lazy("task type", "Project")
    ROUTINE = "routine", pgettext_lazy("task type", "Routine")
    COLLABORATIVE = "collaborative", pgettext_lazy("task type", "Collaborative")


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
        if user.is_superuser:
            return self
        return self.filter(visibility_q(user))

    def visible_in_department(self, user, department_id: int) -> "TaskQuerySet":
        """The tasks of one department that `user` may see. When they see the whole
        department (member, or head above it) that is just the department — a query the
        (department, status, due) index serves — instead of the full visibility clause."""
        return self.visible_in_departments(user, [department_id])

    def visible_in_departments(self, user, department_ids) -> "TaskQuerySet":
        """The same for several departments (a head's dashboard): the plain department
        filter when the person sees all of them whole."""
        from closeloop.orgs.selectors import visible_department_ids

        ids = list(department_ids)
        if user.is_superuser or visible_department_ids(user).issuperset(ids):
            return self.filter(department_id__in=ids)
        return self.visible_to(user).filter(department_id__in=ids)

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
        settings.AUTH_USER_MODEL,
        verbose_name=_("initiator"),
        on_delete=models.PROTECT,
        related_name="initiated_tasks",
    )
    # T001 for a top-level task, T001-1 / T001-1-2 for subtasks; unique within the department.
    code = models.CharField(_("code"), max_length=60)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent task"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
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
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.MEDIUM
    )

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="owned_tasks",
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

    # The planned start, written at intake (due_date may not come before it); when work
    # actually began is `started_at`, stamped by the first move to 进行中.
    start_date = models.DateField(_("start date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), db_index=True)
    # The due date first agreed; approved delays move `due_date` and keep this.
    original_due_date = models.DateField(_("original due date"), editable=False)
    project = models.ForeignKey(
        Project, verbose_name=_("project"), null=True, blank=True, on_delete=models.PROTECT
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), null=True, blank=True, on_delete=models.PROTECT
    )
    notes = models.TextField(_("notes"), blank=True)

    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.PLANNED)
    adhoc_category = models.CharField(
        _("ad-hoc category"), max_length=20, choices=AdhocCategory.choices, blank=True
    )
    respond_by = models.DateTimeField(_("respond by"), null=True, blank=True)

    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NOT_STARTED)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    # A copy of the risk forecast's flag (`tracking.TaskForecast.at_risk`), written with it by
    # tracking (`forecast_refresh`, the forecast sweep: `tracking.services.sync_at_risk`), so
    # 仪表盘 counts and lists the tasks at risk as a range of the partial index below rather
    # than joining every open task of the departments to the forecasts (issue 16). Cleared
    # by `tasks.services.task_transition` when the task closes: a closed task is never at risk.
    at_risk = models.BooleanField(_("at risk"), default=False, editable=False)
    # The day of the task's latest daily update (`tracking.ProgressUpdate.day`), written with it
    # by `tracking.services.update_post` (the only place updates are made; updates are never
    # deleted and never for a day after the department's today). Who owes today's update is
    # then a range of the index below — `last_update_day` before today — where each candidate
    # was probed against the updates (bench s5, a specialist's ~1,800 candidates; issue 16).
    last_update_day = models.DateField(_("last update"), null=True, blank=True, editable=False)
    # Share of the parent's roll-up; equal weights unless someone sets them.
    weight = models.PositiveSmallIntegerField(_("weight"), default=1)
    # Set on the instances a recurrence rule creates: (rule, occurrence) is unique, so a
    # period's instance exists exactly once whatever the number of workers.
    recurrence = models.ForeignKey(
        "tasks.RecurrenceRule", null=True, blank=True, on_delete=models.SET_NULL, related_name="instances"
    )
    occurrence = models.DateField(null=True, blank=True, editable=False)
    # Words plus overlapping CJK bigrams of code, title, customer and project (see
    # `tasks.search`); indexed by FTS5 on SQLite and a GIN tsvector index on PostgreSQL.
    search_text = models.TextField(default="", blank=True, editable=False)
    # Bumped by every write; compare-and-set guards against lost updates.
    version = models.PositiveIntegerField(default=1)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # When work actually began: the first transition into 进行中 (开始, or a daily update or a
    # subtask that starts it: `services.task_transition`, `_start_ancestors`); kept through
    # blocks and rework. Shown on the task page as 实际开始.
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
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=100), name="task_progress_0_100"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in Status]), name="task_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(priority__in=[p.value for p in Priority]), name="task_priority_valid"
            ),
            models.CheckConstraint(
                condition=Q(task_type__in=[t.value for t in TaskType]), name="task_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True) | Q(due_date__gte=models.F("start_date")),
                name="task_due_not_before_start",
            ),
            models.CheckConstraint(condition=Q(weight__gte=1) & Q(weight__lte=100), name="task_weight_1_100"),
            models.UniqueConstraint(
                fields=["recurrence", "occurrence"],
                condition=Q(recurrence__isnull=False),
                name="task_recurrence_occurrence_once",
            ),
        ]
        indexes = [
            # With the priority: 日历 ranks each day's tasks by it (`calendar_month`'s window)
            # from the index alone — SQLite looked up every task due in the grid's six weeks
            # for it (bench s5, a head: 13.7 → 7.6 ms); with the id, PostgreSQL too
            # (`_days_and_first_tasks_pg`: it read ~10,000 rows of the table for a specialist).
            models.Index(
                fields=["department", "status", "due_date", "priority"],
                include=["id"],
                name="task_dept_status_due",
            ),
            # Who owes today's update (`tracking.owed_q`: a department's tasks under way of the
            # priorities that owe today — high every working day, the others once a week):
            # through the (department, status, due) index every task under way was read and
            # checked for its priority (bench s5, a specialist's two departments on SQLite:
            # 105 → 24 ms for 仪表盘's missing-update list, issue 16). With the owner and due date
            # (and the id, which SQLite's indexes hold anyway) the list's keys are read from the
            # index alone, counted per owner, and only the rows shown visit the table
            # (`insights.selectors._owed_people`; PostgreSQL fetched 1,846 rows for ~180).
            # With the day of the latest update and whether the task ever had a subtask
            # (`next_child_number`: tasks are never deleted nor moved), who owes an update is
            # decided from the index too: the anti-joins to today's updates and to the
            # subtasks probed two more indexes per candidate (bench s5, a specialist's ~1,800:
            # PostgreSQL 7,389 buffers, ~6 of the statement's 8 ms). Key columns rather than
            # INCLUDE: SQLite has no INCLUDE.
            models.Index(
                fields=[
                    "department",
                    "priority",
                    "status",
                    "owner",
                    "due_date",
                    "last_update_day",
                    "next_child_number",
                ],
                include=["id"],
                name="task_dept_priority_status",
            ),
            # A department's open tasks by due date: 仪表盘's and 周复盘's overdue lists (the first
            # 20 / 50 due before today) and 周复盘's next week. Through (department, status, due)
            # each open status is a range of its own, so neither database could read them in due
            # order: PostgreSQL walked the due-date index of every department instead, filtering
            # each task (scale M, a head: ~20,000 rows, 58 ms for 周复盘's list, 11–29 for
            # 仪表盘's), SQLite sorted the department's overdue tasks (4.0 → 1.3 ms). Partial:
            # open tasks only; the condition is the lists' own `status IN (…)`, sorted, so that
            # both planners match it.
            models.Index(
                fields=["department", "due_date", "id"],
                condition=Q(status__in=sorted(OPEN_STATUSES)),
                name="task_open_dept_due",
            ),
            # 看板's columns (`planning.selectors.board`): a status's cards of a department in the
            # board's order (priority, due, id), so a column's first 12 cards are its first 12
            # entries where each column was read and sorted whole (bench s5, a head's
            # 3,875 not-started tasks: 3.1 → ~0.2 ms on SQLite; issue 16).
            models.Index(
                fields=["department", "status", "priority", "due_date", "id"],
                name="task_dept_status_priority",
            ),
            # 我的工作's keys (`selectors._my_work_keys`): a person's open tasks with their due date,
            # priority and id, an index-only range (SQLite's indexes hold the rowid, the id): bench
            # s5, a head's 981 open tasks, PostgreSQL read 1,887 buffers of the table, now ~20.
            models.Index(
                fields=["owner", "status", "due_date", "priority"],
                include=["id"],
                name="task_owner_status_due",
            ),
            # What waits for acceptance (我的工作): the submitted tasks of a named reviewer, or
            # without one in a department (`reviewer IS NULL`), with what the list sorts and
            # filters by; small (submitted tasks only) and never a visit of the table.
            models.Index(
                fields=["reviewer", "department", "due_date", "owner"],
                include=["id"],
                condition=Q(status="submitted"),
                name="task_submitted_review",
            ),
            # The task list's default order (department code, then tree order by path): SQLite
            # walks the departments by code and each one's tasks in this index's order, and
            # stops at the page, where it sorted a department's 20,000 rows (issue 16).
            # With the id (PostgreSQL; SQLite's indexes hold the rowid anyway): a page deep in a
            # department is an index-only walk to its offset. Without it PostgreSQL walked the
            # path index and the heap instead (page 200 of a head's list: ~30 ms → ~0.5 ms).
            models.Index(fields=["department", "path"], include=["id"], name="task_dept_path"),
            # Completions of a time window (仪表盘's four weeks, 周复盘's eight): a range of
            # this index, so reports never read a department's whole history (issue 16). It
            # carries what the on-time tally reads (`insights.localday`: owner, due and
            # original due dates), so the tally never visits the table: bench s5, a head's
            # four weeks (4,592 completions), PostgreSQL 9.5 → 1.5 ms (index-only scan, 1,860
            # → 823 buffers), SQLite 24.6 → 18.6 ms CPU (no table seek per completion).
            models.Index(
                fields=["department", "completed_at", "owner", "due_date", "original_due_date"],
                condition=Q(status="done"),
                name="task_dept_done_time",
            ),
            # Tasks cancelled in a time window: 周复盘 of a past week looks for the tasks that
            # were open at its end and closed since (`insights.selectors._changed_since`) as a
            # range of this index and of the done tasks' above, never every task the
            # department ever cancelled. Small: cancelled tasks only.
            models.Index(
                fields=["department", "cancelled_at"],
                condition=Q(status="cancelled"),
                name="task_dept_cancelled_time",
            ),
            # Who sees what (`visibility`): the person's tasks outside their departments, as
            # owner or reviewer. Through the owner index alone PostgreSQL fetched every task a
            # head ever owned (~2,000 rows) to keep the few elsewhere (5–9 ms a request).
            # With each task's status, due date and priority: 工作量 counts a department's
            # people's open tasks there as one index-only range per person (`planning.selectors.
            # workload`; bench s5, a head's ~45 people on PostgreSQL: 24 → 3.7 ms).
            models.Index(
                fields=["owner", "department", "status", "due_date", "priority"],
                include=["id"],
                name="task_owner_dept",
            ),
            models.Index(fields=["reviewer", "department"], name="task_reviewer_dept"),
            # 仪表盘's at-risk count and list (`insights.selectors.dashboard`): a department's
            # tasks at risk by status and due date, small (the flagged tasks only). Joined to
            # the forecasts, a specialist of two departments hashed ~15,000 open tasks against
            # ~4,000 forecasts at risk for a count of ~1,600 (bench s5, ~9 ms on PostgreSQL).
            models.Index(
                fields=["department", "status", "due_date", "id"],
                condition=Q(at_risk=True),
                name="task_at_risk",
            ),
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

    def is_overdue(self, today=None) -> bool:
        """Past due and open, on `today` — by default the date in the task's department, so
        a viewer's own time zone never changes the answer (needs `department` loaded)."""
        return self.is_open and self.due_date < (today or self.department.local_today())

    def has_subtasks(self) -> bool:
        """Whether the task has subtasks, so takes its progress from them (no percent of its
        own). No query for a task that never had one (`next_child_number`)."""
        return self.next_child_number > 1 and Task.objects.filter(parent_id=self.pk).exists()

    @staticmethod
    def make_path(parent_path: str | None, pk: int) -> str:
        return f"{parent_path or '/'}{pk:010d}/"

    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/") if p][:-1]


class TaskCollaborator(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="collaborator_links")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collaborator_links"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)
    # The task's department and whether it is open, copied onto the link (issue 16): the
    # cross-department load of 仪表盘 and 工作量 counts the open links of a department's
    # people outside their departments from the links alone, through the partial index below,
    # instead of joining every link they ever had to its task. A task never changes
    # department; `task_transition` clears `task_open` when the task closes (closed is final);
    # `save()` fills both from the task when a caller did not.
    task_department = models.ForeignKey(
        "orgs.Department", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    task_open = models.BooleanField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "user"], name="collaborator_once")]
        indexes = [
            models.Index(fields=["user", "task"], name="collab_user_task"),
            models.Index(
                fields=["user", "task_department"], condition=Q(task_open=True), name="collab_user_open_dept"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.task_id}"

    def save(self, *args, **kwargs) -> None:
        if self.task_department_id is None or self.task_open is None:
            department_id, status = Task.objects.values_list("department_id", "status").get(pk=self.task_id)
            if self.task_department_id is None:
                self.task_department_id = department_id
            if self.task_open is None:
                self.task_open = status not in CLOSED_STATUSES
        super().save(*args, **kwargs)


class CompletionDay(models.Model):
    """How many tasks one owner completed on one day of their department — the day in the
    department's time zone at completion — and how many of them on or before their approved
    and their original due date: the on-time rates of 仪表盘 and 周复盘 add up a few hundred of
    these rows instead of reading every completion of the window (issue 16 item 4: "keep
    per-department aggregates incrementally"). Kept by `tasks.completions.record` when a task
    becomes done (closed is final: neither the owner, the due dates nor the completion change
    after), and rebuilt from the tasks by `tasks.completions.rebuild` (migration, benchmark
    data, demo data that back-dates completions). A department that later changes its time
    zone keeps its past completions on the day they had then."""

    # Indexed by the unique constraint, which leads with it.
    department = models.ForeignKey(
        "orgs.Department", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    day = models.DateField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    done = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)
    on_time_original = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # Also the index the reports range over: a department's days, then the owners.
            models.UniqueConstraint(fields=["department", "day", "owner"], name="completion_day_once"),
            models.CheckConstraint(
                condition=Q(on_time__lte=models.F("done")) & Q(on_time_original__lte=models.F("done")),
                name="completion_day_counts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department_id} {self.day} {self.owner_id}: {self.on_time}/{self.done}"


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

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_token"
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("calendar token")
        verbose_name_plural = _("calendar tokens")

    def __str__(self) -> str:
        return f"calendar token of {self.user_id}"


# -- decomposition, intake policy, recurrence, comments ------------------------------------


class TaskDependency(models.Model):
    """Finish-to-start: `successor` starts when `predecessor` is finished (用户画像分析 → 召回策略制定)."""

    predecessor = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="successor_links")
    successor = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="predecessor_links")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("dependency")
        verbose_name_plural = _("dependencies")
        constraints = [
            models.UniqueConstraint(fields=["predecessor", "successor"], name="dependency_once"),
            models.CheckConstraint(
                condition=~Q(predecessor=models.F("successor")), name="dependency_not_self"
            ),
        ]
        indexes = [models.Index(fields=["successor", "predecessor"], name="dependency_successor")]

    def __str__(self) -> str:
        return f"{self.predecessor_id} -> {self.successor_id}"


class Milestone(models.Model):
    """A dated checkpoint of a task (里程碑)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="milestones")
    # The task's department, copied onto the milestone (issue 16): 日历 reads a department's
    # milestones of the month as a range of the index below, where it read every milestone of
    # the company in those weeks and looked each one's task up (bench s5: 6,612 for a
    # department's ~1,100). A task never changes department; `save()` fills it from the task
    # when a caller did not.
    task_department = models.ForeignKey(
        "orgs.Department", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    title = models.CharField(_("milestone"), max_length=200)
    # No index of its own: 日历 reads dates within departments (`milestone_shown_dept_date`);
    # with one, SQLite walked every department's milestones of the weeks by date to spare
    # the window its sort (bench s5, a specialist of two departments: ~2x the statement).
    date = models.DateField(_("date"))
    reached_at = models.DateTimeField(_("reached at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Whether the task is cancelled, copied onto the milestone (issue 16): 日历 leaves cancelled
    # tasks' milestones out and ranks each day's first ones from the partial index below alone,
    # where it looked every milestone's task up for its status (bench s5, a specialist of two
    # departments: ~2,400 lookups, twice on PostgreSQL). Milestones are added to open tasks only
    # (`_require_edit`); `task_transition` sets it when the task is cancelled (closed is final).
    task_cancelled = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["date", "id"]
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        indexes = [
            models.Index(
                fields=["task_department", "date", "id"],
                condition=Q(task_cancelled=False),
                name="milestone_shown_dept_date",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.date}"

    def save(self, *args, **kwargs) -> None:
        if self.task_department_id is None:
            self.task_department_id = (
                self.task.department_id
                if "task" in self._state.fields_cache
                else Task.objects.values_list("department_id", flat=True).get(pk=self.task_id)
            )
        super().save(*args, **kwargs)


class Comment(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("comment"))
    # Rendered from `body` by `tasks.markup` and sanitized with nh3 when written.
    html = models.TextField(editable=False)
    mentions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["task", "created_at"], name="comment_task_time")]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.task_id}"


class DepartmentPolicy(models.Model):
    """A department's intake rules: whether a vague description blocks, how soon ad-hoc
    work must be answered, and when a person counts as overloaded."""

    department = models.OneToOneField("orgs.Department", on_delete=models.CASCADE, related_name="task_policy")
    block_vague_intake = models.BooleanField(
        _("refuse vague tasks"), default=False, help_text=_("Off: a vague title is only a warning.")
    )
    respond_high_hours = models.PositiveSmallIntegerField(
        _("high priority: respond within hours"), default=24
    )
    respond_medium_workdays = models.PositiveSmallIntegerField(
        _("medium priority: respond within working days"), default=3
    )
    respond_low_workdays = models.PositiveSmallIntegerField(
        _("low priority: respond within working days"), default=5
    )
    overload_per_week = models.PositiveSmallIntegerField(
        _("overloaded above this many open tasks due in one week"), default=4
    )

    class Meta:
        verbose_name = _("department task policy")
        verbose_name_plural = _("department task policies")

    def __str__(self) -> str:
        return f"policy of {self.department_id}"


class DecompositionTemplate(models.Model):
    """A reusable split of a task into steps (活动方案设计: 用户画像分析 → 召回策略制定 → …).

    `items` is a list of {"title", "offset" (working days after the task's start),
    "duration" (working days), "after" (positions of earlier items it depends on),
    "criteria" (sentences), "weight"}."""

    department = models.ForeignKey("orgs.Department", on_delete=models.CASCADE, related_name="task_templates")
    name = models.CharField(_("name"), max_length=200)
    items = models.JSONField(default=list)
    milestones = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("decomposition template")
        verbose_name_plural = _("decomposition templates")
        constraints = [models.UniqueConstraint(fields=["department", "name"], name="template_name_unique")]

    def __str__(self) -> str:
        return self.name


class Frequency(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    MONTHLY_WORKDAY = "monthly_workday", _("Monthly, on the Nth working day")
    MONTHLY_DATE = "monthly_date", _("Monthly, on a date (next working day if not one)")
    MONTHLY_LAST_WORKDAY = "monthly_last_workday", _("Monthly, on the last working day")


class RecurrenceRule(models.Model):
    """Routine work (事务型) that comes back: each period, an instance of `prototype` (with its
    subtasks and criteria) is created `lead_days` ahead of its due date."""

    department = models.ForeignKey(
        "orgs.Department", on_delete=models.CASCADE, related_name="recurrence_rules"
    )
    prototype = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="recurrence_rules")
    frequency = models.CharField(_("frequency"), max_length=20, choices=Frequency.choices)
    weekday = models.PositiveSmallIntegerField(_("weekday (0 = Monday)"), null=True, blank=True)
    nth_workday = models.PositiveSmallIntegerField(_("Nth working day"), null=True, blank=True)
    day_of_month = models.PositiveSmallIntegerField(_("day of month"), null=True, blank=True)
    lead_days = models.PositiveSmallIntegerField(_("create this many days ahead"), default=5)
    active = models.BooleanField(default=True)
    # No instance is due before this date (the period after the prototype's own).
    starts_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("recurrence rule")
        verbose_name_plural = _("recurrence rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(frequency__in=[f.value for f in Frequency]), name="recurrence_frequency_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.summary} {self.prototype_id}"

    @property
    def summary(self) -> str:
        """The rule in full words: "每周三", "每月第 3 个工作日", "每月 31 日", "每月最后一个工作日"."""
        from django.utils.translation import gettext

        if self.frequency == Frequency.WEEKLY:
            names = [
                gettext("Monday"),
                gettext("Tuesday"),
                gettext("Wednesday"),
                gettext("Thursday"),
                gettext("Friday"),
                gettext("Saturday"),
                gettext("Sunday"),
            ]
            day = names[self.weekday] if self.weekday is not None and 0 <= self.weekday <= 6 else "?"
            return gettext("Every %(weekday)s") % {"weekday": day}
        if self.frequency == Frequency.MONTHLY_WORKDAY:
            return gettext("Monthly on working day %(n)s") % {"n": self.nth_workday}
        if self.frequency == Frequency.MONTHLY_DATE:
            if (self.day_of_month or 0) >= 29:
                return gettext(
                    "Monthly on day %(n)s (the month's last day when shorter; the working day before a day off)"
                ) % {"n": self.day_of_month}
            return gettext("Monthly on day %(n)s (the next working day after a day off)") % {
                "n": self.day_of_month
            }
        if self.frequency == Frequency.MONTHLY_LAST_WORKDAY:
            return gettext("Monthly on the last working day")
        return str(self.frequency)
