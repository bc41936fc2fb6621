"""An update on a task not started starts it (services.update_post): the today form and the
task's update form say so on that task, in the person's language, so ticking a row never
starts a task unseen; tasks under way carry no such note."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from closeloop.tasks.models import Priority, Task
from closeloop.tasks.services import task_transition
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task

pytestmark = pytest.mark.django_db
NOTE_ZH = "尚未开始：提交后任务将开始。"


@pytest.fixture
def two(head, member, sales):
    today = timezone.localdate()
    tasks = [
        make_task(
            actor=head,
            department=sales,
            owner=member,
            title=title,
            priority=Priority.HIGH,
            start_date=today - dt.timedelta(days=3),
            due=today + dt.timedelta(days=10),
        )
        for title in ("还没开始的任务", "进行中的任务")
    ]
    tasks[1] = task_transition(actor=member, task=tasks[1], to="in_progress")
    return tasks


def _row(page: str, pk: int) -> str:
    m = re.search(rf'<li class="update-row[^"]*" id="row-{pk}"[^>]*>(.*?)</li>', page, re.S)
    assert m, pk
    return m[1]


def test_the_today_form_says_on_a_not_started_row_that_saving_starts_it(client, member, two):
    not_started, started = two
    client.force_login(member)  # Chinese, the default
    page = client.get("/updates/today/").content.decode()
    row = _row(page, not_started.pk)
    assert NOTE_ZH in row
    # The state menu points at the note, read out with it.
    assert f'aria-describedby="starts-{not_started.pk}"' in row and f'id="starts-{not_started.pk}"' in row
    assert NOTE_ZH not in _row(page, started.pk)
    # The rule stays: ticking the row and saving starts the task.
    data = {
        "task": [not_started.pk],
        f"t{not_started.pk}-include": "1",
        f"t{not_started.pk}-percent": "10",
        f"t{not_started.pk}-state": "in_progress",
        f"t{not_started.pk}-note": "开始准备",
    }
    assert client.post("/updates/today/", data).status_code == 302
    assert Task.objects.get(pk=not_started.pk).status == "in_progress"
    page = client.get("/updates/today/").content.decode()
    assert NOTE_ZH not in page


def test_the_tasks_update_form_says_it_too_in_english(member, two):
    not_started, started = two
    client = english_client(member)
    page = client.get(f"/tasks/{not_started.pk}/updates/").content.decode()
    assert "Not started yet: saving this update starts the task." in page
    assert "Not started yet" not in client.get(f"/tasks/{started.pk}/updates/").content.decode()
    assert "Not started yet: saving" in _row(client.get("/updates/today/").content.decode(), not_started.pk)


def test_an_update_saying_under_way_starts_the_task_at_0_percent_too(client, member, two):
    """The row promises it: 0 % and 进行中 with no note starts the task as any other update
    (it stored "0 % · 进行中" and left the task 未开始)."""
    not_started, _started = two
    client.force_login(member)
    data = {
        "task": [not_started.pk],
        f"t{not_started.pk}-include": "1",
        f"t{not_started.pk}-percent": "0",
        f"t{not_started.pk}-state": "in_progress",
    }
    assert client.post("/updates/today/", data).status_code == 302
    assert Task.objects.get(pk=not_started.pk).status == "in_progress"


def test_a_failed_save_keeps_a_row_the_person_unticked_unticked_and_says_nothing_was_saved(
    client, member, two
):
    """An owed row is ticked on the first visit; unticked and sent with a row that fails, it
    came back ticked (and the next save posted it unasked). With no row saved the page says
    so above the rows."""
    not_started, started = two
    client.force_login(member)
    first = client.get("/updates/today/").content.decode()
    assert "data-row-tick checked" in _row(first, started.pk), "owed: ticked on the first visit"
    data = {
        "task": [not_started.pk, started.pk],
        f"t{not_started.pk}-include": "1",
        f"t{not_started.pk}-percent": "30",
        f"t{not_started.pk}-state": "blocked",  # blocked with no blocker: refused
        f"t{started.pk}-percent": "71",
        f"t{started.pk}-state": "in_progress",
    }
    page = client.post("/updates/today/", data).content.decode()
    assert "data-row-tick checked" not in _row(page, started.pk)
    assert "data-row-tick checked" in _row(page, not_started.pk)
    assert "未保存任何更新：请修改下方标出的行。" in page
    assert not started.progress_updates.exists(), "the unticked row was not posted"


@pytest.mark.browser
def test_typing_into_a_row_ticks_it_so_what_was_typed_is_saved(browser, live_server, transactional_db):
    """On a phone the tick box is easy to miss: typing into an unticked row ticks it, and
    saving posts what was typed ("已保存 0 条" and the typing gone, before)."""
    from closeloop.orgs.models import Membership
    from closeloop.testing.browser import PASSWORD, PHONE, sign_in
    from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member

    sales = DepartmentFactory(code="SALES", name="销售部")
    head = UserFactory(username="sales_head", password=PASSWORD)
    add_member(head, sales, Membership.Role.MANAGER)
    member = UserFactory(username="sales_specialist", password=PASSWORD)
    add_member(member, sales, Membership.Role.SPECIALIST)
    today = timezone.localdate()
    task = make_task(
        actor=head,
        department=sales,
        owner=member,
        title="低优先级的任务",
        priority=Priority.LOW,  # owes no update today: its row starts unticked
        start_date=today,
        due=today + dt.timedelta(days=10),
    )
    task = task_transition(actor=member, task=task, to="in_progress")
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server.url, "sales_specialist")
    page.goto(live_server.url + "/updates/today/?all=1")
    box = page.locator(f'input[name="t{task.pk}-include"]')
    assert not box.is_checked()
    page.fill(f'input[name="t{task.pk}-percent"]', "30")
    page.fill(f'textarea[name="t{task.pk}-note"]', "完成了初稿")
    assert box.is_checked()
    page.click("form[data-tick-on-edit] button[type=submit]")
    page.wait_for_load_state()
    assert Task.objects.get(pk=task.pk).progress == 30
    assert task.progress_updates.get().note == "完成了初稿"
    context.close()
