import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from closeloop.collab import jobs, services
from closeloop.collab.models import Issue, IssueStatus
from closeloop.orgs.services import api_token_create
from closeloop.testing.clients import english_client

pytestmark = pytest.mark.django_db


def auth(user):
    _t, raw = api_token_create(actor=user, name="t")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def both(shared, private, member, outsider):
    """One issue on the task the outsider helps on, one on the department's private task."""
    seen = services.issue_raise(actor=member, task=shared, problem="共享任务的问题", resolver=outsider)
    hidden = services.issue_raise(actor=member, task=private, problem="内部问题", resolver=member)
    return seen, hidden


def test_a_collaborator_sees_the_issues_of_their_task_and_nothing_else_on_the_web(
    client, outsider, both, private
):
    seen, hidden = both
    client.force_login(outsider)
    page = client.get(seen.task.get_absolute_url())
    assert page.status_code == 200
    body = page.content.decode()
    assert "共享任务的问题" in body and "内部问题" not in body
    listing = client.get("/tasks/").content.decode()
    assert seen.task.title in listing and private.title not in listing
    assert client.get(f"/issues/{seen.pk}/").status_code == 200
    for url in (
        f"/issues/{hidden.pk}/",
        f"/issues/{hidden.pk + 100}/",
        private.get_absolute_url(),
        f"/tasks/{private.pk}/issues/new/",
        f"/tasks/{private.pk}/communication-plan/",
        f"/tasks/{private.pk}/minutes/new/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/issues/{hidden.pk}/resolve/", {"resolution": "x"}).status_code == 404
    assert client.post(f"/issues/{hidden.pk}/withdraw/").status_code == 404
    assert Issue.objects.get(pk=hidden.pk).status == IssueStatus.OPEN


def test_a_collaborator_cannot_list_or_guess_other_issues_on_the_api(client, outsider, both, private):
    seen, hidden = both
    h = auth(outsider)
    tasks = client.get("/api/v1/tasks", **h).json()
    assert [t["id"] for t in tasks["items"]] == [seen.task_id]
    assert client.get(f"/api/v1/tasks/{private.pk}", **h).status_code == 404
    listed = client.get(f"/api/v1/tasks/{seen.task_id}/issues", **h)
    assert listed.status_code == 200 and [i["id"] for i in listed.json()] == [seen.pk]
    for url in (f"/api/v1/tasks/{private.pk}/issues", f"/api/v1/issues/{hidden.pk}", "/api/v1/issues/999999"):
        r = client.get(url, **h)
        assert r.status_code == 404 and r.json()["code"] == "not_found", url
    r = client.post(
        f"/api/v1/issues/{hidden.pk}/resolve",
        json.dumps({"resolution": "x"}),
        content_type="application/json",
        **h,
    )
    assert r.status_code == 404
    r = client.post(
        f"/api/v1/tasks/{private.pk}/issues",
        json.dumps({"problem": "x", "resolver_id": outsider.pk}),
        content_type="application/json",
        **h,
    )
    assert r.status_code == 404 and Issue.objects.count() == 2


