"""The API's front door: who gets in, what errors look like, me, departments, docs."""

import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from closeloop.orgs.models import Department, User
from closeloop.orgs.services import api_token_create, api_token_revoke
from closeloop.testing.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    # Messages are asserted in English; without the header a token user gets their saved language.
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def bearer(user: User) -> dict[str, str]:
    _token, raw = api_token_create(actor=user, name="tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    return body


# -- authentication ---------------------------------------------------------------------------


def test_it_answers_401_json_without_a_token(client, member):
    body = assert_error(client.get("/api/v1/me"), 401, "unauthorized")
    assert "Bearer" in body["message"]


def test_it_answers_401_for_a_bad_token(client, member):
    assert_error(
        client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer cl_not-a-real-token"), 401, "unauthorized"
    )
    assert_error(client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer "), 401, "unauthorized")
    assert_error(client.get("/api/v1/me", HTTP_AUTHORIZATION="Basic c2FsZXM6cHc="), 401, "unauthorized")


def test_it_answers_401_for_a_bad_token_on_a_write_too(client, sales, member):
    # Not a CSRF complaint: a script without a session should learn its token is wrong.
    response = client.post(
        "/api/v1/tasks", data={}, content_type="application/json", HTTP_AUTHORIZATION="Bearer cl_wrong"
    )
    assert_error(response, 401, "unauthorized")


def test_it_answers_401_for_a_revoked_token(client, member):
    token, raw = api_token_create(actor=member, name="old script")
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    api_token_revoke(actor=member, token_id=token.pk)
    assert_error(client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}"), 401, "unauthorized")


def test_it_answers_401_for_a_deactivated_person(client, member):
    headers = bearer(member)
    User.objects.filter(pk=member.pk).update(is_active=False)
    assert_error(client.get("/api/v1/me", **headers), 401, "unauthorized")


def test_it_accepts_the_browser_session_for_reads(client, member):
    client.force_login(member)
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["username"] == "sales_specialist"


def test_it_wants_the_csrf_token_for_session_writes(member, sales, task):
    browser = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(member)
    url = f"/api/v1/tasks/{task.pk}"
    data = {"notes": "x", "version": task.version}
    assert_error(browser.patch(url, data=data, content_type="application/json"), 403, "forbidden")
    browser.get("/api/v1/docs")  # sets the csrftoken cookie, as any page would
    csrf = browser.cookies["csrftoken"].value
    response = browser.patch(url, data=data, content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200, response.content
    assert response.json()["notes"] == "x"


# -- error shape outside operations ----------------------------------------------------------


def test_it_answers_json_404_for_an_unknown_address(client, member):
    assert_error(client.get("/api/v1/no-such-thing", **bearer(member)), 404, "not_found")
    assert_error(client.get("/api/v1/"), 404, "not_found")


def test_it_answers_json_405_for_a_method_the_address_does_not_take(client, member):
    response = client.delete("/api/v1/me", **bearer(member))
    body = assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]
    assert "DELETE" in body["message"]


def test_it_answers_400_json_for_a_body_that_is_not_json(client, member):
    response = client.post("/api/v1/tasks", data="{oops", content_type="application/json", **bearer(member))
    assert_error(response, 400, "bad_request")


# -- me ---------------------------------------------------------------------------------------


def test_it_tells_me_who_i_am_with_departments_and_roles(client, head, sales, marketing):
    marketing.deputy = head
    marketing.save(update_fields=["deputy"])
    body = client.get("/api/v1/me", **bearer(head)).json()
    assert body["username"] == "sales_head"
    assert body["name"] == "王总"
    assert body["is_admin"] is False
    assert body["departments"] == [{"id": sales.pk, "code": "SALES", "name": "销售部", "role": "manager"}]
    assert {(d["code"], d["role"]) for d in body["leads"]} == {("SALES", "head"), ("MKT", "deputy")}


def test_it_tells_a_specialist_they_lead_nothing(client, outsider):
    body = client.get("/api/v1/me", **bearer(outsider)).json()
    assert [d["code"] for d in body["departments"]] == ["MKT"]
    assert body["leads"] == []


# -- departments ------------------------------------------------------------------------------


def test_it_lists_departments_with_heads_and_working_hours(client, head, sales, marketing, outsider):
    body = client.get("/api/v1/departments", **bearer(outsider)).json()
    by_code = {d["code"]: d for d in body}
    assert set(by_code) == {"HQ", "SALES", "MKT"}
    assert by_code["SALES"]["head"] == {"id": head.pk, "username": "sales_head", "name": "王总"}
    assert by_code["SALES"]["parent"]["code"] == "HQ"
    assert by_code["SALES"]["time_zone"] == "Asia/Shanghai"
    assert by_code["SALES"]["workday_start"].startswith("09:00")
    assert by_code["SALES"]["workday_end"].startswith("18:00")
    assert by_code["HQ"]["parent"] is None


def _departments_queries(client, headers) -> int:
    client.get("/api/v1/departments", **headers)  # the token's last-used stamp is written once
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/departments", **headers)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_it_lists_departments_in_constant_queries(client, company, outsider):
    headers = bearer(outsider)
    few = _departments_queries(client, headers)
    for i in range(20):
        DepartmentFactory(
            code=f"X{i}", name=f"部门{i}", parent=company, head=UserFactory(), deputy=UserFactory()
        )
    many = _departments_queries(client, headers)
    assert Department.objects.count() > 20
    assert few == many <= 3


# -- OpenAPI and docs -------------------------------------------------------------------------


def test_it_serves_the_openapi_schema_with_the_paths(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    for path in (
        "/api/v1/me",
        "/api/v1/departments",
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}",
        "/api/v1/tasks/{task_id}/transition",
        "/api/v1/tasks/{task_id}/collaborators/{user_id}",
        "/api/v1/tasks/{task_id}/events",
    ):
        assert path in paths, path
    assert set(paths["/api/v1/tasks"]) >= {"get", "post"}
    assert set(paths["/api/v1/tasks/{task_id}"]) >= {"get", "patch"}
    assert "ErrorOut" in schema["components"]["schemas"]
    assert any(s.get("scheme") == "bearer" for s in schema["components"]["securitySchemes"].values())


def test_it_serves_the_docs_page_without_a_cdn(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/v1/openapi.json" in html
    assert not re.search(r"https?://", html), "the docs page must load nothing from the internet"
    scripts = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(s.endswith("swagger-ui-bundle.js") for s in scripts)
    for url in scripts:
        asset = client.get(url)
        assert asset.status_code == 200, url
        asset.close()


def test_it_answers_json_500_when_something_breaks(rf, member):
    from closeloop.api import api

    request = rf.get("/api/v1/me")
    response = api.on_exception(request, RuntimeError("disk on fire"))
    assert response.status_code == 500
    body = json.loads(response.content)
    assert body["code"] == "server_error"
    assert "disk on fire" not in body["message"]  # internals stay in the log
