"""/issues/ starts from `selectors.issues_visible_to`, the issue page from `access_issue`: the
two must agree with each other and with the rule (`permissions.sees_issue`: whoever sees
the task, and the head or deputy of a department the issue involves), for every person of
the authorization world — heads of departments above and below, a collaborator and a
subtask owner from another department, a head of an involved department, an admin."""

import pytest

from closeloop.collab import services
from closeloop.collab.models import Issue
from closeloop.collab.permissions import sees_issue
from closeloop.collab.selectors import access_issue, issues_visible_to
from closeloop.core.errors import NotFound
from closeloop.orgs.models import Membership, User
from closeloop.testing.factories import UserFactory, add_member
from closeloop.testing.world import build_world

pytestmark = pytest.mark.django_db


def test_the_list_the_page_and_the_rule_agree_on_who_sees_each_issue():
    w = build_world()
    mkt, east, fin = w.departments["mkt"], w.departments["east"], w.departments["fin"]
    mkt_head = UserFactory(username="m_mkt_head", name="陈市场")
    add_member(mkt_head, mkt, Membership.Role.MANAGER)
    mkt.head = mkt_head
    mkt.save(update_fields=["head"])
    head, peer, subtask_owner = w.people["head"], w.extra["peer"], w.people["subtask_owner"]
    # Issues on a subtask, on the subtask an outsider owns, and involving other departments.
    services.issue_raise(
        actor=peer,
        task=w.things["on"].subtask,
        problem="子任务的问题",
        resolver=head,
        party_departments=[fin],
    )
    services.issue_raise(
        actor=subtask_owner, task=w.extra["mine"], problem="物料的问题", resolver=subtask_owner
    )
    services.issue_raise(
        actor=w.things["other"].task.owner,
        task=w.things["other"].task,
        problem="预算涉及市场部",
        resolver=w.things["other"].task.owner,
        party_departments=[mkt, east],
    )
    issues = list(Issue.objects.select_related("task__department").prefetch_related("party_departments"))
    people = [
        *w.people.values(),
        peer,
        w.extra["peer2"],
        mkt_head,
        User.objects.get(username="m_east_head"),
        User.objects.get(username="m_fin_head"),
    ]
    seen_by_someone_only_as_involved = False
    for person in people:
        user = User.objects.get(pk=person.pk)
        rule = {i.pk for i in issues if sees_issue(user, i)}
        listed = set(issues_visible_to(User.objects.get(pk=person.pk)).values_list("pk", flat=True))
        assert listed == rule, person.username
        for i in issues:
            try:
                access_issue(User.objects.get(pk=person.pk), i.pk)
                page = True
            except NotFound:
                page = False
            assert page is (i.pk in rule), (person.username, i.problem)
        seen_by_someone_only_as_involved |= person.pk == mkt_head.pk and bool(rule)
    assert seen_by_someone_only_as_involved  # 市场部's head reads the FIN issue involving 市场部
    assert len({i.pk for i in issues}) == 7