def test_the_api_raises_resolves_and_withdraws(client, member, outsider, shared, head):
    h = auth(member)
    r = client.post(
        f"/api/v1/tasks/{shared.pk}/issues",
        json.dumps({"problem": "市场部提供的用户数据不完整", "resolver_id": outsider.pk}),
        content_type="application/json",
        **h,
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "open" and body["resolver"]["username"] == "marketing_specialist"
    assert body["escalations"] == [] and body["next_escalation_at"]
    # The raiser is not the resolver: 403 with the error shape.
    r2 = client.post(
        f"/api/v1/issues/{body['id']}/resolve",
        json.dumps({"resolution": "done"}),
        content_type="application/json",
        **h,
    )
    assert r2.status_code == 403 and r2.json()["code"] == "forbidden"
    r3 = client.post(
        f"/api/v1/issues/{body['id']}/resolve",
        json.dumps({"resolution": "10月12日前补充数据"}),
        content_type="application/json",
        **auth(outsider),
    )
    assert r3.status_code == 200 and r3.json()["status"] == "resolved" and r3.json()["resolved_at"]
    r4 = client.post(f"/api/v1/issues/{body['id']}/withdraw", "{}", content_type="application/json", **h)
    assert r4.status_code == 409 and r4.json()["code"] == "issue_closed"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"problem": "", "resolver_id": "R"}, "problem"),
        ({"problem": "x"}, "resolver_id"),
        ({"problem": "x", "resolver_id": None}, "resolver_id"),
        ({"problem": "x", "resolver_id": 987654}, "resolver_id"),
        ({"problem": "x", "resolver_id": "HIDDEN"}, "resolver_id"),
        ({"problem": "x", "resolver_id": "R", "deadline": "2020-01-01T10:00:00+08:00"}, "deadline"),
        ({"problem": "x", "resolver_id": "R", "deadline": "2300-01-01T10:00:00+08:00"}, "deadline"),
        ({"problem": "a\u0000b", "resolver_id": "R"}, "problem"),
    ],
)
def test_the_api_refuses_bad_input_naming_the_field(
    client, member, outsider, shared, private, payload, field, sales
):
    from closeloop.orgs.models import Department
    from closeloop.testing.factories import UserFactory, add_member

    stranger = UserFactory(username="ops_x", name="运营某")
    add_member(stranger, Department.objects.create(code="OPS", name="运营部"))
    if payload.get("resolver_id") == "R":
        payload["resolver_id"] = outsider.pk
    elif payload.get("resolver_id") == "HIDDEN":
        payload["resolver_id"] = stranger.pk
    r = client.post(
        f"/api/v1/tasks/{shared.pk}/issues",
        json.dumps(payload),
        content_type="application/json",
        **auth(member),
    )
    assert r.status_code == 422, r.content
    assert r.json()["code"] == "validation_error" and field in r.json()["fields"]
    assert not Issue.objects.exists()


