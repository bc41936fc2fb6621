"""What the fuzzing found, kept as plain tests: input no database stores is a 4xx naming the
field for every operation, every operation declares the error answers, and the spec says what
the working hours are sent as."""

import json

import pytest
from django.test import Client

from closeloop.api import ANY_OPERATION_ERRORS, api
from closeloop.orgs.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_client(head):
    _token, raw = api_token_create(actor=head, name="t")
    return Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_a_nul_in_a_body_is_a_422_naming_the_field_and_nothing_is_stored(api_client, sales):
    from closeloop.tasks.models import Task

    body = {"department": sales.pk, "title": "客户\x00回访", "due_date": "2030-01-10"}
    response = api_client.post("/api/v1/tasks", json.dumps(body), content_type="application/json")
    assert response.status_code == 422
    fields = response.json()["fields"]
    assert list(fields) == ["title"] and "NUL" in fields["title"][0]
    assert not Task.objects.exists()


def test_a_huge_number_in_a_body_is_a_422(api_client, sales):
    body = {"department": sales.pk, "title": "客户回访", "due_date": "2030-01-10", "collaborators": [2**70]}
    response = api_client.post("/api/v1/tasks", json.dumps(body), content_type="application/json")
    assert response.status_code == 422
    assert "collaborators.1" in response.json()["fields"]


def test_a_huge_id_in_the_path_is_not_found_and_in_the_query_bad_input(api_client):
    assert api_client.get(f"/api/v1/tasks/{2**70}").status_code == 404
    response = api_client.get("/api/v1/tasks", {"offset": str(2**70)})
    assert response.status_code == 422
    assert "offset" in response.json()["fields"]


def test_a_lone_surrogate_is_a_422(api_client, sales):
    raw = '{"department": ' + str(sales.pk) + ', "title": "\\udad2", "due_date": "2030-01-10"}'
    response = api_client.post("/api/v1/tasks", raw, content_type="application/json")
    assert response.status_code == 422


def test_every_operation_declares_the_error_answers():
    spec = api.get_openapi_schema()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status in ANY_OPERATION_ERRORS:
                assert str(status) in operation["responses"], (method, path, status)


def test_working_hours_are_declared_as_the_local_time_that_is_sent(api_client, sales):
    field = api.get_openapi_schema()["components"]["schemas"]["DepartmentOut"]["properties"]["workday_start"]
    assert "format" not in field and field["type"] == "string"
    items = api_client.get("/api/v1/departments").json()
    first = items[0] if isinstance(items, list) else items["items"][0]
    assert first["workday_start"] == "09:00:00"


def _schema_classes(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _schema_classes(sub)


def test_no_two_api_schemas_share_a_name():
    """The spec's components are keyed by class name: a second `PlanOut` silently replaced the
    first, and the subtasks answer was then checked against the communication plan's shape."""
    from ninja import Schema

    api.get_openapi_schema()  # imports every router
    by_name: dict[str, set[str]] = {}
    for cls in _schema_classes(Schema):
        if cls.__module__.startswith("closeloop."):
            by_name.setdefault(cls.__name__, set()).add(f"{cls.__module__}.{cls.__qualname__}")
    shared = {name: sorted(where) for name, where in by_name.items() if len(where) > 1}
    assert not shared, shared


def test_the_subtasks_answer_is_described_by_its_own_schema():
    spec = api.get_openapi_schema()
    operation = spec["paths"]["/api/v1/tasks/{task_id}/subtasks"]["get"]
    ref = operation["responses"][200]["content"]["application/json"]["schema"]["$ref"]
    component = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert "subtasks" in component["properties"], component


@pytest.mark.parametrize(
    ("language", "query", "field", "said"),
    [
        ("zh-hans", {"limit": "0"}, "limit", "不能小于 1。"),
        ("zh-hans", {"offset": "-1"}, "offset", "不能小于 0。"),
        ("zh-hans", {"limit": "5001"}, "limit", "不能大于 5000。"),
        ("zh-hans", {"limit": "1.5"}, "limit", "须为整数。"),
        ("en", {"limit": "0"}, "limit", "Must be at least 1."),
        ("en", {"parent": "abc"}, "parent", "Must be a whole number."),
    ],
)
def test_a_refused_parameter_is_named_in_the_readers_language(head, language, query, field, said):
    """pydantic's refusals were English whatever the reader's language (a tester, reading
    Chinese: "Input should be greater than or equal to 0" beside "数字超出范围。")."""
    _token, raw = api_token_create(actor=head, name="t")
    client = Client(HTTP_ACCEPT_LANGUAGE=language, HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.get("/api/v1/tasks", query)
    assert response.status_code == 422
    body = response.json()
    assert body["fields"] == {field: [said]} and body["message"] == f"{field}: {said}"


def test_a_misspelt_field_is_named_as_unknown_in_chinese(head, sales):
    _token, raw = api_token_create(actor=head, name="t")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans", HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = {"department": sales.pk, "titel": "客户回访", "due_date": "2030-01-10"}
    response = client.post("/api/v1/tasks", json.dumps(body), content_type="application/json")
    assert response.status_code == 422
    assert response.json()["fields"]["titel"] == ["未知字段：请检查字段名。"]
