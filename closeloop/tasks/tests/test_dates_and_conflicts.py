"""What a person reads when a date is no date (2026-13-45) and when the task moved since they
read it: the date message names the field, the value and the format wherever a date is typed
(forms, the list's `?due=`, the API, the template's start); the conflict message blames
nobody, since the other change is often the person's own in another tab."""

import json
import re

import pytest
from django.test import Client

from closeloop.orgs.models import User
from closeloop.tasks.models import Task
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task

pytestmark = pytest.mark.django_db

BAD = "2026-13-45"
ELSEWHERE = "This task was changed elsewhere (perhaps by you in another window)"
ELSEWHERE_ZH = "此任务已在别处被修改（可能是你在另一个窗口的操作）"


def chinese_client(user) -> Client:
    """As `english_client`, in Chinese (the person's saved language wins over the header)."""
    User.objects.filter(pk=user.pk).update(language="zh-hans")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def _edit_data(task, **changes) -> dict:
    data = {
        "title": task.title,
        "goal": "提升活跃度",
        "expected_outcome": "召回 500 名老用户",
        "value": "提升复购",
        "task_type": task.task_type,
        "priority": str(task.priority),
        "reviewer": "",
        "start_date": "",
        "due_date": task.due_date.isoformat(),
        "project": "",
        "customer": "",
        "notes": "",
        "version": task.version,
        "c_text": ["数据准确率达标"],
    }
    data.update(changes)
    return data


# -- a date that is no date ---------------------------------------------------------------------


