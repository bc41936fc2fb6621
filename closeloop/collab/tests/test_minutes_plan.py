import datetime as dt
import json

import pytest
from django.utils import timezone

from closeloop.collab import jobs, schedule, services
from closeloop.collab.models import ActionItem, Minutes
from closeloop.collab.tests.conftest import at
from closeloop.core.errors import Conflict, NotAllowed, ValidationFailed
from closeloop.notify.models import Notification
from closeloop.orgs.services import api_token_create
from closeloop.tasks.models import Task
from closeloop.testing.clients import english_client

pytestmark = pytest.mark.django_db


def auth(user):
    _t, raw = api_token_create(actor=user, name="t")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_ACCEPT_LANGUAGE": "en"}


def test_an_action_item_becomes_a_subtask_with_its_owner_department_and_due_date(
    shared, member, outsider, head
):
    due = shared.due_date - dt.timedelta(days=1)
    m = services.minutes_create(
        actor=member,
        task=shared,
        title="新功能上线周会",
        held_on=timezone.localdate(),
        attendees=[member, outsider],
        decisions="10月12日前补充数据",
        action_items=[services.ActionItemIn(title="补充用户标签数据", owner=outsider, due_date=due)],
    )
    note = Notification.objects.get(recipient=outsider, kind="minutes.shared")
    assert "10月12日前补充数据" in note.data["note"] and "补充用户标签数据" in note.data["note"]
    item = m.action_items.get()
    task = services.action_item_to_task(actor=member, item=item)
    assert (task.owner, task.department, task.due_date, task.parent_id) == (
        outsider,
        shared.department,
        due,
        shared.pk,
    )
    assert ActionItem.objects.get(pk=item.pk).task_id == task.pk
    with pytest.raises(Conflict):
        services.action_item_to_task(actor=member, item=item)


def test_department_minutes_make_tasks_of_the_department(sales, head, member):
    due = timezone.localdate() + dt.timedelta(days=5)
    m = services.minutes_create(
        actor=head,
        department=sales,
        title="周复盘",
        held_on=timezone.localdate(),
        attendees=[head, member],
        action_items=[services.ActionItemIn(title="整理客户名单", owner=member, due_date=due)],
    )
    task = services.action_item_to_task(actor=head, item=m.action_items.get())
    assert (
        task.parent_id is None and task.department == sales and task.owner == member and task.due_date == due
    )


def test_minutes_refuse_bad_input_naming_the_row(shared, member):
    n = Minutes.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        services.minutes_create(
            actor=member,
            task=shared,
            title="",
            held_on=None,
            attendees=[],
            action_items=[services.ActionItemIn(title="x", owner=None, due_date=None)],
        )
    assert {"title", "held_on", "attendees", "action_items.1.owner", "action_items.1.due_date"} <= set(
        exc.value.fields
    )
    assert Minutes.objects.count() == n


def test_an_outsider_cannot_record_department_minutes(sales, outsider):
    with pytest.raises(NotAllowed):
        services.minutes_create(
            actor=outsider, department=sales, title="x", held_on=timezone.localdate(), attendees=[outsider]
        )


