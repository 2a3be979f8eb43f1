"""The four Lambda handlers, loaded from their files with the template's environment (moto + simulator)."""

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


def test_submit_poll_archive_through_the_handlers(stack: Stack, lambda_context: Any) -> None:
    submit, poll, archive = stack.load("submit"), stack.load("poll"), stack.load("archive")
    # GIVEN the execution input WHEN the submit handler runs THEN it returns $.task, key from Secrets Manager
    task = submit.lambda_handler(submit_event(), lambda_context)
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
    assert type(caught.value).__name__ == "InvalidRequest"  # the name the ASL's Catch matches
    assert "job_id" in str(caught.value)


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