def test_the_edit_form_says_which_date_is_not_a_date_and_how_to_write_it(task, head):
    # The head: the owner's form has no due date to type (it moves through a delay warning).
    response = english_client(head).post(
        f"/tasks/{task.pk}/edit/", _edit_data(task, due_date=BAD, start_date="2026-02-30")
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert f"Due date: “{BAD}” is not a valid date; write it as YYYY-MM-DD." in body
    assert "Start date: “2026-02-30” is not a valid date; write it as YYYY-MM-DD." in body
    assert "is not one of its values" not in body
    zh = chinese_client(head).post(f"/tasks/{task.pk}/edit/", _edit_data(task, due_date=BAD))
    assert f"截止日期：“{BAD}”不是有效日期，请按 YYYY-MM-DD 填写。" in zh.content.decode()
    assert Task.objects.get(pk=task.pk).due_date == task.due_date


def test_the_lists_due_filter_says_the_date_is_not_a_date_and_lists_without_it(task, head):
    body = english_client(head).get("/tasks/", {"due": BAD}).content.decode()
    assert f"Due on: “{BAD}” is not a valid date; write it as YYYY-MM-DD. This filter is ignored." in body
    assert task.title in body
    zh = chinese_client(head).get("/tasks/", {"due": BAD}).content.decode()
    assert f"截止日：“{BAD}”不是有效日期，请按 YYYY-MM-DD 填写。此筛选条件已忽略。" in zh
    assert "不是可选的值" not in zh
    # A date out of 1900–2100 is named too, and the list shown without it (it was an empty list).
    far = english_client(head).get("/tasks/", {"due": "0001-01-01"}).content.decode()
    assert "Due on: Give a date between 1900 and 2100. This filter is ignored." in far and task.title in far
    # A value that is no choice keeps its own message.
    zh = chinese_client(head).get("/tasks/", {"priority": "9"}).content.decode()
    assert "优先级：“9”不是可选的值，此筛选条件已忽略。" in zh


def test_the_api_names_the_date_field_and_the_format(task, head, sales):
    client = english_client(head)
    r = client.patch(
        f"/api/v1/tasks/{task.pk}",
        json.dumps({"due_date": BAD, "version": task.version}),
        content_type="application/json",
    )
    assert r.status_code == 422
    assert r.json()["fields"] == {"due_date": ["Not a valid date; write it as YYYY-MM-DD."]}
    assert r.json()["message"] == "due_date: Not a valid date; write it as YYYY-MM-DD."
    r = chinese_client(head).post(
        "/api/v1/tasks",
        json.dumps({"department": "SALES", "title": "周报", "due_date": "2026-12-18", "start_date": BAD}),
        content_type="application/json",
    )
    assert r.status_code == 422
    assert r.json()["fields"]["start_date"] == ["不是有效日期，请按 YYYY-MM-DD 填写。"]


def test_applying_a_template_from_a_start_that_is_no_date_says_so_and_adds_nothing(task, head):
    from closeloop.planning.services import decomposition as decomposition_services
    from closeloop.planning.services import templates as template_services

    decomposition_services.subtask_add(
        actor=head, parent=task, title="调研", owner=head, due_date=task.due_date
    )
    template = template_services.template_save(actor=head, task=task, name="活动方案")
    other = make_task(actor=head, department=task.department, owner=head, title="二季度活动")
    response = english_client(head).post(
        f"/tasks/{other.pk}/template/apply/", {"template": template.pk, "start": BAD}
    )
    assert response.status_code == 422
    assert f"Starting: “{BAD}” is not a valid date; write it as YYYY-MM-DD." in response.content.decode()
    assert not Task.objects.filter(parent=other).exists()


# -- the task moved since it was read -----------------------------------------------------------


def test_saving_a_stale_edit_blames_nobody_keeps_the_typing_and_names_what_changed(task, head, member):
    """Two windows on one task: the second save is refused without blaming anyone, names the
    field the other window changed with its value now, keeps what was typed — and saving that
    again (knowingly, against the version now) is taken."""
    client = english_client(member)
    first = _edit_data(task, notes="第一个窗口", title="老用户召回活动（第二期）")
    assert client.post(f"/tasks/{task.pk}/edit/", first).status_code == 302
    stale = client.post(f"/tasks/{task.pk}/edit/", _edit_data(task, notes="第二个窗口"))
    assert stale.status_code == 409
    body = stale.content.decode()
    assert ELSEWHERE in body and "Someone else" not in body
    assert "Title (now 老用户召回活动（第二期）)" in body and "Notes" in body
    # The owner cannot change the due date: it keeps the task's, no error on it, nothing to compare.
    assert "Due date (now" not in body and "This field is required." not in body
    assert "第二个窗口" in body  # the typing is kept
    assert Task.objects.get(pk=task.pk).notes == "第一个窗口"
    zh = chinese_client(member).post(f"/tasks/{task.pk}/edit/", _edit_data(task, notes="第三个窗口"))
    assert (
        zh.status_code == 409
        and ELSEWHERE_ZH in zh.content.decode()
        and "被他人修改" not in zh.content.decode()
    )
    assert "任务名称（现为 老用户召回活动（第二期））" in zh.content.decode()
    # The form came back against the version now: sending it again is a choice, and is taken.
    version = re.search(r'name="version" value="(\d+)"', body)[1]
    again = client.post(f"/tasks/{task.pk}/edit/", _edit_data(task, notes="第二个窗口", version=version))
    assert again.status_code == 302 and Task.objects.get(pk=task.pk).notes == "第二个窗口"


def test_a_stale_status_change_on_the_page_blames_nobody(task, member):
    response = english_client(member).post(
        f"/tasks/{task.pk}/transition/", {"to": "in_progress", "version": task.version + 5}
    )
    assert response.status_code == 409 and ELSEWHERE in response.content.decode()


def test_the_api_conflict_blames_nobody_and_gives_both_versions(task, member):
    client = english_client(member)
    ok = client.patch(
        f"/api/v1/tasks/{task.pk}",
        json.dumps({"notes": "a", "version": task.version}),
        content_type="application/json",
    )
    assert ok.status_code == 200
    r = client.patch(
        f"/api/v1/tasks/{task.pk}",
        json.dumps({"notes": "b", "version": task.version}),
        content_type="application/json",
    )
    assert r.status_code == 409 and r.json()["code"] == "version_conflict"
    # The message is for people (the board shows it); the versions are for the client.
    assert r.json()["message"] == f"{ELSEWHERE}; reload it and try again."
    assert r.json()["fields"]["version"] == [
        f"The task is at version {task.version + 1}; you sent {task.version}."
    ]
    zh = chinese_client(member).patch(
        f"/api/v1/tasks/{task.pk}",
        json.dumps({"notes": "c", "version": task.version}),
        content_type="application/json",
    )
    assert zh.json()["message"].startswith(ELSEWHERE_ZH) and "他人" not in zh.json()["message"]


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        (BAD, f"Date: “{BAD}” is not a valid date; write it as YYYY-MM-DD."),
        ("0001-01-01", "The date must be between 2000-01-01 and 2100-12-31."),
    ],
)
def test_a_milestone_date_that_is_no_date_is_named_in_the_message_and_nothing_added(task, head, typed, said):
    """The message above the form said "give the milestone a date" for a date that was typed;
    it now says what the field says, with the field's name. A date out of range is the
    service's to refuse (the calendar's years: `milestone_date_errors`), naming the date."""
    from closeloop.tasks.models import Milestone

    response = english_client(head).post(
        f"/tasks/{task.pk}/milestones/", {"title": "阶段评审", "date": typed}
    )
    body = response.content.decode()
    assert response.status_code == 422 and said in body and "A milestone needs a date." not in body
    assert not Milestone.objects.exists()
