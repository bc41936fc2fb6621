import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from closeloop.core.errors import ValidationFailed
from closeloop.review.models import Retrospective, Submission
from closeloop.review.services import CheckIn, retrospective_write, submission_create, submission_review
from closeloop.review.tests.conftest import fresh
from closeloop.tasks.services import task_transition, task_update
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"key_results": "结果\x00"}, "key_results"),
        ({"key_results": "长" * 5001}, "key_results"),
        ({"key_results": "   "}, "key_results"),
        ({"completed_on": dt.date(1899, 12, 31)}, "completed_on"),
        ({"completed_on": dt.date(2101, 1, 1)}, "completed_on"),
        ({"completed_on": dt.date.today() + dt.timedelta(days=30)}, "completed_on"),
        ({"links": ["javascript:alert(1)"]}, "links.1"),
        ({"links": ["https://x.example/" + "a" * 600]}, "links.1"),
    ],
)
def test_bad_submissions_are_refused_naming_the_field(measurable, member, kwargs, field):
    kwargs = {"key_results": "完成", "confirm": True, **kwargs}
    with pytest.raises(ValidationFailed) as exc:
        submission_create(actor=member, task=fresh(measurable), **kwargs)
    assert field in exc.value.fields
    assert not Submission.objects.exists() and fresh(measurable).status == "in_progress"


@pytest.mark.parametrize("value", ["1e400", "NaN", "inf", "12345678901234", "９７x"])
def test_a_measured_value_that_is_not_a_reasonable_number_is_refused(measurable, member, head, value):
    sub = submission_create(actor=member, task=fresh(measurable), key_results="完成", confirm=True)
    m, p = sub.checks.order_by("position")
    with pytest.raises(ValidationFailed) as exc:
        submission_review(
            actor=head, submission=sub, checks=[CheckIn(m.pk, measured=value), CheckIn(p.pk, passed=True)]
        )
    assert "checks.1.measured" in exc.value.fields
    assert fresh(measurable).status == "submitted"


def test_full_width_measured_values_are_read(measurable, member, head):
    sub = submission_create(actor=member, task=fresh(measurable), key_results="完成", confirm=True)
    m, p = sub.checks.order_by("position")
    done = submission_review(
        actor=head, submission=sub, checks=[CheckIn(m.pk, measured="９７％"), CheckIn(p.pk, passed=True)]
    )
    assert done.verdict == "accepted"


def test_the_api_refuses_bad_input_with_the_field(measurable, member):
    c = english_client(member)
    r = c.post(
        f"/api/v1/tasks/{measurable.pk}/submissions", {"key_results": "完成", "completed_on": "2101-13-40"}
    )
    assert r.status_code == 422 and "completed_on" in str(r.json().get("fields"))
    r = c.post(
        f"/api/v1/tasks/{measurable.pk}/submissions",
        {"key_results": "完成", "confirm": "true", "completed_on": "1800-01-01"},
    )
    assert r.status_code == 422 and "completed_on" in r.json()["fields"]
    r = c.put(
        f"/api/v1/tasks/{measurable.pk}/retrospective",
        {"what_worked": "x", "extra": 1},
        content_type="application/json",
    )
    assert r.status_code == 422
    assert c.get("/api/v1/knowledge", {"limit": 0}).status_code == 422
    assert c.get("/api/v1/knowledge", {"q": "x" * 500}).status_code == 422
    assert not Submission.objects.exists()


def _accepted(head, member, sales, n):
    for i in range(n):
        t = make_task(actor=head, department=sales, owner=member, title=f"月度销售报表{i}")
        t = task_update(
            actor=member, task=task_transition(actor=member, task=t, to="in_progress"), progress=100
        )
        sub = submission_create(actor=member, task=fresh(t), key_results="完成", confirm=True)
        submission_review(
            actor=head, submission=sub, checks=[CheckIn(c.pk, measured="99") for c in sub.checks.all()]
        )
        retrospective_write(
            actor=member, task=fresh(t), what_worked="按时", to_improve="报表口径", tags=["报表", f"t{i}"]
        )


def _count(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params or {}).status_code == 200
    return len(ctx)


# The knowledge page of a head: session, the person with their scopes and unread badge
# (`orgs.request_person`), the visibility union, the newest 201 ids (page and bounded count at
# once), the page's lessons, the tags in use, the departments, customers and projects of the
# drop-downs (it was 12 with a count of its own, then 11 with the person in three queries).
KNOWLEDGE_PAGE_QUERIES = 9
# The API (signed in): session, the person with scopes, visibility, the newest 201 ids, the
# page's lessons (it was 7, then 6).
KNOWLEDGE_API_QUERIES = 5