def test_minutes_api_and_who_may_read_them(client, shared, private, member, outsider, head):
    due = (shared.due_date - dt.timedelta(days=1)).isoformat()
    r = client.post(
        "/api/v1/minutes",
        json.dumps(
            {
                "task_id": shared.pk,
                "title": "联调会",
                "held_on": timezone.localdate().isoformat(),
                "attendee_ids": [member.pk, outsider.pk],
                "decisions": "按期上线",
                "action_items": [{"title": "准备物料", "owner_id": outsider.pk, "due_date": due}],
            }
        ),
        content_type="application/json",
        **auth(member),
    )
    assert r.status_code == 201, r.content
    mid = r.json()["id"]
    item_id = r.json()["action_items"][0]["id"]
    hidden = services.minutes_create(
        actor=head, task=private, title="内部会", held_on=timezone.localdate(), attendees=[head]
    )
    h = auth(outsider)
    assert [m["id"] for m in client.get("/api/v1/minutes", **h).json()] == [mid]
    assert client.get(f"/api/v1/minutes/{hidden.pk}", **h).status_code == 404
    assert client.get(f"/api/v1/minutes/{hidden.pk}/action-items", **h).status_code == 404
    assert client.get(f"/minutes/{hidden.pk}/", HTTP_ACCEPT_LANGUAGE="en").status_code == 302  # login
    client.force_login(outsider)
    assert client.get(f"/minutes/{hidden.pk}/").status_code == 404
    items = client.get(f"/api/v1/minutes/{mid}/action-items", **auth(member)).json()
    assert items[0]["title"] == "准备物料" and items[0]["task_id"] is None
    r = client.post(f"/api/v1/minutes/{mid}/action-items/{item_id}/task", **auth(member))
    assert r.status_code == 201 and r.json()["task_id"]
    assert Task.objects.get(pk=r.json()["task_id"]).owner == outsider
    bad = client.post(
        "/api/v1/minutes",
        json.dumps(
            {"task_id": shared.pk, "title": "x", "held_on": "1800-01-01", "attendee_ids": [member.pk]}
        ),
        content_type="application/json",
        **auth(member),
    )
    assert bad.status_code == 422 and "held_on" in bad.json()["fields"]