def test_quick_add_from_the_task_page_swaps_in_the_panel(client, member, outsider, shared):
    c = english_client(member)
    page = c.get(shared.get_absolute_url())
    assert "Raise an issue" in page.content.decode()
    r = c.post(
        f"/tasks/{shared.pk}/issues/new/",
        {"problem": "缺少渠道数据", "resolver": outsider.pk},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert html.lstrip().startswith("<link") and 'id="collab"' in html and "缺少渠道数据" in html
    assert Issue.objects.get().deadline > timezone.now() + dt.timedelta(hours=23)


def test_quick_add_refusal_keeps_the_input_and_names_the_field(client, member, outsider, shared):
    c = english_client(member)
    r = c.post(
        f"/tasks/{shared.pk}/issues/new/",
        {"problem": "期限写错了", "resolver": outsider.pk, "deadline": "2020-01-01T10:00"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200  # htmx swaps only 2xx: the errors replace the panel in place
    html = r.content.decode()
    assert "The deadline cannot be in the past." in html and "期限写错了" in html
    r = c.post(f"/tasks/{shared.pk}/issues/new/", {"problem": "", "resolver": outsider.pk})
    assert r.status_code == 422 and "field-error" in r.content.decode()
    r = c.post(f"/tasks/{shared.pk}/issues/new/", {"problem": "x", "deadline": "3000-01-01T10:00"})
    assert r.status_code == 422
    assert not Issue.objects.exists()


def test_resolve_on_the_issue_page_and_the_ladder_shows_with_times(
    client, member, outsider, shared, head, ceo
):
    raised = timezone.now() - dt.timedelta(hours=25)
    issue = services.issue_raise(
        actor=member, task=shared, problem="数据不完整", resolver=outsider, now=raised
    )
    jobs.escalate_issues(timezone.now())
    c = english_client(head)
    page = c.get(f"/issues/{issue.pk}/").content.decode()
    assert "Level 1" in page and "王总" in page and "Level 2" in page and "if still open at" in page
    home = c.get("/").content.decode()
    # The escalation waits for the head's decision (待我决定), counted there.
    decide = home.split('id="group-decide"', 1)[1].split("</section>", 1)[0]
    assert "Escalated issue" in decide and "数据不完整" in decide and "level 1" in decide
    assert '<span class="count">1</span>' in decide
    # Someone on the task who is neither resolver nor head sees no resolve form and is refused.
    c2 = english_client(member)
    assert "Mark resolved" not in c2.get(f"/issues/{issue.pk}/").content.decode()
    r = c2.post(f"/issues/{issue.pk}/resolve/", {"resolution": "我说好了"})
    assert r.status_code == 403 and Issue.objects.get(pk=issue.pk).status == IssueStatus.OPEN
    c3 = english_client(outsider)
    assert "Mark resolved" in c3.get(f"/issues/{issue.pk}/").content.decode()
    r = c3.post(f"/issues/{issue.pk}/resolve/", {"resolution": ""})
    assert r.status_code == 422 and "Say how it was resolved." in r.content.decode()
    r = c3.post(f"/issues/{issue.pk}/resolve/", {"resolution": "10月12日前补充数据"})
    assert r.status_code == 302
    assert Issue.objects.get(pk=issue.pk).status == IssueStatus.RESOLVED
    assert "Escalated issue" not in c.get("/").content.decode()


def test_the_task_page_and_the_issue_list_do_not_grow_with_issues(
    client, member, outsider, shared, marketing
):
    def count(n):
        for i in range(n):
            services.issue_raise(
                actor=member,
                task=shared,
                problem=f"问题{i}",
                resolver=outsider,
                party_departments=[marketing],
            )
        c = english_client(member)
        with CaptureQueriesContext(connection) as page:
            assert c.get(shared.get_absolute_url()).status_code == 200
        with CaptureQueriesContext(connection) as api:
            assert client.get(f"/api/v1/tasks/{shared.pk}/issues", **auth(member)).status_code == 200
        return len(page), len(api)

    few = count(1)
    many = count(20)
    assert many == few


def test_the_head_sees_escalated_issues_and_cross_department_load_on_the_dashboard(
    client, head, member, outsider, shared, marketing, ceo
):
    from closeloop.testing.factories import UserFactory, add_member

    mkt_head = UserFactory(username="marketing_head", name="陈静")
    add_member(mkt_head, marketing)
    marketing.head = mkt_head
    marketing.save(update_fields=["head"])
    raised = timezone.now() - dt.timedelta(hours=25)
    services.issue_raise(actor=member, task=shared, problem="用户数据不完整", resolver=outsider, now=raised)
    jobs.escalate_issues(timezone.now())
    page = english_client(head).get("/dashboard/").content.decode()
    assert (
        "Cross-department issues" in page
        and "用户数据不完整" in page
        and "Escalated to level 1 (department head)" in page
    )
    assert "Escalated L" not in page
    # 市场部's head sees that 赵市场 helps on one SALES task and resolves one SALES issue.
    page = english_client(mkt_head).get("/dashboard/").content.decode()
    load = page.split('id="collab-load"', 1)[1]
    assert "<td>赵市场</td><td>1</td><td>1</td>" in load
    assert "用户数据不完整" not in page.split('id="collab-issues"', 1)[1].split("</section>", 1)[0]


def test_my_work_lists_my_issues_in_a_fixed_number_of_queries(
    client, member, outsider, shared, private, head
):
    def count(n):
        for i in range(n):
            services.issue_raise(actor=member, task=shared, problem=f"请补数据{i}", resolver=outsider)
        c = english_client(outsider)
        with CaptureQueriesContext(connection) as q:
            page = c.get("/").content.decode()
        return len(q), page

    few, page = count(1)
    assert "You resolve" in page and "请补数据0" in page
    many, page = count(15)
    assert many == few and "请补数据14" in page
    # The raiser sees those they raised; someone with no issue sees no box.
    assert "You raised" in english_client(member).get("/").content.decode()
    assert 'id="my-issues"' not in english_client(head).get("/").content.decode()
