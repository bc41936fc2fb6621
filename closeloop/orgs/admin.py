from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from closeloop.orgs.models import ApiToken, Department, Membership, User, WorkDay


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "name", "email", "mobile", "is_active", "is_superuser"]
    search_fields = ["username", "name", "email", "mobile"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("name", "email", "mobile", "language", "time_zone")}),
        (_("IM accounts"), {"fields": ("wecom_id", "dingtalk_id", "feishu_id")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "name", "email", "mobile", "password1", "password2"),
            },
        ),
    )


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "parent", "head", "deputy", "time_zone", "workday_start", "workday_end"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["head", "deputy", "parent"]
    inlines = [MembershipInline]


@admin.register(WorkDay)
class WorkDayAdmin(admin.ModelAdmin):
    list_display = ["date", "is_workday", "name", "source"]
    list_filter = ["is_workday", "source"]
    date_hierarchy = "date"
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        # An admin's edit is kept when the calendar is re-seeded from the package.
        obj.source = WorkDay.Source.ADMIN
        super().save_model(request, obj, form, change)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "name", "prefix", "key_hash", "created_at", "last_used_at"]
    search_fields = ["user__username", "name", "prefix"]

    def has_add_permission(self, request):
        return False
