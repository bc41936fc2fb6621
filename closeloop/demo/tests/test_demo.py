from django.core.management import call_command

from closeloop.orgs.models import Department, User
from closeloop.tasks.models import Task
from closeloop.tasks.selectors import my_work


def test_the_demo_loads_once_and_sales_manager_finds_t001_in_my_work(db):
    call_command("demo", verbosity=0)
    counts = (Department.objects.count(), User.objects.count(), Task.objects.count())
    call_command("demo", verbosity=0)
    assert (Department.objects.count(), User.objects.count(), Task.objects.count()) == counts
    assert set(Department.objects.values_list("code", flat=True)) >= {"SALES", "MKT", "PROD", "OPS", "TECH"}
    manager = User.objects.get(username="sales_manager")
    assert manager.check_password("closeloop-demo")
    work = my_work(manager)
    titles = [t.title for group in (work.overdue, work.today, work.this_week, work.later) for t in group]
    assert "老用户召回活动" in titles
    t001 = Task.objects.get(department__code="SALES", code="T001")
    assert list(t001.children.order_by("code").values_list("title", flat=True)) == [
        "用户画像分析",
        "召回策略制定",
        "活动页面原型设计",
        "文案撰写",
    ]
    # Every status a department sees in a normal week is there.
    assert {"in_progress", "blocked", "submitted", "done", "not_started"} <= set(
        Task.objects.values_list("status", flat=True)
    )
    # Whatever was handed in for acceptance has criteria to check (review.services.refuse_obstacles).
    handed_in = Task.objects.filter(status__in=["submitted", "done", "rework"])
    assert handed_in.exists() and not handed_in.filter(criteria__isnull=True).exists()


def test_if_empty_does_nothing_when_departments_exist(db):
    Department.objects.create(code="X", name="已有部门")
    call_command("demo", "--if-empty", verbosity=0)
    assert not Task.objects.exists()
