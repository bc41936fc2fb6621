"""What the sheets app adds to pages the tasks app owns (`closeloop.tasks.extensions`): under
the task list, 导出 with the list's current filters and 导入; on a task page, the task's
任务进度跟踪表."""

from django.template.loader import render_to_string

from closeloop.tasks import extensions


def list_action(request) -> str:
    return render_to_string("sheets/_list_actions.html", {"query": request.GET.urlencode()}, request=request)


def task_panel(request, task) -> str:
    return render_to_string("sheets/_task_panel.html", {"task": task}, request=request)


def register() -> None:
    extensions.register_list_action(list_action)
    extensions.register_task_panel(task_panel)
