"""The submit side end to end: uploads made once, INTERNAL failures as new tasks, lost creates, throttling.

Through the local runner: the deployed ASL's Retry/Catch, the real handlers and the Runway simulator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.runner import LocalPipeline
from tests.e2e.test_pipeline import png_bytes
from tests.support.stack import assert_announced, assert_archived, created_tasks, creates
from videogen.storage.job_store import JobStore

pytestmark = pytest.mark.e2e

TIMEOUT = 60
INTERNAL = "INTERNAL.BAD_OUTPUT.CODE01"


def entered(pipeline: LocalPipeline, job_id: str) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in pipeline.history(job_id)
        if e["type"].endswith("Entered")
    ]


def lambda_errors(pipeline: LocalPipeline, job_id: str) -> list[str]:
    return [
        e["lambdaFunctionFailedEventDetails"]["error"]
        for e in pipeline.history(job_id)
        if e["type"] == "LambdaFunctionFailed"
    ]


def statuses(pipeline: LocalPipeline) -> list[str]:
    return [str((pipeline.simulator.task(t.id) or {}).get("status")) for t in created_tasks(pipeline)]


def test_an_internal_failure_is_retried_as_a_new_task_reusing_the_upload(
    pipeline: LocalPipeline, tmp_path: Path
) -> None:
    # GIVEN an image from a local file (it goes to S3, then to Runway as an ephemeral upload)
    # AND Runway fails the first task with INTERNAL.BAD_OUTPUT.*
    frame = tmp_path / "frame.png"
    frame.write_bytes(png_bytes())
    pipeline.simulator.inject("task_failure", code=INTERNAL, message="quality check failed")
    # WHEN the job runs
    job = pipeline.run({"model": "gen4_turbo", "image": str(frame), "prompt": "again"}, timeout=TIMEOUT)
    # THEN a second task made the video, and it is the one the record and the manifest name
    assert_archived(pipeline, job)
    first, second = created_tasks(pipeline)
    assert statuses(pipeline) == ["FAILED", "SUCCEEDED"]
    record = job.record or {}
    assert record["task_id"] == second.id == (job.manifest or {})["task_id"]
    # AND both attempts are on the record, the first with its failure code and no cost
    one, two = record["attempts"]
    assert (one["attempt"], one["task_id"], one["status"], one["failure_code"]) == (
        1,
        first.id,
        "FAILED",
        INTERNAL,
    )
    assert one["credits"] == 0
    assert (two["attempt"], two["task_id"]) == (2, second.id)
    # AND the input was uploaded once: the new task got the same runway:// URI
    uploads = [r for r in pipeline.simulator.requests if r.method == "POST" and r.path == "/v1/uploads"]
    assert len(uploads) == 1
    assert first.body["promptImage"] == second.body["promptImage"]
    # AND the machine went back through "Retry with a new task", once
    names = entered(pipeline, job.job_id)
    assert names.count("Retry with a new task") == 1
    assert names.count("Upload inputs to Runway") == names.count("Create the Runway task") == 2
    assert_announced(pipeline, job.job_id, "Video Generation Succeeded", "SUCCEEDED")


def test_internal_failures_past_the_attempts_fail_the_job_with_the_runway_code(
    pipeline: LocalPipeline,
) -> None:
    # GIVEN every task fails INTERNAL (the template's default: 2 retries, so 3 tasks)
    pipeline.simulator.inject("task_failure", code=INTERNAL, times=None)
    # WHEN the job runs
    job = pipeline.run({"model": "gen4.5", "prompt": "never good enough"}, timeout=TIMEOUT)
    # THEN it fails with GenerationFailed naming the code, after exactly three tasks, none left running
    assert job.status == "FAILED" and job.error == "GenerationFailed"
    assert INTERNAL in (job.cause or "") and "no attempt left (3 of 3 made)" in (job.cause or "")
    assert statuses(pipeline) == ["FAILED"] * 3
    record = job.record or {}
    assert record["status"] == "FAILED" and record["error_code"] == "GenerationFailed"
    assert [a["attempt"] for a in record["attempts"]] == [1, 2, 3]
    assert [a.get("failure_code") for a in record["attempts"][:2]] == [INTERNAL, INTERNAL]
    assert pipeline.archived_keys(job.job_id) == []
    assert_announced(pipeline, job.job_id, "Video Generation Failed", "FAILED")


def test_a_safety_failure_is_not_retried(pipeline: LocalPipeline) -> None:
    pipeline.simulator.inject("task_failure", code="SAFETY.OUTPUT.VIDEO")
    job = pipeline.run({"model": "gen4.5", "prompt": "refused"}, timeout=TIMEOUT)
    assert job.status == "FAILED" and job.error == "ContentModerated"
    assert len(created_tasks(pipeline)) == 1
    assert "Retry with a new task" not in entered(pipeline, job.job_id)


def test_a_create_whose_answer_is_lost_fails_the_job_flagged_and_is_never_sent_again(
    pipeline: LocalPipeline,
) -> None:
    # GIVEN Runway resets the connection after receiving the create
    pipeline.simulator.inject("disconnect", method="POST", path="/v1/text_to_video")
    # WHEN the job runs
    job = pipeline.run({"model": "gen4.5", "prompt": "did it start?"}, timeout=TIMEOUT)
    # THEN the job fails with SubmitOutcomeUnknown, the create was sent once, and the record tells an operator
    assert job.status == "FAILED" and job.error == "SubmitOutcomeUnknown"
    assert len(creates(pipeline)) == 1
    assert lambda_errors(pipeline, job.job_id) == ["SubmitOutcomeUnknown"]
    record = job.record or {}
    assert record["status"] == "FAILED" and record["error_code"] == "SubmitOutcomeUnknown"
    flag = record["submit_outcome_unknown"]
    assert flag["model"] == "gen4.5" and flag["window_start"] == record["create_sent_at"]
    assert "retrieve_usage" in record["error_cause"] and "gen4.5" in record["error_cause"]
    assert_announced(pipeline, job.job_id, "Video Generation Failed", "FAILED")


class SandboxTimedout(Exception):
    """What Lambda reports when it stops a function at its timeout."""


SandboxTimedout.__name__ = "Sandbox.Timedout"


def test_a_create_lambda_stopped_at_its_timeout_never_posts_twice(
    pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the create Lambda is stopped (as at its timeout) after its POST, before it records the task
    submit = pipeline.function("SubmitFunction")

    def stopped(*_: Any, **__: Any) -> Any:
        raise SandboxTimedout("Task timed out after 300.00 seconds")

    monkeypatch.setattr(submit.module.JOBS, "record_submission", stopped)
    # WHEN the job runs
    job = pipeline.run({"model": "gen4.5", "prompt": "stopped mid-way"}, timeout=TIMEOUT)
    # THEN the create was run once more but POSTed once: the re-run found the create sent and nothing
    # recorded, so the job failed with SubmitOutcomeUnknown and was flagged for an operator
    assert job.status == "FAILED" and job.error == "SubmitOutcomeUnknown"
    assert lambda_errors(pipeline, job.job_id) == ["Sandbox.Timedout", "SubmitOutcomeUnknown"]
    assert len(creates(pipeline)) == 1
    record = job.record or {}
    assert record["submit_outcome_unknown"]["reason"] == "SubmitOutcomeUnknown"
    # AND the task it created is not running (the step cancelled what it could not record)
    assert statuses(pipeline) == ["CANCELLED"]


class ThrottledTable:
    """The jobs table of the create step, throttled on its first ``times`` create-sent writes."""

    def __init__(self, table: Any, times: int) -> None:
        self._table = table
        self.left = times

    def update_item(self, **kwargs: Any) -> Any:
        if self.left and "create_sent_at" in kwargs["ExpressionAttributeNames"].values():
            self.left -= 1
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "UpdateItem"
            )
        return self._table.update_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def test_dynamodb_throttling_on_the_record_write_is_retried_with_exactly_one_task(
    pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN DynamoDB throttles the create step's write twice, past the SDK's own retries
    submit = pipeline.function("SubmitFunction")
    monkeypatch.setattr(submit.module, "JOBS", JobStore(ThrottledTable(pipeline.jobs_table, times=2)))
    # WHEN the job runs
    job = pipeline.run({"model": "gen4.5", "prompt": "slow table"}, timeout=TIMEOUT)
    # THEN the machine retried JobStoreUnavailable and the video came from exactly one Runway task
    assert_archived(pipeline, job)
    assert lambda_errors(pipeline, job.job_id) == ["JobStoreUnavailable"] * 2
    assert len(created_tasks(pipeline)) == 1 == len(creates(pipeline))
