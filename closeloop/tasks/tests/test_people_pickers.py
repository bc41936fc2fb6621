"""People pickers on the pages that choose people — the task page (reassign, collaborator,
subtask), the intake and ad-hoc forms, the edit form, workload (reassign, hand over) and the
list's owner filter: with hundreds of active people each page lists only the chosen person and
a few suggestions, runs the same number of queries, and a person found by search (from another
department, not among the suggestions) goes through the form end to end."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from closeloop.tasks.models import Task, TaskCollaborator
from closeloop.testing.clients import english_client
from closeloop.testing.factories import UserFactory, add_member, add_people, make_task

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


web = english_client


@pytest.fixture
def zhang(marketing):
    """张三 of 市场部: outside every SALES page's suggestions, found only by search."""
    user = UserFactory(username="zhangsan", name="张三")
    add_member(user, marketing)
    return user


def _get(client, url):
    """The page, or for a panel the fragment htmx asks for when it opens."""
    return client.get(url, HTTP_HX_REQUEST="true") if "/people/forms/" in url else client.get(url)


def _queries(client, url) -> int:
    _get(client, url)  # warm the session and the work calendar
    with CaptureQueriesContext(connection) as ctx:
        response = _get(client, url)
    assert response.status_code == 200
    return len(ctx)


def _option_count(html: str) -> int:
    return html.count("<option")


def _found_by_search(client, q: str) -> str:
    """The ids a picker's search box gets back for `q`, as the browser would ask."""
    html = client.get(reverse("people_search"), {"q": q}, HTTP_HX_REQUEST="true").content.decode()
    return re.findall(r'<option value="(\d+)"', html)


PAGES = {
    # The task page's pickers load when their panel opens; `?open=` shows one with the page.
    "task page": lambda task, sales: reverse("tasks:detail", args=[task.pk]) + "?open=reassign",
    "task page, collaborator": lambda task, sales: (
        reverse("tasks:detail", args=[task.pk]) + "?open=collaborators"
    ),
    "reassign panel": lambda task, sales: reverse("tasks:people_form", args=[task.pk, "reassign"]),
    "intake form": lambda task, sales: reverse("tasks:create"),
    "ad-hoc form": lambda task, sales: reverse("tasks:adhoc"),
    "edit form": lambda task, sales: reverse("tasks:edit", args=[task.pk]),
    "workload": lambda task, sales: (
        reverse("tasks:workload") + f"?department={sales.pk}&person={task.owner_id}"
    ),
    "task list": lambda task, sales: reverse("tasks:list") + f"?owner={task.owner_id}",
}


@pytest.mark.parametrize("page", list(PAGES))
def test_a_page_with_hundreds_of_people_lists_only_the_chosen_and_a_few(
    page, task, head, member, sales, marketing
):
    client = web(head)
    url = PAGES[page](task, sales)
    add_people(marketing, 5, prefix="mkt")
    few = _queries(client, url)
    add_people(marketing, 300, prefix="crowd", name="群众")
    many = _queries(client, url)
    assert many == few, page
    html = _get(client, url).content.decode()
    assert "群众0150" not in html and "crowd0150" not in html
    # The owner shows, chosen, in the pickers that start from them.
    if page in ("task page", "reassign panel", "task list"):
        assert f'<option value="{member.pk}" selected>李专员 · sales_specialist</option>' in html
    assert _option_count(html) < 150, page


def test_suggestions_stop_at_thirty_people_of_the_department(task, head, member, sales):
    add_people(sales, 300, prefix="sales", name="销售")
    client = web(head)
    html = client.get(reverse("tasks:detail", args=[task.pk]), {"open": "reassign"}).content.decode()
    # The reassign picker: the empty choice, the owner, at most 30 suggestions.
    picker = html.split('id="reassign_owner"', 1)[1].split("</select>", 1)[0]
    assert _option_count(picker) <= 32
    assert "销售0000" in picker and "销售0299" not in html