def test_the_knowledge_page_and_api_take_the_same_queries_for_3_or_12_lessons(head, member, sales):
    c = english_client(head)
    _accepted(head, member, sales, 3)
    few = (_count(c, "/knowledge/", {"q": "报表"}), _count(c, "/api/v1/knowledge", {"q": "报表"}))
    _accepted(head, member, sales, 9)
    assert Retrospective.objects.count() == 12
    many = (_count(c, "/knowledge/", {"q": "报表"}), _count(c, "/api/v1/knowledge", {"q": "报表"}))
    assert few == many == (KNOWLEDGE_PAGE_QUERIES, KNOWLEDGE_API_QUERIES)


def test_the_task_page_takes_the_same_queries_for_one_or_three_rounds(measurable, member, head):
    c = english_client(head)
    sub = submission_create(actor=member, task=fresh(measurable), key_results="完成", confirm=True)
    one = _count(c, f"/tasks/{measurable.pk}/")
    for _ in range(2):
        m, p = sub.checks.order_by("position")
        submission_review(
            actor=head,
            submission=sub,
            checks=[CheckIn(m.pk, measured="90", comment="不足"), CheckIn(p.pk, passed=True)],
        )
        sub = submission_create(actor=member, task=fresh(measurable), key_results="完成", confirm=True)
    assert _count(c, f"/tasks/{measurable.pk}/") == one


# The review page of a task with 10 criteria: session, the person (with scopes and the unread
# badge), the task, the rounds with their people and deliverables and then their checks (2,
# `selectors.review_rounds`). The same for 1 or 3 rounds (it was 12: the pending attempt was
# read apart from the rounds, its author lazily; then 8, with the deliverables in a query of
# their own; then 7 with the person in three queries).
REVIEW_PAGE_QUERIES = 5


def test_the_review_page_takes_a_fixed_number_of_queries_for_one_or_three_rounds(head, member, sales):
    from closeloop.review.tests.test_review import pdf
    from closeloop.tasks.services import CriterionIn

    criteria = [
        CriterionIn(text=f"数据准确率达标{i}", metric="数据准确率", comparator=">=", threshold=95, unit="%")
        if i % 3 == 0
        else CriterionIn(text=f"按区域拆分{i}")
        for i in range(10)
    ]
    t = make_task(actor=head, department=sales, owner=member, title="月度销售报表", criteria=criteria)
    t = task_update(actor=member, task=task_transition(actor=member, task=t, to="in_progress"), progress=100)

    def hand_in():
        return submission_create(
            actor=member,
            task=fresh(t),
            key_results="完成",
            files=[pdf()],
            links=["https://pan.example.com/s/1"],
        )

    c = english_client(head)
    sub = hand_in()
    one = _count(c, f"/tasks/{t.pk}/review/")
    for _ in range(2):
        submission_review(
            actor=head,
            submission=sub,
            checks=[
                CheckIn(x.pk, measured="90", comment="不足") if x.metric else CheckIn(x.pk, passed=True)
                for x in sub.checks.all()
            ],
        )
        sub = hand_in()
    assert Submission.objects.filter(task=t).count() == 3 and sub.checks.count() == 10
    three = _count(c, f"/tasks/{t.pk}/review/")
    assert (one, three) == (REVIEW_PAGE_QUERIES, REVIEW_PAGE_QUERIES)


def test_the_knowledge_count_stops_at_the_cap_and_says_so(head, member, sales, monkeypatch):
    from closeloop.review import selectors

    _accepted(head, member, sales, 4)
    monkeypatch.setattr(selectors, "KNOWLEDGE_COUNT_CAP", 3)
    c = english_client(head)
    body = c.get("/api/v1/knowledge", {"q": "报表", "limit": 2}).json()
    assert (body["count"], body["capped"], len(body["items"])) == (3, True, 2)
    # Newest first: the lesson written last comes first.
    assert body["items"][0]["task"]["title"] == "月度销售报表3"
    assert "More than 3 lessons" in c.get("/knowledge/", {"q": "报表"}).content.decode()
    monkeypatch.setattr(selectors, "KNOWLEDGE_COUNT_CAP", 10)
    body = c.get("/api/v1/knowledge", {"q": "报表"}).json()
    assert (body["count"], body["capped"]) == (4, False)
    # Nothing searchable finds nothing, never everything (the task-search rule).
    assert c.get("/api/v1/knowledge", {"q": "！？"}).json()["count"] == 0
