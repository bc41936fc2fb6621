"""Two things issue 12 left: a head sees their people's load in other departments on 工作量
(planning's page, through the tasks extension hook), and the communication plan over the API."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from closeloop.collab import selectors, services
from closeloop.collab.models import CommunicationPlan, PlanContact
from closeloop.orgs.models import Membership
from closeloop.orgs.services import api_token_create
from closeloop.tasks.services import task_collaborator_add
from closeloop.testing.clients import english_client
from closeloop.testing.factories import UserFactory, add_member, make_task

pytestmark = pytest.mark.django_db


def auth(user):
    _t, raw = api_token_create(actor=user, name="t")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_ACCEPT_LANGUAGE": "en"}


def lend(person, marketing, mkt_owner, *, n=1):
    """`person` helps on `n` MKT tasks and resolves an open issue on the first."""
    tasks = [
        make_task(actor=mkt_owner, department=marketing, owner=mkt_owner, title=f"新品发布 {i}")
        for i in range(n)
    ]
    for t in tasks:
        task_collaborator_add(actor=mkt_owner, task=t, user=person)
    services.issue_raise(
        actor=mkt_owner, task=tasks[0], problem="市场部提供的用户数据不完整", resolver=person
    )
    return tasks


def extra_cells(html: str, name: str) -> list[str]:
    row = next(r for r in html.split("<tr") if 'scope="row"' in r and name in r)
    return re.findall(r'class="num workload-extra">([^<]*)<', row)


def test_a_head_sees_each_members_load_in_other_departments_on_workload(
    head, member, outsider, sales, marketing, task
):
    lend(member, marketing, outsider)
    html = english_client(head).get(reverse("tasks:workload"), {"department": sales.pk}).content.decode()
    assert "Tasks elsewhere" in html and "Open issues elsewhere" in html
    assert extra_cells(html, member.display_name) == ["1", "1"]
    # The head's own SALES task is not "elsewhere".
    assert extra_cells(html, head.display_name) == ["·", "·"]


@pytest.mark.parametrize("who", ["member", "outsider"])
def test_a_specialist_or_outsider_does_not_see_other_peoples_load(
    who, head, member, outsider, sales, marketing, task, request
):
    lend(member, marketing, outsider)
    viewer = request.getfixturevalue(who)
    r = english_client(viewer).get(reverse("tasks:workload"), {"department": sales.pk})
    assert r.status_code == 200
    html = r.content.decode()
    assert "Tasks elsewhere" not in html and "workload-extra" not in html


def test_the_load_columns_read_in_constant_queries(head, member, outsider, sales, marketing, task):
    c = english_client(head)
    lend(member, marketing, outsider)

    def count() -> int:
        with CaptureQueriesContext(connection) as q:
            assert c.get(reverse("tasks:workload"), {"department": sales.pk}).status_code == 200
        return len(q)

    few = count()
    for i in range(6):
        extra = UserFactory(username=f"sales_{i}", name=f"销售{i}")
        add_member(extra, sales, Membership.Role.SPECIALIST)
        lend(extra, marketing, outsider, n=2)
    assert count() == few
    html = c.get(reverse("tasks:workload"), {"department": sales.pk}).content.decode()
    assert extra_cells(html, "销售5") == ["2", "1"]
    people = list(Membership.objects.filter(department=sales).values_list("user_id", flat=True))
    with CaptureQueriesContext(connection) as q:
        tasks, issues = selectors.cross_department_load(people)
    assert len(q) == 5
    assert tasks[member.pk] == 1 and issues[member.pk] == 1


def test_the_dashboard_still_shows_the_same_load(head, member, outsider, sales, marketing, task):
    lend(member, marketing, outsider)
    load = selectors.department_collab([sales]).load
    assert [(r.person, r.tasks, r.issues) for r in load] == [(member, 1, 1)]


def test_the_dashboard_counts_match_the_plain_counts_on_random_issues(
    head, member, outsider, sales, marketing
):
    """The open and escalated issues are counted in one query (issue 16): on random levels and
    statuses, in the department and in another one, the same figures and list as counting
    and listing them apart; none escalated, the list is not read."""
    import datetime as dt
    import random

    from django.utils import timezone

    from closeloop.collab.models import Issue, IssueStatus

    rng = random.Random(16)
    tasks = [make_task(actor=head, department=sales, owner=member, title=f"<b>售{i}</b>") for i in range(4)]
    tasks += [
        make_task(actor=outsider, department=marketing, owner=outsider, title=f"市{i}") for i in range(3)
    ]
    now = timezone.now()
    for t in tasks:
        for _ in range(rng.randint(1, 4)):
            Issue.objects.create(
                task=t,
                problem="<i>数据</i>",
                raised_by=t.owner,
                raised_at=now - dt.timedelta(minutes=rng.randint(0, 3)),
                resolver=t.owner,
                deadline=now + dt.timedelta(days=1),
            )
    ids = list(Issue.objects.values_list("id", flat=True))
    with CaptureQueriesContext(connection) as none_escalated:
        quiet = selectors.department_collab([sales])
    assert quiet.escalated == [] and quiet.escalated_count == 0
    assert not [q for q in none_escalated.captured_queries if 'ORDER BY "collab_issue"."level"' in q["sql"]]
    for round_ in range(6):
        for pk in ids:
            status = rng.choice(["open", "open", "resolved", "withdrawn"])
            Issue.objects.filter(pk=pk).update(
                level=rng.choice([0, 0, 1, 2, 3]),
                status=status,
                resolution="好" if status == "resolved" else "",
                resolved_at=None if status == "open" else timezone.now(),
            )
        limit = rng.choice([1, 2, 3, 10])
        # One department, the other, both: another department's issues are never counted.
        for scope in ([sales], [marketing], [marketing, sales]):
            with CaptureQueriesContext(connection) as ctx:
                got = selectors.department_collab(scope, limit=limit)
            mine = Issue.objects.filter(status=IssueStatus.OPEN, task__department__in=scope)
            assert got.open_count == mine.count(), (round_, scope)
            assert got.escalated_count == mine.filter(level__gte=1).count(), (round_, scope)
            assert got.escalated == list(
                mine.filter(level__gte=1).order_by("-level", "raised_at", "id")[:limit]
            ), (round_, scope)
            if connection.vendor == "postgresql":
                # Counted through each open issue's task by primary key, not joined.
                [count_sql] = [q["sql"] for q in ctx.captured_queries if 'AS "escalated"' in q["sql"]]
                assert 'JOIN "tasks_task"' not in count_sql, count_sql


# -- communication plan API -------------------------------------------------------------------

PLAN = "/api/v1/tasks/{}/communication-plan"


def put(client, user, task_id, payload):
    return client.put(
        PLAN.format(task_id), json.dumps(payload), content_type="application/json", **auth(user)
    )


def test_the_owner_sets_the_plan_and_a_collaborator_reads_it(
    client, member, outsider, shared, sales, marketing
):
    assert client.get(PLAN.format(shared.pk), **auth(member)).status_code == 404
    r = put(
        client,
        member,
        shared.pk,
        {
            "cadence": "weekly",
            "weekdays": [4, 0, 2],
            "channel": "meeting",
            "channel_detail": "3楼会议室",
            "sync_time": "10:00",
            "contacts": [
                {"department_id": sales.pk, "contact_id": member.pk},
                {"department_id": marketing.pk, "contact_id": outsider.pk},
            ],
        },
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["weekdays"] == [0, 2, 4] and body["sync_time"] == "10:00:00"
    assert [c["contact"]["id"] for c in body["contacts"]] == [member.pk, outsider.pk]
    assert body["next_sync_at"] and body["summary"]
    read = client.get(PLAN.format(shared.pk), **auth(outsider))
    assert read.status_code == 200 and read.json()["channel_detail"] == "3楼会议室"
    # A collaborator may read it, but only who may edit the task sets it.
    refused = put(client, outsider, shared.pk, {"cadence": "daily", "channel": "im"})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert CommunicationPlan.objects.get().cadence == "weekly"


def test_someone_who_does_not_see_the_task_gets_404(client, member, outsider, shared, private):
    put(client, member, private.pk, {"cadence": "daily", "channel": "im"})
    assert client.get(PLAN.format(private.pk), **auth(outsider)).status_code == 404
    r = put(client, outsider, private.pk, {"cadence": "custom", "custom": "随时", "channel": "phone"})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert client.get(PLAN.format(999999), **auth(outsider)).status_code == 404
    assert CommunicationPlan.objects.get().cadence == "daily"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"cadence": "hourly", "channel": "im"}, "cadence"),
        ({"cadence": "daily", "channel": "fax"}, "channel"),
        ({"cadence": "weekly", "channel": "im"}, "weekdays"),
        ({"cadence": "weekly", "weekdays": [9], "channel": "im"}, "weekdays"),
        ({"cadence": "custom", "channel": "im"}, "custom"),
        ({"cadence": "daily", "channel": "im", "sync_time": "25:00"}, "sync_time"),
        ({"cadence": "daily", "channel": "im", "channel_detail": "a\u0000b"}, "channel_detail"),
        ({"cadence": "daily", "channel": "im", "channel_detail": "x" * 501}, "channel_detail"),
        (
            {"cadence": "daily", "channel": "im", "contacts": [{"department_id": "D", "contact_id": 0}]},
            "contacts.1",
        ),
        (
            {"cadence": "daily", "channel": "im", "contacts": [{"department_id": 0, "contact_id": "M"}]},
            "contacts.1",
        ),
        (
            {"cadence": "daily", "channel": "im", "contacts": [{"department_id": "D", "contact_id": "S"}]},
            "contacts.1",
        ),
    ],
)
def test_bad_plan_input_is_refused_naming_the_field(client, member, shared, sales, payload, field):
    stranger = UserFactory(username="ops_x", name="运营某")
    for c in payload.get("contacts", []):
        c["department_id"] = sales.pk if c["department_id"] == "D" else c["department_id"]
        c["contact_id"] = {"M": member.pk, "S": stranger.pk}.get(c["contact_id"], c["contact_id"])
    r = put(client, member, shared.pk, payload)
    assert r.status_code == 422, r.content
    body = r.json()
    assert body["code"] == "validation_error" and field in body["fields"], body
    assert not CommunicationPlan.objects.exists() and not PlanContact.objects.exists()
