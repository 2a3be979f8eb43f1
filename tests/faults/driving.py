"""How the fault scenarios drive the local stack: the API as API Gateway calls it, and waits on what the
stack shows (never a fixed sleep)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from local.runner import LocalPipeline
from tests.support.entry_points import api_event

WAIT_SECONDS = 30.0
REQUEST = {"model": "gen4.5", "prompt": "A paper boat drifting down a rainy street", "duration": 5}


def api(
    pipeline: LocalPipeline,
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, Any]:
    """Invoke the API function through Lambda's Invoke, as API Gateway does: ``(status, JSON body)``."""
    event = api_event(method, path, body=body, headers=headers)
    answer = pipeline.session.client("lambda", region_name=pipeline.region).invoke(
        FunctionName=pipeline.function(pipeline.stack_.api_function or "").spec.name,
        Payload=json.dumps(event),
    )
    payload = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, payload
    return int(payload["statusCode"]), json.loads(payload.get("body") or "null")


def until(predicate: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)
    return value


def the_task(pipeline: LocalPipeline) -> dict[str, Any] | None:
    """The scenario's Runway task as Runway shows it now (None before it is created, or once deleted)."""
    assert pipeline.simulator is not None
    created = pipeline.simulator.created_tasks()
    return pipeline.simulator.task(created[-1].id) if created else None


def task_status(pipeline: LocalPipeline) -> str | None:
    task = the_task(pipeline)
    return None if task is None else str(task["status"])


def wait_for_task(pipeline: LocalPipeline, status: str) -> dict[str, Any]:
    """Wait until the scenario's Runway task has ``status``; returns it."""
    return dict(until(lambda: (task := the_task(pipeline)) and task["status"] == status and task, status))


def runway_requests(pipeline: LocalPipeline, method: str, prefix: str = "/v1/") -> list[Any]:
    assert pipeline.simulator is not None
    return [r for r in pipeline.simulator.requests if r.method == method and r.path.startswith(prefix)]
