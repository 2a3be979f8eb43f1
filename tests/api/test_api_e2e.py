"""API -> state machine -> Runway simulator -> S3, end to end on the local stack."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from local.runner import LocalPipeline
from tests.support.entry_points import api_event, response_json

pytestmark = pytest.mark.e2e

REQUEST = {"prompt": "A paper boat on a rainy street", "model": "gen4.5", "ratio": "1280:720", "duration": 5}


@pytest.fixture
def pipeline() -> Iterator[LocalPipeline]:
    with LocalPipeline(
        time_scale=0.002,
        env_overrides={"POWERTOOLS_METRICS_NAMESPACE": "Test", "POLL_MIN_WAIT_SECONDS": "5"},
    ) as p:
        yield p


def call(pipeline: LocalPipeline, context: Any, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    return pipeline.function("ApiFunction").handler(api_event(method, path, **kwargs), context)


def test_posted_request_is_generated_archived_and_served_with_presigned_urls(pipeline, lambda_context):
    # GIVEN a request posted to the API with an Idempotency-Key, twice
    first = call(
        pipeline, lambda_context, "POST", "/generations", body=REQUEST, headers={"Idempotency-Key": "e2e"}
    )
    again = call(
        pipeline, lambda_context, "POST", "/generations", body=REQUEST, headers={"Idempotency-Key": "e2e"}
    )
    job_id = response_json(first)["job_id"]
    assert response_json(again)["job_id"] == job_id
    # WHEN the execution ends
    result = pipeline.wait(job_id, timeout=60)
    # THEN it succeeded with one Runway task, and GET shows the archived output with an S3 URL
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert len(pipeline.simulator.created_tasks()) == 1
    view = response_json(call(pipeline, lambda_context, "GET", f"/generations/{job_id}"))
    assert view["status"] == "SUCCEEDED" and view["credits"]["charged"]
    assert view["outputs"] and pipeline.bucket in view["outputs"][0]["url"]
    assert view["outputs"][0]["key"].startswith(f"outputs/{job_id}/")


def start_long_job(pipeline: LocalPipeline, context: Any) -> str:
    """POST a job whose Runway task stays THROTTLED long enough to be cancelled, and wait for its task id."""
    pipeline.simulator.inject("throttle", seconds=100_000)
    job_id = response_json(call(pipeline, context, "POST", "/generations", body=REQUEST))["job_id"]
    deadline = time.monotonic() + 30
    while not (pipeline.job(job_id) or {}).get("task_id"):
        assert time.monotonic() < deadline, "the submit step never recorded a Runway task"
        time.sleep(0.02)
    return job_id


def ending_events(pipeline: LocalPipeline, job_id: str) -> list[str]:
    return [e["detail-type"] for e in pipeline.events() if e["detail"].get("job_id") == job_id]


def test_cancelling_a_running_job_lets_the_state_machine_record_cancelled(pipeline, lambda_context):
    # GIVEN a job whose Runway task exists and is still waiting for a slot
    job_id = start_long_job(pipeline, lambda_context)
    # WHEN it is cancelled through the API
    response = call(pipeline, lambda_context, "DELETE", f"/generations/{job_id}")
    # THEN Runway got the DELETE, and the machine itself records CANCELLED and announces it
    assert response["statusCode"] == 202, response
    result = pipeline.wait(job_id, timeout=60)
    assert result.error == "GenerationCancelled"
    assert [r.method for r in pipeline.simulator.requests if r.method == "DELETE"] == ["DELETE"]
    assert pipeline.job(job_id)["status"] == "CANCELLED"
    assert ending_events(pipeline, job_id) == ["Video Generation Cancelled"]


def test_cancelled_task_that_runway_no_longer_lists_still_ends_cancelled(pipeline, lambda_context):
    # GIVEN a running job, and a Runway that answers 404 for a task once it has been cancelled
    job_id = start_long_job(pipeline, lambda_context)
    task_id = pipeline.job(job_id)["task_id"]
    pipeline.simulator.inject("http_error", times=None, method="GET", path=f"/v1/tasks/{task_id}", status=404)
    # WHEN it is cancelled through the API
    assert call(pipeline, lambda_context, "DELETE", f"/generations/{job_id}")["statusCode"] == 202
    # THEN the poll's TaskNotFound is recognised as the requested cancellation, not as a failure
    result = pipeline.wait(job_id, timeout=60)
    assert result.error == "GenerationCancelled", (result.error, result.cause)
    assert pipeline.job(job_id)["status"] == "CANCELLED"
    assert ending_events(pipeline, job_id) == ["Video Generation Cancelled"]


def test_task_lost_without_a_cancel_request_fails_the_job(pipeline, lambda_context):
    # GIVEN a running job whose task Runway stops listing although nobody cancelled it
    job_id = start_long_job(pipeline, lambda_context)
    task_id = pipeline.job(job_id)["task_id"]
    pipeline.simulator.inject("http_error", times=None, method="GET", path=f"/v1/tasks/{task_id}", status=404)
    # WHEN the poll loop next checks it THEN the job fails with TaskNotFound
    result = pipeline.wait(job_id, timeout=60)
    assert result.error == "TaskNotFound", (result.error, result.cause)
    assert pipeline.job(job_id)["status"] == "FAILED"
    assert ending_events(pipeline, job_id) == ["Video Generation Failed"]
