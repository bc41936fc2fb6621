"""Task data is read-only in the admin: every change goes through the services, so the
event log and notifications stay complete."""

from django.contrib import admin

from closeloop.tasks.models import AcceptanceCriterion, Customer, Project, Task, TaskEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CriterionInline(admin.TabularInline):
    model = AcceptanceCriterion
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = ["code", "department", "title", "owner", "status", "priority", "due_date", "progress"]
    list_filter = ["department", "status", "priority", "task_type"]
    search_fields = ["code", "title"]
    list_select_related = ["department", "owner"]
    inlines = [CriterionInline]


@admin.register(TaskEvent)
class TaskEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "task", "actor", "verb"]
    list_filter = ["verb"]
    list_select_related = ["task", "actor"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "active"]
    search_fields = ["name"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "active"]
    search_fields = ["name"]
