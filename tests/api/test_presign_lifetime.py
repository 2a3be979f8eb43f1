"""Presigned URLs live as long as the template's PresignTtlSeconds says, wherever the code presigns."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.entry_points import DEFAULT_CALLER, EntryStack, api_event, entry_stack, response_json
from tests.support.template import function_environment
from videogen.storage.job_store import JobStore


def expires(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["X-Amz-Expires"][0])


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[EntryStack]:
    with entry_stack(monkeypatch) as stack:
        yield stack


def deployed_ttl(logical_id: str, seconds: str) -> dict[str, str]:
    """PRESIGN_TTL_SECONDS as the template gives it to ``logical_id`` when deployed with ``seconds``."""
    env = function_environment(logical_id, {}, {"PresignTtlSeconds": seconds})
    return {"PRESIGN_TTL_SECONDS": env["PRESIGN_TTL_SECONDS"]}


def test_the_api_presigns_output_gets_and_upload_puts_for_the_parameter(
    stack: EntryStack, lambda_context: Any
):
    # GIVEN the stack deployed with PresignTtlSeconds=120 and a finished job
    handler = stack.load("ApiFunction", deployed_ttl("ApiFunction", "120"))
    key = "outputs/job-1/output-1.mp4"
    JobStore(stack.table).update(
        "job-1", {"source": "api", "owner": DEFAULT_CALLER, "status": "SUCCEEDED", "output_keys": {key}}
    )
    # WHEN the job is read and an upload ticket is asked for
    view = response_json(handler(api_event("GET", "/generations/job-1"), lambda_context))
    ticket = response_json(handler(api_event("POST", "/uploads", body={"filename": "a.png"}), lambda_context))
    # THEN both URLs expire after 120 s
    assert expires(view["outputs"][0]["url"]) == 120
    assert expires(ticket["upload_url"]) == 120


def test_webhook_views_use_the_same_lifetime(stack: EntryStack):
    # GIVEN the notify function cold-started as deployed with PresignTtlSeconds=300
    stack.load("NotifyFunction", deployed_ttl("NotifyFunction", "300"))
    views = stack.modules["NotifyFunction"]._views
    # WHEN an output is presigned for a webhook THEN it expires after 300 s
    assert expires(views.presign_get("outputs/job-1/output-1.mp4")) == 300
