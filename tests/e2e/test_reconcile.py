"""The reconciler, end to end: whatever ends outside the machine's own Catch is settled from Runway's truth.

Each test breaks one step past its retries (or stops the execution), lets the execution's status change reach
the reconcile function through the template's EventBridge rule, and checks the promise: one known ending,
announced once, the paid video in the bucket, no Runway task left running.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from local.runner import LocalPipeline
from tests.e2e.conftest import TIME_SCALE
from tests.support.stack import created_tasks, events_for, wait_reconciled
from videogen.core.errors import BookkeepingFailed

TIMEOUT = 120
ACTIVE = {"PENDING", "THROTTLED", "RUNNING"}


@pytest.fixture
def break_function(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``break_function(pipeline, logical_id)``: the function raises ``error`` until the test ends."""

    def breaker(pipeline: LocalPipeline, logical_id: str, error: type[Exception] = BookkeepingFailed) -> None:
        def broken(event: Any, context: Any) -> Any:
            raise error(f"{logical_id} is broken for this test")

        monkeypatch.setattr(pipeline.function(logical_id), "handler", broken)

    return breaker


def sweep(pipeline: LocalPipeline) -> dict[str, Any]:
    """Invoke the reconcile function with the sweep schedule's Input, as EventBridge Scheduler does."""
    headers: dict[str, Any] = {}
    answer = json.loads(pipeline.function("ReconcileFunction").invoke(json.dumps({"sweep": True}), headers))
    assert "x-amz-function-error" not in headers, answer
    return dict(answer)


def task_statuses(pipeline: LocalPipeline) -> list[str]:
    return [str((pipeline.simulator.task(t.id) or {}).get("status")) for t in created_tasks(pipeline)]


def assert_outputs_match_manifest(pipeline: LocalPipeline, job_id: str) -> None:
    import hashlib

    record = pipeline.job(job_id) or {}
    manifest = pipeline.read_json(str(record["manifest_key"])) or {}
    for entry in manifest["outputs"]:
        body = pipeline.read_object(entry["key"])
        assert (len(body), hashlib.sha256(body).hexdigest()) == (entry["bytes"], entry["sha256"])


def test_a_success_that_cannot_be_recorded_is_recorded_by_the_reconciler(
    pipeline: LocalPipeline, break_function: Any
) -> None:
    # GIVEN a finish step that fails past its retries
    break_function(pipeline, "FinishFunction")
    # WHEN a job runs: Runway succeeds, the outputs are archived, the ending cannot be recorded
    job = pipeline.run({"model": "gen4.5", "prompt": "recorded later"}, timeout=TIMEOUT)
    assert job.status == "FAILED" and job.error == "BookkeepingFailed"
    result = wait_reconciled(pipeline, job.job_id)
    # THEN the reconciler recorded SUCCEEDED with the archived outputs and announced it once
    record = pipeline.job(job.job_id) or {}
    assert record["status"] == "SUCCEEDED" and record["announced_at"] and record["reconciled_at"]
    assert result["action"] == "recorded SUCCEEDED"
    assert_outputs_match_manifest(pipeline, job.job_id)
    assert [e["detail-type"] for e in events_for(pipeline, job.job_id)] == ["Video Generation Succeeded"]
    assert task_statuses(pipeline) == ["SUCCEEDED"]


def test_a_failure_that_cannot_be_recorded_keeps_its_runway_reason(
    pipeline: LocalPipeline, break_function: Any
) -> None:
    # GIVEN a moderated task and a finish step that fails past its retries
    pipeline.simulator.inject("task_failure", code="SAFETY.INPUT.TEXT")
    break_function(pipeline, "FinishFunction")
    # WHEN the job runs
    job = pipeline.run({"model": "gen4.5", "prompt": "refused"}, timeout=TIMEOUT)
    wait_reconciled(pipeline, job.job_id)
    # THEN the record says why Runway refused it (not RUNNING forever), announced once, with no stack trace
    record = pipeline.job(job.job_id) or {}
    assert record["status"] == "FAILED" and record["error_code"] == "ContentModerated"
    assert "Traceback" not in record["error_cause"] and "stackTrace" not in record["error_cause"]
    assert [e["detail-type"] for e in events_for(pipeline, job.job_id)] == ["Video Generation Failed"]


def test_an_operator_stop_mid_generation_cancels_the_task_and_ends_the_job(pipeline: LocalPipeline) -> None:
    # GIVEN a job whose task Runway keeps THROTTLED
    pipeline.simulator.inject("throttle", seconds=86_400)
    job_id = pipeline.start_job({"model": "gen4.5", "prompt": "stopped by an operator"})
    deadline = dt.datetime.now() + dt.timedelta(seconds=TIMEOUT)
    while not (pipeline.job(job_id) or {}).get("task_id"):
        assert dt.datetime.now() < deadline
    # WHEN an operator stops the execution
    pipeline.sfn.stop_execution(
        executionArn=pipeline.execution_arn(job_id), error="Operator", cause="maintenance"
    )
    result = wait_reconciled(pipeline, job_id)
    # THEN the task was cancelled at Runway, the job ended CANCELLED and it was announced once
    assert task_statuses(pipeline) == ["CANCELLED"]
    record = pipeline.job(job_id) or {}
    assert record["status"] == "CANCELLED" and record["error_code"] == "ExecutionAborted"
    assert result["task_status"] == "CANCELLED"
    assert [e["detail-type"] for e in events_for(pipeline, job_id)] == ["Video Generation Cancelled"]


