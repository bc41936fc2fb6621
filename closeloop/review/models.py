"""Acceptance (结果验收) and what was learned (经验沉淀): submissions with their deliverables,
the reviewer's check of each acceptance criterion, consent to change frozen criteria,
retrospectives (任务复盘总结表) and each department's retrospective rules. Task rows stay the
tasks app's: everything here is keyed by task."""

import re

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.db import models
from django.db.models import Q
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext_lazy as _

# A web address a page may link to: http or https, nothing a browser would run or misread.
WEB_ADDRESS = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)


def is_web_address(value: str) -> bool:
    return bool(value) and WEB_ADDRESS.match(value) is not None


class _DeliverableStorage(LazyObject):
    """`STORAGES["review"]` when configured (MEDIA_STORAGE=s3: an S3-compatible bucket through
    django-storages), else the default storage under MEDIA_ROOT; resolved on first use and
    again after STORAGES changes (tests)."""

    def _setup(self) -> None:
        self._wrapped = storages["review"] if "review" in settings.STORAGES else storages["default"]


_deliverables = _DeliverableStorage()


@receiver(setting_changed)
def _storages_changed(*, setting, **kwargs) -> None:
    if setting == "STORAGES":
        _deliverables._wrapped = empty


def deliverable_storage():
    """The storage deliverables go to (see `_DeliverableStorage`). A callable for FileField:
    Django calls it once, when the model is defined; the lazy object it returns reads the
    setting when first used, not at import."""
    return _deliverables


class Verdict(models.TextChoices):
    PENDING = "pending", _("Awaiting review")
    ACCEPTED = "accepted", _("Accepted")
    REWORK = "rework", _("Sent back for rework")


class Submission(models.Model):
    """One attempt at acceptance (提交验收): numbered per task from 1; every round stays."""

    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="submissions")
    # The task's department, copied when submitted (a task never changes department: it is
    # not among `tasks.services.EDITABLE_FIELDS`). The first-pass figures (`quality_by`) read
    # a department's accepted attempts of a window from `submission_dept_accepted` without
    # going through every task the department ever had.
    department = models.ForeignKey(
        "orgs.Department", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    attempt = models.PositiveSmallIntegerField(_("attempt"))
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("submitted at"))
    key_results = models.TextField(_("key results"))
    completed_on = models.DateField(_("completed on"))
    # The owner confirmed submitting below 100 % or without a deliverable.
    confirmed_incomplete = models.BooleanField(default=False)
    progress_at_submit = models.PositiveSmallIntegerField(default=0)
    verdict = models.CharField(_("verdict"), max_length=10, choices=Verdict.choices, default=Verdict.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["task_id", "attempt"]
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        constraints = [
            models.UniqueConstraint(fields=["task", "attempt"], name="submission_attempt_once"),
            models.CheckConstraint(condition=Q(attempt__gte=1), name="submission_attempt_positive"),
            models.CheckConstraint(
                condition=Q(verdict__in=[v.value for v in Verdict]), name="submission_verdict_valid"
            ),
            # At most one attempt of a task waits for review.
            models.UniqueConstraint(
                fields=["task"], condition=Q(verdict="pending"), name="submission_one_pending"
            ),
            models.CheckConstraint(
                condition=Q(verdict="pending") | Q(reviewed_at__isnull=False),
                name="submission_reviewed_has_time",
            ),
        ]
        indexes = [
            # `quality_by`: the accepted attempts of some departments within a window, grouped
            # by who submitted them (the owner, `may_submit`) or by department, read from the
            # index alone (no row, no task). `verdict` last although the condition fixes it:
            # SQLite reads the row for a column the query names that the index lacks.
            models.Index(
                fields=["department", "reviewed_at", "submitted_by", "attempt", "verdict"],
                condition=Q(verdict="accepted"),
                name="submission_dept_accepted_by",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} #{self.attempt}"


class DeliverableKind(models.TextChoices):
    FILE = "file", _("File")
    LINK = "link", _("Link")


class Deliverable(models.Model):
    """A file (stored through Django's storage API, served only after an authorization
    check) or a link handed in with a submission."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="deliverables")
    kind = models.CharField(max_length=4, choices=DeliverableKind.choices)
    file = models.FileField(
        storage=deliverable_storage, upload_to="deliverables/%Y/%m/", blank=True, max_length=255
    )
    name = models.CharField(_("name"), max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    url = models.URLField(_("link"), max_length=500, blank=True)

    class Meta:
        ordering = ["submission_id", "id"]
        verbose_name = _("deliverable")
        verbose_name_plural = _("deliverables")
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="file") & ~Q(file="") & Q(url=""))
                | (Q(kind="link") & Q(file="") & ~Q(url="")),
                name="deliverable_file_xor_link",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StagedUpload(models.Model):
    """A file the owner chose on the submit form, kept in the review storage while the form
    came back (the progress question, a refused field): the browser forgets a chosen file on
    every round trip, and the owner should not have to choose it again. The form carries the
    ids it keeps (`services.submission_stage_files`); a submission of that owner's task takes
    them over as its deliverables (the stored file is not copied). Left behind, it is deleted
    with its file after `STAGED_UPLOAD_HOURS` (`jobs.drop_stale_staged_uploads`)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="+")
    file = models.FileField(storage=deliverable_storage, upload_to="staged/%Y/%m/", max_length=255)
    name = models.CharField(_("name"), max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["task", "owner"], name="staged_task_owner")]

    def __str__(self) -> str:
        return self.name


STAGED_UPLOAD_HOURS = 24


