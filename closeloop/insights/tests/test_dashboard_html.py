"""仪表盘 and 周复盘 write their long lists (missing updates, on-time rates, cross-department
load, slipped tasks) in Python (`insights` template tags) for speed (issue 16): they must write
exactly what the templates wrote, and escape everything a person typed. `old_templates/` holds
the templates as they were (`dashboard.html` with collab's `_dashboard.html` inlined,
`_week_body.html`); each test renders them with the context the view built, beside the page as
it is served, in both languages."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.db.models import Exists, OuterRef
from django.template import engines

from closeloop.insights import selectors
from closeloop.orgs.models import Membership
from closeloop.tasks import completions
from closeloop.tasks.models import Priority, Task
from closeloop.tasks.services import task_transition
from closeloop.testing.clients import english_client
from closeloop.testing.factories import UserFactory, add_member, make_task
from closeloop.tracking import cadence
from closeloop.tracking import selectors as tracking
from closeloop.tracking.models import ProgressUpdate
from closeloop.tracking.services import delay_warning_raise, update_post

OLD = Path(__file__).parent / "old_templates"
XSS = '<script>alert("x")</script>'


def _main(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken"', html)
    return html[html.index("<main") : html.index("</main>")]


def _view_context(response) -> dict:
    """What the view handed the template."""
    return {
        k: response.context[k]
        for k in ("d", "today", "more_overdue", "more_blocked", "more_owed", "collab", "ignored_filters")
    }


def _working_day(department, start: dt.date) -> dt.date:
    day = start
    while not cadence.owes_on(Priority.HIGH, day, cadence.settings_for(department).review_weekday):
        day += dt.timedelta(days=1)
    return day


@pytest.fixture
def busy(head, member, sales, marketing):
    """Three people owing updates (names and titles with markup), completions on time and
    late, a task the member owns in another department (cross-department load)."""
    people = [member] + [
        UserFactory(username=f"p{i}<b>", name=f"张{i} {XSS} & 'q'" if i else "") for i in range(2)
    ]
    for p in people[1:]:
        add_member(p, sales, Membership.Role.SPECIALIST)
    today = sales.local_today()
    for i in range(12):
        owner = people[i % 3]
        t = make_task(
            actor=head,
            department=sales,
            owner=owner,
            title=f"{XSS}报表 {i} & <i>x</i>" if i % 2 else f"普通任务{i}",
            priority=Priority.HIGH if i % 4 else Priority.MEDIUM,
            start_date=today - dt.timedelta(days=20),
            due=today + dt.timedelta(days=i % 3 - 1),
        )
        t = task_transition(actor=owner, task=t, to="in_progress")
        if i % 5 == 0:
            update_post(actor=owner, task=t, percent=10)
            t = Task.objects.get(pk=t.pk)
        if i >= 8:
            t = task_transition(actor=owner, task=t, to="submitted", note="完成")
            task_transition(actor=head, task=t, to="done", note="通过")
    elsewhere = make_task(actor=head, department=sales, owner=member, title="跨部门")
    Task.objects.filter(pk=elsewhere.pk).update(department=marketing)
    return people


def _old_owed(departments, now):
    """`tracking.owed_tasks` as it was: the owed tasks joined to department and owner in one
    query (SQLite walked every task of each person)."""
    clauses = [tracking.owed_q(d, cadence.local_today(d, now)) for d in departments]
    where = [c for c in clauses if c is not None]
    combined = where[0]
    for c in where[1:]:
        combined |= c
    return (
        Task.objects.filter(combined, status__in=tracking.WORKING_STATUSES)
        .filter(~Exists(Task.objects.filter(parent_id=OuterRef("pk"))))
        .select_related("department", "owner")
        .order_by("owner_id", "due_date", "id")
    )


def _decisions_and_escalations(head, sales):
    """Two delay warnings awaiting the head (one raised late), a task awaiting acceptance, and
    two escalated issues (a long problem with markup): the rows 仪表盘 writes in Python."""
    from django.utils import timezone

    from closeloop.collab.models import Issue

    today = sales.local_today()
    working = list(Task.objects.filter(department=sales, status="in_progress").order_by("id")[:3])
    for i, t in enumerate(working[:2]):
        # Due in ten days: raised in time; due yesterday: raised late.
        Task.objects.filter(pk=t.pk).update(due_date=today + dt.timedelta(days=-1 if i else 10))
        t = Task.objects.get(pk=t.pk)
        delay_warning_raise(
            actor=t.owner,
            task=t,
            reason="resources",
            explanation=XSS,
            new_due_date=today + dt.timedelta(days=20),
        )
    owner = working[2].owner
    submitted = make_task(actor=head, department=sales, owner=owner, title=f"{XSS}待验收", due=today)
    submitted = task_transition(actor=owner, task=submitted, to="in_progress")
    task_transition(actor=owner, task=submitted, to="submitted", note="完成")
    for level, problem in ((1, f"{XSS} 数据不完整" * 6), (2, "<b>短</b>")):
        Issue.objects.create(
            task=working[level - 1],
            problem=problem,
            raised_by=head,
            raised_at=timezone.now() - dt.timedelta(hours=level),
            resolver=working[level - 1].owner,
            deadline=timezone.now() + dt.timedelta(days=1),
            level=level,
        )


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_dashboard_is_the_html_the_template_wrote(busy, head, sales, lang, monkeypatch):
    from closeloop.orgs.models import User

    day = _working_day(sales, sales.local_today())
    now = cadence.at_local(sales, day, dt.time(10, 0))
    real = selectors.dashboard
    monkeypatch.setattr(selectors, "dashboard", lambda user, **kw: real(user, now=now, **kw))
    _decisions_and_escalations(head, sales)
    for i in range(selectors.MISSING_PER_PERSON + 1):  # one person owes more than the list names
        extra = make_task(
            actor=head, department=sales, owner=busy[1], title=f"追加{i}", priority=Priority.HIGH, due=day
        )
        task_transition(actor=busy[1], task=extra, to="in_progress")
    c = english_client(head)
    User.objects.filter(pk=head.pk).update(language=lang)
    response = c.get("/dashboard/")
    assert response.status_code == 200
    new = _main(response.content.decode())
    context = _view_context(response)
    d = context["d"]
    assert len(d.missing_by_person) == 3 and len(d.missing) >= 5, "every list has rows"
    assert any(row.more for row in d.missing_by_person), "someone owes more than the list names"
    assert d.rates and context["collab"].load
    assert len(d.warnings) == 2 and len(d.acceptances) == 1 and len(context["collab"].escalated) == 2
    assert {w.on_time for w in d.warnings} == {True, False}
    old = engines["django"].from_string((OLD / "dashboard.html").read_text())
    assert new == _main(old.render(context, response.wsgi_request))
    assert "<script>" not in new and "<i>" not in new and "<b>" not in new
    # Each person who owes, by username: how many the joined query read of theirs, and the
    # first MISSING_PER_PERSON of them in its order.
    owed: dict = {}
    for t in _old_owed([sales], now):
        owed.setdefault(t.owner, []).append(t)
    expected = [
        (
            person.username,
            len(tasks),
            [(t.pk, t.department.code) for t in tasks[: selectors.MISSING_PER_PERSON]],
        )
        for person, tasks in sorted(owed.items(), key=lambda pair: pair[0].username)
    ]
    assert [
        (row.person.username, row.total, [(t.pk, t.department.code) for t in row.tasks])
        for row in d.missing_by_person
    ] == expected
    assert d.counts["missing_updates"] == sum(len(tasks) for tasks in owed.values())
    # And with nothing to show, the empty rows.
    ProgressUpdate.objects.all().delete()
    Task.objects.all().delete()
    completions.rebuild()  # tasks deleted around the services (the product never deletes one)
    response = c.get("/dashboard/")
    context = _view_context(response)
    assert not context["d"].missing_by_person and not context["d"].rates and not context["collab"].load
    assert _main(response.content.decode()) == _main(old.render(context, response.wsgi_request))


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_weekly_review_is_the_html_the_template_wrote(busy, head, member, sales, lang):
    from django.template.loader import render_to_string

    from closeloop.orgs.models import User

    today = sales.local_today()
    reasons = ["resources", "requirements", "dependency", "other"]
    for i, t in enumerate(Task.objects.filter(department=sales, status="in_progress").order_by("id")[:6]):
        if i % 2:  # due already passed: the warning is raised late
            Task.objects.filter(pk=t.pk).update(due_date=today - dt.timedelta(days=1))
            t = Task.objects.get(pk=t.pk)
        delay_warning_raise(
            actor=t.owner,
            task=t,
            reason=reasons[i % 4],
            explanation=f"忙 {XSS}",
            new_due_date=today + dt.timedelta(days=3 + i),
        )
    c = english_client(head)
    User.objects.filter(pk=head.pk).update(language=lang)
    for url in ("/weekly-review/", "/weekly-review/print/"):
        response = c.get(url, {"department": sales.pk})
        assert response.status_code == 200
        context = {
            k: response.context[k]
            for k in ("w", "today", "more_overdue", "more_blocked", "reason_chart", "trend_chart")
        }
        w = context["w"]
        assert len(w.slipped) == 6 and {s.on_time for s in w.slipped} == {True, False}
        new = render_to_string("insights/_week_body.html", context, response.wsgi_request)
        old = engines["django"].from_string((OLD / "_week_body.html").read_text())
        assert new == old.render(context, response.wsgi_request)
        assert new in response.content.decode()
        assert "<script>" not in new and "<i>" not in new


@pytest.mark.parametrize("lang", ["en", "zh-hans", "de"])
def test_the_tables_write_numbers_as_the_template_did(lang):
    """`rate_rows`' number writer (`_numbers`): the text `{{ value }}` wrote — Django's
    localize — for whole numbers, decimals, and the odd float it leaves to Django."""
    from django.utils import translation
    from django.utils.formats import localize

    from closeloop.insights.templatetags.insights import _numbers

    with translation.override(lang):
        n = _numbers()
        for value in (0, 3, 1.0, 1.5, -2.25, 12345.6, 0.1 + 0.2, 1e-05, 1e20, float("inf")):
            assert n(value) == str(localize(value)), value
