"""Fuzzing the JSON API with schemathesis (issue 11, item 11): every operation of
`/api/v1/openapi.json`, as a department head and as a specialist (Bearer tokens), with valid
and with invalid input. No answer may be a 5xx, and every answer (status, content type, body)
must be one the schema declares.

Bounded: `FUZZ_EXAMPLES` cases per operation, role and mode (default 2 in `make test`; `make fuzz`
runs more under a time limit). Derandomized, so a run is repeatable; the world is the
authorization matrix's (`closeloop/testing/world.py`) and path ids are drawn from its objects
as often as at random, so the fuzzing reaches real tasks, not only 404s."""

import os

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

schemathesis = pytest.importorskip("schemathesis")

from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from closeloop.api import api  # noqa: E402
from closeloop.orgs.services import api_token_create  # noqa: E402
from closeloop.testing.world import build_world  # noqa: E402

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2"))
ROLES = ("head", "specialist")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
_stats = {"cases": 0}


def _operations() -> list[tuple[str, str]]:
    spec = api.get_openapi_schema()
    return [(method.upper(), path) for path, ops in spec["paths"].items() for method in ops]


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with transaction.atomic():
            w = build_world()
            tokens = {}
            for role in ROLES:
                _token, raw = api_token_create(actor=w.people[role], name="fuzz")
                tokens[role] = raw
            schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
            schema.app = WSGIHandler()
            ids = {
                "task_id": [t.task.pk for t in w.things.values()] + [t.subtask.pk for t in w.things.values()],
                "milestone_id": [t.milestone.pk for t in w.things.values()],
                "warning_id": [t.warning.pk for t in w.things.values()],
                "user_id": [u.pk for u in w.people.values()],
                "predecessor_id": [t.subtask.pk for t in w.things.values()],
                "channel_id": [w.extra["channel"].pk],
                "notification_id": [w.extra["peer_notification"].pk],
            }
            # As Django's test client does: a request through the WSGI handler must not close the
            # connection that holds the test's transaction.
            request_started.disconnect(close_old_connections)
            request_finished.disconnect(close_old_connections)
            try:
                yield schema, tokens, ids
            finally:
                if os.environ.get("FUZZ_REPORT"):  # a path: how many cases ran, for the README
                    with open(os.environ["FUZZ_REPORT"], "w") as f:
                        f.write(f"{_stats['cases']} cases\n")
                request_started.connect(close_old_connections)
                request_finished.connect(close_old_connections)
                transaction.set_rollback(True)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", _operations(), ids=lambda o: f"{o[0]} {o[1]}")
def test_fuzz(fuzz_world, operation, role, mode):
    schema, tokens, ids = fuzz_world
    method, path = operation
    op = schema[path][method]
    headers = {"Authorization": f"Bearer {tokens[role]}", "Accept-Language": "en"}
    real_ids = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in ids.items()})

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    @given(case=op.as_strategy(generation_mode=mode), pick=real_ids, use_real=st.booleans())
    def run(case, pick, use_real):
        if use_real and case.path_parameters:
            for name in case.path_parameters:
                if name in pick:
                    case.path_parameters[name] = pick[name]
        with transaction.atomic():
            response = case.call(headers=headers)
            transaction.set_rollback(True)
        _stats["cases"] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()
