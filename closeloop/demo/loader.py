"""The demo data set: the handbook's departments, people and example tasks, dated relative
to today so the demo looks alive. Everything goes through the real services, so the event
log, codes and notifications are what real use produces; each step runs at the moment it
would have happened (`core.democlock.at`), so the activity log reads like two weeks of work
in order: a task is created on its start date before anything else happens to it, started
that morning, its progress only grows, and the apps' demos add their history the same way.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from closeloop.core.democlock import at, local
from closeloop.orgs.calendar import add_workdays
from closeloop.orgs.models import Department, Membership, User
from closeloop.tasks import completions, services
from closeloop.tasks.models import AdhocCategory, Priority, Source, Task, TaskType
from closeloop.tasks.services import CriterionIn
from closeloop.tasks.states import Status

log = logging.getLogger("closeloop.demo")

DEPARTMENTS = [
    # code, name, parent
    ("HQ", "总公司", None),
    ("SALES", "销售部", "HQ"),
    ("MKT", "市场部", "HQ"),
    ("PROD", "产品部", "HQ"),
    ("OPS", "运营部", "HQ"),
    ("TECH", "技术部", "HQ"),
]

PEOPLE = [
    # username, 姓名, department, role, heads, mobile
    ("admin", "系统管理员", None, None, None, ""),
    ("ceo", "周总", "HQ", Membership.Role.MANAGER, "HQ", "13800000000"),
    ("sales_head", "王强", "SALES", Membership.Role.MANAGER, "SALES", "13800000001"),
    ("sales_manager", "李娜", "SALES", Membership.Role.MANAGER, None, "13800000002"),
    ("sales_specialist", "张伟", "SALES", Membership.Role.SPECIALIST, None, "13800000003"),
    ("marketing_head", "陈静", "MKT", Membership.Role.MANAGER, "MKT", "13800000004"),
    ("marketing_specialist", "刘洋", "MKT", Membership.Role.SPECIALIST, None, "13800000005"),
    ("product_head", "杨帆", "PROD", Membership.Role.MANAGER, "PROD", "13800000006"),
    ("ops_head", "赵敏", "OPS", Membership.Role.MANAGER, "OPS", "13800000007"),
    ("tech_head", "孙磊", "TECH", Membership.Role.MANAGER, "TECH", "13800000008"),
]


@dataclass
class Demo:
    today: dt.date
    people: dict[str, User]
    depts: dict[str, Department]

    def day(self, offset: int) -> dt.date:
        return self.today + dt.timedelta(days=offset)

    def workday(self, offset: int) -> dt.date:
        return add_workdays(self.today, offset)

    def at(self, offset: int, hour: int, minute: int = 0) -> dt.datetime:
        """`offset` days from today at `hour`:`minute`, local time (never after now)."""
        return min(local(self.day(offset), hour, minute), timezone.now())


def ensure_org() -> tuple[dict[str, Department], dict[str, User]]:
    depts: dict[str, Department] = {}
    for code, name, parent in DEPARTMENTS:
        dept, _ = Department.objects.get_or_create(
            code=code, defaults={"name": name, "parent": depts.get(parent)}
        )
        depts[code] = dept
    people: dict[str, User] = {}
    for username, name, dept_code, role, heads, mobile in PEOPLE:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, name=name, email=f"{username}@closeloop.example", mobile=mobile)
            user.is_staff = user.is_superuser = username == "admin"
            user.set_password(settings.DEMO_PASSWORD)
            user.save()
        people[username] = user
        if dept_code:
            Membership.objects.get_or_create(user=user, department=depts[dept_code], defaults={"role": role})
        if heads and depts[heads].head_id is None:
            Department.objects.filter(pk=depts[heads].pk).update(head=user)
            depts[heads].head = user
    if depts["SALES"].deputy_id is None:
        Department.objects.filter(pk=depts["SALES"].pk).update(deputy=people["sales_manager"])
        depts["SALES"].deputy = people["sales_manager"]
    return depts, people


def _move(task: Task, to: str, actor: User, note: str = "") -> Task:
    task = Task.objects.select_related("department", "owner", "initiator", "reviewer").get(pk=task.pk)
    return services.task_transition(actor=actor, task=task, to=to, note=note)


def _walk(task: Task, steps: list[tuple[str, str, str]], people: dict[str, User]) -> Task:
    for to, who, note in steps:
        task = _move(task, to, people[who], note)
    return task


def _progress(task: Task, percent: int) -> Task:
    task = Task.objects.select_related("department", "owner").get(pk=task.pk)
    return services.task_update(actor=task.owner, task=task, progress=percent)


def _started(d: Demo, task: Task, people: dict[str, User], who: str) -> Task:
    """`task` started by `who` on its start date at 09:30 (created at 09:00 that day)."""
    offset = (task.start_date - d.today).days if task.start_date else 0
    with at(d.at(offset, 9, 30)):
        return _walk(task, [(Status.IN_PROGRESS, who, "")], people)


def load_tasks(d: Demo) -> None:
    """The handbook's tasks, each step at its moment (`d.at`): created at 09:00 on its start
    date, started at 09:30. Progress of T001-2, T003 and T004 comes from their daily updates
    (tracking's demo), the acceptance of T001-1 and T002 from review's; nothing is set here
    that those later steps would set back."""
    p, depts = d.people, d.depts
    sales, mkt, prod, ops, tech = (depts[c] for c in ("SALES", "MKT", "PROD", "OPS", "TECH"))
    q3 = services.project_get_or_create(name="Q3用户活跃度目标")
    launch = services.project_get_or_create(name="新功能上线")
    cust_a = services.customer_get_or_create(name="A客户")
    cust_b = services.customer_get_or_create(name="B客户")
    services.customer_get_or_create(name="C客户")

    # T001 老用户召回活动: the handbook's decomposed project, laid out the day it starts.
    with at(d.at(-12, 9, 0)):
        t001 = services.task_create(
            actor=p["sales_head"],
            department=sales,
            title="老用户召回活动",
            goal="为提升用户活跃度,需在截止日前完成“老用户召回活动”的方案设计与落地执行。",
            expected_outcome="召回方案上线,沉睡用户回访率明显提升",
            value="达成Q3用户活跃度目标",
            task_type=TaskType.PROJECT,
            priority=Priority.HIGH,
            owner=p["sales_manager"],
            start_date=d.day(-12),
            due_date=d.workday(8),
            project=q3,
            notes="关联Q3用户活跃度目标",
            collaborators=[p["marketing_specialist"], p["sales_specialist"]],
            criteria=[
                CriterionIn(text="方案符合用户需求,经部门负责人确认"),
                CriterionIn(
                    text="沉睡用户召回率达标", metric="召回率", comparator=">=", threshold=15, unit="%"
                ),
            ],
        )
    with at(d.at(-12, 9, 10)):
        t001 = _walk(t001, [(Status.IN_PROGRESS, "sales_manager", "")], p)
    subtasks = [
        ("用户画像分析", "sales_specialist", -12, -5, Status.DONE),
        ("召回策略制定", "sales_manager", -5, 3, Status.IN_PROGRESS),
        ("活动页面原型设计", "marketing_specialist", 2, 6, Status.NOT_STARTED),
        ("文案撰写", "sales_specialist", 4, 8, Status.NOT_STARTED),
    ]
    created = []
    with at(d.at(-12, 9, 20)):
        for title, owner, start, due, status in subtasks:
            sub = services.task_create(
                actor=p["sales_manager"],
                department=sales,
                parent=t001,
                title=title,
                owner=p[owner],
                start_date=d.day(start),
                due_date=min(d.day(due), t001.due_date),
                priority=Priority.HIGH,
                task_type=TaskType.PROJECT,
                criteria=[CriterionIn(text=f"{title}成果经负责人确认")],
            )
            created.append((sub, owner, status))
    for sub, owner, status in created:
        if status == Status.DONE:
            sub = _started(d, sub, p, owner)
            # Finished the evening before its due day; handed in and accepted that morning by
            # `closeloop.review.demo`, through the acceptance services (a submission the
            # task page's 验收 panel shows, the reviewer's verdict), not bare status moves.
            done_day = (min(sub.due_date, d.today) - d.today).days
            with at(d.at(done_day - 1, 17, 30)):
                _progress(sub, 100)
        elif status == Status.IN_PROGRESS:
            _started(d, sub, p, owner)

    # T002 月度销售报表: done and accepted.
    with at(d.at(-9, 9, 0)):
        t002 = services.task_create(
            actor=p["sales_head"],
            department=sales,
            title="月度销售报表",
            task_type=TaskType.ROUTINE,
            priority=Priority.MEDIUM,
            owner=p["sales_specialist"],
            start_date=d.day(-9),
            due_date=d.workday(-2),
            goal="汇总上月销售数据,供月度经营会使用",
            expected_outcome="月度销售报表(含区域/产品线对比)",
            value="支撑月度经营决策",
            notes="需包含区域/产品线数据对比",
            criteria=[
                CriterionIn(
                    text="数据准确率达标", metric="数据准确率", comparator=">=", threshold=95, unit="%"
                ),
                CriterionIn(text="包含区域与产品线对比"),
            ],
        )
    # Submitted the working day before its due date, sent back once and accepted on the due
    # date by `closeloop.review.demo` (one rework round); the report was finished just before.
    t002 = _started(d, t002, p, "sales_specialist")
    with at(max(local(add_workdays(t002.due_date, -1), 15, 0), d.at(-9, 11, 0))):
        _progress(t002, 100)

    # T003 客户需求调研: collaborative, with product and marketing.
    with at(d.at(-6, 9, 0)):
        t003 = services.task_create(
            actor=p["sales_head"],
            department=sales,
            title="客户需求调研",
            task_type=TaskType.COLLABORATIVE,
            priority=Priority.MEDIUM,
            owner=p["sales_manager"],
            start_date=d.day(-6),
            due_date=d.workday(5),
            customer=cust_a,
            project=launch,
            goal="了解A客户对新功能的真实需求",
            expected_outcome="需求调研报告",
            value="提升客户满意度",
            collaborators=[p["product_head"], p["marketing_specialist"]],
            criteria=[
                CriterionIn(
                    text="覆盖至少10家重点客户", metric="访谈客户数", comparator=">=", threshold=10, unit="家"
                )
            ],
        )
    _started(d, t003, p, "sales_manager")

    # T004: overdue signing follow-up.
    with at(d.at(-10, 9, 0)):
        t004 = services.task_create(
            actor=p["sales_manager"],
            department=sales,
            title="跟进B客户签约进度",
            task_type=TaskType.PROJECT,
            priority=Priority.HIGH,
            owner=p["sales_specialist"],
            start_date=d.day(-10),
            due_date=d.workday(-1),
            customer=cust_b,
            expected_outcome="B客户完成合同签署",
            value="达成Q3销售目标",
            criteria=[CriterionIn(text="合同已签署并回传")],
        )
    _started(d, t004, p, "sales_specialist")

    # T005: blocked, waiting on marketing, since the afternoon it started.
    with at(d.at(-3, 9, 0)):
        t005 = services.task_create(
            actor=p["sales_head"],
            department=sales,
            title="筹备下周产品推介会",
            task_type=TaskType.PROJECT,
            priority=Priority.MEDIUM,
            owner=p["sales_manager"],
            start_date=d.day(-3),
            due_date=d.workday(4),
            expected_outcome="推介会按期举办,到场客户不少于30家",
            collaborators=[p["marketing_specialist"]],
            criteria=[
                CriterionIn(
                    text="到场客户数达标", metric="到场客户数", comparator=">=", threshold=30, unit="家"
                )
            ],
        )
    t005 = _started(d, t005, p, "sales_manager")
    with at(d.at(-3, 14, 0)):
        _walk(t005, [(Status.BLOCKED, "sales_manager", "等待市场部提供推广物料")], p)

    # T006: an ad-hoc customer complaint with a response deadline.
    services.task_create(
        actor=p["sales_manager"],
        department=sales,
        title="解决A客户关于报表导出功能的投诉,24小时内回复解决方案",
        task_type=TaskType.ROUTINE,
        priority=Priority.HIGH,
        owner=p["sales_specialist"],
        due_date=d.day(1),
        customer=cust_a,
        source=Source.ADHOC,
        adhoc_category=AdhocCategory.COMPLAINT,
        respond_by=timezone.now() + dt.timedelta(hours=20),
        criteria=[CriterionIn(text="24小时内给出书面解决方案")],
    )

    # T007: submitted, waiting for the head's acceptance.
    with at(d.at(-5, 9, 0)):
        t007 = services.task_create(
            actor=p["sales_head"],
            department=sales,
            title="整理Q3重点客户拜访纪要",
            task_type=TaskType.ROUTINE,
            priority=Priority.LOW,
            owner=p["sales_manager"],
            start_date=d.day(-5),
            due_date=d.workday(1),
            criteria=[
                CriterionIn(
                    text="纪要覆盖全部重点客户",
                    metric="重点客户覆盖率",
                    comparator=">=",
                    threshold=100,
                    unit="%",
                ),
                CriterionIn(text="每份纪要写明下一步行动和负责人"),
            ],
        )
    # Finished yesterday evening; submitted with a deliverable by `closeloop.review.demo`.
    _started(d, t007, p, "sales_manager")
    with at(d.at(-1, 17, 30)):
        _progress(t007, 100)

    # Due today for the specialist, so 我的工作 has every group.
    services.task_create(
        actor=p["sales_manager"],
        department=sales,
        title="更新客户拜访计划表",
        task_type=TaskType.ROUTINE,
        priority=Priority.LOW,
        owner=p["sales_specialist"],
        due_date=d.today,
        criteria=[CriterionIn(text="本周拜访计划完整")],
    )

    # Other departments.
    with at(d.at(-4, 9, 0)):
        m1 = services.task_create(
            actor=p["marketing_head"],
            department=mkt,
            title="新功能上线推广物料准备",
            task_type=TaskType.COLLABORATIVE,
            priority=Priority.HIGH,
            owner=p["marketing_specialist"],
            start_date=d.day(-4),
            due_date=d.workday(3),
            project=launch,
            collaborators=[p["sales_manager"]],
            criteria=[CriterionIn(text="海报、推文与演示文稿齐备并通过评审")],
        )
    _started(d, m1, p, "marketing_specialist")
    with at(d.at(-1, 17, 30)):
        _progress(m1, 30)
    with at(d.at(-2, 9, 0)):
        pr1 = services.task_create(
            actor=p["product_head"],
            department=prod,
            title="新功能需求评审",
            task_type=TaskType.COLLABORATIVE,
            priority=Priority.HIGH,
            owner=p["product_head"],
            start_date=d.day(-2),
            due_date=d.workday(2),
            project=launch,
            collaborators=[p["sales_manager"], p["tech_head"]],
            criteria=[CriterionIn(text="需求文档评审通过")],
        )
    _started(d, pr1, p, "product_head")
    with at(d.at(-7, 9, 0)):
        o1 = services.task_create(
            actor=p["ops_head"],
            department=ops,
            title="优化新用户注册流程",
            task_type=TaskType.COLLABORATIVE,
            priority=Priority.MEDIUM,
            owner=p["ops_head"],
            start_date=d.day(-7),
            due_date=d.workday(10),
            collaborators=[p["tech_head"]],
            criteria=[
                CriterionIn(
                    text="注册转化率提升", metric="注册转化率", comparator=">=", threshold=30, unit="%"
                )
            ],
        )
    _started(d, o1, p, "ops_head")
    services.task_create(
        actor=p["tech_head"],
        department=tech,
        title="用户流程接口联调支持",
        task_type=TaskType.COLLABORATIVE,
        priority=Priority.MEDIUM,
        owner=p["tech_head"],
        due_date=d.workday(6),
        collaborators=[p["ops_head"]],
        criteria=[CriterionIn(text="接口联调通过")],
    )


def load(*, if_empty: bool = False, stdout=None) -> bool:
    """Load the demo. Idempotent: people and departments are created when missing, the
    example tasks only when 销售部 has none yet. Returns True when tasks were created."""
    if if_empty and Department.objects.exists():
        return False
    with transaction.atomic():
        depts, people = ensure_org()
        if Task.objects.filter(department=depts["SALES"]).exists():
            return False
        load_tasks(Demo(today=timezone.localdate(), people=people, depts=depts))
    for seed in extension_seeders():
        seed()
    _align_weekly_review_times()
    # Completions were counted as each step ran at its moment; counted again from the tasks
    # in case a step's day and the tally's disagree (review's demo dates its acceptances).
    completions.rebuild()
    return True


def _align_weekly_review_times() -> None:
    """The demo's "周复盘 ready" notifications and group message say the review was sent when
    it was posted (on its review day), not at some fixed hours ago."""
    from closeloop.insights.models import WeeklyReview
    from closeloop.notify.models import Delivery, DeliveryState, Notification

    review = WeeklyReview.objects.filter(posted_at__isnull=False).order_by("-week_start").first()
    if review is None:
        return
    posted = review.posted_at
    Notification.objects.filter(kind="weekly_review.ready").update(created_at=posted)
    read_at = min(posted + dt.timedelta(hours=1), timezone.now())
    Notification.objects.filter(kind="weekly_review.ready", read_at__isnull=False).update(read_at=read_at)
    Delivery.objects.filter(kind="weekly_review.ready").update(created_at=posted, run_after=posted)
    Delivery.objects.filter(kind="weekly_review.ready", state=DeliveryState.SENT).update(sent_at=posted)


def extension_seeders():
    """Each part of the loop adds its own demo rows on top of the tasks (in this order)."""
    from closeloop.collab import demo as collab_demo
    from closeloop.notify import demo as notify_demo
    from closeloop.planning import demo as planning_demo
    from closeloop.review import demo as review_demo
    from closeloop.tracking import demo as tracking_demo

    # Review first: it submits T007 and accepts T002 before tracking writes their history.
    return [
        review_demo.seed_demo,
        planning_demo.seed_demo,
        tracking_demo.seed_demo,
        collab_demo.seed_demo,
        notify_demo.seed_demo,
    ]
