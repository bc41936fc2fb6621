"""Pages a person reaches by reloading a form's address or typing an odd one, without
JavaScript (a fresh tester at phone width found white pages): a GET of a task's POST-only
address goes to the task page; any other POST-only address shows the layout's 405 page; a
refused comment keeps what was typed; a NUL in the address is a 400 page with the layout."""

import pytest
from django.urls import reverse

from closeloop.tasks.models import Comment
from closeloop.testing.clients import english_client

pytestmark = pytest.mark.django_db


def test_reloading_a_tasks_form_address_goes_to_the_task_page(task, head, outsider):
    client = english_client(head)
    refused = client.post(reverse("tasks:transition", args=[task.pk]), {"to": "cancelled", "note": ""})
    assert refused.status_code in (400, 409, 422)
    for name in ("tasks:transition", "tasks:comment_add"):
        url = reverse(name, args=[task.pk])
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"] == reverse("tasks:detail", args=[task.pk])
        assert english_client(outsider).get(url, follow=True).status_code == 404, name
        assert client.put(url).status_code == 405  # other methods: the bare 405
    assert client.get(reverse("tasks:detail", args=[task.pk])).status_code == 200


def test_another_post_only_address_shows_a_page_with_the_way_back(head):
    response = english_client(head).get(reverse("notify:read_all"))
    assert response.status_code == 405
    assert "POST" in response["Allow"]
    body = response.content.decode()
    assert "This address takes a form, it is not a page" in body and 'href="/"' in body
    assert "<nav" in body  # the layout, not a white page


def test_a_refused_comment_keeps_what_was_typed(task, head):
    """5,001 characters: refused with the message under the box, the text still in it."""
    client = english_client(head)
    text = "长" * 5001
    response = client.post(reverse("tasks:comment_add", args=[task.pk]), {"body": text})
    assert response.status_code in (400, 422)
    body = response.content.decode()
    assert text in body and "field-error" in body and task.title in body
    assert not Comment.objects.filter(task=task).exists()


def test_a_nul_in_the_address_is_a_page_with_the_layout(head):
    response = english_client(head).get("/tasks/?q=%00")
    assert response.status_code == 400
    body = response.content.decode()
    assert "NUL" in body and "<nav" in body
