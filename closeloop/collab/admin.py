"""The admin sets each department's escalation ladder (hours, levels, working hours only).
Issues, plans and minutes are task data: read and written through the app, not here."""

from django.contrib import admin

from closeloop.collab.models import CollabSettings


@admin.register(CollabSettings)
class CollabSettingsAdmin(admin.ModelAdmin):
    list_display = ["department", "first_after_hours", "then_every_hours", "levels", "working_hours"]
    autocomplete_fields = ["department"]
