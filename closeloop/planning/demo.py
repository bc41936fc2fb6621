"""Demo rows of intake and decomposition, on top of the handbook tasks (closeloop/demo):
T001's subtasks chained 用户画像分析 → 召回策略制定 → 活动页面原型设计 → 文案撰写 with milestones
(the first reached) and saved as the template 活动方案设计; T002 月度销售报表 recurring on the 3rd working day of
each month; the specialist overloaded this week with three signings, the report and a launch.
Idempotent: run it twice and nothing is added the second time."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from closeloop.core.democlock import at
from closeloop.orgs.calendar import add_workdays, next_workday
from closeloop.orgs.models import Department, User
from closeloop.planning.services import decomposition, recurrence, templates
from closeloop.tasks import services
from closeloop.tasks.models import (
    DecompositionTemplate,
    Frequency,
    Milestone,
    Priority,
    RecurrenceRule,
    Task,
    TaskDependency,
    TaskType,
)
from closeloop.tasks.services import CriterionIn

CHAIN = ["用户画像分析", "召回策略制定", "活动页面原型设计", "文案撰写"]


def seed_demo() -> None:
    sales = Department.objects.filter(code="SALES").first()
    if sales is None:
        return
    people = {
        u.username: u
        for u in User.objects.filter(username__in=["sales_head", "sales_manager", "sales_specialist"])
    }
    if len(people) < 3:
        return
    head, manager, specialist = people["sales_head"], people["sales_manager"], people["sales_specialist"]
    today = timezone.localdate()
    with transaction.atomic():
        t001 = Task.objects.select_related("department").filter(department=sales, code="T001").first()
        if t001 is not None:
            subs = {t.title: t for t in Task.objects.filter(parent=t001).select_related("department")}
            chain = [subs[t] for t in CHAIN if t in subs]
            # Planned when T001 was laid out, right after its subtasks were created.
            with at(max(t.created_at for t in [t001, *chain]) + dt.timedelta(minutes=5)):
                for pred, succ in zip(chain, chain[1:], strict=False):
                    if not TaskDependency.objects.filter(predecessor=pred, successor=succ).exists():
                        decomposition.dependency_add(actor=manager, predecessor=pred, successor=succ)
                new_milestones = not Milestone.objects.filter(task=t001).exists() and len(chain) == 4
                if new_milestones:
                    profiled = decomposition.milestone_add(
                        actor=manager, task=t001, title="用户画像完成", date_=chain[0].due_date
                    )
                    decomposition.milestone_add(
                        actor=manager, task=t001, title="召回方案评审通过", date_=chain[1].due_date
                    )
                    decomposition.milestone_add(
                        actor=manager, task=t001, title="活动页面上线", date_=t001.due_date
                    )
                if (
                    chain
                    and not DecompositionTemplate.objects.filter(
                        department=sales, name="活动方案设计"
                    ).exists()
                ):
                    templates.template_save(actor=manager, task=t001, name="活动方案设计")
            # The first one reached when 用户画像分析 was finished: the task page, 日历 and the
            # timeline show a reached milestone beside open ones.
            if new_milestones and chain[0].completed_at is not None:
                with at(chain[0].completed_at):
                    decomposition.milestone_update(actor=manager, milestone=profiled, reached=True)

        t002 = Task.objects.filter(department=sales, code="T002").first()
        if t002 is not None and not RecurrenceRule.objects.filter(prototype=t002).exists():
            recurrence.recurrence_set(
                actor=head, task=t002, frequency=Frequency.MONTHLY_WORKDAY, nth_workday=3, lead_days=7
            )

        # 工作量: the specialist has three signings, the monthly report and a launch this week.
        if not Task.objects.filter(department=sales, title__startswith="完成C客户").exists():
            friday = today + dt.timedelta(days=4 - today.weekday()) if today.weekday() < 5 else today
            week_day = max(next_workday(today, include=True), min(friday, add_workdays(today, 2)))
            for title, customer in (
                ("完成C客户年度合同签约", "C客户"),
                ("完成D客户续约签署", "D客户"),
                ("完成E客户框架协议签约", "E客户"),
            ):
                services.task_create(
                    actor=head,
                    department=sales,
                    title=title,
                    owner=specialist,
                    due_date=week_day,
                    start_date=today,
                    priority=Priority.HIGH,
                    task_type=TaskType.PROJECT,
                    customer=services.customer_get_or_create(name=customer),
                    expected_outcome="合同签署并回传",
                    criteria=[CriterionIn(text="合同已签署并回传")],
                )
            services.task_create(
                actor=head,
                department=sales,
                title="新功能上线客户演示",
                owner=specialist,
                due_date=week_day,
                start_date=today,
                priority=Priority.MEDIUM,
                task_type=TaskType.COLLABORATIVE,
                project=services.project_get_or_create(name="新功能上线"),
                criteria=[
                    CriterionIn(
                        text="演示至少5家重点客户",
                        metric="演示客户数",
                        comparator=">=",
                        threshold=5,
                        unit="家",
                    )
                ],
            )
