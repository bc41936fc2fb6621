"""Issue 10 item 10: nobody decides their own delay warning (a deputy's goes to the head, a
head's to the superior), and 我的工作 of a head lists what waits for their decision."""

import datetime as dt

import pytest

from closeloop.core.errors import NotAllowed
from closeloop.notify.models import Notification
from closeloop.orgs.models import Membership
from closeloop.tasks.services import task_transition
from closeloop.testing.clients import english_client
from closeloop.testing.factories import UserFactory, add_member, make_task
from closeloop.tracking.selectors import pending_warnings_for
from closeloop.tracking.services import delay_warning_decide, delay_warning_raise
from closeloop.tracking.tests.conftest import at, fresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def deputy(sales):
    user = UserFactory(username="sales_deputy", name="陈副总")
    add_member(user, sales, Membership.Role.MANAGER)
    sales.deputy = user
    sales.save(update_fields=["deputy"])
    return user


@pytest.fixture
def ceo(company):
    user = UserFactory(username="ceo", name="总经理")
    add_member(user, company, Membership.Role.MANAGER)
    company.head = user
    company.save(update_fields=["head"])
    return user


def owned_by(person, head, sales):
    t = make_task(
        actor=head, department=sales, owner=person, start_date=dt.date(2026, 3, 2), due=dt.date(2026, 3, 31)
    )
    return task_transition(actor=person, task=t, to="in_progress")


def warn(task, who):
    return delay_warning_raise(
        actor=who,
        task=task,
        reason="resources",
        explanation="人手不够",
        new_due_date=dt.date(2026, 4, 10),
        now=at(2026, 3, 20),
    )


def test_a_deputys_warning_goes_to_the_head_not_the_deputy(head, deputy, sales):
    w = warn(owned_by(deputy, head, sales), deputy)
    assert Notification.objects.filter(recipient=head, kind="delay_warning.raised").exists()
    assert not Notification.objects.filter(recipient=deputy, kind="delay_warning.raised").exists()
    with pytest.raises(NotAllowed):
        delay_warning_decide(actor=deputy, warning=w, approve=True, now=at(2026, 3, 20, 11))
    assert list(pending_warnings_for(deputy)) == []
    assert list(pending_warnings_for(head)) == [w]
    delay_warning_decide(actor=head, warning=w, approve=True, now=at(2026, 3, 20, 11))
    assert fresh(w.task).due_date == dt.date(2026, 4, 10)


def test_a_heads_warning_goes_to_the_superior(head, deputy, sales, ceo):
    w = warn(owned_by(head, head, sales), head)
    assert Notification.objects.filter(recipient=ceo, kind="delay_warning.raised").exists()
    for who in (head, deputy):
        with pytest.raises(NotAllowed):
            delay_warning_decide(actor=who, warning=w, approve=True, now=at(2026, 3, 20, 11))
        assert list(pending_warnings_for(who)) == []
    assert list(pending_warnings_for(ceo)) == [w]
    delay_warning_decide(actor=ceo, warning=w, approve=True, now=at(2026, 3, 20, 11))


def test_my_work_of_a_head_lists_the_warnings_to_decide(started, head, member):
    warn(started, member)
    page = english_client(head).get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Waiting for my decision" in text and started.title in text
    # The member asked; it is not theirs to decide.
    assert "Waiting for my decision" not in english_client(member).get("/").content.decode()


def test_an_old_row_starting_on_0001_01_01_still_takes_daily_updates(started, member):
    from closeloop.tasks.models import Task

    Task.objects.filter(pk=started.pk).update(start_date=dt.date(1, 1, 1))
    web = english_client(member)
    assert web.get("/updates/today/").status_code == 200
    assert web.get(f"/tasks/{started.pk}/updates/").status_code == 200
    r = web.post(
        f"/api/v1/tasks/{started.pk}/updates",
        {"state": "in_progress", "percent": 30},
        content_type="application/json",
    )
    assert r.status_code in (200, 201), r.content


def test_a_delay_to_year_9999_is_refused_naming_the_field(started, member):
    r = english_client(member).post(
        f"/api/v1/tasks/{started.pk}/delay-warnings",
        {"reason": "resources", "explanation": "人手不够", "new_due_date": "9999-12-31"},
        content_type="application/json",
    )
    assert r.status_code == 422 and "new_due_date" in r.json()["fields"], r.content


def test_my_work_counts_the_decisions_without_a_count_query_when_few_wait(
    head, member, sales, outsider, django_assert_num_queries
):
    """`pending_decisions` reads the first `limit` and counts only when that many came back:
    the same (count, rows) as a count and then the rows (issue 16), one query fewer when
    fewer wait. Someone who leads nothing is offered none."""
    from closeloop.orgs.models import User
    from closeloop.orgs.selectors import led_department_ids
    from closeloop.tracking.extensions import pending_decisions

    def person(user):  # no memo, its scopes read (they come with the person on a request)
        p = User.objects.get(pk=user.pk)
        led_department_ids(p)
        return p

    def before(user, limit):  # the two queries this replaced
        qs = pending_warnings_for(user)
        return qs.count(), [w.pk for w in qs[:limit]]

    for n in range(4):
        warn(owned_by(member, head, sales), member)
        for limit in (1, 2, 3, 10):
            head_now = person(head)
            with django_assert_num_queries(2 if n + 1 >= limit else 1):
                count, rows = pending_decisions(head_now, limit)
            old_count, old_ids = before(person(head), limit)
            assert count == old_count == n + 1 and len(rows) == len(old_ids) == min(n + 1, limit)
            assert [int(r.url.rstrip("/").rsplit("/", 1)[1]) for r in rows] == old_ids
            assert all(r.text and r.by for r in rows)
    assert pending_decisions(person(outsider), 10) == (0, [])
