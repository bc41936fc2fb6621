"""`GET /api/v1/tasks/{id}` read as rows and written by orjson (issue 16, item 3): the same
answer as the validated one, field for field, the same visibility, and a fixed number of
queries."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from ninja.responses import NinjaJSONEncoder

from closeloop.orgs.models import Membership, User
from closeloop.tasks.api.schemas import TaskOut, _detail
from closeloop.tasks.models import Task
from closeloop.tasks.services import (
    CriterionIn,
    customer_get_or_create,
    project_get_or_create,
    task_collaborator_add,
    task_transition,
)
from closeloop.tasks.tests.test_api import TODAY, Api, assert_error, client  # noqa: F401 (fixture)
from closeloop.testing.factories import UserFactory, add_member, make_task

pytestmark = pytest.mark.django_db


def validated(user: User, pk: int) -> dict:
    """What the API answered before: `_detail` validated against TaskOut, Django's encoder."""
    fresh = User.objects.get(pk=user.pk)
    body = TaskOut.model_validate(_detail(fresh, pk)).model_dump()
    return json.loads(json.dumps(body, cls=NinjaJSONEncoder))


def test_the_answer_is_the_validated_one_field_for_field(client, head, member, sales, marketing, outsider):  # noqa: F811
    sales.time_zone = "America/Los_Angeles"
    sales.save()
    reviewer = UserFactory(username="qa", name="", first_name="Ann", last_name="Lee")
    add_member(reviewer, sales, Membership.Role.SUPERVISOR)
    top = make_task(
        actor=head,
        department=sales,
        owner=member,
        title='<script>alert(1)</script> "引号" \\ 🎯',
        priority=1,
        start_date=TODAY,
        reviewer=reviewer,
        goal="<b>目标</b>",
        notes="备注\n第二行",
        project=project_get_or_create(name="召回"),
        customer=customer_get_or_create(name="华东客户"),
        criteria=[
            CriterionIn(text="准确率", metric="数据准确率", comparator=">=", threshold=95.5, unit="%"),
            CriterionIn(text="按时交付", metric="", comparator="", threshold=None, unit=""),
        ],
    )
    task_collaborator_add(actor=head, task=top, user=reviewer)
    task_collaborator_add(actor=head, task=top, user=UserFactory(username="helper", name="帮手"))
    mine = make_task(actor=head, department=sales, owner=outsider, title="外部子任务", parent=top)
    make_task(actor=head, department=sales, owner=member, title="内部子任务", parent=top)
    deep = make_task(actor=head, department=sales, owner=member, title="孙任务", parent=mine, criteria=[])
    late = make_task(actor=head, department=sales, owner=member, title="逾期", priority=3)
    Task.objects.filter(pk=late.pk).update(due_date=TODAY - dt.timedelta(days=3))
    late = task_transition(actor=member, task=late, to="in_progress")
    task_transition(actor=member, task=late, to="blocked", note="等待数据")
    for viewer in (head, member, outsider, reviewer):
        api = Api(client, viewer)
        for task in (top, mine, deep, late):
            response = api.get(f"/tasks/{task.pk}")
            if response.status_code == 404:
                with pytest.raises(Exception, match="not found"):
                    validated(viewer, task.pk)
                continue
            assert response.status_code == 200, response.content
            assert response["Content-Type"] == "application/json; charset=utf-8"
            assert response.json() == validated(viewer, task.pk), (viewer.username, task.title)
    body = Api(client, outsider).get(f"/tasks/{top.pk}").json()
    assert body["hidden_subtasks"] == 1 and [s["title"] for s in body["subtasks"]] == ["外部子任务", "孙任务"]
    assert Api(client, head).get(f"/tasks/{deep.pk}").json()["ancestors"] == [
        {"id": top.pk, "code": top.code, "title": top.title},
        {"id": mine.pk, "code": mine.code, "title": mine.title},
    ]
    raw = Api(client, head).get(f"/tasks/{top.pk}").content.decode()
    assert "<script>" in json.loads(raw)["title"]  # JSON, not HTML: the client escapes


def test_nobody_reads_a_task_they_may_not_see(client, head, member, sales, outsider):  # noqa: F811
    task = make_task(actor=head, department=sales, owner=head)
    assert_error(Api(client, outsider).get(f"/tasks/{task.pk}"), 404, "not_found")
    for missing in ("0", "999999", "9" * 30):
        assert Api(client, head).get(f"/tasks/{missing}").status_code in (404, 422)
    assert Api(client, member).get(f"/tasks/{task.pk}").status_code == 200
    # Taken out of the department: gone on the very next request.
    Membership.objects.filter(user=member, department=sales).delete()
    assert_error(Api(client, member).get(f"/tasks/{task.pk}"), 404, "not_found")


def _queries(api: Api, pk: int) -> int:
    api.get(f"/tasks/{pk}")  # the token's last-used stamp
    with CaptureQueriesContext(connection) as ctx:
        assert api.get(f"/tasks/{pk}").status_code == 200
    return len(ctx.captured_queries)


def test_a_single_get_takes_a_fixed_number_of_queries(client, head, member, sales):  # noqa: F811
    """The token with the person and their scopes (1), the task with its department, people,
    project and customer (1), collaborators (1), criteria (1); subtasks and the chain above
    only for a task that has them (1 each)."""
    api = Api(client, head)
    plain = make_task(actor=head, department=sales, owner=member, project=project_get_or_create(name="P"))
    assert _queries(api, plain.pk) == 4
    child = make_task(actor=head, department=sales, owner=member, title="子任务", parent=plain)
    for n in range(5):
        make_task(actor=head, department=sales, owner=member, title=f"子任务{n}", parent=child)
    assert _queries(api, plain.pk) == 5  # + subtasks
    assert _queries(api, child.pk) == 6  # + subtasks, + the chain above
