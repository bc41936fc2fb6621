"""The tester's milestone findings (a milestone dated after its task's due date, or in 1900
where 日历 shows 2000–2100; "Reached" read as a state): the rule in the service
(`milestone_date_errors`) on every path that creates or moves milestones — the web form, the
API, templates, recurrence — with its message in English and Chinese; a due date moved
before a milestone allowed and the milestone marked on the task page; a reached milestone
told apart from an open one there and on 时间线; the button an action, the state a state."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from closeloop.core.errors import ValidationFailed
from closeloop.orgs.services import api_token_create
from closeloop.planning.services import decomposition as decomposition_services
from closeloop.planning.services import recurrence as recurrence_services
from closeloop.planning.services import templates as template_services
from closeloop.tasks.models import Frequency, Milestone, Task
from closeloop.tasks.services import task_update
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def add(actor, task, day, title="方案评审"):
    return decomposition_services.milestone_add(actor=actor, task=task, title=title, date_=day)


def refused(actor, task, day) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as exc:
        add(actor, task, day)
    return exc.value


# -- the rule in the service -----------------------------------------------------------------


def test_a_milestone_after_the_due_date_is_refused_naming_the_field_and_the_due_date(task, head):
    due = task.due_date
    with translation.override("en"):
        exc = refused(head, task, due + dt.timedelta(days=1))
    assert list(exc.fields) == ["date"]
    assert exc.message == (
        f"The date {due + dt.timedelta(days=1)} is after the task's due date {due}: choose a day on or before it."
    )
    with translation.override("zh-hans"):
        zh = refused(head, task, due + dt.timedelta(days=30))
    assert "日期" in zh.message and f"晚于任务的截止日期 {due}" in zh.message
    assert not Milestone.objects.exists()
    # On the due date itself, and before it: a checkpoint on the way.
    add(head, task, due)
    add(head, task, due - dt.timedelta(days=3), title="初稿")
    assert Milestone.objects.filter(task=task).count() == 2


@pytest.mark.parametrize("day", [dt.date(1900, 1, 1), dt.date(1999, 12, 31), dt.date(2101, 1, 1)])
def test_a_milestone_outside_the_calendars_years_is_refused(head, member, sales, day):
    """日历 shows 2000-01 … 2100-12 (`calendar.YEARS`, from `core.dates.CALENDAR_MIN`): a
    milestone it could not show is refused, with the range named — one rule, `date_errors`."""
    from closeloop.planning.selectors.calendar import YEARS

    far = make_task(actor=head, department=sales, owner=member, title="百年规划", due=dt.date(2100, 12, 31))
    with translation.override("en"):
        exc = refused(head, far, day)
    assert exc.fields == {"date": ["The date must be between 2000-01-01 and 2100-12-31."]}
    with translation.override("zh-hans"):
        assert refused(head, far, day).message == "日期须在 2000-01-01 至 2100-12-31 之间。"
    assert YEARS == (2000, 2100)
    assert add(head, far, dt.date(2000, 1, 1)).date == dt.date(2000, 1, 1)
    assert add(head, far, dt.date(2100, 12, 31)).date == dt.date(2100, 12, 31)


def test_moving_a_milestone_follows_the_rule_and_a_milestone_left_after_a_moved_due_date_stays(task, head):
    """A due date moved before a milestone is allowed (the plan is being reworked); the
    milestone keeps its date and can still be renamed and marked reached — only a new date is
    checked."""
    m = add(head, task, task.due_date)
    with pytest.raises(ValidationFailed) as exc:
        decomposition_services.milestone_update(
            actor=head, milestone=m, date_=task.due_date + dt.timedelta(days=2)
        )
    assert "date" in exc.value.fields and str(task.due_date) in exc.value.message
    earlier = task.due_date - dt.timedelta(days=2)
    task_update(actor=head, task=Task.objects.get(pk=task.pk), due_date=earlier, reason="客户提前验收")
    m = Milestone.objects.select_related("task").get(pk=m.pk)
    assert m.date > m.task.due_date  # allowed, and kept
    m = decomposition_services.milestone_update(actor=head, milestone=m, title="方案终审", date_=m.date)
    m = decomposition_services.milestone_update(
        actor=head, milestone=Milestone.objects.select_related("task").get(pk=m.pk), reached=True
    )
    assert (m.title, m.date, m.reached_at is not None) == ("方案终审", task.due_date, True)
    with pytest.raises(ValidationFailed):
        decomposition_services.milestone_update(
            actor=head,
            milestone=Milestone.objects.select_related("task").get(pk=m.pk),
            date_=task.due_date - dt.timedelta(days=1),
        )
    assert Milestone.objects.get(pk=m.pk).date == task.due_date


# -- every path that creates milestones ------------------------------------------------------


def _api(user):
    _t, raw = api_token_create(actor=user, name="t")
    return Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_the_api_refuses_a_milestone_after_the_due_date_naming_date(task, head):
    c = _api(head)
    late = task.due_date + dt.timedelta(days=1)
    r = c.post(
        f"/api/v1/tasks/{task.pk}/milestones",
        json.dumps({"title": "评审", "date": late.isoformat()}),
        content_type="application/json",
    )
    assert r.status_code == 422, r.content
    body = r.json()
    assert "date" in body["fields"] and str(task.due_date) in body["message"]
    r = c.post(
        f"/api/v1/tasks/{task.pk}/milestones",
        json.dumps({"title": "评审", "date": "1950-06-01"}),
        content_type="application/json",
    )
    assert r.status_code == 422 and "2000-01-01" in r.json()["fields"]["date"][0]
    assert not Milestone.objects.exists()
    r = c.post(
        f"/api/v1/tasks/{task.pk}/milestones",
        json.dumps({"title": "评审", "date": task.due_date.isoformat()}),
        content_type="application/json",
    )
    assert r.status_code == 201
    m = r.json()["id"]
    r = c.patch(
        f"/api/v1/milestones/{m}", json.dumps({"date": late.isoformat()}), content_type="application/json"
    )
    assert r.status_code == 422 and "date" in r.json()["fields"]
    # The state reads as one: reached_at set by "reached": true.
    r = c.patch(f"/api/v1/milestones/{m}", json.dumps({"reached": True}), content_type="application/json")
    assert r.status_code == 200 and r.json()["reached_at"] is not None
    assert Milestone.objects.get(pk=m).date == task.due_date


def test_a_template_whose_milestone_would_fall_after_the_due_date_is_refused_whole(head, member, sales):
    source = make_task(
        actor=head,
        department=sales,
        owner=member,
        title="样板",
        start_date=TODAY,
        due=TODAY + dt.timedelta(days=40),
    )
    decomposition_services.subtask_add(
        actor=head, parent=source, title="第一步", owner=member, start_date=TODAY, due_date=TODAY
    )
    add(head, source, TODAY + dt.timedelta(days=30), title="阶段评审")
    template = template_services.template_save(actor=head, task=source, name="长模板")
    short = make_task(
        actor=head,
        department=sales,
        owner=member,
        title="短任务",
        start_date=TODAY,
        due=TODAY + dt.timedelta(days=5),
    )
    with pytest.raises(ValidationFailed) as exc:
        template_services.template_apply(actor=head, template=template, task=short)
    assert list(exc.value.fields) == ["start"]
    assert "阶段评审" in exc.value.message and str(short.due_date) in exc.value.message
    # Nothing written: no steps, no milestone.
    assert (
        not Task.objects.filter(parent=short).exists() and not Milestone.objects.filter(task=short).exists()
    )
    long = make_task(
        actor=head,
        department=sales,
        owner=member,
        title="长任务",
        start_date=TODAY,
        due=TODAY + dt.timedelta(days=60),
    )
    template_services.template_apply(actor=head, template=template, task=long)
    m = Milestone.objects.get(task=long)
    assert m.title == "阶段评审" and m.date <= long.due_date


def test_a_recurring_copy_puts_a_late_milestone_on_its_own_due_date(head, member, sales):
    """The prototype's milestone left after its due date (moved earlier since) is copied onto
    the copy's due date, never after it."""
    proto = make_task(
        actor=head, department=sales, owner=member, title="月度销售报表", due=dt.date(2027, 1, 6)
    )
    on_time = add(head, proto, dt.date(2027, 1, 4), title="数据核对")
    late = add(head, proto, dt.date(2027, 1, 6), title="报表发出")
    Milestone.objects.filter(pk=late.pk).update(date=dt.date(2027, 1, 8))  # as stored before the rule
    rule = recurrence_services.recurrence_set(
        actor=head, task=proto, frequency=Frequency.MONTHLY_WORKDAY, nth_workday=3
    )
    instance = recurrence_services.recurrence_instantiate(rule=rule, occurrence=dt.date(2027, 2, 3))
    copies = {m.title: m.date for m in Milestone.objects.filter(task=instance)}
    assert copies["报表发出"] == instance.due_date == dt.date(2027, 2, 3)
    assert copies["数据核对"] < instance.due_date
    assert on_time.date == dt.date(2027, 1, 4)


