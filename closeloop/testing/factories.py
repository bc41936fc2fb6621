"""Test data builders shared by every app's tests. A top-level package above every app (it
builds orgs and tasks rows), so `core` imports no app; import as `closeloop.testing.factories`."""

import datetime as dt
import itertools

import factory
from django.utils import timezone

from closeloop.orgs.models import Department, Membership, User

_seq = itertools.count(1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    name = factory.Sequence(lambda n: f"测试用户{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("pw-closeloop-1")
    language = "zh-hans"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"D{n}")
    name = factory.Sequence(lambda n: f"部门{n}")


def add_member(user: User, department: Department, role: str = Membership.Role.SPECIALIST) -> Membership:
    return Membership.objects.get_or_create(user=user, department=department, defaults={"role": role})[0]


def intake_form(department, owner, **over) -> dict:
    """The new-task form (/tasks/new/) as a browser posts it: the handbook's required fields
    and one criterion, due in five days; `over` replaces or adds fields (`c_threshold=["95"]`)."""
    data = {
        "department": department.pk,
        "title": "月度销售报表",
        "goal": "汇总本月销售数据",
        "expected_outcome": "报表发给各区域经理",
        "value": "达成Q3销售目标",
        "task_type": "routine",
        "priority": "1",
        "owner": owner.pk,
        "due_date": (timezone.localdate() + dt.timedelta(days=5)).isoformat(),
        "c_text": ["数据准确率达标"],
    }
    data.update(over)
    return data


def make_task(
    *,
    actor: User,
    department: Department,
    owner: User | None = None,
    title: str = "月度销售报表",
    due: dt.date | None = None,
    criteria=None,
    **kwargs,
):
    """Create a task through the real service, as a person would."""
    from closeloop.tasks.services import CriterionIn, task_create

    return task_create(
        actor=actor,
        department=department,
        title=title,
        owner=owner or actor,
        due_date=due or timezone.localdate() + dt.timedelta(days=7),
        criteria=criteria
        if criteria is not None
        else [
            CriterionIn(text="数据准确率达标", metric="数据准确率", comparator=">=", threshold=95, unit="%")
        ],
        **kwargs,
    )


def department_with_head(
    code: str,
    name: str,
    parent: Department | None,
    *,
    username: str,
    head_name: str,
    password: str | None = None,
) -> tuple[Department, User]:
    """A department (`code`, `name`, under `parent`) and its head: a manager member set as the
    department's head, who signs in with `password` when given (browser tests)."""
    department = DepartmentFactory(code=code, name=name, parent=parent)
    head = UserFactory(username=username, name=head_name, **({"password": password} if password else {}))
    add_member(head, department, Membership.Role.MANAGER)
    department.head = head
    department.save(update_fields=["head"])
    return department, head


def add_people(department: Department, n: int, *, prefix: str = "staff", name: str = "员工") -> list[User]:
    """`n` active members of `department` in two queries (a directory of thousands in tests):
    usernames `{prefix}0000`…, names `{name}0000`…"""
    usernames = [f"{prefix}{i:04d}" for i in range(n)]
    User.objects.bulk_create(
        User(username=u, name=f"{name}{u[len(prefix) :]}", email=f"{u}@example.com") for u in usernames
    )
    people = list(User.objects.filter(username__in=usernames).order_by("username"))
    Membership.objects.bulk_create(
        (Membership(user=u, department=department) for u in people), ignore_conflicts=True
    )
    return people


def add_rounds(task, reviewer: User, verdicts: list[str], reviewed_at: list[dt.datetime]):
    """Acceptance rounds of `task` written directly (many tasks' rework rounds in one query,
    where the services would take seconds): attempt 1… with the given verdicts ("accepted",
    "rework", "pending") and review times, the department copied from the task as
    `review.services.submission_create` does. Returns the Submission rows."""
    from closeloop.review.models import Submission

    rows = [
        Submission(
            task=task,
            department_id=task.department_id,
            attempt=n,
            submitted_by_id=task.owner_id,
            submitted_at=at - dt.timedelta(hours=1),
            key_results="完成",
            completed_on=at.date(),
            verdict=verdict,
            reviewed_by=None if verdict == "pending" else reviewer,
            reviewed_at=None if verdict == "pending" else at,
        )
        for n, (verdict, at) in enumerate(zip(verdicts, reviewed_at, strict=True), start=1)
    ]
    return Submission.objects.bulk_create(rows)


_AFTER_DUE = object()


def set_forecast(
    task, *, at_risk: bool = True, forecast_date=_AFTER_DUE, reason: str | None = None, today=None, due=None
):
    """`task`'s risk forecast written directly (created or replaced), as the forecast sweep
    (`tracking.jobs`) would leave it: at risk "behind" by default, finishing three days after
    the due date (`forecast_date` None: no finish forecast); `reason` "" when not at risk
    unless given. `due`: the due date the forecast judged (default the task's). Returns the
    TaskForecast."""
    from closeloop.tracking.models import TaskForecast

    today = today or timezone.localdate()
    due = due or task.due_date
    forecast, _created = TaskForecast.objects.update_or_create(
        task=task,
        defaults=dict(
            forecast_date=due + dt.timedelta(days=3) if forecast_date is _AFTER_DUE else forecast_date,
            slope=0.5,
            last_day=today,
            last_percent=5,
            points=2,
            due_date=due,
            judge_from=today,
            at_risk=at_risk,
            reason=("behind" if at_risk else "") if reason is None else reason,
            computed_at=timezone.now(),
        ),
    )
    type(task).objects.filter(pk=task.pk).update(at_risk=at_risk)  # the task's copy, as tracking keeps it
    return forecast
