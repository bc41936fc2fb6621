from django.db import models
from django.utils.translation import gettext_lazy as _


class JobRun(models.Model):
    """One run of a periodic job for one scope and time slot.

    Inserting the row is the claim: the unique constraint lets exactly one worker win, so a
    reminder for (department 3, 2026-11-27) is sent once however many workers run.
    """

    job = models.CharField(max_length=100)
    scope = models.CharField(max_length=100, default="")
    slot = models.CharField(max_length=100)
    worker = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "scope", "slot"], name="jobrun_once_per_slot")]
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")

    def __str__(self) -> str:
        return f"{self.job}[{self.scope}]@{self.slot}"


class WorkerHeartbeat(models.Model):
    worker_id = models.CharField(max_length=200, unique=True)
    hostname = models.CharField(max_length=200)
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField()
    current = models.CharField(max_length=200, blank=True)
    processed = models.BigIntegerField(default=0)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen"]
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return self.worker_id