# -- what the pages show ---------------------------------------------------------------------


def test_the_task_page_tells_a_reached_milestone_from_an_open_one_and_marks_one_after_the_due_date(
    task, head
):
    reached = add(head, task, task.due_date - dt.timedelta(days=2), title="用户画像完成")
    add(head, task, task.due_date, title="活动页面上线")
    decomposition_services.milestone_update(
        actor=head, milestone=Milestone.objects.select_related("task").get(pk=reached.pk), reached=True
    )
    when = timezone.localtime(Milestone.objects.get(pk=reached.pk).reached_at).strftime("%m-%d")
    earlier = task.due_date - dt.timedelta(days=1)
    task_update(actor=head, task=Task.objects.get(pk=task.pk), due_date=earlier, reason="提前上线")
    page = english_client(head).get(reverse("tasks:detail", args=[task.pk])).content.decode()
    plan = page[page.index('id="plan"') :]
    items = plan[
        plan.index('<ul class="plan-list">') : plan.index("</ul>", plan.index('<ul class="plan-list">'))
    ]
    done, open_ = items.split("</li>")[:2]
    # Reached: the ✓ for the diamond, muted (is-reached) and "Reached MM-DD"; its button
    # takes it back ("Reopen").
    assert 'class="plan-ms is-reached"' in done and "ms-check" in done and 'class="diamond"' not in done
    assert f"Reached {when}" in done and ">Reopen<" in done
    # Open: the diamond and the action "Mark reached" — the state "Reached" nowhere on it;
    # after the due date that moved before it, marked with that date.
    assert "is-reached" not in open_ and 'class="diamond"' in open_ and ">Mark reached<" in open_
    assert "Reached " not in open_
    assert "is-after-due" in open_ and f"After the due date {earlier:%m-%d}" in open_
    assert "After the due date" not in done
    zh = Client()
    zh.force_login(head)
    head.language = "zh-hans"
    head.save(update_fields=["language"])
    page = zh.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    assert f"已达成 {when}" in page and ">标记达成<" in page and f"晚于截止日期 {earlier:%m-%d}" in page


def test_the_timeline_marks_a_reached_milestone_with_a_tick(task, head):
    reached = add(head, task, task.due_date - dt.timedelta(days=2), title="用户画像完成")
    add(head, task, task.due_date, title="活动页面上线")
    decomposition_services.milestone_update(
        actor=head, milestone=Milestone.objects.select_related("task").get(pk=reached.pk), reached=True
    )
    page = english_client(head).get(reverse("tasks:timeline"), {"task": task.pk}).content.decode()
    assert page.count('class="tl-milestone is-reached"') == 1 and page.count('class="tl-milestone"') == 1
    assert page.count('class="tl-ms-check"') == 1 and "用户画像完成 · " in page and " · Reached " in page
    assert "milestone reached" in page  # the legend
