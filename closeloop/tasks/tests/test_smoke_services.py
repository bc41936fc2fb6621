from closeloop.tasks.models import Task


def test_it_numbers_tasks_per_department(task, head, sales):
    from closeloop.core.testing.factories import make_task

    second = make_task(actor=head, department=sales, owner=head, title="客户需求调研")
    assert task.code == "T001"
    assert second.code == "T002"
    assert Task.objects.visible_to(head).count() == 2
