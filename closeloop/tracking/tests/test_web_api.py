import datetime as dt

import pytest
from django.utils import timezone

from closeloop.orgs.services import api_token_create
from closeloop.tasks.models import Priority, Task
from closeloop.tasks.services import task_transition
from closeloop.testing.factories import make_task
from closeloop.tracking.models import DelayWarning, ProgressUpdate
from closeloop.tracking.selectors import my_owed

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(head, member, sales):
    today = timezone.localdate()
    out = []
    for i in range(2):
        t = make_task(
            actor=head,
            department=sales,
            owner=member,
            title=f"今日任务{i}",
            priority=Priority.HIGH,
            start_date=today - dt.timedelta(days=3),
            due=today + dt.timedelta(days=10),
        )
        out.append(task_transition(actor=member, task=t, to="in_progress"))
    return out


def auth(user):
    _t, raw = api_token_create(actor=user, name="t")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_ACCEPT_LANGUAGE": "en"}


def test_it_saves_every_row_of_the_today_form_at_once(client, member, live):
    client.force_login(member)
    page = client.get("/updates/today/")
    assert page.status_code == 200 and "今日任务0" in page.content.decode()
    data = {"task": [t.pk for t in live]}
    for t, pct in zip(live, (20, 30), strict=True):
        data.update(
            {
                f"t{t.pk}-include": "1",
                f"t{t.pk}-percent": str(pct),
                f"t{t.pk}-state": "in_progress",
                f"t{t.pk}-note": "ok",
            }
        )
    assert client.post("/updates/today/", data).status_code == 302
    assert sorted(Task.objects.filter(pk__in=[t.pk for t in live]).values_list("progress", flat=True)) == [
        20,
        30,
    ]


def test_the_today_form_keeps_a_bad_row_and_says_why(client, member, live):
    member.language = "en"  # the person's saved language wins over the browser's
    member.save(update_fields=["language"])
    client.force_login(member)
    a, b = live
    data = {
        "task": [a.pk, b.pk],
        f"t{a.pk}-include": "1",
        f"t{a.pk}-percent": "150",
        f"t{a.pk}-state": "in_progress",
        f"t{b.pk}-include": "1",
        f"t{b.pk}-percent": "40",
        f"t{b.pk}-state": "blocked",
        f"t{b.pk}-blocker": "",
    }
    r = client.post("/updates/today/", data)
    assert r.status_code == 422
    body = r.content.decode()
    assert "0 to 100" in body and "waiting on" in body
    assert not ProgressUpdate.objects.exists()


def test_the_api_posts_and_lists_updates_and_hides_them_from_an_outsider(client, member, outsider, live):
    t = live[0]
    r = client.post(
        f"/api/v1/tasks/{t.pk}/updates",
        {"percent": 40, "note": "进展"},
        content_type="application/json",
        **auth(member),
    )
    assert r.status_code == 201 and r.json()["percent"] == 40
    assert client.get(f"/api/v1/tasks/{t.pk}/updates", **auth(member)).json()[0]["percent"] == 40
    assert client.get(f"/api/v1/tasks/{t.pk}/updates", **auth(outsider)).status_code == 404
    r = client.post(
        f"/api/v1/tasks/{t.pk}/updates", {"percent": 101}, content_type="application/json", **auth(member)
    )
    assert r.status_code == 422


def test_the_api_raises_and_decides_a_warning(client, head, member, outsider, live):
    t = live[0]
    new = (t.due_date + dt.timedelta(days=5)).isoformat()
    r = client.post(
        f"/api/v1/tasks/{t.pk}/delay-warnings",
        {"reason": "dependency", "explanation": "等接口", "new_due_date": new},
        content_type="application/json",
        **auth(member),
    )
    assert r.status_code == 201 and r.json()["on_time"] is True
    wid = r.json()["id"]
    assert (
        client.post(
            f"/api/v1/delay-warnings/{wid}/decision",
            {"approve": True},
            content_type="application/json",
            **auth(member),
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/delay-warnings/{wid}/decision",
            {"approve": True},
            content_type="application/json",
            **auth(outsider),
        ).status_code
        == 404
    )
    r = client.post(
        f"/api/v1/delay-warnings/{wid}/decision",
        {"approve": True},
        content_type="application/json",
        **auth(head),
    )
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert Task.objects.get(pk=t.pk).due_date.isoformat() == new
    assert (
        client.get(f"/api/v1/tasks/{t.pk}/delay-warnings", **auth(member)).json()[0]["status"] == "approved"
    )


