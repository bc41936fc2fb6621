"""The fixture world of the authorization matrix and the API fuzzing: one company with a
person in every role and an object of every kind in every relation to them.

Departments: HQ ← SALES ← SALES-EAST (a child department), HQ ← MKT, HQ ← FIN.

| role | who |
|---|---|
| admin | superuser, member of nothing |
| head | head of SALES (so also of SALES-EAST) |
| deputy | deputy of SALES |
| manager | a SALES member with the manager role (no more rights than a specialist) |
| specialist | a SALES specialist |
| collaborator | an MKT specialist helping on the `on` task |
| subtask_owner | an MKT specialist owning one subtask of the `on` task |
| anonymous | not signed in |

Objects (tasks, and what hangs off them: subtasks, dependencies, milestones, delay
warnings, department rules):

| object | what |
|---|---|
| own | a SALES task owned by another SALES specialist (`peer`), none of the roles on it |
| child | a SALES-EAST task |
| other | a FIN task: only the admin sees it |
| on | a SALES task with the collaborator on it and the subtask owner owning one of its subtasks |
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from closeloop.orgs.models import Department, Membership, User
from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member, make_task

ROLES = ("admin", "head", "deputy", "manager", "specialist", "collaborator", "subtask_owner", "anonymous")
OBJECTS = ("own", "child", "other", "on")


@dataclass
class Thing:
    """One object of the matrix: a task and the rows hanging off it."""

    task: Any
    department: Department
    subtask: Any = None
    milestone: Any = None
    warning: Any = None
    dependency: tuple[int, int] | None = None
    issue: Any = None
    minutes: Any = None


@dataclass
class World:
    people: dict[str, User]
    things: dict[str, Thing]
    departments: dict[str, Department]
    extra: dict[str, Any] = field(default_factory=dict)

    def user(self, role: str) -> User | None:
        return self.people.get(role)


def build_world() -> World:
    """Create the world through the real services (as people would) and answer it."""
    from closeloop.planning.services.decomposition import dependency_add, milestone_add, subtask_add
    from closeloop.tasks.services import task_collaborator_add
    from closeloop.tracking.services import delay_warning_raise

    today = timezone.localdate()
    hq = DepartmentFactory(code="HQ", name="总公司")
    sales = DepartmentFactory(code="SALES", name="销售部", parent=hq)
    east = DepartmentFactory(code="SALES-EAST", name="华东销售", parent=sales)
    mkt = DepartmentFactory(code="MKT", name="市场部", parent=hq)
    fin = DepartmentFactory(code="FIN", name="财务部", parent=hq)

    def person(username: str, name: str, dept: Department, role=Membership.Role.SPECIALIST) -> User:
        user = UserFactory(username=username, name=name)
        add_member(user, dept, role)
        return user

    admin = UserFactory(username="m_admin", name="管理员", is_superuser=True, is_staff=True)
    head = person("m_head", "王总", sales, Membership.Role.MANAGER)
    deputy = person("m_deputy", "代理", sales, Membership.Role.MANAGER)
    sales.head, sales.deputy = head, deputy
    sales.save(update_fields=["head", "deputy"])
    manager = person("m_manager", "李经理", sales, Membership.Role.MANAGER)
    specialist = person("m_specialist", "张专员", sales)
    peer = person("m_peer", "孙同事", sales)
    collaborator = person("m_collab", "赵市场", mkt)
    subtask_owner = person("m_subowner", "钱市场", mkt)
    east_head = person("m_east_head", "周华东", east, Membership.Role.MANAGER)
    east.head = east_head
    east.save(update_fields=["head"])
    fin_head = person("m_fin_head", "吴财务", fin, Membership.Role.MANAGER)
    fin.head = fin_head
    fin.save(update_fields=["head"])

    due = today + dt.timedelta(days=20)

    def thing(dept: Department, owner: User, initiator: User, title: str) -> Thing:
        task = make_task(actor=initiator, department=dept, owner=owner, title=title, due=due)
        sub = subtask_add(
            actor=initiator,
            parent=task,
            title=title + "·第一步",
            owner=owner,
            due_date=due - dt.timedelta(days=5),
        )
        milestone = milestone_add(
            actor=initiator, task=task, title="中期检查", date_=due - dt.timedelta(days=10)
        )
        sub2 = subtask_add(
            actor=initiator,
            parent=task,
            title=title + "·第二步",
            owner=owner,
            due_date=due - dt.timedelta(days=4),
        )
        dependency_add(actor=initiator, predecessor=sub, successor=sub2)
        warning = delay_warning_raise(
            actor=owner,
            task=task,
            reason="resources",
            explanation="人手不够，需要再排期。",
            new_due_date=due + dt.timedelta(days=7),
        )
        return Thing(
            task=task,
            department=dept,
            subtask=sub,
            milestone=milestone,
            warning=warning,
            dependency=(sub.pk, sub2.pk),
        )

    own = thing(sales, peer, head, "老客户回访")
    child = thing(east, east_head, east_head, "华东渠道拜访")
    other = thing(fin, fin_head, fin_head, "季度预算复核")
    on = thing(sales, peer, head, "双十一联合推广")
    task_collaborator_add(actor=head, task=on.task, user=collaborator)
    mine = subtask_add(
        actor=head,
        parent=on.task,
        title="推广物料设计",
        owner=subtask_owner,
        due_date=due - dt.timedelta(days=3),
    )
    # A sibling linked to the subtask owner's by a dependency, and one that is not.
    dependency_add(actor=head, predecessor=on.subtask, successor=mine)
    # A step under the subtask owner's own subtask, so they could save it as a template.
    subtask_add(
        actor=subtask_owner,
        parent=mine,
        title="物料初稿",
        owner=subtask_owner,
        due_date=due - dt.timedelta(days=4),
    )
    hidden = subtask_add(
        actor=head, parent=on.task, title="内部价格审批", owner=peer, due_date=due - dt.timedelta(days=2)
    )
    from closeloop.notify.models import Channel, Notification
    from closeloop.orgs.services import api_token_create
    from closeloop.planning.services.templates import template_create

    peer2 = person("m_peer2", "周同事", sales)
    peer_token, _raw = api_token_create(actor=peer, name="peer's script")
    peer_notification = Notification.objects.filter(recipient=peer).order_by("id").first()
    if peer_notification is None:
        peer_notification = Notification.objects.create(recipient=peer, kind="task_assigned", data={})
    channel = Channel.objects.create(
        name="销售群", kind="webhook", department=sales, url="http://127.0.0.1:9/hook"
    )
    templates = {
        obj: template_create(
            actor=fin_head if obj == "other" else (east_head if obj == "child" else head),
            department=t.department,
            name="标准流程",
            items=[
                {"title": "准备", "offset": 0, "duration": 2},
                {"title": "执行", "offset": 2, "duration": 3},
            ],
        )
        for obj, t in {"own": own, "child": child, "other": other, "on": on}.items()
    }
    # collab: an issue and meeting minutes on every object's task.
    from closeloop.collab.services import issue_raise, minutes_create

    for name, t in {"own": own, "child": child, "other": other, "on": on}.items():
        owner = t.task.owner
        resolver = {"child": east_head, "other": fin_head}.get(name, head)
        t.issue = issue_raise(actor=owner, task=t.task, problem="客户资料缺失，需要协调。", resolver=resolver)
        t.minutes = minutes_create(
            actor=owner, title="周例会", held_on=today, attendees=[owner], notes="讨论进度", task=t.task
        )
    people = {
        "admin": admin,
        "head": head,
        "deputy": deputy,
        "manager": manager,
        "specialist": specialist,
        "collaborator": collaborator,
        "subtask_owner": subtask_owner,
    }
    return World(
        people=people,
        things={"own": own, "child": child, "other": other, "on": on},
        departments={"hq": hq, "sales": sales, "east": east, "mkt": mkt, "fin": fin},
        extra={
            "peer": peer,
            "peer2": peer2,
            "peer_token": peer_token,
            "peer_notification": peer_notification,
            "channel": channel,
            "templates": templates,
            "mine": mine,
            "hidden_sibling": hidden,
            "today": today,
            "due": due + dt.timedelta(days=3),
            "later": due + dt.timedelta(days=10),
            "monday": today - dt.timedelta(days=today.weekday()),
        },
    )
