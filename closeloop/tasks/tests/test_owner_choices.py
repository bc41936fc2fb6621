"""Whom a task may be given to: whoever the owner picker offers — any active person of the
company (`orgs.selectors.people_search`: owners come from every department, the 工作量 and
仪表盘 count their tasks owned elsewhere) — and no one else. The form's list shows the
department's people first; typing finds the rest. Checked where the owner is written (the
services), so the web create form, the API's create, the hand-over (转交) and the API's
PATCH answer the same: an inactive person (the picker never offers one) is refused naming
`owner`, a person of another department is taken. A tester posted `owner=` 市场部's 刘洋 on
/tasks/new/ and expected a refusal; the picker itself offers him (`test_the_picker_finds`)."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from closeloop.orgs.models import Membership
from closeloop.orgs.services import api_token_create
from closeloop.tasks.models import Task
from closeloop.testing.factories import UserFactory, add_member, intake_form, make_task

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def gone(sales):
    user = UserFactory(username="sales_gone", name="离职者", is_active=False)
    add_member(user, sales)
    return user


def _client(user) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(user)
    return c


def _api(user, method, url, body):
    _t, raw = api_token_create(actor=user, name="t")
    return getattr(Client(HTTP_ACCEPT_LANGUAGE="en"), method)(
        "/api/v1" + url, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )


def _form(sales, owner) -> dict:
    return intake_form(sales, owner)


def test_the_picker_finds_people_of_other_departments(member, outsider):
    html = _client(member).get("/people/search/", {"q": "赵", "field": "owner"}).content.decode()
    assert f'value="{outsider.pk}"' in html


def test_the_create_form_and_api_take_an_owner_the_picker_offers_and_refuse_an_inactive_one(
    member, outsider, gone, sales
):
    c = _client(member)
    r = c.post("/tasks/new/", _form(sales, gone))
    assert r.status_code == 422 and "id_owner_error" in r.content.decode()
    body = {
        "department": "SALES",
        "title": "月度销售报表",
        "owner": gone.username,
        "due_date": (TODAY + dt.timedelta(days=5)).isoformat(),
        "goal": "汇总",
        "expected_outcome": "报表",
        "value": "经营决策",
        "criteria": [{"text": "数据准确"}],
    }
    r = _api(member, "post", "/tasks", body)
    assert r.status_code == 422 and "owner" in r.json()["fields"]
    assert not Task.objects.exists()
    assert c.post("/tasks/new/", _form(sales, outsider)).status_code == 302
    assert _api(member, "post", "/tasks", {**body, "owner": outsider.username}).status_code == 201
    assert list(Task.objects.values_list("owner", flat=True)) == [outsider.pk, outsider.pk]


def test_the_hand_over_and_the_api_patch_refuse_an_inactive_owner(head, member, outsider, gone, sales):
    task = make_task(actor=head, department=sales, owner=member)
    r = _client(head).post(f"/tasks/{task.pk}/reassign/", {"owner": gone.pk, "reason": "交接"})
    assert r.status_code == 400 and "请选择新负责人。" in r.content.decode()  # the action's refusal
    r = _api(head, "patch", f"/tasks/{task.pk}", {"owner": gone.pk, "version": task.version})
    assert r.status_code == 422 and "owner" in r.json()["fields"]
    assert Task.objects.get(pk=task.pk).owner == member
    r = _api(head, "patch", f"/tasks/{task.pk}", {"owner": outsider.pk, "version": task.version})
    assert r.status_code == 200 and Task.objects.get(pk=task.pk).owner == outsider


def test_a_manager_from_another_department_may_own_the_task_too(head, sales, marketing):
    lead = UserFactory(username="mkt_lead", name="市场经理")
    add_member(lead, marketing, Membership.Role.MANAGER)
    task = make_task(actor=head, department=sales, owner=lead)
    assert task.owner == lead and task.department == sales
