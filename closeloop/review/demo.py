"""Demo data of acceptance, on top of the tasks of `closeloop.demo.loader`: T001-1 handed in
and accepted the morning of its due day; T007 waiting for
the head's acceptance with a deliverable and a measurable criterion; T002 sent back once
(数据准确率 93 % < 95 %) and accepted on the second attempt; three retrospectives with the
lessons a head would write, one of them from a past cross-department launch. Idempotent
(nothing once 销售部 has a submission); everything through the real services, each step at
the moment it happened (`core.democlock.at`): T002 handed in the working day before its due
date and accepted on it, the launch two months ago."""

import datetime as dt

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from closeloop.core.democlock import at, local
from closeloop.orgs.calendar import add_workdays
from closeloop.orgs.models import Department, User
from closeloop.review.models import Submission
from closeloop.review.services import CheckIn, retrospective_write, submission_create, submission_review
from closeloop.tasks.models import Task, TaskType
from closeloop.tasks.services import CriterionIn, task_create, task_transition, task_update
from closeloop.tasks.states import Status


def _task(dept: Department, code: str) -> Task | None:
    return (
        Task.objects.select_related("department", "owner", "reviewer")
        .filter(department=dept, code=code)
        .first()
    )


def _fresh(task: Task) -> Task:
    return Task.objects.select_related("department", "owner", "reviewer").get(pk=task.pk)


def _review(reviewer: User, sub: Submission, values: dict[int, tuple]) -> Submission:
    checks = []
    for c in sub.checks.order_by("position"):
        measured, passed, comment = values.get(c.position, (None, True, ""))
        checks.append(CheckIn(c.pk, passed=passed, measured=measured, comment=comment))
    return submission_review(actor=reviewer, submission=sub, checks=checks)