def test_a_cancel_runway_refuses_is_flagged_and_retried_by_the_sweep() -> None:
    # GIVEN a job past its deadline while Runway keeps it THROTTLED and answers every DELETE with a 503
    with LocalPipeline(time_scale=TIME_SCALE, env_overrides={"DEADLINE_SECONDS": "60"}) as pipeline:
        pipeline.simulator.inject("throttle", seconds=86_400)
        pipeline.simulator.inject("http_error", status=503, method="DELETE", times=None)
        # WHEN the job runs
        job = pipeline.run({"model": "gen4.5", "prompt": "never on time"}, timeout=TIMEOUT)
        wait_reconciled(pipeline, job.job_id)
        # THEN it ended TIMED_OUT and its record says the task may still be running (the cancel failed twice)
        record = pipeline.job(job.job_id) or {}
        assert record["status"] == "TIMED_OUT" and record["task_may_be_running"] is True
        assert task_statuses(pipeline) == ["THROTTLED"]
        # WHEN Runway takes DELETEs again and the sweep runs
        pipeline.simulator.faults.clear()
        swept = sweep(pipeline)
        # THEN the sweep cancelled the task and cleared the flag; the ending was not announced again
        assert task_statuses(pipeline) == ["CANCELLED"]
        assert (pipeline.job(job.job_id) or {})["task_may_be_running"] is False
        assert [o["job_id"] for o in swept["swept"]] == [job.job_id]
        assert [e["detail-type"] for e in events_for(pipeline, job.job_id)] == ["Video Generation Timed Out"]


@pytest.mark.parametrize("status", ["RUNNING", "ARCHIVING"])
def test_the_sweep_settles_a_job_left_unsettled_past_its_deadline(
    pipeline: LocalPipeline, status: str
) -> None:
    # GIVEN a job whose execution is gone while its record says it is still going, long past its deadline
    job = pipeline.run({"model": "gen4.5", "prompt": "finished, then forgotten"}, timeout=TIMEOUT)
    long_ago = "2020-01-01T00:00:00.000Z"
    pipeline.jobs_table.update_item(
        Key={"job_id": job.job_id},
        UpdateExpression="SET #s = :s, created_at = :t REMOVE finished_at, announced_at",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": status, ":t": long_ago},
    )
    before = len(events_for(pipeline, job.job_id))
    # WHEN the sweep runs (the schedule's Input)
    swept = sweep(pipeline)
    # THEN the job is SUCCEEDED again from the Runway task, its outputs intact, announced once more
    assert job.job_id in [o["job_id"] for o in swept["swept"]]
    record = pipeline.job(job.job_id) or {}
    assert record["status"] == "SUCCEEDED" and record["finished_at"] and record["announced_at"]
    assert_outputs_match_manifest(pipeline, job.job_id)
    assert len(events_for(pipeline, job.job_id)) == before + 1


def test_a_job_whose_archive_failed_is_recovered_from_its_task_without_a_second_one(
    pipeline: LocalPipeline,
) -> None:
    # GIVEN a job whose outputs could not be archived: every output URL Runway gives out is expired
    pipeline.simulator.inject("expired_urls", ttl=0, times=None)
    job = pipeline.run({"model": "gen4.5", "prompt": "archived on the second try"}, timeout=TIMEOUT)
    assert job.status == "FAILED" and job.error == "OutputExpired"
    wait_reconciled(pipeline, job.job_id)
    # WHEN the URLs work again and the caller retries the job
    pipeline.simulator.faults.clear()
    answer = pipeline.post(f"/generations/{job.job_id}/retry", {})
    assert answer["statusCode"] == 202 and json.loads(answer["body"])["status"] == "RECOVERING", answer
    [recovery] = [
        i.wait(TIMEOUT)
        for i in pipeline.async_invocations("ReconcileFunction")
        if i.event.get("recover") and i.event.get("job_id") == job.job_id
    ]
    # THEN the outputs were archived from the same task (no second task), the job is SUCCEEDED and announced
    assert recovery.succeeded and recovery.result["action"] == "re-archived the outputs", recovery.result
    assert len(created_tasks(pipeline)) == 1
    record = pipeline.job(job.job_id) or {}
    assert record["status"] == "SUCCEEDED" and "error_code" not in record and record["announced_at"]
    assert_outputs_match_manifest(pipeline, job.job_id)
    assert [e["detail-type"] for e in events_for(pipeline, job.job_id)] == [
        "Video Generation Failed",
        "Video Generation Succeeded",
    ]
