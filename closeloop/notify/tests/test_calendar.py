"""The calendar feed, read back by an independent RFC 5545 line parser written here."""

import datetime as dt

from django.urls import reverse

from closeloop.tasks.calendar_feed import calendar_token_get
from closeloop.tasks.services import task_cancel
from closeloop.testing.factories import make_task


def parse_ics(raw: bytes):
    """A minimal RFC 5545 reader: checks CRLF and the 75-octet limit, unfolds, and returns
    the components as lists of (name, params, value)."""
    assert raw.endswith(b"\r\n")
    physical = raw.split(b"\r\n")[:-1]
    for line in physical:
        assert b"\n" not in line and b"\r" not in line
        assert len(line) <= 75, line
    logical: list[bytes] = []
    for line in physical:
        if line[:1] in (b" ", b"\t"):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    stack: list[dict] = []
    done = []
    for line in logical:
        text = line.decode("utf-8")
        head, _, value = text.partition(":")
        name, *params = head.split(";")
        if name == "BEGIN":
            stack.append({"type": value, "props": []})
        elif name == "END":
            comp = stack.pop()
            assert comp["type"] == value
            done.append(comp)
        else:
            stack[-1]["props"].append((name, dict(p.split("=", 1) for p in params), value))
    assert not stack
    return done


def prop(comp, name):
    return [p for p in comp["props"] if p[0] == name]


def test_it_serves_my_due_tasks_as_all_day_events(client, head, member, sales, outsider):
    due = dt.date(2026, 12, 3)
    task = make_task(
        actor=head,
        department=sales,
        owner=member,
        due=due,
        title="老用户召回活动：一个很长的标题，用来检查按七十五个八位字节折行是否正确处理多字节的中文字符",
    )
    cancelled = make_task(actor=head, department=sales, owner=member, title="取消的任务")
    task_cancel(actor=head, task=cancelled, reason="不做了")
    make_task(actor=head, department=sales, owner=head, title="别人的任务")
    token = calendar_token_get(user=member)
    response = client.get(f"/calendar/{token.token}.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    comps = parse_ics(response.content)
    (cal,) = [c for c in comps if c["type"] == "VCALENDAR"]
    assert prop(cal, "VERSION")[0][2] == "2.0" and prop(cal, "PRODID")
    (event,) = [c for c in comps if c["type"] == "VEVENT"]
    assert prop(event, "DTSTART")[0][1:] == ({"VALUE": "DATE"}, "20261203")
    assert prop(event, "DTEND")[0][1:] == ({"VALUE": "DATE"}, "20261204")
    summary = prop(event, "SUMMARY")[0][2]
    assert task.full_code in summary and "七十五个八位字节" in summary
    assert prop(event, "DTSTAMP")
    uid = prop(event, "UID")[0][2]
    assert uid == f"task-{task.pk}@closeloop.example.com"
    again = [
        c for c in parse_ics(client.get(f"/calendar/{token.token}.ics").content) if c["type"] == "VEVENT"
    ]
    assert prop(again[0], "UID")[0][2] == uid  # stable across fetches


def test_it_refuses_unknown_reset_and_departed_tokens(client, member, task):
    token = calendar_token_get(user=member)
    old = token.token
    assert client.get("/calendar/not-a-token.ics").status_code == 404
    client.force_login(member)
    page = client.get(reverse("calendar:subscribe")).content.decode()
    assert old in page
    client.post(reverse("calendar:reset"))
    assert client.get(f"/calendar/{old}.ics").status_code == 404
    new = calendar_token_get(user=member).token
    assert new != old and client.get(f"/calendar/{new}.ics").status_code == 200
    member.is_active = False
    member.save()
    assert client.get(f"/calendar/{new}.ics").status_code == 404


def test_it_drops_the_token_with_the_account(db):
    from closeloop.tasks.models import CalendarToken
    from closeloop.testing.factories import UserFactory

    person = UserFactory()
    token = calendar_token_get(user=person).token
    person.delete()
    assert not CalendarToken.objects.filter(token=token).exists()


def test_it_adds_the_milestones_of_my_open_tasks(client, head, member, sales, outsider):
    from closeloop.tasks.models import Milestone

    task = make_task(
        actor=head, department=sales, owner=member, due=dt.date(2026, 12, 20), title="老用户召回活动"
    )
    Milestone.objects.create(task=task, title="用户画像分析完成", date=dt.date(2026, 12, 10))
    reached = Milestone.objects.create(task=task, title="已达成的里程碑", date=dt.date(2026, 12, 1))
    Milestone.objects.filter(pk=reached.pk).update(reached_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    others = make_task(actor=head, department=sales, owner=head, title="别人的任务")
    Milestone.objects.create(task=others, title="别人的里程碑", date=dt.date(2026, 12, 11))
    token = calendar_token_get(user=member)
    events = [
        c for c in parse_ics(client.get(f"/calendar/{token.token}.ics").content) if c["type"] == "VEVENT"
    ]
    milestones = [e for e in events if prop(e, "UID")[0][2].startswith("milestone-")]
    assert len(milestones) == 1
    (m,) = milestones
    assert "用户画像分析完成" in prop(m, "SUMMARY")[0][2] and task.full_code in prop(m, "SUMMARY")[0][2]
    assert prop(m, "DTSTART")[0][1:] == ({"VALUE": "DATE"}, "20261210")
    assert prop(m, "DTEND")[0][1:] == ({"VALUE": "DATE"}, "20261211")
