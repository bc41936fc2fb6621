"""A deputy told of a level-1 escalation (they stand in for the head it names) finds it under
待我决定 on 我的工作 and 仪表盘 and in /issues/'s "escalated to me", and may resolve it — as
the head does. Nobody else told of nothing finds it there: not a specialist of another
department, not another department's head; and from level 2 on only whom the rung names."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from closeloop.collab import jobs, services
from closeloop.collab.models import Escalation
from closeloop.collab.tests.conftest import at
from closeloop.notify.models import Notification
from closeloop.orgs.models import Membership, User
from closeloop.tasks.extensions import decisions_for
from closeloop.testing.clients import english_client
from closeloop.testing.factories import UserFactory, add_member

pytestmark = pytest.mark.django_db

RAISED = at(2026, 3, 3, 10, 0)  # a Tuesday


@pytest.fixture
def marketing_head(marketing):
    user = UserFactory(username="marketing_head", name="陈静")
    add_member(user, marketing, Membership.Role.MANAGER)
    marketing.head = user
    marketing.save(update_fields=["head"])
    return user


@pytest.fixture
def escalated(shared, head, deputy, member, outsider, ceo):
    """An issue on the SALES task, for the MKT outsider to resolve, one level up (to the head;
    the deputy told with them)."""
    issue = services.issue_raise(
        actor=member, task=shared, problem="市场部提供的用户数据不完整", resolver=outsider, now=RAISED
    )
    assert jobs.escalate_issues(RAISED + dt.timedelta(hours=24, minutes=1)) == 1
    assert list(Escalation.objects.filter(issue=issue).values_list("level", "escalated_to")) == [(1, head.pk)]
    return issue


def fresh(user):
    return User.objects.get(pk=user.pk)


def decision_urls(user):
    return [d.url for d in decisions_for(fresh(user))[1]]


def test_the_deputy_told_of_level_1_finds_it_under_waiting_for_my_decision(
    escalated, head, deputy, outsider, marketing_head
):
    url = f"/issues/{escalated.pk}/"
    # Told: the head it names and the deputy who stands in for them.
    for person in (head, deputy):
        assert Notification.objects.filter(recipient=person, kind="issue.escalated").count() == 1
    assert not Notification.objects.filter(recipient=marketing_head, kind="issue.escalated").exists()

    for person in (head, deputy):
        assert decisions_for(fresh(person))[0] == 1
        assert decision_urls(person) == [url]
        home = english_client(person).get("/").content.decode()
        card = home[home.index('id="group-decide"') :]
        assert f'href="{url}"' in card[: card.index("</section>")]
        dashboard = english_client(person).get("/dashboard/").content.decode()
        decisions = dashboard[dashboard.index('id="decisions"') :]
        assert f'href="{url}"' in decisions[: decisions.index("</section>")]
        listed = english_client(person).get("/issues/?show=escalated").content.decode()
        assert f'href="{url}"' in listed
    # Not asked: the MKT specialist who resolves it (theirs to resolve, not to decide) and a
    # head of another department.
    for person in (outsider, marketing_head):
        assert decisions_for(fresh(person)) == (0, [])
        assert f'href="{url}"' not in english_client(person).get("/issues/?show=escalated").content.decode()


def test_the_deputy_may_resolve_it_and_is_told_when_it_closes(escalated, head, deputy):
    services.issue_resolve(
        actor=fresh(deputy), issue=escalated, resolution="已补齐数据", now=RAISED + dt.timedelta(hours=25)
    )
    escalated.refresh_from_db()
    assert escalated.status == "resolved"
    assert decisions_for(fresh(deputy)) == (0, []) and decisions_for(fresh(head)) == (0, [])
    assert Notification.objects.filter(recipient=head, kind="issue.resolved").count() == 1


def test_the_deputy_is_told_of_the_close_when_someone_else_resolves_it(escalated, head, deputy, outsider):
    services.issue_resolve(
        actor=fresh(outsider), issue=escalated, resolution="已补齐数据", now=RAISED + dt.timedelta(hours=25)
    )
    for person in (head, deputy):
        assert Notification.objects.filter(recipient=person, kind="issue.resolved").count() == 1


def test_above_level_1_only_whom_the_rung_names_is_asked(escalated, head, deputy, ceo, company):
    """Level 2 goes to 总公司's head; its deputy is neither told nor asked (the ladder tells
    a deputy at level 1 only), while 销售部's deputy keeps it as the head does."""
    hq_deputy = UserFactory(username="hq_deputy", name="副总")
    add_member(hq_deputy, company, Membership.Role.MANAGER)
    company.deputy = hq_deputy
    company.save(update_fields=["deputy"])
    assert jobs.escalate_issues(RAISED + dt.timedelta(hours=48, minutes=1)) == 1
    assert not Notification.objects.filter(recipient=hq_deputy, kind="issue.escalated").exists()
    assert decision_urls(ceo) == [f"/issues/{escalated.pk}/"]
    assert decisions_for(fresh(hq_deputy)) == (0, [])
    for person in (head, deputy):
        assert decision_urls(person) == [f"/issues/{escalated.pk}/"]


def test_my_work_reads_the_deputys_escalations_in_the_same_statement(escalated, deputy, head):
    """No query more for the deputy's part: 我的工作 costs the deputy what it costs the head."""
    counts = {}
    for person in (head, deputy):
        web = english_client(person)
        web.get("/")
        with CaptureQueriesContext(connection) as ctx:
            assert web.get("/").status_code == 200
        counts[person.username] = len(ctx.captured_queries)
    assert counts["sales_deputy"] == counts["sales_head"], counts
