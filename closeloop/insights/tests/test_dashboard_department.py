"""仪表盘 narrowed to one of the person's departments (`?department=ID`), the warning when the
value is not one of theirs, and where 今日进度更新 leads (a head: the page's own missing
updates; anyone else: their update form)."""

import datetime as dt

import pytest

from closeloop.orgs.models import Membership
from closeloop.tasks.services import task_transition
from closeloop.testing.clients import english_client
from closeloop.testing.factories import add_member, make_task

WARNING = "is not one of its values"


def _overdue(actor, department, owner, title):
    t = make_task(
        actor=actor,
        department=department,
        owner=owner,
        title=title,
        start_date=department.local_today() - dt.timedelta(days=10),
        due=department.local_today() - dt.timedelta(days=2),
    )
    return task_transition(actor=owner, task=t, to="in_progress")


@pytest.fixture
def two_departments(head, member, outsider, sales, marketing):
    """The member works in sales and marketing; one overdue task in each, and one in a third
    department the member is not in."""
    from closeloop.testing.factories import DepartmentFactory

    add_member(member, marketing, Membership.Role.SPECIALIST)
    other = DepartmentFactory(code="OPS", name="运营部", parent=sales.parent)
    add_member(outsider, other, Membership.Role.SPECIALIST)
    _overdue(head, sales, member, "销售逾期任务")
    _overdue(outsider, marketing, member, "市场逾期任务")
    _overdue(outsider, other, outsider, "运营机密任务")
    return other


@pytest.mark.django_db
def test_a_member_of_two_departments_narrows_the_dashboard_to_one(member, sales, marketing, two_departments):
    c = english_client(member)
    page = c.get("/dashboard/").content.decode()
    assert "销售逾期任务" in page and "市场逾期任务" in page
    # The selector of their departments, none chosen; no warning.
    assert '<select name="department"' in page and f'<option value="{sales.pk}">销售部</option>' in page
    assert WARNING not in page
    response = c.get("/dashboard/", {"department": marketing.pk})
    page = response.content.decode()
    assert response.context["d"].departments == [marketing]
    assert "市场逾期任务" in page and "销售逾期任务" not in page
    assert f'<option value="{marketing.pk}" selected>市场部</option>' in page
    # The "see them all" links continue in that department.
    assert response.context["more_overdue"].startswith(f"/tasks/?department={marketing.pk}&")


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["other", "99999", "abc", "1" * 40, "-1", "６"])
def test_a_department_not_theirs_is_named_and_shows_nothing_of_it(member, sales, two_departments, value):
    """Another's department, one that does not exist, or nonsense: a warning naming the value,
    the person's own dashboard, nothing of the other department."""
    raw = str(two_departments.pk) if value == "other" else value
    response = english_client(member).get("/dashboard/", {"department": raw})
    assert response.status_code == 200
    page = response.content.decode()
    assert WARNING in page and f"“{raw[:39]}" in page
    assert response.context["d"].narrowed is None
    assert two_departments not in response.context["d"].departments
    assert "运营机密任务" not in page and "运营部" not in page
    assert "销售逾期任务" in page


@pytest.mark.django_db
def test_a_head_outside_a_department_cannot_narrow_to_it(head, outsider, sales, marketing, two_departments):
    response = english_client(head).get("/dashboard/", {"department": marketing.pk})
    page = response.content.decode()
    assert WARNING in page and response.context["d"].departments == [sales]
    assert "市场逾期任务" not in page and "运营机密任务" not in page
    # One department only: no selector.
    assert '<select name="department"' not in page


@pytest.mark.django_db
def test_todays_updates_lead_a_head_to_the_missing_updates_and_a_member_to_their_form(head, member, sales):
    head_page = english_client(head).get("/dashboard/").content.decode()
    # Named for where it leads (a tester read "Today's updates" as their own form).
    assert 'href="#missing">Who has not updated today</a>' in head_page
    assert 'id="missing"' in head_page and 'href="/updates/today/">My updates</a>' in head_page
    member_page = english_client(member).get("/dashboard/").content.decode()
    assert 'href="/updates/today/">Today' in member_page and "My updates" not in member_page
