"""The JSON API root at /api/v1: authentication, the one error shape, and each app's router.

Every error answers `{"code": "...", "message": "...", "fields": {...}}` (`fields` only when
the input was at fault) with the matching status:

| status | code | when |
|---|---|---|
| 400 | bad_request | the body is not JSON |
| 401 | unauthorized | no, a bad or a revoked token (and no signed-in session) |
| 403 | forbidden | the caller sees the object but may not do this |
| 404 | not_found | no such object, or one the caller may not see (never told apart) |
| 405 | method_not_allowed | e.g. DELETE on a list |
| 409 | conflict, version_conflict, transition_not_allowed, task_closed, subtasks_changed | the state is not what the change expects |
| 422 | validation_error | bad input; `fields` names each bad field |
| 428 | version_required | a write to a task, a retrospective or weekly-review notes without the `version` it read (or `If-Match: "<version>"`) |
| 500 | server_error | our fault; logged |
"""

import functools
import json
import logging
import sys
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import re_path
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError

from closeloop.collab.api import router as collab_router
from closeloop.core.api_schemas import ErrorOut, validation_message
from closeloop.core.errors import DomainError
from closeloop.core.middleware import out_of_range
from closeloop.insights.api import router as insights_router
from closeloop.notify.api import router as notify_router
from closeloop.orgs.api import router as orgs_router
from closeloop.orgs.api_auth import api_auth
from closeloop.planning.api import router as planning_router
from closeloop.review.api import router as review_router
from closeloop.sheets.api import router as sheets_router
from closeloop.tasks.api import router as tasks_router
from closeloop.tracking.api import router as tracking_router

logger = logging.getLogger("closeloop.api")

DESCRIPTION = """
Closeloop's JSON API. Authenticate with a personal token:
`Authorization: Bearer <token>` (create one on your profile page, or
`closeloop create_token USERNAME`). Pages of the web app may also call it with their
session (writes then need the `X-CSRFToken` header). Messages come in the language of the
`Accept-Language` header, or else the person's saved language.

Ids are numbers; a task's human code (`T001`) and `full_code` (`SALES-T001`) are fields.

Lists are paginated with `limit` (1–200, default 50) and `offset` (default 0) and answer
`{"count": total, "limit": …, "offset": …, "items": […]}`.

Reading in bulk: the task list (`GET /tasks`) takes `limit` up to 5,000, so an integration
reads a department's every open task in one request, e.g.
`GET /api/v1/tasks?department=SALES&status=open&limit=5000` — the same items, filters and
envelope as any page (a department with more pages on with `offset`; `count` is the total).
Each item carries the task's `version` for a later write (`If-Match`).

Every error is `{"code": "...", "message": "...", "fields": {"field": ["message", …]}}`:
401 `unauthorized`, 403 `forbidden` (you see it but may not do this), 404 `not_found` (does
not exist or you may not see it), 409 `conflict` / `version_conflict` /
`transition_not_allowed`, 422 `validation_error` (with `fields`; list positions in field
names count from 1, e.g. `criteria.1.text`).
"""

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "validation_error",
    429: "throttled",
    500: "server_error",
}

# Error answers every operation may give (declared on each in the OpenAPI spec).
ANY_OPERATION_ERRORS = (400, 401, 403, 404, 409, 413, 414, 422, 429)

# Where a parameter came from is not part of its name for the caller.
_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}
_BODY_PARAMS = {"payload", "filters"}


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return body


