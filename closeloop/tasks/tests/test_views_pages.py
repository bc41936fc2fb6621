"""Error pages and the pages of views not built yet."""

from django.template.loader import get_template
from django.urls import reverse


def test_it_answers_unknown_pages_with_the_404_page_in_the_layout(client, member):
    client.force_login(member)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "error-page__code" in html and 'class="site-header"' in html
    assert reverse("tasks:list") in html  # the navigation is there to go on


def test_the_500_page_renders_without_a_request(db):
    html = get_template("500.html").render()
    assert "500" in html and "app.css" in html


def test_the_unbuilt_views_say_they_are_coming_and_link_to_the_list(rf, member):
    # Called directly: a later release mounts its real page in front of the placeholder URL.
    from django.utils import translation

    from closeloop.tasks.views.tasks import coming_soon

    request = rf.get("/knowledge/")
    request.user = member
    with translation.override("en"):
        html = coming_soon(request, section="knowledge").content.decode()
    assert "Knowledge base is coming in a later release" in html
    assert f'href="{reverse("tasks:list")}"' in html


def test_the_unbuilt_views_need_a_login(client, db):
    response = client.get(reverse("tasks:board"))
    assert response.status_code == 302 and response["Location"].startswith("/login/")
