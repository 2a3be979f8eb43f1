"""An OpenAPI-driven fuzz of the HTTP API: schemathesis generates requests from the committed openapi.yaml
(valid and invalid bodies, parameters and headers) and sends them over loopback HTTP to ``local.http_front``,
in front of the API function in the local stack. No answer may be a 5xx, and every answer must match the
schema (status documented, body of the documented shape).

The stack is this module's own: the jobs that fuzzed valid requests start must not meet the other modules'
"nothing started" checks. Examples per operation are bounded so the module runs in well under a minute.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from local.http_front import HttpFront
from local.runner import LocalPipeline
from tests.conftest import ROOT

pytestmark = [pytest.mark.bad_input, pytest.mark.xdist_group("bad_input_fuzz")]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml")


@pytest.fixture(scope="module")
def front() -> Iterator[HttpFront]:
    environment = {"POWERTOOLS_LOG_LEVEL": "ERROR", "WEBHOOK_ALLOW_HTTP_LOOPBACK": "false"}
    with LocalPipeline(time_scale=0.005, env_overrides=environment) as pipeline, HttpFront(pipeline) as http:
        yield http


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no explain phase: it re-parses library sources
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_the_api_never_answers_a_server_error(case: Any, front: HttpFront) -> None:
    # WHEN any request the schema allows (or nearly allows) is sent to the API
    response = case.call(base_url=front.base_url)
    # THEN never a 5xx, a documented status, and a body of the documented shape
    case.validate_response(
        response, checks=[not_a_server_error, status_code_conformance, response_schema_conformance]
    )
