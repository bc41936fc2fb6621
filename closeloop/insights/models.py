from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class WeeklyReview(models.Model):
    """周复盘 of one department and week. The figures are computed live from the loop's data;
    this row holds what people add (meeting notes) and when it was made ready and posted."""

    department = models.ForeignKey("orgs.Department", on_delete=models.CASCADE, related_name="weekly_reviews")
    # Monday of the ISO week.
    week_start = models.DateField(_("week"))
    notes = models.TextField(_("meeting notes"), blank=True)
    notes_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes_at = models.DateTimeField(null=True, blank=True)
    # Raised by every save of the notes (`services.weekly_review_notes_save`), not by making
    # the review ready: the page and the API send back the one they read, so notes saved
    # since by someone else are never silently overwritten. A week with no row yet counts as
    # version 1, the version its row is created with (`services.notes_version`).
    version = models.PositiveIntegerField(default=1)
    ready_at = models.DateTimeField(null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-week_start", "department_id"]
        verbose_name = _("weekly review")
        verbose_name_plural = _("weekly reviews")
        constraints = [
            models.UniqueConstraint(fields=["department", "week_start"], name="weekly_review_once_per_week"),
        ]

    def __str__(self) -> str:
        return f"{self.department_id} {self.week_start}"