def test_minutes_page_turns_an_item_into_a_subtask(shared, member, outsider):
    c = english_client(member)
    due = (shared.due_date - dt.timedelta(days=1)).isoformat()
    r = c.post(
        f"/tasks/{shared.pk}/minutes/new/",
        {
            "title": "站会",
            "held_on": timezone.localdate().isoformat(),
            "attendees": [member.pk, outsider.pk],
            "decisions": "明天联调",
            "ai-1-title": "联调接口",
            "ai-1-owner": str(outsider.pk),
            "ai-1-due": due,
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    m = Minutes.objects.get()
    page = c.get(m.get_absolute_url()).content.decode()
    assert "Make it a subtask" in page
    item = m.action_items.get()
    c.post(f"/minutes/{m.pk}/action-items/{item.pk}/task/")
    assert ActionItem.objects.get(pk=item.pk).task.owner == outsider
    r = c.post(
        f"/tasks/{shared.pk}/minutes/new/",
        {
            "title": "站会",
            "held_on": timezone.localdate().isoformat(),
            "attendees": [member.pk],
            "ai-1-title": "无负责人",
        },
    )
    assert r.status_code == 422 and Minutes.objects.count() == 1


def test_the_plan_shows_the_next_sync_and_reminds_on_working_days_once(
    shared, member, outsider, marketing, sales
):
    plan = services.plan_save(
        actor=member,
        task=shared,
        cadence="weekly",
        weekdays=[0, 2, 4],
        channel="meeting",
        channel_detail="3楼会议室",
        sync_time=dt.time(10, 0),
        contacts=[(sales, member), (marketing, outsider)],
    )
    # Saturday 2026-03-07 → Monday 09 10:00.
    assert schedule.next_sync(plan, shared.department, at(2026, 3, 7, 12, 0)) == at(2026, 3, 9, 10, 0)
    # Friday 9:50: reminded once, however often the job runs; not on Saturday.
    assert [jobs.send_sync_reminders(at(2026, 3, 6, 9, 50)) for _ in range(2)] == [1, 0]
    assert jobs.send_sync_reminders(at(2026, 3, 7, 9, 50)) == 0
    assert Notification.objects.filter(recipient=outsider, kind="collab.sync_reminder").count() == 1
    c = english_client(outsider)
    assert "Next sync" in c.get(shared.get_absolute_url()).content.decode()


def test_the_plan_refuses_bad_input_and_outsiders(shared, member, outsider, marketing, private, head):
    with pytest.raises(ValidationFailed) as exc:
        services.plan_save(actor=member, task=shared, cadence="weekly", weekdays=[], channel="meeting")
    assert "weekdays" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.plan_save(actor=member, task=shared, cadence="daily", channel="fax")
    assert "channel" in exc.value.fields
    with pytest.raises(NotAllowed):
        services.plan_save(actor=outsider, task=shared, cadence="daily", channel="im")
    c = english_client(member)
    r = c.post(
        f"/tasks/{shared.pk}/communication-plan/",
        {"cadence": "custom", "channel": "im", "sync_time": "09:30"},
    )
    assert r.status_code == 422 and "Describe the cadence." in r.content.decode()
    r = c.post(
        f"/tasks/{shared.pk}/communication-plan/",
        {
            "cadence": "daily",
            "channel": "im",
            "sync_time": "09:30",
            f"contact-{marketing.pk}": str(outsider.pk),
        },
    )
    assert r.status_code == 302
    assert shared.communication_plan.contacts.get().contact == outsider


def test_the_weekly_review_notes_become_department_minutes(sales, head, member):
    from closeloop.insights.services import weekly_review_notes_save

    monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday())
    weekly_review_notes_save(actor=head, department=sales, week_start=monday, notes="下周重点:B客户签约")
    c = english_client(head)
    r = c.post("/weekly-review/minutes/", {"department": sales.pk, "week": monday.isoformat()})
    m = Minutes.objects.get()
    assert r.status_code == 302 and r["Location"] == m.get_absolute_url()
    assert m.department == sales and m.task is None and m.notes == "下周重点:B客户签约"
    # Someone outside the department cannot read them.
    from closeloop.testing.factories import UserFactory

    stranger = UserFactory(username="nobody", name="路人")
    c2 = english_client(stranger)
    assert c2.get(m.get_absolute_url()).status_code == 404


def test_the_minutes_list_runs_a_fixed_number_of_queries(client, shared, member, outsider):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    h = auth(member)
    client.get("/api/v1/minutes", **h)  # the token's first use records itself

    def count(n):
        for i in range(n):
            services.minutes_create(
                actor=member,
                task=shared,
                title=f"站会{i}",
                held_on=timezone.localdate(),
                attendees=[member, outsider],
                action_items=[services.ActionItemIn(title="跟进", owner=outsider, due_date=shared.due_date)],
            )
        with CaptureQueriesContext(connection) as q:
            assert client.get("/api/v1/minutes", **h).status_code == 200
        return len(q)

    assert count(1) == count(10)


@pytest.mark.django_db(transaction=True)
def test_sync_reminders_run_outside_a_transaction_as_the_worker_runs_them(
    shared, member, outsider, marketing, sales
):
    """The worker calls jobs without a transaction, and claiming a slot refuses to run outside
    one: the job must open its own (as the retrospective reminder learned at scale M)."""
    services.plan_save(
        actor=member,
        task=shared,
        cadence="daily",
        channel="meeting",
        sync_time=dt.time(10, 0),
        contacts=[(sales, member), (marketing, outsider)],
    )
    assert [jobs.send_sync_reminders(at(2026, 3, 6, 9, 50)) for _ in range(2)] == [1, 0]
    assert Notification.objects.filter(recipient=outsider, kind="collab.sync_reminder").count() == 1


def test_minutes_with_dates_that_are_no_dates_name_the_field_and_keep_nothing(shared, member):
    """2026-13-45 as the meeting's date or an action item's due date: the form comes back
    saying which date is not a date (and how to write one), and no minutes are kept."""
    from django.test import Client

    c = Client()
    c.force_login(member)  # Chinese, the default
    r = c.post(
        f"/tasks/{shared.pk}/minutes/new/",
        {
            "title": "站会",
            "held_on": "2026-13-45",
            "attendees": [member.pk],
            "ai-1-title": "联调接口",
            "ai-1-owner": str(member.pk),
            "ai-1-due": "2026-13-45",
        },
    )
    page = r.content.decode()
    assert r.status_code == 422 and Minutes.objects.count() == 0
    assert "日期：“2026-13-45”不是有效日期" in page
    assert "截止日期：“2026-13-45”不是有效日期" in page