def test_the_head_decides_on_the_web_and_the_panel_shows_the_history(client, head, member, live):

    t = live[0]
    client.force_login(member)
    r = client.post(
        f"/tasks/{t.pk}/delay-warnings/new/",
        {
            "reason": "resources",
            "explanation": "人手",
            "new_due_date": (t.due_date + dt.timedelta(days=3)).isoformat(),
        },
    )
    assert r.status_code == 302
    w = DelayWarning.objects.get()
    client.force_login(head)
    assert (
        client.post(f"/delay-warnings/{w.pk}/", {"decision": "reject", "comment": "不行"}).status_code == 302
    )
    # The owner sees the warning history on the task page, in the tracking panel.
    client.force_login(member)
    html = client.get(f"/tasks/{t.pk}/").content.decode()
    assert "Rejected" in html or "已拒绝" in html or "rejected" in html.lower()
    assert "不行" in html


def test_the_today_form_lists_what_owes_and_twenty_others_then_offers_the_rest(
    client, head, member, sales, live
):
    """Someone who owns many open tasks gets the ones that owe an update today and the first
    20 others (by priority, then due date), and is told how many more there are with a link to
    all of them — not one form row per open task (a head's ~800)."""
    today = timezone.localdate()
    for i in range(23):
        make_task(
            actor=head,
            department=sales,
            owner=member,
            title=f"未开始任务{i:02d}",
            priority=Priority.LOW,
            due=today + dt.timedelta(days=20 + i),
        )
    client.force_login(member)  # Chinese, the default
    page = client.get("/updates/today/").content.decode()
    rows = page.count('<li class="update-row')
    assert "今日任务0" in page and "今日任务1" in page  # under way, high priority: first
    owed = len(my_owed(member))  # the two under way on a working day, none on a day off
    assert rows == owed + 20
    assert "未开始任务00" in page and "未开始任务22" not in page  # soonest due first
    assert f"另有 {25 - rows} 项未完成的任务今天无需更新，未列出。" in page
    everything = client.get("/updates/today/", {"all": "1"}).content.decode()
    assert everything.count('<li class="update-row') == 25 and "未列出" not in everything


def test_fixing_the_bad_rows_and_sending_again_posts_each_update_once(client, member, live):
    """A row that saved while another failed comes back unticked with today's update, so
    sending the form again after the fix does not post it (nor log it) a second time; the same
    update sent twice (a retried request) changes nothing."""
    from closeloop.tasks.models import TaskEvent

    client.force_login(member)
    a, b = live
    row = {
        f"t{a.pk}-include": "1",
        f"t{a.pk}-percent": "55",
        f"t{a.pk}-state": "in_progress",
        f"t{a.pk}-note": "已汇总",
    }
    bad = {f"t{b.pk}-include": "1", f"t{b.pk}-percent": "150", f"t{b.pk}-state": "in_progress"}
    r = client.post("/updates/today/", {"task": [a.pk, b.pk], **row, **bad})
    page = r.content.decode()
    assert r.status_code == 422 and ProgressUpdate.objects.filter(task=a).count() == 1
    assert f'name="t{a.pk}-include" value="1" data-row-tick checked' not in page  # saved: unticked
    assert f'name="t{b.pk}-include" value="1" data-row-tick checked' in page  # failed: kept as typed
    fixed = {**bad, f"t{b.pk}-percent": "60"}
    # The form as the page now stands: only the fixed row ticked.
    assert client.post("/updates/today/", {"task": [a.pk, b.pk], **fixed}).status_code == 302
    # And a request sent twice (the whole first form again, its row now the same as saved).
    assert client.post("/updates/today/", {"task": [a.pk], **row}).status_code == 302
    logged = TaskEvent.objects.filter(verb="progress_update")
    assert logged.filter(task=a).count() == 1 and logged.filter(task=b).count() == 1
    assert Task.objects.get(pk=a.pk).progress == 55 and Task.objects.get(pk=b.pk).progress == 60


def test_a_task_with_subtasks_takes_a_note_without_a_percent(client, head, member, sales, live):
    """Its progress rolls up from the subtasks: the form has no percent to fill (it showed the
    rolled-up figure and refused every save for carrying it), and a note alone saves."""
    parent = live[0]
    make_task(actor=head, department=sales, owner=member, title="子任务", parent=parent, criteria=[])
    client.force_login(member)
    page = client.get(f"/tasks/{parent.pk}/updates/").content.decode()
    assert 'name="percent"' not in page and "由子任务汇总" in page
    r = client.post(f"/tasks/{parent.pk}/updates/", {"state": "in_progress", "note": "等待子任务", "day": ""})
    assert r.status_code == 302
    assert ProgressUpdate.objects.get(task=parent).note == "等待子任务"
