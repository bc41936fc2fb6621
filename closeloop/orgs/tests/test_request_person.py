"""The cost every signed-in request pays (issue 16, item 1): the session in one statement, the
person with their department scopes and the bell's count in one more — and nothing of it kept
between requests, so access changes take effect on the very next request."""

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from closeloop.notify.models import Notification
from closeloop.notify.selectors import unread_count
from closeloop.notify.services import notification_mark_all_read
from closeloop.orgs.models import ApiToken, Department, Membership, User
from closeloop.orgs.request_person import person_by_id
from closeloop.orgs.selectors import _scopes, acceptance_routes
from closeloop.orgs.services import api_token_authenticate, api_token_create
from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member, make_task

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_a_signed_in_404_reads_the_session_and_the_person_only(head, django_assert_num_queries):
    client = signed_in(head)
    client.get("/tasks/0/")
    with django_assert_num_queries(2):  # the session; the person with scopes and unread count
        response = client.get("/tasks/0/")
    assert response.status_code == 404
    assert b'class="notify-bell"' in response.content and b"sales_head" in response.content


def test_the_profile_page_adds_only_its_own_query(head, django_assert_num_queries):
    client = signed_in(head)
    client.get(reverse("profile"))
    with django_assert_num_queries(3):  # session, person, the person's API tokens
        assert client.get(reverse("profile")).status_code == 200


def test_the_bell_counts_what_is_unread_now(head, member):
    client = signed_in(member)
    for i in range(3):
        Notification.objects.create(recipient=member, kind="task.assigned", data={"title": f"任务{i}"})
    Notification.objects.create(recipient=head, kind="task.assigned", data={"title": "别人的"})
    page = client.get("/tasks/0/").content.decode()
    assert 'data-unread="3"' in page
    Notification.objects.filter(recipient=member).update(read_at=timezone.now())
    assert "data-unread" not in client.get("/tasks/0/").content.decode()


def test_marking_read_in_the_request_drops_the_count_read_with_the_person(member):
    Notification.objects.create(recipient=member, kind="task.assigned", data={"title": "任务"})
    person = person_by_id(member.pk)
    assert unread_count(person) == 1
    notification_mark_all_read(actor=person)
    assert unread_count(person) == 0


@pytest.fixture
def tree(company, sales, head, member, outsider):
    """HQ > SALES > SALES-EAST > SALES-EAST-1, and MKT; `member` deputises SALES-EAST."""
    east = DepartmentFactory(code="EAST", name="华东", parent=sales, deputy=member)
    DepartmentFactory(code="EAST1", name="华东一区", parent=east)
    loop = DepartmentFactory(code="LOOP", name="循环", parent=None)
    DepartmentFactory(code="LOOP2", name="循环二", parent=loop)
    # A broken tree (a cycle) must not hang.
    Department.objects.filter(pk=loop.pk).update(parent=Department.objects.get(code="LOOP2"))
    return east


def test_the_scopes_read_with_the_person_are_the_ones_the_selectors_compute(tree, head, member, outsider):
    boss = UserFactory(username="boss")
    Department.objects.filter(code="HQ").update(head=boss)
    nobody = UserFactory(username="nobody")
    looper = UserFactory(username="looper")
    Department.objects.filter(code="LOOP").update(head=looper)
    for user in (head, member, outsider, boss, nobody, looper):
        fresh = person_by_id(user.pk)
        expected = _scopes(User.objects.get(pk=user.pk))
        assert fresh._closeloop_scopes == expected, user.username
        # Who accepts what, worked out from the departments read with the person (a cycle
        # too), is what the selectors' own read of the tree gives.
        assert acceptance_routes(fresh) == acceptance_routes(User.objects.get(pk=user.pk)), user.username
    assert (
        len(person_by_id(boss.pk)._closeloop_scopes["led"])
        == Department.objects.exclude(code__startswith="LOOP").count()
    )
    assert len(person_by_id(looper.pk)._closeloop_scopes["led"]) == 2
    # The head of HQ accepts the sales head's own tasks, not the rest of SALES.
    assert acceptance_routes(person_by_id(boss.pk))[head.memberships.get().department_id] == (
        True,
        frozenset({head.pk}),
    )
    assert person_by_id(123456789) is None


def test_taken_out_of_a_department_a_person_loses_its_tasks_on_the_next_request(head, member, sales):
    task = make_task(actor=head, department=sales, owner=head)
    client = signed_in(member)
    assert client.get(f"/tasks/{task.pk}/").status_code == 200
    Membership.objects.filter(user=member, department=sales).delete()
    assert client.get(f"/tasks/{task.pk}/").status_code == 404


def test_a_deputy_removed_loses_the_department_below_on_the_next_request(tree, head, member):
    below = Department.objects.get(code="EAST1")
    task = make_task(actor=head, department=below, owner=head)
    client = signed_in(member)
    assert client.get(f"/tasks/{task.pk}/").status_code == 200
    Department.objects.filter(pk=tree.pk).update(deputy=None)
    assert client.get(f"/tasks/{task.pk}/").status_code == 404


def test_a_deactivated_person_is_signed_out_on_the_next_request(member):
    client = signed_in(member)
    assert client.get("/").status_code == 200
    User.objects.filter(pk=member.pk).update(is_active=False)
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_a_password_change_elsewhere_ends_the_session(member):
    client = signed_in(member)
    assert client.get("/").status_code == 200
    member.set_password("a-new-password-1")
    member.save()
    assert client.get("/").status_code == 302
    key = client.cookies["sessionid"].value
    assert not Session.objects.filter(session_key=key).exists()  # flushed, as Django does


def test_an_expired_session_is_no_session(member):
    client = signed_in(member)
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    assert client.get("/").status_code == 302


def test_a_session_of_a_backend_not_listed_is_no_session(member):
    client = signed_in(member)
    session = client.session
    session["_auth_user_backend"] = "closeloop.orgs.tests.unknown.Backend"  # not listed: nobody
    session.save()
    assert client.get("/").status_code == 302


def test_a_token_finds_its_person_in_one_query(member, django_assert_num_queries):
    token, raw = api_token_create(actor=member, name="script")
    with django_assert_num_queries(2):  # the token with the person; the last-used stamp
        assert api_token_authenticate(raw).pk == member.pk
    with django_assert_num_queries(1):  # stamped less than a minute ago
        user = api_token_authenticate(raw)
    assert user._closeloop_scopes["member"] == frozenset(
        member.memberships.values_list("department_id", flat=True)
    )
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - dt.timedelta(minutes=2))
    with django_assert_num_queries(2):
        api_token_authenticate(raw)
    assert api_token_authenticate(raw + "x") is None
    User.objects.filter(pk=member.pk).update(is_active=False)
    assert api_token_authenticate(raw) is None
    User.objects.filter(pk=member.pk).update(is_active=True)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert api_token_authenticate(raw) is None


def test_a_member_of_two_departments_sees_both(head, member, marketing):
    add_member(member, marketing)
    assert person_by_id(member.pk)._closeloop_scopes["visible"] == frozenset(
        member.memberships.values_list("department_id", flat=True)
    )
