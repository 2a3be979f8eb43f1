"""API -> state machine -> Runway simulator -> S3, end to end on the local stack."""

from __future__ import annotations

import json
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


def test_cancelling_a_running_job_lets_the_state_machine_record_cancelled(pipeline, lambda_context):
    # GIVEN a job whose Runway task exists
    job_id = response_json(call(pipeline, lambda_context, "POST", "/generations", body=REQUEST))["job_id"]
    deadline = time.monotonic() + 30
    while not (pipeline.job(job_id) or {}).get("runway_task_id"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    # WHEN it is cancelled through the API
    response = call(pipeline, lambda_context, "DELETE", f"/generations/{job_id}")
    # THEN the machine itself records CANCELLED and announces it
    if response["statusCode"] == 409:  # it finished first: nothing left to cancel
        pytest.skip("the simulated task finished before the cancel")
    assert response["statusCode"] == 202
    pipeline.wait(job_id, timeout=60)
    assert pipeline.job(job_id)["status"] == "CANCELLED"
    kinds = [
        e["detail-type"]
        for e in pipeline.events()
        if json.loads(json.dumps(e["detail"])).get("job_id") == job_id
    ]
    assert "Video Generation Cancelled" in kinds
