import pytest

from closeloop.demo.loader import load
from closeloop.insights.models import WeeklyReview
from closeloop.tracking.demo import seed_demo
from closeloop.tracking.models import DelayWarning, ProgressUpdate, TaskForecast


@pytest.mark.django_db
def test_the_demo_fills_the_dashboard_and_the_weekly_review_once(client):
    load()
    seed_demo()
    assert ProgressUpdate.objects.count() >= 10
    assert DelayWarning.objects.filter(status="pending", on_time=False).exists()
    assert DelayWarning.objects.filter(status="approved", on_time=True).exists()
    assert TaskForecast.objects.filter(at_risk=True).exists()
    assert WeeklyReview.objects.filter(posted_at__isnull=False).exists()
    assert seed_demo() is False
    from closeloop.orgs.models import User

    client.force_login(User.objects.get(username="sales_head"))
    page = client.get("/dashboard/").content.decode()
    assert "跟进B客户签约进度" in page and "客户需求调研" in page
