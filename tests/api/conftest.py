from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.entry_points import EntryStack, api_event, entry_stack


class Api:
    """The API function, cold-started inside moto, called with API Gateway proxy events."""

    def __init__(self, stack: EntryStack, context: Any) -> None:
        self.stack = stack
        self.context = context
        self.handler = stack.load("ApiFunction")
        self.module = stack.modules["ApiFunction"]
        self.cancelled_tasks: list[str] = []
        self.module.service.intake._cancel_runway_task = self.cancelled_tasks.append

    def __call__(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.handler(api_event(method, path, **kwargs), self.context)

    def put_job(self, job_id: str, **fields: Any) -> None:
        from videogen.jobs import JobStore

        JobStore(self.stack.table).update(job_id, {"source": "api", "model": "gen4.5", **fields})


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, lambda_context: Any) -> Iterator[Api]:
    with entry_stack(monkeypatch) as stack:
        yield Api(stack, lambda_context)
