"""Schemathesis against the live API: every operation of /api/v1/openapi.json on a real daphne,
with an agent's bearer token, a bounded and deterministic number of generated requests each.
No request may get a 500, and every response must match the schema (status, type, body)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import issue_api_token
from tests import factories

MAX_EXAMPLES = 15
# The inbound webhook takes a raw RFC 822 message: sent as text bytes, like an MTA would.
schemathesis.serializer.alias("message/rfc822", "text/plain")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _runner(operation, mode: GenerationMode, base_url: str, headers: dict[str, str]):
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS, headers=headers)

    return run


@pytest.mark.live
def test_every_operation_survives_generated_requests_and_matches_the_schema(live_server):
    agent = factories.AgentFactory(email="schemathesis@example.com")
    headers = {"Authorization": f"Bearer {issue_api_token(agent)}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    failures: list[str] = []
    operations = 0

    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        # Valid requests, then requests that break the schema on purpose (wrong types, missing
        # fields): both must get a documented answer, never a 500.
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _runner(operation, mode, live_server.url, headers)()
            except Unsatisfiable:
                # No parameters and no body: nothing to make invalid (e.g. GET /widget/status).
                if mode is not GenerationMode.NEGATIVE:
                    raise
            except Exception as error:
                failures.append(f"{operation.label} ({mode.value}): {str(error)[:1500]}")

    assert operations >= 30
    assert not failures, "\n\n".join(failures)
