"""How the fault scenarios drive the local stack: the API as API Gateway calls it, and waits on what the
stack shows (never a fixed sleep)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from local.runner import LOCAL_CALLER, LocalPipeline
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
    """Invoke the API function through Lambda's Invoke, as API Gateway does: ``(status, JSON body)``; a
    function error is answered 502, as API Gateway answers it. The caller is the runner's, so the jobs it
    started are the caller's own."""
    event = api_event(method, path, body=body, headers=headers, user_arn=LOCAL_CALLER)
    answer = pipeline.session.client("lambda", region_name=pipeline.region).invoke(
        FunctionName=pipeline.function(pipeline.stack_.api_function or "").spec.name,
        Payload=json.dumps(event),
    )
    payload = json.loads(answer["Payload"].read())
    if "FunctionError" in answer:
        return 502, {"code": "FunctionError", "message": payload.get("errorMessage"), "error": payload}
    return int(payload["statusCode"]), json.loads(payload.get("body") or "null")


def post_generation(pipeline: LocalPipeline, request: Mapping[str, Any], key: str) -> str:
    """POST ``request`` with Idempotency-Key ``key`` as a client does: a 409 RequestInProgress or a 502 is
    retried after a moment with the same key; returns the job id of the 202.

    Concurrent invocations of one local function share its module (one Lambda container serves one request at
    a time): Powertools' resolver can then lose its per-request context, which API Gateway would answer 502.
    """
    while True:
        status, answer = api(pipeline, "POST", "/generations", body=request, headers={"Idempotency-Key": key})
        if status == 202:
            return str(answer["job_id"])
        assert (status, answer["code"]) in ((409, "RequestInProgress"), (502, "FunctionError")), answer
        time.sleep(0.01)  # the answer's Retry-After, shortened


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