def test_every_picker_on_the_task_page_searches_into_its_own_select(task, head):
    # The forms with pickers load when their panel opens; `?open=NAME` shows one with the page.
    found = []
    for name in ("subtask", "collaborators", "reassign"):
        html = web(head).get(reverse("tasks:detail", args=[task.pk]), {"open": name}).content.decode()
        targets = re.findall(r'hx-target="#([\w-]+)" hx-swap="innerHTML" hx-include', html)
        for target in targets:
            assert html.count(f'id="{target}"') == 1
        found += targets
    assert sorted(found) == ["collab_user", "reassign_owner", "subtask_collaborators", "subtask_owner"]


# -- a person found by search goes through -----------------------------------------------------


def test_the_head_reassigns_a_task_to_someone_of_another_department_found_by_search(
    task, head, member, zhang
):
    client = web(head)
    page = client.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    assert "张三" not in page  # not among the suggestions
    assert str(zhang.pk) in _found_by_search(client, "三")
    response = client.post(
        reverse("tasks:reassign", args=[task.pk]), {"owner": zhang.pk, "reason": "跨部门支援"}
    )
    assert response.status_code == 302
    assert Task.objects.get(pk=task.pk).owner == zhang
    assert "张三 now owns the task." in client.get(response["Location"]).content.decode()


