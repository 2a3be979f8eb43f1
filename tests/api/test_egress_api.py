"""POST /generations refuses a webhook_url the egress policy refuses, in any notation, with 422."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.entry_points import EntryStack, api_event, entry_stack, response_json

REQUEST = {"prompt": "A paper boat on a rainy street", "model": "gen4.5", "ratio": "1280:720", "duration": 5}


@pytest.fixture
def deployed_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[EntryStack, Any]]:
    """The API function with a deployed stack's egress settings (AllowLoopbackHttp left at false)."""
    with entry_stack(monkeypatch) as stack:
        yield stack, stack.load("ApiFunction", {"ALLOW_LOOPBACK_HTTP": "false"})


@pytest.mark.parametrize(
    "webhook_url",
    [
        "https://2852039166/hooks",
        "https://0xA9FEA9FE/hooks",
        "https://0251.0376.0251.0376/hooks",
        "https://127.1/hooks",
        "https://10.1/hooks",
        "https://localhost./hooks",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/hooks",
        "https://[::ffff:169.254.169.254]/hooks",
        "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
        "http://localhost:2773/secretsmanager/get",
        "http://hooks.example.com/x",
    ],
)
def test_a_webhook_url_the_egress_policy_refuses_is_a_422(
    deployed_api: tuple[EntryStack, Any], lambda_context: Any, webhook_url: str
) -> None:
    stack, handler = deployed_api
    # WHEN a request names the webhook URL
    response = handler(
        api_event("POST", "/generations", body={**REQUEST, "webhook_url": webhook_url}), lambda_context
    )
    # THEN 422 naming webhook_url, and no job was started
    assert response["statusCode"] == 422, response
    assert "webhook_url" in str(response_json(response))
    assert stack.executions() == []


def test_a_public_https_webhook_url_is_accepted(
    deployed_api: tuple[EntryStack, Any], lambda_context: Any
) -> None:
    stack, handler = deployed_api
    body = {**REQUEST, "webhook_url": "https://hooks.example.com/videos"}
    response = handler(api_event("POST", "/generations", body=body), lambda_context)
    assert response["statusCode"] == 202, response
    assert len(stack.executions()) == 1
