"""The step Lambda handlers, loaded from their files with the template's environment (moto + simulator)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from tests.handlers.conftest import Stack
from videogen.core.errors import SettingsError

REQUEST = {"prompt": "a lighthouse in a storm", "duration": 5}


def submit_event(job_id: str = "job-h1", request: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"job_id": job_id, "request": request or REQUEST, "source": "api"}


def test_upload_submit_poll_archive_through_the_handlers(stack: Stack, lambda_context: Any) -> None:
    upload, submit = stack.load("upload"), stack.load("submit")
    poll, archive = stack.load("poll"), stack.load("archive")
    # GIVEN the execution input WHEN the upload handler runs THEN a text request has nothing to upload
    inputs = upload.lambda_handler(submit_event(), lambda_context)
    assert inputs == {"uploads": {}, "uploaded": 0, "reused": 0}
    # WHEN the submit handler runs on the state THEN it returns $.task, the key read from Secrets Manager
    task = submit.lambda_handler({**submit_event(), "inputs": inputs}, lambda_context)
    assert task["status"] == "PENDING" and task["polls"] == 0
    create = next(r for r in stack.sim.requests if r.path == "/v1/text_to_video")
    assert create.headers.get("Authorization") == "Bearer sk-test-from-secrets-manager"
    json.dumps(task)
    # WHEN the poll handler runs until the task ends (the Wait state is skipped by moving the clock)
    for _ in range(10):
        stack.clock.advance(task["next_wait_seconds"])
        task = poll.lambda_handler({"job_id": "job-h1", "task": task}, lambda_context)
        if task["status"] == "SUCCEEDED":
            break
    assert task["status"] == "SUCCEEDED" and task["output_count"] == 1
    # WHEN the archive handler runs THEN the video and job.json are in the template's bucket
    result = archive.lambda_handler({"job_id": "job-h1", "request": REQUEST, "task": task}, lambda_context)
    assert set(result) == {"bucket", "prefix", "manifest_key", "output_keys", "outputs", "credits_charged"}
    assert result["bucket"] == stack.env["OUTPUT_BUCKET"]
    assert result["output_keys"] == ["outputs/job-h1/0.mp4"]
    body = stack.s3.get_object(Bucket=result["bucket"], Key="outputs/job-h1/0.mp4")["Body"].read()
    assert result["outputs"][0]["sha256"] == hashlib.sha256(body).hexdigest()
    assert stack.s3.get_object(Bucket=result["bucket"], Key="outputs/job-h1/job.json")["ContentType"] == (
        "application/json"
    )
    json.dumps(result)
    # AND the job record holds the task
    record = stack.table.get_item(Key={"job_id": "job-h1"})["Item"]
    assert record["task_id"] == task["task_id"]


def test_submit_handler_is_idempotent(stack: Stack, lambda_context: Any) -> None:
    submit = stack.load("submit")
    first = submit.lambda_handler(submit_event(), lambda_context)
    second = submit.lambda_handler(submit_event(), lambda_context)
    assert first["task_id"] == second["task_id"]
    assert len(stack.sim.created_tasks()) == 1


def test_submit_handler_rejects_a_malformed_event(stack: Stack, lambda_context: Any) -> None:
    submit = stack.load("submit")
    with pytest.raises(Exception) as caught:
        submit.lambda_handler({"request": REQUEST}, lambda_context)
    assert type(caught.value).__name__ == "InvalidStepInput"  # the name the ASL's Catch matches
    assert "job_id is required" in str(caught.value)


def test_submit_handler_invalid_request(stack: Stack, lambda_context: Any) -> None:
    submit = stack.load("submit")
    with pytest.raises(Exception) as caught:
        submit.lambda_handler(submit_event(request={"prompt": "x", "model": "gen3a_turbo"}), lambda_context)
    assert type(caught.value).__name__ == "InvalidRequest"
    assert stack.sim.created_tasks() == []


def test_poll_handler_raises_the_names_the_asl_matches(stack: Stack, lambda_context: Any) -> None:
    submit, poll = stack.load("submit"), stack.load("poll")
    stack.sim.inject("task_failure", code="SAFETY.INPUT.TEXT")
    task = submit.lambda_handler(submit_event(), lambda_context)
    stack.clock.advance(5000)
    with pytest.raises(Exception) as caught:
        poll.lambda_handler({"job_id": "job-h1", "task": task}, lambda_context)
    assert type(caught.value).__name__ == "ContentModerated"


def test_upload_handler_uploads_an_s3_input_once(stack: Stack, lambda_context: Any) -> None:
    upload = stack.load("upload")
    bucket = stack.env["OUTPUT_BUCKET"]
    stack.s3.put_object(Bucket=bucket, Key="uploads/u1/frame.png", Body=b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    request = {"prompt": "sail", "image": f"s3://{bucket}/uploads/u1/frame.png", "duration": 5}
    first = upload.lambda_handler(submit_event(request=request), lambda_context)
    second = upload.lambda_handler(submit_event(request=request), lambda_context)
    assert first["uploaded"] == 1 and second == {**first, "uploaded": 0, "reused": 1}
    assert len([r for r in stack.sim.requests if r.path == "/v1/uploads"]) == 1


def test_submit_handler_creates_a_new_task_after_an_internal_failure(
    stack: Stack, lambda_context: Any
) -> None:
    upload, submit, poll = stack.load("upload"), stack.load("submit"), stack.load("poll")
    stack.sim.inject("task_failure", code="INTERNAL.BAD_OUTPUT.CODE01")
    upload.lambda_handler(submit_event(), lambda_context)
    first = submit.lambda_handler(submit_event(), lambda_context)
    stack.clock.advance(5000)
    with pytest.raises(Exception) as caught:
        poll.lambda_handler({"job_id": "job-h1", "task": first}, lambda_context)
    assert type(caught.value).__name__ == "RunwayInternalFailure"  # the name the ASL's Catch matches
    # WHEN the state machine comes back with the failed attempt as $.previous_task
    state = {**submit_event(), "task": first, "previous_task": first}
    second = submit.lambda_handler(state, lambda_context)
    assert second["attempt"] == 2 and second["task_id"] != first["task_id"]
    assert len(stack.sim.created_tasks()) == 2


def test_lost_create_handler_words_the_error(stack: Stack, lambda_context: Any) -> None:
    lost = stack.load("lost_create")
    stack.table.put_item(
        Item={"job_id": "job-h1", "status": "QUEUED", "model": "gen4.5", "endpoint": "text_to_video",
              "create_sent_at": "2026-11-25T10:00:00.000Z", "create_attempt": 1}
    )  # fmt: skip
    error = {"Error": "Sandbox.Timedout", "Cause": "Task timed out after 300.00 seconds"}
    result = lost.lambda_handler({"job_id": "job-h1", "error": error}, lambda_context)
    assert set(result) == {"Error", "Cause"} and result["Error"] == "SubmitOutcomeUnknown"
    assert "2026-11-25T10:00:00.000Z" in result["Cause"]
    record = stack.table.get_item(Key={"job_id": "job-h1"})["Item"]
    assert record["submit_outcome_unknown"]["reason"] == "Sandbox.Timedout"


def test_cancel_handler(stack: Stack, lambda_context: Any) -> None:
    submit, cancel = stack.load("submit"), stack.load("cancel")
    task = submit.lambda_handler(submit_event(), lambda_context)
    error = {"Error": "GenerationTimedOut", "Cause": "deadline"}
    assert cancel.lambda_handler({"job_id": "job-h1", "task": task, "error": error}, lambda_context) == {
        "cancelled": True,
        "task_id": task["task_id"],
        "task_status": "PENDING",
    }
    assert stack.sim.task(task["task_id"])["status"] == "CANCELLED"  # type: ignore[index]
    # a task with no id (nothing created): nothing to do
    assert cancel.lambda_handler({"job_id": "job-h1", "task": {}, "error": error}, lambda_context) == {
        "cancelled": False,
        "task_id": None,
        "task_status": None,
    }


def test_missing_environment_fails_at_cold_start(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBS_TABLE", "")
    with pytest.raises(SettingsError, match="JOBS_TABLE"):
        stack.load("submit")
