"""A search is at most `core.searchbox.SEARCH_MAX` characters wherever `q` is read: every search
box says so with `maxlength`; a page given a longer one in its address searches for its
beginning and says so; the API answers 422 naming `q`, in the reader's language. (A search of
several KB used to reach the front server only, which answered with its own HTML 414.)"""

import re

import pytest
from django.test import Client

from closeloop.core.searchbox import SEARCH_MAX, cut_search
from closeloop.orgs.models import User
from closeloop.orgs.services import api_token_create
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task

pytestmark = pytest.mark.django_db

LONG = "报表" * 2500  # 5,000 characters, ~45 KB once percent-encoded


def search_boxes(page: str) -> list[str]:
    """Every search box of the page (Django's widgets write `type` after `name`)."""
    return re.findall(r'<input[^>]*type="search"[^>]*>', page)


def test_the_limit_is_one_number():
    assert SEARCH_MAX == 200
    assert cut_search("报" * 201) == ("报" * 200, True)
    assert cut_search("报" * 200) == ("报" * 200, False)
    assert cut_search("") == ("", False)


def test_every_search_box_carries_the_limit(head, member, sales, admin_user):
    make_task(actor=head, department=sales, owner=member, title="月度销售报表")
    c = english_client(head)
    pages = {
        "tasks": c.get("/tasks/").content.decode(),  # the search and the owner picker's
        "knowledge": c.get("/knowledge/").content.decode(),
        "linked people": english_client(admin_user).get("/admin/im-signin/people/").content.decode(),
    }
    for name, page in pages.items():
        boxes = search_boxes(page)
        assert boxes, name
        for box in boxes:
            assert f'maxlength="{SEARCH_MAX}"' in box, (name, box)


def test_the_task_list_searches_the_beginning_of_a_long_search_and_says_so(head, member, sales):
    make_task(actor=head, department=sales, owner=member, title="月度销售报表")
    c = english_client(head)
    response = c.get("/tasks/", {"q": LONG})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Search: longer than 200 characters, so only its first 200 were searched for." in page
    # The box shows what was searched for, no more, and that found the task.
    (box,) = [b for b in re.findall(r"<input[^>]*>", page) if 'name="q"' in b and 'id="id_q"' in b]
    assert f'value="{"报表" * 100}"' in box
    assert "月度销售报表" in page
    # htmx's table alone says it too.
    table = c.get("/tasks/", {"q": LONG}, HTTP_HX_REQUEST="true").content.decode()
    assert "only its first 200 were searched for" in table
    # In Chinese.
    User.objects.filter(pk=head.pk).update(language="zh-hans")
    zh = Client()
    zh.force_login(head)
    assert "搜索：超过 200 个字，只按前 200 个字搜索。" in zh.get("/tasks/", {"q": LONG}).content.decode()
    # At the limit: searched as it is, nothing said.
    assert "searched for." not in c.get("/tasks/", {"q": "报" * SEARCH_MAX}).content.decode()


def test_the_export_of_the_list_reads_the_same_search(head, member, sales):
    make_task(actor=head, department=sales, owner=member, title="月度销售报表")
    response = english_client(head).get("/sheets/export/task-list.xlsx", {"q": LONG})
    assert response.status_code == 200


def test_knowledge_searches_the_beginning_of_a_long_search_and_says_so(head):
    c = english_client(head)
    response = c.get("/knowledge/", {"q": LONG})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Search: longer than 200 characters, so only its first 200 were searched for." in page
    assert f'value="{"报表" * 100}"' in page
    assert "searched for." not in c.get("/knowledge/", {"q": "报表"}).content.decode()


@pytest.mark.parametrize("path", ["/api/v1/tasks", "/api/v1/knowledge"])
def test_the_api_refuses_a_long_search_naming_q(head, path):
    _token, raw = api_token_create(actor=head, name="tests")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    c = Client()
    response = c.get(path, {"q": "x" * (SEARCH_MAX + 1)}, HTTP_ACCEPT_LANGUAGE="en", **auth)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["fields"] == {"q": ["At most 200 characters."]}
    assert "q" in body["message"]
    zh = c.get(path, {"q": LONG}, HTTP_ACCEPT_LANGUAGE="zh-hans", **auth).json()
    assert zh["fields"] == {"q": ["最多 200 个字符。"]}
    assert c.get(path, {"q": "x" * SEARCH_MAX}, HTTP_ACCEPT_LANGUAGE="en", **auth).status_code == 200