class CriterionCheck(models.Model):
    """One criterion as it stood at submission (a snapshot: criteria are frozen from the first
    submission on), and the reviewer's result for it. `passed` is null until reviewed; for a
    measurable criterion it is what the comparator says of `measured`, never typed."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="checks")
    criterion = models.ForeignKey(
        "tasks.AcceptanceCriterion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=500)
    metric = models.CharField(max_length=100, blank=True)
    comparator = models.CharField(max_length=2, blank=True)
    threshold = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    unit = models.CharField(max_length=20, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    measured = models.DecimalField(
        _("measured value"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["submission_id", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(metric="") | Q(passed__isnull=True) | Q(measured__isnull=False),
                name="check_measurable_has_value",
            ),
            models.CheckConstraint(
                condition=~Q(passed=False) | ~Q(comment=""), name="check_failed_has_comment"
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def is_measurable(self) -> bool:
        return bool(self.metric)

    @property
    def measure_display(self) -> str:
        return measure_display(self.metric, self.comparator, self.threshold, self.unit)

    @property
    def measured_display(self) -> str:
        return measured_display(self.measured, self.unit)


def measure_display(metric: str, comparator: str, threshold, unit: str) -> str:
    """ "数据准确率 ≥ 95%": a measurable criterion as the reviewer reads it ("" when not
    measurable); `threshold` a Decimal or None."""
    if not metric:
        return ""
    shown = f"{threshold.normalize():f}" if threshold is not None else ""
    symbol = {">=": "≥", "<=": "≤"}.get(comparator, comparator)
    return f"{metric} {symbol} {shown}{unit}"


def measured_display(measured, unit: str) -> str:
    """ "97%": a measured value (a Decimal, or None: "") with its unit."""
    return f"{measured.normalize():f}{unit}" if measured is not None else ""


class CriteriaConsent(models.Model):
    """The reviewer's recorded consent to change criteria frozen by a submission; one change
    of the criteria uses it up (`used_at`)."""

    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="criteria_consents")
    given_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    given_at = models.DateTimeField()
    note = models.TextField(_("reason"))
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-given_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["task"], condition=Q(used_at__isnull=True), name="consent_one_open_per_task"
            ),
        ]

    def __str__(self) -> str:
        return f"consent {self.task_id}"


class Retrospective(models.Model):
    """任务复盘总结表: one per task, written after completion; the knowledge base is these."""

    task = models.OneToOneField("tasks.Task", on_delete=models.CASCADE, related_name="retrospective")
    # The task's department, copied when written: the knowledge base filters on the row itself,
    # so SQLite can drive a search from the full-text index (through a join to tasks it probed
    # the match list once per task of the department).
    department = models.ForeignKey(
        "orgs.Department", on_delete=models.CASCADE, related_name="retrospectives", db_index=False
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    what_worked = models.TextField(_("what worked"))
    to_improve = models.TextField(_("what to improve"))
    # ["跨部门", "资源"]; `tags_text` is ",跨部门,资源," so a tag filter is one indexed-free LIKE on a
    # short column of rows already narrowed by visibility.
    tags = models.JSONField(_("tags"), default=list, blank=True)
    tags_text = models.CharField(max_length=500, blank=True, default="")
    # Link to the meeting minutes (会议纪要): an http(s) address (`services.retrospective_write`
    # refuses anything else); rows written before that rule may hold plain text, shown as
    # text (`minutes_href`).
    minutes_link = models.CharField(_("minutes"), max_length=500, blank=True)
    # Words plus CJK bigrams of the task's code, title, customer and project and of the lesson
    # (see `tasks.search`); FTS5 on SQLite, a GIN tsvector index on PostgreSQL.
    search_text = models.TextField(default="", blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Who last rewrote it and when (`services.retrospective_write`); empty until someone
    # does. `author` stays who wrote it first: the pages say both (张伟 撰写 · 李娜 于 … 修改).
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    edited_at = models.DateTimeField(null=True, blank=True)
    # Raised by every save (`services.retrospective_write`); the form and the API send back
    # the one they read, so a save over a rewrite made since is refused, not silently lost.
    # No row yet counts as version 0 (`services.retro_version`).
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("retrospective")
        verbose_name_plural = _("retrospectives")
        constraints = [
            models.CheckConstraint(
                condition=~Q(what_worked="") | ~Q(to_improve=""), name="retrospective_not_empty"
            ),
        ]
        indexes = [models.Index(fields=["department", "-created_at"], name="retro_dept_time")]

    def __str__(self) -> str:
        return f"retrospective of {self.task_id}"

    @property
    def minutes_href(self) -> str:
        """The minutes link when it is a web address (a page may link it), else ""."""
        return self.minutes_link if is_web_address(self.minutes_link) else ""


def default_required_types() -> list[str]:
    return ["project"]


class ReviewPolicy(models.Model):
    """A department's retrospective rules: which task types need one, and after how many
    working days a missing one is reminded. Defaults when no row is saved."""

    department = models.OneToOneField(
        "orgs.Department", on_delete=models.CASCADE, related_name="review_policy"
    )
    retro_required_types = models.JSONField(
        _("task types that need a retrospective"), default=default_required_types, blank=True
    )
    retro_reminder_workdays = models.PositiveSmallIntegerField(
        _("remind after this many working days"), default=3
    )

    class Meta:
        verbose_name = _("department review policy")
        verbose_name_plural = _("department review policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(retro_reminder_workdays__gte=1) & Q(retro_reminder_workdays__lte=60),
                name="review_policy_reminder_1_60",
            ),
        ]

    def __str__(self) -> str:
        return f"review policy of {self.department_id}"
