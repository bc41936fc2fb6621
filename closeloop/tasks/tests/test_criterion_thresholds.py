"""A measurable acceptance criterion's threshold fits its unit (`validation._clean_criteria`):
a percentage lies between 0 and 100, a count or an amount is not below 0 (a temperature may
be). A tester's 「准确率 ≥ -5%」 was taken on the form and the API; now each is refused on its
row (criteria.N) with a message naming the threshold, and nothing is stored."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from closeloop.orgs.services import api_token_create
from closeloop.tasks.models import AcceptanceCriterion, Task
from closeloop.tasks.services import CriterionIn
from closeloop.testing.factories import intake_form, make_task

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def _form(sales, owner, threshold: str, unit: str) -> dict:
    return intake_form(
        sales, owner, c_metric=["准确率"], c_comparator=[">="], c_threshold=[threshold], c_unit=[unit]
    )


def _api(client, user, method: str, url: str, body: dict):
    _t, raw = api_token_create(actor=user, name="t")
    return getattr(client, method)(
        "/api/v1" + url,
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )


@pytest.mark.parametrize(
    ("threshold", "unit", "message"),
    [
        ("-5", "%", "第 1 条标准：百分比的目标值须在 0 到 100 之间。"),
        ("120", "%", "第 1 条标准：百分比的目标值须在 0 到 100 之间。"),
        ("-5%", "", "第 1 条标准：百分比的目标值须在 0 到 100 之间。"),
        ("-3", "个", "第 1 条标准：单位为“个”时，目标值不能小于 0。"),
    ],
)
def test_the_form_refuses_a_threshold_outside_its_units_range(member, sales, threshold, unit, message):
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(member)
    r = c.post("/tasks/new/", _form(sales, member, threshold, unit))
    assert r.status_code == 422
    assert message in r.content.decode()
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("threshold", "unit"), [("0", "%"), ("100", "%"), ("95", "%"), ("-10", "℃"), ("0", "个")]
)
def test_thresholds_within_range_are_taken(member, sales, threshold, unit):
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(member)
    assert c.post("/tasks/new/", _form(sales, member, threshold, unit)).status_code == 302
    assert AcceptanceCriterion.objects.get().unit == unit


def test_the_api_refuses_a_negative_percentage_on_create_and_on_replacing_the_criteria(client, member, sales):
    body = {
        "department": "SALES",
        "title": "月度销售报表",
        "owner": member.username,
        "due_date": (TODAY + dt.timedelta(days=10)).isoformat(),
        "goal": "汇总上月销售数据",
        "expected_outcome": "月度销售报表",
        "value": "支撑月度经营决策",
        "criteria": [
            {"text": "准确率达标", "metric": "准确率", "comparator": ">=", "threshold": -5, "unit": "%"}
        ],
    }
    r = _api(client, member, "post", "/tasks", body)
    assert r.status_code == 422
    assert r.json()["fields"]["criteria.1"] == ["第 1 条标准：百分比的目标值须在 0 到 100 之间。"]
    assert not Task.objects.exists()
    task = make_task(
        actor=member,
        department=sales,
        criteria=[CriterionIn(text="准确率达标", metric="准确率", comparator=">=", threshold=95, unit="%")],
    )
    criteria = [{"text": "准确率达标", "metric": "准确率", "comparator": ">=", "threshold": -5, "unit": "%"}]
    r = _api(
        client, member, "put", f"/tasks/{task.pk}/criteria", {"criteria": criteria, "version": task.version}
    )
    assert r.status_code == 422 and "criteria.1" in r.json()["fields"]
    assert [c.threshold for c in AcceptanceCriterion.objects.filter(task=task)] == [95]
