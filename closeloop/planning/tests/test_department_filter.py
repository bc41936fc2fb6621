"""The plan views' `?department=`: a value they cannot show (no such department, not a number,
not offered) is named on the page as the task list names it, and the normal page shows —
never a silent switch, never a 500. The 工作量 workload of a department is for the people
who see all of its tasks (members; heads and deputies also the departments below; admins),
as the weekly review: someone from another department is told and shown their own."""

import pytest
from django.urls import reverse

from closeloop.core.errors import NotFound
from closeloop.orgs.models import Membership, User
from closeloop.planning.selectors import workload as workload_selectors
from closeloop.tasks.services import task_collaborator_add
from closeloop.testing.clients import english_client
from closeloop.testing.factories import UserFactory, add_member, make_task

pytestmark = pytest.mark.django_db

PLAN_PAGES = ("tasks:board", "tasks:timeline", "tasks:workload", "tasks:calendar")


def _ignored(value: str) -> str:
    return f"Department: “{value}” is not one of its values, so this filter is ignored."


@pytest.mark.parametrize("page", PLAN_PAGES)
@pytest.mark.parametrize("value", ["99999", "abc", "9" * 30, "<b>x</b>"])
def test_a_department_a_plan_view_cannot_show_is_named_and_the_normal_page_shown(page, value, task, head):
    response = english_client(head).get(reverse(page), {"department": value})
    assert response.status_code == 200
    body = response.content.decode()
    assert _ignored(value.replace("<", "&lt;").replace(">", "&gt;")[:40]) in body
    assert "<b>x</b>" not in body
    if page != "tasks:calendar":
        assert "· 销售部</h1>" in body  # the head's own department, as without the filter
    if page in ("tasks:board", "tasks:calendar"):
        assert task.title in body


@pytest.mark.parametrize("page", PLAN_PAGES)
def test_a_department_the_view_shows_is_not_called_ignored(page, task, head, sales):
    body = english_client(head).get(reverse(page), {"department": sales.pk}).content.decode()
    assert "this filter is ignored" not in body
    assert "this filter is ignored" not in english_client(head).get(reverse(page)).content.decode()


def test_the_calendar_ignoring_a_bad_department_shows_every_task_as_without_one(task, head, marketing):
    """The calendar shows all the viewer's tasks unless a department is asked for: a bad value
    is ignored, not turned into the viewer's own department."""
    add_member(head, marketing)
    head = User.objects.get(pk=head.pk)  # scopes are remembered on the object
    other = make_task(actor=head, department=marketing, owner=head, title="市场活动", due=task.due_date)
    body = english_client(head).get(reverse("tasks:calendar"), {"department": "99999"}).content.decode()
    assert _ignored("99999") in body
    assert other.full_code in body and task.full_code in body


def test_an_outsider_asking_for_another_departments_workload_is_told_and_shown_their_own(
    task, head, member, outsider, sales
):
    """As the weekly review: 市场部's specialist may not read 销售部's people and counts — not
    even while helping on one of its tasks (they would read "李专员: 0 tasks")."""
    task_collaborator_add(actor=head, task=task, user=outsider)
    response = english_client(outsider).get(reverse("tasks:workload"), {"department": sales.pk})
    assert response.status_code == 200
    body = response.content.decode()
    assert _ignored(str(sales.pk)) in body
    assert "<h1>Workload · 市场部</h1>" in body
    assert member.display_name not in body and head.display_name not in body
    assert f'<option value="{sales.pk}"' not in body  # not offered in the picker either
    # Nor with a person asked for, nor through the selector.
    body = (
        english_client(outsider)
        .get(reverse("tasks:workload"), {"department": sales.pk, "person": member.pk})
        .content.decode()
    )
    assert member.display_name not in body and task.title not in body
    with pytest.raises(NotFound):
        workload_selectors.workload(outsider, department=sales)


