"""Issue 10 item 10: nobody decides their own delay warning (a deputy's goes to the head, a
head's to the superior), and 我的工作 of a head lists what waits for their decision."""

import datetime as dt

import pytest

from closeloop.core.errors import NotAllowed
from closeloop.notify.models import Notification
from closeloop.tasks.services import task_transition
from closeloop.testing.clients import english_client
from closeloop.testing.factories import UserFactory, make_task
from closeloop.tracking.selectors import pending_warnings_for
from closeloop.tracking.services import delay_warning_decide, delay_warning_raise
from closeloop.tracking.tests.conftest import at, fresh

pytestmark = pytest.mark.django_db


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


def _old_pending_decisions(user, limit):
    """`pending_decisions` as it was, through the ORM (a count and the rows), the reference."""
    from django.urls import reverse
    from django.utils import timezone
    from django.utils.translation import gettext as _

    from closeloop.tasks.extensions import Decision

    qs = pending_warnings_for(user)
    rows = [
        Decision(
            kind=str(_("Delay warning")),
            text=_("%(code)s %(title)s: %(owner)s asks to move %(due)s → %(new_due)s")
            % {
                "code": w.task.full_code,
                "title": w.task.title,
                "owner": w.raised_by.display_name,
                "due": w.old_due_date.isoformat(),
                "new_due": w.new_due_date.isoformat(),
            },
            url=reverse("tracking:warning_decide", args=[w.pk]),
            by=timezone.localtime(w.decide_by).strftime("%Y-%m-%d %H:%M"),
        )
        for w in qs[:limit]
    ]
    return qs.count(), rows


def test_my_work_lists_the_decisions_of_the_orm_reads_in_one_query(
    head, member, sales, outsider, deputy, ceo, django_assert_num_queries
):
    """`pending_decisions` reads the first `limit` and how many wait in one hand-written
    statement (issue 16): the same (count, rows) as the ORM's count and rows it replaced,
    in both languages, with markup in the titles and names, for the head, the deputy, the
    superior, a superuser; someone who leads nothing is offered none, without a query."""
    from django.utils import timezone, translation

    from closeloop.orgs.models import User
    from closeloop.orgs.selectors import led_department_ids
    from closeloop.tasks.models import Task
    from closeloop.tracking.extensions import pending_decisions

    def person(user):  # no memo, its scopes read (they come with the person on a request)
        p = User.objects.get(pk=user.pk)
        led_department_ids(p)
        return p

    boss = UserFactory(username="root", name="", first_name="<b>R</b>", last_name="&", is_superuser=True)
    User.objects.filter(pk=member.pk).update(name='<i>李</i>&"q"')
    User.objects.filter(pk=deputy.pk).update(name="", first_name="", last_name="")
    for n in range(4):
        for who in (member, deputy, head):
            t = owned_by(who, head, sales)
            Task.objects.filter(pk=t.pk).update(title=f"<script>x</script> & '报表' {n}")
            warn(fresh(t), who)
        for limit in (1, 2, 3, 10, 20):
            for user in (head, deputy, ceo, boss):
                someone = person(user)
                with django_assert_num_queries(1):
                    count, rows = pending_decisions(someone, limit)
                for language in ("en", "zh-hans"):
                    with timezone.override("Asia/Shanghai"), translation.override(language):
                        new = pending_decisions(person(user), limit)
                        assert new == _old_pending_decisions(person(user), limit), (user.username, limit)
                assert count == new[0] and len(rows) == min(count, limit)
    assert pending_decisions(person(head), 20)[0] == 8  # the member's and the deputy's
    # The superior is asked the head's own only, not every warning of the department below.
    assert pending_decisions(person(ceo), 20)[0] == 4
    nobody = person(outsider)
    with django_assert_num_queries(0):
        assert pending_decisions(nobody, 10) == (0, [])


def test_a_superiors_queue_holds_the_heads_own_and_what_escalated_to_them(head, member, deputy, sales, ceo):
    """The CEO leads every department below, but an ordinary warning of 销售部 asks its head
    and deputy (DESIGN "Who may do what"): it is not in the CEO's 待我决定 until it is
    escalated to them; the head's own is, from the start. The head and deputy still see it."""
    from closeloop.orgs.models import User
    from closeloop.tracking.extensions import pending_decisions
    from closeloop.tracking.services import delay_warning_escalate

    ordinary = warn(fresh(owned_by(member, head, sales)), member)
    heads_own = warn(fresh(owned_by(head, head, sales)), head)
    assert list(pending_warnings_for(ceo)) == [heads_own]
    assert pending_decisions(User.objects.get(pk=ceo.pk), 10)[0] == 1
    assert ordinary in pending_warnings_for(head) and ordinary in pending_warnings_for(deputy)
    assert delay_warning_escalate(warning=ordinary, now=at(2026, 3, 22))
    assert set(pending_warnings_for(ceo)) == {heads_own, ordinary}
    assert pending_decisions(User.objects.get(pk=ceo.pk), 10)[0] == 2


def test_the_deputy_keeps_an_escalated_warning_under_waiting_for_my_decision(
    started, head, member, deputy, outsider, ceo
):
    """A delay warning asks the head and the deputy from the start (`warning_routes_q`) and
    stays in both queues once escalated to the superior, on 我的工作 and 仪表盘; the deputy may
    still decide it. A specialist of another department never sees it there."""
    from closeloop.orgs.models import User
    from closeloop.tracking.extensions import pending_decisions
    from closeloop.tracking.services import delay_warning_escalate

    w = warn(fresh(started), member)
    assert delay_warning_escalate(warning=w, now=at(2026, 3, 24))
    url = f"/delay-warnings/{w.pk}/"
    for person in (head, deputy, ceo):
        assert [d.url for d in pending_decisions(User.objects.get(pk=person.pk), 10)[1]] == [url]
        assert url in english_client(person).get("/").content.decode().split('id="group-decide"', 1)[1]
    assert url in english_client(deputy).get("/dashboard/").content.decode().split('id="decisions"', 1)[1]
    assert pending_decisions(User.objects.get(pk=outsider.pk), 10) == (0, [])
    assert url not in english_client(outsider).get("/").content.decode()
    delay_warning_decide(
        actor=User.objects.get(pk=deputy.pk), warning=w, approve=True, now=at(2026, 3, 24, 11)
    )
    assert pending_decisions(User.objects.get(pk=ceo.pk), 10) == (0, [])