class CloseloopAPI(NinjaAPI):
    """NinjaAPI whose answers outside an operation (an unknown path under /api/v1, a method the
    path does not take) are JSON in the same error shape too."""

    def get_openapi_operation_id(self, operation) -> str:
        """`module_function`, where a module may name the module its operations were first
        written in (`OPENAPI_MODULE`), so moving code keeps the operation ids clients use."""
        module = sys.modules.get(operation.view_func.__module__)
        name = getattr(module, "OPENAPI_MODULE", operation.view_func.__module__)
        return (name + "_" + operation.view_func.__name__).replace(".", "_")

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """The spec, with the error answers any operation can give declared on every one (the
        one error shape, `ErrorOut`): a body that is not JSON (400), no or a bad token (401),
        forbidden (403), not found or not visible (404), a state conflict (409), a body or
        address too large (413, 414), bad input (422), throttled (429). Clients and the fuzzing
        in CI (closeloop/testing/tests/test_api_fuzz.py) check every answer against it."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        error = {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
        }
        schema.setdefault("components", {}).setdefault("schemas", {}).setdefault(
            "ErrorOut", ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status in ANY_OPERATION_ERRORS:
                    responses.setdefault(str(status), error)
        return schema

    def _get_urls(self) -> list:
        patterns = super()._get_urls()
        for pattern in patterns:
            pattern.callback = self._json_fallbacks(pattern.callback)
        patterns.append(re_path(r"^.*$", self._json_fallbacks(_unknown_path), name="unknown"))
        return patterns

    def _json_fallbacks(self, view):
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refused = _unstorable(request, kwargs)
            if refused is not None:
                status, body = refused
                return self.create_response(request, body, status=status)
            try:
                response = view(request, *args, **kwargs)
            except Http404:
                return self.create_response(
                    request, error_body("not_found", _("There is nothing at this address.")), status=404
                )
            if response.status_code == 405 and not response.get("Content-Type", "").startswith(
                "application/json"
            ):
                allowed = response.get("Allow", "")
                json_response = self.create_response(
                    request,
                    error_body(
                        "method_not_allowed",
                        _("This address does not take %(method)s. Allowed: %(allowed)s.")
                        % {"method": request.method, "allowed": allowed},
                    ),
                    status=405,
                )
                json_response["Allow"] = allowed
                return json_response
            return response

        return wrapper


# The widest integer both databases store (a signed 64-bit column).
INT_MAX = 2**63 - 1


def _bad_value(value: Any, path: str) -> tuple[str, str] | None:
    """The first value under `value` no database can store, as (field, message): a NUL
    character or half of a UTF-16 surrogate pair in a string, an integer beyond 64 bits."""
    if isinstance(value, str):
        if "\x00" in value:
            return path, _("Text may not contain NUL characters.")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path, _("Text contains characters that are not valid Unicode.")
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int):
        if not -INT_MAX - 1 <= value <= INT_MAX:
            return path, _("This number is out of range.")
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _bad_value(str(key), path) or _bad_value(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value, start=1):
            found = _bad_value(item, f"{path}.{i}" if path else str(i))
            if found:
                return found
    return None


def _unstorable(request: HttpRequest, kwargs: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """Input no operation can store, refused before any runs, for every operation at once:
    an id in the path beyond 64 bits is no object (404); a query parameter or a JSON body
    holding a NUL, a lone surrogate or such a number is bad input (422, naming the field).
    Without this the database raised (OverflowError on SQLite, DataError or ValueError on
    PostgreSQL) and the API answered 500."""
    for value in kwargs.values():
        text = str(value)
        if "\x00" in text or (text.lstrip("-").isdecimal() and abs(int(text)) > INT_MAX):
            return 404, error_body("not_found", _("Not found."))
    for name, values in request.GET.lists():
        for value in values:
            found = _bad_value(value, name) or (
                _bad_value(int(value), name) if value.strip().lstrip("-").isdecimal() else None
            )
            if found:
                return 422, _invalid(*found)
    if request.body and request.content_type == "application/json":
        try:
            data = json.loads(request.body)
        except ValueError:
            return None  # the operation answers 400 bad_request
        found = _bad_value(data, "")
        if found:
            return 422, _invalid(found[0] or "body", found[1])
    return None


def _invalid(field: str, message: str) -> dict[str, Any]:
    return error_body("validation_error", f"{field}: {message}", {field: [message]})


def _unknown_path(request: HttpRequest) -> HttpResponse:
    raise Http404


api = CloseloopAPI(
    title="Closeloop API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=api_auth(),
    # The bundled Swagger UI (ninja/static), never a CDN: the app runs on intranets.
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": True}),
)


def _field_name(loc: tuple | list) -> str:
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    if parts and parts[0] in _BODY_PARAMS and len(parts) > 1:
        parts = parts[1:]
    # List positions count from 1, as in the services' own messages.
    return ".".join(str(p + 1) if isinstance(p, int) else str(p) for p in parts) or "body"


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        fields.setdefault(_field_name(error.get("loc", ())), []).append(validation_message(error))
    first_field, first_messages = next(iter(fields.items()), ("body", [_("Invalid input.")]))
    message = f"{first_field}: {first_messages[0]}"
    return api.create_response(request, error_body("validation_error", message, fields), status=422)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, error_body(exc.code, exc.message, exc.fields), status=exc.status)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request,
        error_body(
            "unauthorized",
            _("Sign in: send a valid token as 'Authorization: Bearer <token>'."),
        ),
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="closeloop"'
    return response


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, error_body("not_found", _("Not found.")), status=404)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(
        request, error_body("forbidden", str(exc) or _("You may not do this.")), status=403
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = STATUS_CODES.get(exc.status_code, "error")
    return api.create_response(request, error_body(code, exc.message), status=exc.status_code)


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def _out_of_range(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A number the database cannot hold (an id of 30 digits, an offset past 2^63): the
    caller's input, so a 422 — not a server error."""
    if not out_of_range(exc):
        return _server_error(request, exc)
    return api.create_response(
        request,
        error_body(
            "validation_error",
            _("A number in the request is out of range: ids are whole numbers up to 9223372036854775807."),
        ),
        status=422,
    )


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path)
    return api.create_response(
        request,
        error_body("server_error", _("Something went wrong on our side; it has been logged.")),
        status=500,
    )


api.add_router("", orgs_router)
api.add_router("", tasks_router)
api.add_router("", planning_router)
api.add_router("", notify_router)
api.add_router("", tracking_router)
api.add_router("", collab_router)
api.add_router("", review_router)
api.add_router("", insights_router)
api.add_router("", sheets_router)
