from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.entry_points import DEFAULT_CALLER, EntryStack, api_event, entry_stack


class Api:
    """The API function, cold-started inside moto, called with API Gateway proxy events."""

    def __init__(self, stack: EntryStack, context: Any, env: dict[str, str] | None = None) -> None:
        self.stack = stack
        self.context = context
        self.handler = stack.load("ApiFunction", env)
        self.module = stack.modules["ApiFunction"]
        self.cancelled_tasks: list[str] = []
        self.runway_task_status = "RUNNING"  # what the cancel function finds when it reads the task
        self.module.service.canceller._runway_cancel = self._cancel_on_runway
        self.recoveries: list[str] = []  # jobs handed to the reconcile function (tested end to end)
        self.module.service.recovery._recover = self.recoveries.append

    def _cancel_on_runway(self, job_id: str, task_id: str) -> dict[str, Any]:
        """Stands in for the cancel function (tested on its own and end to end through the local stack)."""
        active = self.runway_task_status in ("PENDING", "THROTTLED", "RUNNING")
        if active:
            self.cancelled_tasks.append(task_id)
        return {"task_id": task_id, "task_status": self.runway_task_status, "cancelled": active}

    def __call__(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.handler(api_event(method, path, **kwargs), self.context)

    def put_job(self, job_id: str, **fields: Any) -> None:
        """A job record as the pipeline leaves it; owned by the default caller unless ``owner`` is given."""
        from videogen.storage.job_store import JobStore

        record = {"source": "api", "model": "gen4.5", "owner": DEFAULT_CALLER, **fields}
        JobStore(self.stack.table).update(job_id, record)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, lambda_context: Any) -> Iterator[Api]:
    with entry_stack(monkeypatch) as stack:
        yield Api(stack, lambda_context)
