"""The retrospective's 会议纪要（链接） is a web address: anything else (`javascript:…`, plain
text) is refused naming the field; a stored one shows as a link opening in a new tab; a
plain-text reference stored before the rule still shows, as text."""

import pytest
from django.utils import translation

from closeloop.core.errors import ValidationFailed
from closeloop.review.models import Retrospective
from closeloop.review.services import CheckIn, retrospective_write, submission_create, submission_review
from closeloop.review.tests.conftest import fresh
from closeloop.testing.clients import english_client

pytestmark = pytest.mark.django_db

BAD = ["javascript:alert(document.cookie)", "会议记录见群文件", "www.example.com/minutes", "http://a b"]


@pytest.fixture
def done(measurable, member, head):
    sub = submission_create(actor=member, task=fresh(measurable), key_results="完成", confirm=True)
    submission_review(
        actor=head,
        submission=sub,
        checks=[CheckIn(c.pk, measured="99" if c.metric else None, passed=True) for c in sub.checks.all()],
    )
    return fresh(measurable)


@pytest.mark.parametrize("link", BAD)
def test_the_service_refuses_a_minutes_link_that_is_not_a_web_address(done, head, link):
    with translation.override("en"), pytest.raises(ValidationFailed) as exc:
        retrospective_write(actor=head, task=done, what_worked="按时", to_improve="", minutes_link=link)
    assert list(exc.value.fields) == ["minutes_link"]
    assert "Minutes (link)" in exc.value.message and "http" in exc.value.message
    assert not Retrospective.objects.exists()


def test_the_form_names_the_field_in_chinese_and_keeps_what_was_typed(done, head):
    from django.test import Client

    from closeloop.orgs.models import User

    User.objects.filter(pk=head.pk).update(language="zh-hans")
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(head)
    r = c.post(
        f"/tasks/{done.pk}/retrospective/",
        {"what_worked": "按时", "to_improve": "", "tags": "", "minutes_link": "javascript:alert(1)"},
    )
    assert r.status_code == 422
    page = r.content.decode()
    assert "会议纪要（链接）" in page and "http://" in page
    assert 'value="javascript:alert(1)"' in page and 'aria-invalid="true"' in page
    assert not Retrospective.objects.exists()


def test_the_api_refuses_it_with_the_field(done, head):
    r = english_client(head).put(
        f"/api/v1/tasks/{done.pk}/retrospective",
        {"what_worked": "按时", "minutes_link": "javascript:alert(1)", "version": 0},
        content_type="application/json",
    )
    assert r.status_code == 422 and "minutes_link" in r.json()["fields"], r.content
    assert not Retrospective.objects.exists()


def test_a_web_address_is_shown_as_a_link_opening_in_a_new_tab(done, head):
    url = "https://docs.example.com/minutes/2026-03?id=1&v=2"
    retrospective_write(actor=head, task=done, what_worked="按时", to_improve="", minutes_link=url)
    page = english_client(head).get(f"/tasks/{done.pk}/").content.decode()
    assert (
        '<a href="https://docs.example.com/minutes/2026-03?id=1&amp;v=2" rel="noopener noreferrer" '
        'target="_blank">' in page
    )
    readonly = english_client(head).get(f"/tasks/{done.pk}/retrospective/").content.decode()
    assert 'value="https://docs.example.com/minutes/2026-03?id=1&amp;v=2"' in readonly


@pytest.mark.parametrize("stored", ["见3月20日周会纪要", "javascript:alert(1)", "httpfoo"])
def test_text_stored_before_the_rule_still_shows_as_text(done, head, stored):
    retrospective_write(actor=head, task=done, what_worked="按时", to_improve="")
    Retrospective.objects.filter(task=done).update(minutes_link=stored)
    page = english_client(head).get(f"/tasks/{done.pk}/").content.decode()
    assert f"Minutes: {stored}</p>" in page
    assert f'href="{stored}"' not in page
    # Saving the retrospective again asks for a web address (or an empty field).
    with pytest.raises(ValidationFailed):
        retrospective_write(actor=head, task=done, what_worked="按时", to_improve="", minutes_link=stored)
    retrospective_write(actor=head, task=done, what_worked="按时", to_improve="", minutes_link="")
    assert Retrospective.objects.get(task=done).minutes_link == ""