def test_a_collaborator_and_a_subtask_owner_come_from_another_department(task, head, zhang, outsider):
    client = web(head)
    assert str(zhang.pk) in _found_by_search(client, "张")
    client.post(reverse("tasks:collaborator_add", args=[task.pk]), {"user": zhang.pk})
    assert TaskCollaborator.objects.filter(task=task, user=zhang).exists()
    response = client.post(
        reverse("tasks:subtask_add", args=[task.pk]),
        {
            "title": "活动页面设计",
            "owner": outsider.pk,
            "collaborators": [zhang.pk],
            "due_date": (TODAY + dt.timedelta(days=2)).isoformat(),
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    sub = Task.objects.get(parent=task)
    assert sub.owner == outsider
    assert TaskCollaborator.objects.filter(task=sub, user=zhang).exists()


def test_a_new_task_takes_an_owner_and_collaborators_found_by_search(member, sales, zhang, outsider):
    client = web(member)
    data = {
        "department": sales.pk,
        "title": "华东区客户回访",
        "goal": "回访华东区重点客户",
        "expected_outcome": "回访记录",
        "value": "提升续约率",
        "task_type": "project",
        "priority": "2",
        "owner": zhang.pk,
        "reviewer": "",
        "collaborators": [outsider.pk],
        "due_date": (TODAY + dt.timedelta(days=5)).isoformat(),
        "c_text": ["回访率 100%"],
    }
    # First with the title missing: the page comes back with the people found still chosen.
    again = client.post(reverse("tasks:create"), {**data, "title": ""})
    assert again.status_code == 422
    html = again.content.decode()
    assert f'<option value="{zhang.pk}" selected>张三 · zhangsan</option>' in html
    assert f'<option value="{outsider.pk}" selected>赵市场 · marketing_specialist</option>' in html
    response = client.post(reverse("tasks:create"), data)
    assert response.status_code == 302
    task = Task.objects.get(title="华东区客户回访")
    assert task.owner == zhang
    assert list(task.collaborators.all()) == [outsider]


def test_the_head_hands_over_to_someone_found_by_search(head, member, sales, zhang):
    make_task(actor=head, department=sales, owner=member, title="客户拜访")
    client = web(head)
    page = client.get(
        reverse("tasks:workload"), {"department": sales.pk, "person": member.pk}
    ).content.decode()
    assert "张三" not in page
    response = client.post(
        reverse("tasks:workload_handover"),
        {"department": sales.pk, "from_user": member.pk, "to_user": zhang.pk, "reason": "调岗"},
    )
    assert response.status_code == 302
    assert Task.objects.get(title="客户拜访").owner == zhang


def test_workload_offers_the_least_loaded_members_first(head, member, sales):
    busy = UserFactory(username="busy", name="忙人")
    idle = UserFactory(username="idle", name="闲人")
    for u in (busy, idle):
        add_member(u, sales)
    for i in range(3):
        make_task(actor=head, department=sales, owner=busy, title=f"忙{i}")
    task = make_task(actor=head, department=sales, owner=member, title="要转出的任务")
    html = (
        web(head)
        .get(reverse("tasks:workload"), {"department": sales.pk, "person": member.pk})
        .content.decode()
    )
    picker = html.split(f'id="ra-{task.pk}"', 1)[1].split("</select>", 1)[0]
    ids = re.findall(r'<option value="(\d+)"', picker)
    assert ids.index(str(idle.pk)) < ids.index(str(busy.pk))
    assert str(member.pk) not in ids  # not to themselves
    assert '<option value="">Choose a person</option>' in picker


def test_the_list_filters_by_an_owner_found_by_search(head, sales, marketing, zhang):
    make_task(actor=head, department=sales, owner=zhang, title="张三负责的任务")
    make_task(actor=head, department=sales, owner=head, title="王总的任务")
    client = web(head)
    html = client.get(reverse("tasks:list"), {"owner": zhang.pk}).content.decode()
    assert "张三负责的任务" in html and "王总的任务" not in html
    assert f'<option value="{zhang.pk}" selected>张三 · zhangsan</option>' in html
    # A person who is not there (or junk) filters nothing.
    html = client.get(reverse("tasks:list"), {"owner": "999999"}).content.decode()
    assert "张三负责的任务" in html and "王总的任务" in html


def _normalized(html: str) -> str:
    html = re.sub(r'(csrfmiddlewaretoken" value=")[^"]+', r"\1X", html)
    return re.sub(r"\s+", " ", html).strip()


def test_the_task_pages_pickers_load_when_opened_and_without_javascript_by_link(task, head, member):
    client = web(head)
    page = client.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    # Closed: no picker, a slot htmx fills when the panel opens, a link for a browser without JS.
    assert 'id="reassign_owner"' not in page and 'id="collab_user"' not in page
    for name in ("collaborators", "reassign"):
        form_url = reverse("tasks:people_form", args=[task.pk, name])
        assert f'hx-get="{form_url}"' in page
        assert f'href="/tasks/{task.pk}/?open={name}#people"' in page
        fragment = client.get(form_url, HTTP_HX_REQUEST="true")
        assert fragment.status_code == 200
        opened = client.get(reverse("tasks:detail", args=[task.pk]), {"open": name}).content.decode()
        # The form the panel loads is the one the page shows open, byte for byte.
        assert _normalized(fragment.content.decode()) in _normalized(opened)
        assert re.search(r"<details open>\s*<summary>", opened)
        plain = client.get(form_url)
        assert plain.status_code == 302 and plain["Location"].endswith(f"?open={name}#people")
    # The owner may neither reassign nor open the panel by address; `?open=` shows nothing then.
    owner = web(member)
    assert owner.get(reverse("tasks:people_form", args=[task.pk, "reassign"])).status_code == 403
    page = owner.get(reverse("tasks:detail", args=[task.pk]), {"open": "reassign"}).content.decode()
    assert 'id="reassign_owner"' not in page
    assert client.get(reverse("tasks:people_form", args=[task.pk, "nobody"])).status_code == 404


def test_a_refused_reassignment_shows_the_picker_again_open_with_the_choice(task, head, member):
    client = web(head)
    response = client.post(reverse("tasks:reassign", args=[task.pk]), {"owner": "", "reason": "休假"})
    html = response.content.decode()
    assert response.status_code in (400, 409, 422)
    assert 'id="reassign_owner"' in html and re.search(r"<details open>\s*<summary>", html)
    assert "休假" in html


def test_reloading_a_refused_people_form_goes_back_to_the_task_page(task, head, outsider):
    """A refused reassign is rendered at its POST address; reloading it (a GET) showed a bare
    405 page. It goes back to the task's people panel; someone who may not see the task still
    gets the task page's 404, and nothing changes."""
    client = web(head)
    refused = client.post(reverse("tasks:reassign", args=[task.pk]), {"owner": ""})
    assert refused.status_code == 400
    for name in ("tasks:reassign", "tasks:collaborator_add"):
        response = client.get(reverse(name, args=[task.pk]))
        assert response.status_code == 302
        assert response["Location"] == reverse("tasks:detail", args=[task.pk]) + "#people"
        assert client.get(response["Location"]).status_code == 200
        assert web(outsider).get(reverse(name, args=[task.pk]), follow=True).status_code == 404
    assert Task.objects.get(pk=task.pk).owner_id == task.owner_id
    assert client.put(reverse("tasks:reassign", args=[task.pk])).status_code == 405
