"""Demo data of collaboration, on top of the tasks of `closeloop.demo.loader` (call
`seed_demo()` after it): the handbook's 市场部 × 产品部 feature launch with its
communication plan, an open issue raised yesterday that is already at level 1, a resolved
one, and one meeting whose first action item became a subtask — dated relative to today, each step
at its moment (`core.democlock.at`).
Idempotent: does nothing once any issue exists. Everything goes through the real services."""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from closeloop.collab import services
from closeloop.collab.models import Escalation, Issue
from closeloop.core.democlock import at, local
from closeloop.orgs.calendar import add_workdays
from closeloop.orgs.models import Department, User
from closeloop.tasks.models import Priority, TaskType
from closeloop.tasks.services import CriterionIn, project_get_or_create, task_create, task_transition

log = logging.getLogger("closeloop.demo")


def seed_demo() -> bool:
    mkt = Department.objects.filter(code="MKT").first()
    prod = Department.objects.filter(code="PROD").first()
    people = {u.username: u for u in User.objects.filter(is_active=True)}
    needed = ("marketing_head", "marketing_specialist", "product_head")
    if mkt is None or prod is None or any(n not in people for n in needed) or Issue.objects.exists():
        return False
    mh, ms, ph = (people[n] for n in needed)
    now = timezone.now()
    today = timezone.localdate()
    with transaction.atomic():
        with at(local(today - dt.timedelta(days=6), 9, 0)):
            task = task_create(
                actor=mh,
                department=mkt,
                title="新功能上线联合推进(市场部×产品部)",
                goal="市场部与产品部联合推进新功能上线:需求调研、开发测试、推广物料准备各环节按期完成",
                expected_outcome="新功能按期上线,推广同步启动",
                value="提升新功能首月使用率",
                task_type=TaskType.COLLABORATIVE,
                priority=Priority.HIGH,
                owner=ms,
                start_date=today - dt.timedelta(days=6),
                due_date=add_workdays(today, 10),
                project=project_get_or_create(name="新功能上线"),
                collaborators=[ph],
                criteria=[CriterionIn(text="上线当天推广物料全部就位")],
            )
        with at(local(today - dt.timedelta(days=6), 9, 30)):
            task = task_transition(actor=ms, task=task, to="in_progress")
            services.plan_save(
                actor=mh,
                task=task,
                cadence="weekly",
                weekdays=[0, 2, 4],
                channel="meeting",
                channel_detail="每周一、三、五 10:00 进度同步会(线上文档同步记录)",
                sync_time=dt.time(10, 0),
                contacts=[(mkt, ms), (prod, ph)],
            )
        with at(now - dt.timedelta(days=5)):
            solved = services.issue_raise(
                actor=ph,
                task=task,
                problem="新功能目标用户口径两部门不一致,需求文档无法定稿",
                resolver=ms,
                party_users=[mh],
                party_departments=[mkt, prod],
                now=now - dt.timedelta(days=5),
            )
        with at(now - dt.timedelta(days=4, hours=20)):
            services.issue_resolve(
                actor=ms,
                issue=solved,
                resolution="10月12日前补充数据",
                now=now - dt.timedelta(days=4, hours=20),
            )
        raised = now - dt.timedelta(hours=26)
        with at(raised):
            issue = services.issue_raise(
                actor=ph,
                task=task,
                problem="市场部提供的用户数据不完整",
                resolver=ms,
                party_users=[mh],
                party_departments=[mkt, prod],
                now=raised,
            )
        with at(raised + dt.timedelta(hours=24, minutes=2)):
            services.issue_escalate(issue_id=issue.pk, now=raised + dt.timedelta(hours=24, minutes=2))
        with at(local(today - dt.timedelta(days=2), 11, 0)):
            minutes = services.minutes_create(
                actor=mh,
                task=task,
                title="新功能上线协作周会",
                held_on=today - dt.timedelta(days=2),
                attendees=[mh, ms, ph],
                notes="同步需求调研、开发测试与推广物料准备进度。",
                decisions="用户数据由市场部补齐后再定稿推广节奏;每周一、三、五同步进度。",
                action_items=[
                    services.ActionItemIn(
                        title="补齐近30天活跃用户标签数据", owner=ms, due_date=add_workdays(today, 2)
                    ),
                    services.ActionItemIn(
                        title="输出新功能推广节奏表", owner=mh, due_date=add_workdays(today, 5)
                    ),
                ],
            )
            services.action_item_to_task(actor=mh, item=minutes.action_items.order_by("id").first())
    log.info("demo: collaboration issue log, ladder (%s rung), plan and minutes", Escalation.objects.count())
    return True
