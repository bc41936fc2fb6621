"""The IM sign-in audit log in Django admin: read-only."""

from django.contrib import admin

from closeloop.imsignin.models import SignInEvent


@admin.register(SignInEvent)
class SignInEventAdmin(admin.ModelAdmin):
    list_display = ["at", "platform", "outcome", "person", "platform_user_id", "ip"]
    list_filter = ["platform", "outcome"]
    list_select_related = ["person"]
    search_fields = ["platform_user_id", "person__username", "person__name"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in SignInEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
