"""The IM sign-in audit log in Django admin: read-only."""

from django.contrib import admin
from django.shortcuts import redirect

from closeloop.imsignin.models import SignInEvent, SignInSetup


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


@admin.register(SignInSetup)
class SignInSetupAdmin(admin.ModelAdmin):
    """Listed in the admin index so the admin finds the settings pages; the pages themselves
    (credentials masked, test sign-in) live at /admin/im-signin/."""

    def changelist_view(self, request, extra_context=None):
        return redirect("imsignin:admin_index")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False
