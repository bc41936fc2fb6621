"""The notification settings page (a tester's report): each event is named in the reader's
language ("A task is assigned to you"), never a message template with empty holes; a value
the form refuses answers 422 with the summary every form shows and a message at the field."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from closeloop.notify.forms import ROUTABLE
from closeloop.testing.clients import english_client


def _labels(html: str) -> list[str]:
    return re.findall(r'<th scope="row">(.*?)</th>', html)


def test_in_english_every_event_has_an_english_name(member):
    html = english_client(member).get(reverse("notify:preferences")).content.decode()

    labels = _labels(html)
    assert len(labels) == len(ROUTABLE)
    assert "A task is assigned to you" in labels and "A task&#x27;s due date is moved" in labels
    assert not [x for x in labels if re.search(r"[\u4e00-\u9fff]", x)]


def test_in_chinese_the_events_are_names_without_empty_holes(member):
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(member)

    labels = _labels(c.get(reverse("notify:preferences")).content.decode())

    assert "任务分派给你" in labels
    assert not [x for x in labels if "%(" in x or "（）" in x or " 个任务" in x or "从 改为" in x]


def test_every_kind_a_person_routes_has_a_name_not_its_message():
    from closeloop.notify.kinds import kind_label

    unnamed = [k for k in ROUTABLE if not kind_label(k)]
    assert unnamed == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("digest_minutes", "-5", "greater than or equal to 0"), ("quiet_start", "25:00", "Enter a valid time")],
)
def test_a_refused_value_answers_422_with_the_summary_and_the_fields_message(member, field, value, message):
    c = english_client(member)
    data = {"quiet_start": "", "quiet_end": "", "digest_minutes": "0", field: value}

    response = c.post(reverse("notify:preferences"), data)

    assert response.status_code == 422
    html = response.content.decode()
    assert "Nothing was saved. Please correct the marked fields." in html
    assert re.search(rf'class="field-error">[^<]*{message}', html)
