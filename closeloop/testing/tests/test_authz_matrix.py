"""The authorization matrix (`closeloop/testing/authz_matrix.py`) holds: every URL pattern and
every API operation has a row, and each row answers as written for every role and object.

The world is built once for the module inside a transaction that is rolled back at the end;
each request runs in a savepoint that is rolled back too, so writes never leak into the next
row. A write that is refused (404, 403, login) must leave the database as it was."""

import json
import os
import re

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from closeloop.api import api
from closeloop.orgs.services import api_token_create
from closeloop.testing.authz_matrix import all_rows
from closeloop.testing.world import OBJECTS, ROLES, build_world

# Marked so pytest-django creates the test database; the world fixture holds its own transaction.
pytestmark = pytest.mark.django_db

RECORD = os.environ.get("AUTHZ_RECORD")  # a path: write the observed letters there as JSON


def _web_routes() -> set[str]:
    """Every named URL pattern outside the API's own operations (those come from OpenAPI)."""
    names: set[str] = set()

    def walk(resolver, ns: str) -> None:
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                walk(p, ns + (p.namespace + ":" if p.namespace else ""))
            elif isinstance(p, URLPattern):
                if ns == "api:" and p.callback.__module__ == "ninja.operation":
                    continue
                names.add(ns + (p.name or f"<unnamed {p.pattern}>"))

    walk(get_resolver(), "")
    return names


def _spec() -> dict:
    return api.get_openapi_schema()


def _operations() -> dict[str, tuple[str, str]]:
    """operation id → (method, path)."""
    out = {}
    for path, ops in _spec()["paths"].items():
        for method, op in ops.items():
            out[op["operationId"]] = (method.upper(), path)
    return out


def _covered(route: str, keys: set[str]) -> bool:
    return route in keys or any(k.endswith("*") and route.startswith(k[:-1]) for k in keys)


def test_every_route_and_api_operation_has_a_row():
    keys = {row.route for row in all_rows()}
    missing = sorted(r for r in _web_routes() | set(_operations()) if not _covered(r, keys))
    assert not missing, "Routes without a row in closeloop/testing/authz_matrix.py: " + ", ".join(missing)
    operations = _operations()
    for row in all_rows():
        if row.route in operations:
            assert row.method == operations[row.route][0], row.route
    stale = sorted(
        row.route for row in all_rows() if row.route not in operations and not _covered_by_urls(row.route)
    )
    assert not stale, "Rows for routes that no longer exist: " + ", ".join(stale)


def _covered_by_urls(route: str) -> bool:
    names = _web_routes()
    return route in names or (route.endswith("*") and any(n.startswith(route[:-1]) for n in names))


# -- the world, once per module ---------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with transaction.atomic():
            w = build_world()
            w.extra["clients"] = {}
            w.extra["operations"] = _operations()
            for role in ROLES:
                user = w.people.get(role)
                web = Client(HTTP_ACCEPT_LANGUAGE="en")
                api_client = Client(HTTP_ACCEPT_LANGUAGE="en")
                if user is not None:
                    web.force_login(user)
                    _token, raw = api_token_create(actor=user, name="matrix")
                    api_client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
                w.extra["clients"][role] = (web, api_client)
            yield w
            transaction.set_rollback(True)


_FINGERPRINT_SQL: list[str] = []


def _fingerprint() -> tuple:
    """One query: row counts of every closeloop table (tokens and sessions aside), the tasks'
    versions and last change, read notifications, enabled channels and who last saved each
    template (an overwrite keeps the count)."""
    if not _FINGERPRINT_SQL:
        parts = [
            f"(SELECT COUNT(*) FROM {m._meta.db_table})"
            for m in apps.get_models()
            if m.__module__.startswith("closeloop.") and m._meta.label != "orgs.ApiToken"
        ]
        parts += [
            "(SELECT SUM(version) FROM tasks_task)",
            "(SELECT MAX(updated_at) FROM tasks_task)",
            "(SELECT COUNT(*) FROM notify_notification WHERE read_at IS NOT NULL)",
            "(SELECT COUNT(*) FROM notify_channel WHERE enabled)",
            f"(SELECT SUM(created_by_id) FROM {apps.get_model('tasks', 'DecompositionTemplate')._meta.db_table})",
        ]
        _FINGERPRINT_SQL.append("SELECT " + ", ".join(parts))
    with connection.cursor() as cursor:
        cursor.execute(_FINGERPRINT_SQL[0])
        return tuple(cursor.fetchone())


def _letter(response) -> str:
    status = response.status_code
    if status >= 500:
        return "E"
    if status == 404:
        return "N"
    if status == 403:
        return "F"
    if status == 401:
        return "L"
    if status in (301, 302, 303) and "/login/" in response.get("Location", ""):
        return "L"
    if status == 405:
        return "M"
    if status in (400, 409, 422, 428):
        return "V"
    return "A"


def _request(world, row, obj: str, role: str):
    user = world.people.get(role)
    web, api_client = world.extra["clients"][role]
    kwargs = row.kw(world, obj, user) if row.kw else {}
    data = row.data(world, obj) if callable(row.data) else row.data
    operations = world.extra["operations"]
    if row.route in operations:
        method, path = operations[row.route]
        url = re.sub(r"\{(\w+)\}", lambda m: str(kwargs[m.group(1)]), path)
        client = api_client
        body = {"data": json.dumps(data or {}), "content_type": "application/json"} if method != "GET" else {}
    else:
        url = reverse(row.sample or row.route, kwargs=kwargs or None)
        client = web
        method = row.method
        body = {"data": data or {}} if method == "POST" else {}
    cookies = client.cookies
    client.cookies = type(cookies)(cookies)  # a logout must not sign the next row out
    try:
        return getattr(client, method.lower())(url, **body)
    finally:
        client.cookies = cookies


def _observe(world, row, obj: str) -> str:
    letters = []
    for role in ROLES:
        with transaction.atomic():
            before = _fingerprint() if row.method != "GET" else None
            response = _request(world, row, obj, role)
            letter = _letter(response)
            if before is not None and _fingerprint() != before:
                # Refused, yet something was written: W; else C, the write took place.
                letter = "W" if letter in "NFLV" else "C"
            transaction.set_rollback(True)
        letters.append(letter)
    return "".join(letters)


_observed: dict[str, dict[str, str]] = {}


@pytest.mark.parametrize("row", all_rows(), ids=lambda r: f"{r.method} {r.route}")
def test_the_matrix_holds(world, row):
    wrong = {}
    for obj, expected in row.expectations().items():
        got = _observe(world, row, obj if obj != "-" else OBJECTS[0])
        _observed.setdefault(f"{row.route} {row.method} {row.note[:20]}", {})[obj] = got
        if got != expected:
            wrong[obj] = got
    if RECORD:
        with open(RECORD, "w") as f:
            json.dump(_observed, f, ensure_ascii=False, indent=1)
    legend = (
        "roles "
        + ",".join(ROLES)
        + "; C changed, A allowed, V input/state refused, N 404, F 403, L login/401, E 5xx, M 405, W wrote"
    )
    assert not wrong, f"{row.method} {row.route}: expected {row.expect!r}, observed {wrong!r} ({legend})"