def seed_demo() -> None:
    sales = Department.objects.filter(code="SALES").first()
    if sales is None or Submission.objects.filter(task__department=sales).exists():
        return
    people = {u.username: u for u in User.objects.filter(username__startswith="") if u.username}
    head, manager, specialist = (
        people.get("sales_head"),
        people.get("sales_manager"),
        people.get("sales_specialist"),
    )
    if not (head and manager and specialist):
        return
    today = timezone.localdate()
    with transaction.atomic():
        # T001-1 用户画像分析 (finished the evening before by the loader): handed in by its owner
        # the morning of its due day and accepted a quarter of an hour later by the parent
        # task's owner, before the next step (T001-2) starts.
        profile = _task(sales, "T001-1")
        if profile is not None and profile.status == Status.IN_PROGRESS:
            done_day = min(profile.due_date, today)
            handed_in = min(local(done_day, 9, 0), timezone.now())
            with at(handed_in):
                sub = submission_create(
                    actor=profile.owner,
                    task=profile,
                    key_results="沉睡用户按最近消费时间分为三层,输出用户画像报告与分层名单",
                    completed_on=timezone.localtime(handed_in).date(),
                    links=["https://docs.example.com/sales/dormant-user-profile"],
                )
            with at(min(handed_in + dt.timedelta(minutes=15), timezone.now())):
                _review(manager if profile.owner_id != manager.pk else head, sub, {})
        t002 = _task(sales, "T002")
        if t002 is not None and t002.status == Status.IN_PROGRESS:
            due = t002.due_date
            started = local(t002.start_date or due, 11, 0)
            handed_in = max(local(add_workdays(due, -1), 16, 0), started)
            accepted = max(local(due, 17, 0), handed_in + dt.timedelta(hours=5))
            with at(handed_in):
                first = submission_create(
                    actor=specialist,
                    task=t002,
                    key_results="完成上月销售报表,覆盖 6 个区域、4 条产品线",
                    completed_on=handed_in.date(),
                    files=[
                        ContentFile(
                            "区域,销售额(万元)\n华北,320\n华南,280\n".encode(), name="月度销售报表-初稿.csv"
                        )
                    ],
                )
            with at(handed_in + dt.timedelta(hours=1)):
                _review(
                    head, first, {1: ("93", None, "华东区数据缺失,与财务口径不一致"), 2: (None, True, "")}
                )
            with at(handed_in + dt.timedelta(hours=2)):
                task_transition(actor=specialist, task=_fresh(t002), to=Status.IN_PROGRESS)
            with at(accepted - dt.timedelta(hours=2)):
                second = submission_create(
                    actor=specialist,
                    task=_fresh(t002),
                    key_results="补齐华东区数据,口径与财务对齐,准确率复核 97%",
                    completed_on=(accepted - dt.timedelta(hours=2)).date(),
                    files=[
                        ContentFile(
                            "区域,销售额(万元)\n华北,320\n华东,410\n华南,280\n".encode(),
                            name="月度销售报表.csv",
                        )
                    ],
                    links=["https://docs.example.com/sales/monthly-report"],
                )
            # Accepted on its due date: the demo's on-time figures stay true.
            with at(accepted):
                _review(head, second, {1: ("97", None, ""), 2: (None, True, "")})
            with at(accepted + dt.timedelta(minutes=40)):
                retrospective_write(
                    actor=head,
                    task=_fresh(t002),
                    what_worked="模板固定后,汇总只需半天;区域对比图表让经营会讨论更聚焦。",
                    to_improve="第一次提交漏了华东区:取数前先与财务对齐口径和区域清单,提交前按清单自查。",
                    tags="报表，数据口径，财务",
                )

        t007 = _task(sales, "T007")
        if t007 is not None and t007.status == Status.IN_PROGRESS:
            submission_create(
                actor=manager,
                task=t007,
                key_results="整理 12 家重点客户拜访纪要,每份写明下一步行动与负责人",
                files=[
                    ContentFile(
                        "客户,拜访日期,下一步行动,负责人\n华润,2026-11-20,报价,张经理\n".encode(),
                        name="Q3重点客户拜访纪要.csv",
                    )
                ],
                links=["https://docs.example.com/sales/q3-visits"],
            )

        # A past cross-department launch, accepted, whose lesson comes up for the next one:
        # started two months ago, accepted the day before its due date.
        start, due = today - dt.timedelta(days=60), today - dt.timedelta(days=20)
        done_at = local(due - dt.timedelta(days=1), 17, 0)
        with at(local(start, 9, 0)):
            launch = task_create(
                actor=head,
                department=sales,
                title="跨部门新品上线活动(Q2)",
                owner=manager,
                due_date=due,
                start_date=start,
                task_type=TaskType.PROJECT,
                goal="配合产品部新品上线,完成渠道铺货与首发活动",
                expected_outcome="首发活动如期举行,首月销量达标",
                value="新品首月收入",
                collaborators=[people[u] for u in ("marketing_specialist",) if u in people],
                criteria=[
                    CriterionIn(
                        text="首月销量达标", metric="首月销量", comparator=">=", threshold=5000, unit="件"
                    )
                ],
            )
        with at(local(start, 9, 30)):
            launch = task_transition(actor=manager, task=launch, to=Status.IN_PROGRESS)
        with at(done_at - dt.timedelta(hours=2)):
            launch = task_update(actor=manager, task=launch, progress=100)
        with at(done_at - dt.timedelta(hours=1)):
            sub = submission_create(actor=manager, task=launch, key_results="首月销量 5600 件", confirm=True)
        with at(done_at):
            _review(head, sub, {1: ("5600", None, "")})
        with at(done_at + dt.timedelta(days=1)):
            retrospective_write(
                actor=head,
                task=_fresh(launch),
                what_worked="每日 15 分钟站会,市场、产品、销售同步进度,问题当天有人认领。",
                to_improve="提前确认跨部门资源:设计和技术排期在启动会上就要锁定,这次晚了一周。",
                tags="跨部门，资源，上线",
            )

        profile = Task.objects.filter(department=sales, title="用户画像分析", status=Status.DONE).first()
        if profile is not None:
            with at(profile.completed_at + dt.timedelta(hours=2)):
                retrospective_write(
                    actor=head,
                    task=profile,
                    what_worked="沉睡用户按最近消费时间分三层,召回策略有了依据。",
                    to_improve="数据提取申请要提前 3 个工作日提给技术部,否则排不上。",
                    tags="用户画像，数据",
                )
