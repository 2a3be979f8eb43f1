"""Fixtures shared by every test: sample events and a Lambda context."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = ROOT / "events"


#: The IAM principal of the API events in events/ (the owner of the jobs they create and may see).
EVENT_CALLER = "arn:aws:iam::123456789012:user/video-producer"
_NOT_GIVEN: Any = object()


def load_event(
    name: str, *, user_arn: str | None = _NOT_GIVEN, api_key_id: str | None = _NOT_GIVEN
) -> dict[str, Any]:
    """Read ``events/<name>`` (the same files ``sam local invoke -e`` takes). For an API event, ``user_arn``
    and ``api_key_id`` replace the caller identity API Gateway verified (None removes it)."""
    path = EVENTS_DIR / (name if name.endswith(".json") else f"{name}.json")
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    identity = event.get("requestContext", {}).get("identity")
    if identity is not None:
        if user_arn is not _NOT_GIVEN:
            identity["userArn"] = user_arn
        if api_key_id is not _NOT_GIVEN:
            identity["apiKeyId"] = api_key_id
    return event


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "11111111-2222-3333-4444-555555555555"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/11/25/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
