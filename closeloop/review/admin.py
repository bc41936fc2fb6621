"""Acceptance data is read-only in the admin (every change goes through the services); a
department's retrospective rules may be edited here as on the head's rules page."""

from django.contrib import admin

from closeloop.review.models import Retrospective, ReviewPolicy, Submission


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    list_display = ("task", "attempt", "verdict", "submitted_at", "reviewed_at")
    list_filter = ("verdict",)


@admin.register(Retrospective)
class RetrospectiveAdmin(ReadOnlyAdmin):
    list_display = ("task", "author", "created_at")
    search_fields = ("task__title", "to_improve")


@admin.register(ReviewPolicy)
class ReviewPolicyAdmin(admin.ModelAdmin):
    list_display = ("department", "retro_required_types", "retro_reminder_workdays")
