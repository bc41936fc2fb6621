import pytest

from closeloop.collab.demo import seed_demo
from closeloop.collab.models import CommunicationPlan, Issue, Minutes
from closeloop.demo.loader import load
from closeloop.notify.models import Notification
from closeloop.orgs.models import User


@pytest.mark.django_db
def test_the_demo_has_the_feature_launch_with_a_live_issue_log(client):
    load()
    assert seed_demo() is False  # once only
    open_issue = Issue.objects.get(problem="市场部提供的用户数据不完整")
    assert open_issue.status == "open" and open_issue.level == 1
    assert list(open_issue.escalations.values_list("level", "escalated_to__username")) == [
        (1, "marketing_head")
    ]
    assert Issue.objects.get(resolution="10月12日前补充数据").status == "resolved"
    assert CommunicationPlan.objects.filter(task=open_issue.task).exists()
    minutes = Minutes.objects.get(task=open_issue.task)
    assert minutes.action_items.filter(task__isnull=False).count() == 1
    # The "raised an issue" notification opens that very issue, and the head sees it escalated.
    raised = Notification.objects.get(
        recipient__username="marketing_specialist", kind="issue.raised", data__issue=open_issue.pk
    )
    head = User.objects.get(username="marketing_head")
    client.force_login(head)
    page = client.get(raised.link).content.decode()
    assert "市场部提供的用户数据不完整" in page
    assert "市场部提供的用户数据不完整" in client.get("/").content.decode()
    assert (
        not Notification.objects.filter(kind__startswith="issue.")
        .exclude(link__startswith="/issues/")
        .exists()
    )
