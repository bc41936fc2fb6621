"""Need-to-know around subtasks (issue 11, item 1; docs/architecture.md): someone who sees a
task only because they own a subtask under it sees, on the parent, their own subtasks and those
linked to theirs by a dependency; the others only as a count — on the page, in the API, and in
lists, board, timeline and search. Templates, the department's shared things, are its members'."""

import pytest
from django.test import Client

from closeloop.orgs.services import api_token_create
from closeloop.tasks.models import DecompositionTemplate
from closeloop.testing.clients import english_client
from closeloop.testing.world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def _api(user):
    _token, raw = api_token_create(actor=user, name="t")
    return Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_a_subtask_owner_from_outside_sees_theirs_and_the_linked_sibling_not_the_others(world):
    on = world.things["on"]
    mine, linked, hidden = world.extra["mine"], on.subtask, world.extra["hidden_sibling"]
    page = english_client(world.people["subtask_owner"]).get(f"/tasks/{on.task.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert mine.title in html and linked.title in html
    assert hidden.title not in html and f"/tasks/{hidden.pk}/" not in html
    assert "more subtasks of other people, not shown to you" in html

    body = _api(world.people["subtask_owner"]).get(f"/api/v1/tasks/{on.task.pk}").json()
    titles = {s["title"] for s in body["subtasks"]}
    assert mine.title in titles and linked.title in titles and hidden.title not in titles
    assert body["hidden_subtasks"] >= 2  # the hidden sibling and the second step
    plan = _api(world.people["subtask_owner"]).get(f"/api/v1/tasks/{on.task.pk}/subtasks").json()
    assert hidden.title not in {s["title"] for s in plan["subtasks"]}
    assert plan["hidden_subtasks"] == body["hidden_subtasks"]


def test_the_linked_sibling_opens_and_the_others_answer_404(world):
    on = world.things["on"]
    client = english_client(world.people["subtask_owner"])
    assert client.get(f"/tasks/{on.subtask.pk}/").status_code == 200
    assert client.get(f"/tasks/{world.extra['hidden_sibling'].pk}/").status_code == 404
    api = _api(world.people["subtask_owner"])
    assert api.get(f"/api/v1/tasks/{world.extra['hidden_sibling'].pk}").status_code == 404


@pytest.mark.parametrize("url", ["/tasks/?q={q}", "/board/", "/timeline/?task={root}", "/calendar/"])
def test_lists_board_timeline_and_search_leave_the_hidden_sibling_out(world, url):
    on = world.things["on"]
    hidden = world.extra["hidden_sibling"]
    client = english_client(world.people["subtask_owner"])
    response = client.get(url.format(q=hidden.title, root=on.task.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/tasks/{hidden.pk}/"' not in html
    if "timeline" in url:  # the tree of the parent, with their own subtask in it
        assert f'href="/tasks/{world.extra["mine"].pk}/"' in html


def test_the_api_list_leaves_the_hidden_sibling_out(world):
    hidden = world.extra["hidden_sibling"]
    items = _api(world.people["subtask_owner"]).get("/api/v1/tasks", {"limit": 200}).json()["items"]
    assert hidden.pk not in {t["id"] for t in items}


def test_members_and_collaborators_still_see_every_subtask(world):
    on = world.things["on"]
    for role in ("specialist", "collaborator"):
        body = _api(world.people[role]).get(f"/api/v1/tasks/{on.task.pk}").json()
        assert body["hidden_subtasks"] == 0
        assert world.extra["hidden_sibling"].title in {s["title"] for s in body["subtasks"]}


def test_an_outsider_cannot_overwrite_the_departments_template_through_their_subtask(world):
    template = DecompositionTemplate.objects.get(department=world.departments["sales"], name="标准流程")
    items = template.items
    client = english_client(world.people["subtask_owner"])
    response = client.post(
        f"/tasks/{world.extra['mine'].pk}/template/save/", {"name": "标准流程"}, follow=True
    )
    assert "Only members of the department can save templates." in response.content.decode()
    template.refresh_from_db()
    assert template.items == items and template.created_by_id != world.people["subtask_owner"].pk


def test_an_outsider_is_not_offered_the_departments_templates(world):
    html = (
        english_client(world.people["subtask_owner"])
        .get(f"/tasks/{world.extra['mine'].pk}/")
        .content.decode()
    )
    assert "标准流程" not in html