def test_workload_is_for_members_heads_of_the_departments_above_and_admins(
    company, task, head, member, outsider, sales, marketing, admin_user
):
    ceo = UserFactory(username="ceo", name="总经理")
    add_member(ceo, company, Membership.Role.MANAGER)
    company.head = ceo
    company.save(update_fields=["head"])
    for person, dept, allowed in (
        (member, sales, True),
        (head, sales, True),
        (ceo, sales, True),  # heads see the departments below
        (admin_user, sales, True),
        (outsider, sales, False),
        (member, marketing, False),
        (head, marketing, False),
    ):
        body = english_client(person).get(reverse("tasks:workload"), {"department": dept.pk}).content.decode()
        assert (f"<h1>Workload · {dept.name}</h1>" in body) is allowed, (person, dept)
        assert (_ignored(str(dept.pk)) in body) is not allowed, (person, dept)
        if allowed:
            assert member.display_name in body
    assert [d.code for d in workload_selectors.workload_departments(outsider)] == ["MKT"]
    assert [d.code for d in workload_selectors.workload_departments(ceo)] == ["HQ", "MKT", "SALES"]


def test_the_board_of_another_department_shows_only_what_the_viewer_sees_there(task, head, outsider, sales):
    """Board, timeline and calendar filter the viewer's own tasks, as the task list: another
    department is offered, and shows what they work on there — nothing else."""
    client = english_client(outsider)
    body = client.get(reverse("tasks:board"), {"department": sales.pk}).content.decode()
    assert "this filter is ignored" not in body and task.title not in body
    task_collaborator_add(actor=head, task=task, user=outsider)
    body = client.get(reverse("tasks:board"), {"department": sales.pk}).content.decode()
    assert task.title in body


def test_the_calendar_offers_its_departments_and_keeps_the_month(task, head, marketing, sales):
    """日历 has the board's department picker (a tester found only `?department=` in the
    address): 全部部门 first and chosen while no department is asked for; the month shown is
    kept when another department is picked; the chosen one is selected after."""
    add_member(head, marketing)
    head = User.objects.get(pk=head.pk)
    other = make_task(actor=head, department=marketing, owner=head, title="市场活动", due=task.due_date)
    month = {"year": task.due_date.year, "month": task.due_date.month}
    client = english_client(head)
    body = client.get(reverse("tasks:calendar"), month).content.decode()
    assert '<option value="" selected>All departments</option>' in body
    assert f'<input type="hidden" name="year" value="{month["year"]}">' in body
    assert f'<input type="hidden" name="month" value="{month["month"]}">' in body
    body = client.get(reverse("tasks:calendar"), {**month, "department": marketing.pk}).content.decode()
    assert f'<option value="{marketing.pk}" selected>' in body and '<option value="" selected>' not in body
    assert other.full_code in body and task.full_code not in body
    # Back to all of them: the empty choice is no filter, and is not called ignored.
    body = client.get(reverse("tasks:calendar"), {**month, "department": ""}).content.decode()
    assert other.full_code in body and task.full_code in body and "this filter is ignored" not in body


@pytest.mark.parametrize(
    "page", ("tasks:board", "tasks:timeline", "tasks:workload", "insights:weekly_review")
)
def test_the_ceo_s_pages_open_on_a_department_below_not_the_empty_head_office(
    page, ceo, sales, marketing, head, task
):
    """The CEO's own department is 总公司, which holds no task of its own: a department page
    opens on the first department below it (by code: MKT before SALES) rather than on an
    empty board (a tester's find); with a task of its own, 总公司 is shown. (日历 shows every
    department unless one is asked for.)"""
    body = english_client(ceo).get(reverse(page)).content.decode()
    assert f'<option value="{marketing.pk}" selected>' in body
    assert f'<option value="{sales.parent_id}" selected>' not in body

    make_task(actor=ceo, department=sales.parent, owner=ceo, title="总公司年度规划")
    body = english_client(ceo).get(reverse(page)).content.decode()
    assert f'<option value="{sales.parent_id}" selected>' in body
