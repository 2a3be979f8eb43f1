"""The submit side's job record writes (moto): transient DynamoDB errors by name, attempts, uploads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.support.template import create_jobs_table
from videogen.core.errors import JobStoreUnavailable
from videogen.storage.job_store import (
    STEP_CLIENT_CONFIG,
    JobStore,
    RecordConflict,
    TaskIdConflict,
    attempts_of,
    is_transient,
)

NO_SDK_RETRIES = Config(retries={"mode": "standard", "max_attempts": 1})


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        create_jobs_table(boto3.client("dynamodb"), "jobs")
        yield boto3.resource("dynamodb", config=NO_SDK_RETRIES).Table("jobs")


def submission(**overrides: Any) -> dict[str, Any]:
    return {
        "task_id": "task-1",
        "endpoint": "text_to_video",
        "model": "gen4.5",
        "estimated_credits": 60,
        "submitted_at": "2026-01-01T00:00:00.000Z",
        "deadline_at": "2026-01-01T01:00:00.000Z",
        **overrides,
    }


def answer_update_item_with(table: Any, status: int, code: str) -> None:
    """Every UpdateItem of ``table`` gets DynamoDB's error answer ``code`` (botocore parses it as usual)."""
    body = f'{{"__type": "com.amazonaws.dynamodb.v20120810#{code}", "message": "try later"}}'.encode()

    def answer(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, status, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(body))

    table.meta.client.meta.events.register("before-send.dynamodb.UpdateItem", answer)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "ProvisionedThroughputExceededException"),
        (400, "ThrottlingException"),
        (400, "RequestLimitExceeded"),
        (500, "InternalServerError"),
        (503, "ServiceUnavailable"),
    ],
)
def test_transient_dynamodb_answers_become_job_store_unavailable(table: Any, status: int, code: str) -> None:
    # GIVEN DynamoDB answers each write with a transient error (past the SDK's retries)
    answer_update_item_with(table, status, code)
    # WHEN the submit side writes THEN the error has the name the state machine retries, with the code
    with pytest.raises(JobStoreUnavailable, match=code) as caught:
        JobStore(table).record_submission("job-1", **submission())
    assert caught.value.retryable is True
    assert isinstance(caught.value.__cause__, ClientError)


def test_a_lost_connection_becomes_job_store_unavailable(table: Any) -> None:
    def reset(request: Any, **_: Any) -> None:
        raise botocore.exceptions.ConnectionClosedError(endpoint_url=request.url)

    table.meta.client.meta.events.register("before-send.dynamodb.UpdateItem", reset)
    with pytest.raises(JobStoreUnavailable, match="ConnectionClosedError"):
        JobStore(table).record_uploads("job-1", {})


def test_a_request_dynamodb_refuses_stays_a_client_error(table: Any) -> None:
    # GIVEN a write DynamoDB refuses for good (a bug, not a blip) THEN it is not retried as transient
    answer_update_item_with(table, 400, "ValidationException")
    with pytest.raises(ClientError) as caught:
        JobStore(table).record_create_sent(
            "job-1", attempt=1, sent_at="2026-01-01T00:00:00.000Z", endpoint="text_to_video", model="gen4.5",
            estimated_credits=60,
        )  # fmt: skip
    assert not isinstance(caught.value, JobStoreUnavailable)
    assert not is_transient(caught.value)


def test_the_steps_client_is_bounded() -> None:
    assert STEP_CLIENT_CONFIG.connect_timeout == 2 and STEP_CLIENT_CONFIG.read_timeout == 3
    assert STEP_CLIENT_CONFIG.retries == {"mode": "standard", "max_attempts": 3}


def test_attempts_are_appended_one_per_attempt_and_never_twice(table: Any) -> None:
    store = JobStore(table)
    # GIVEN attempt 1 recorded
    store.record_submission("job-1", **submission())
    first = store.get("job-1") or {}
    # WHEN attempt 2 follows with attempt 1's ending
    ended = [{**attempts_of(first)[0], "status": "FAILED", "failure_code": "INTERNAL.X", "credits": 0}]
    record = store.record_submission(
        "job-1", **submission(task_id="task-2", submitted_at="2026-01-01T00:10:00.000Z", deadline_at="later"),
        attempt=2, attempts_before=ended,
    )  # fmt: skip
    # THEN the record tracks task 2, keeps the job's first deadline and both attempts
    assert record["task_id"] == "task-2" and record["deadline_at"] == "2026-01-01T01:00:00.000Z"
    assert [a["task_id"] for a in record["attempts"]] == ["task-1", "task-2"]
    assert record["attempts"][0]["status"] == "FAILED"
    # AND another attempt-2 task is refused, while writing task 2 again is a no-op
    with pytest.raises(TaskIdConflict):
        store.record_submission("job-1", **submission(task_id="task-3"), attempt=2, attempts_before=ended)
    again = store.record_submission("job-1", **submission(task_id="task-2"), attempt=2, attempts_before=ended)
    assert len(again["attempts"]) == 2


def test_the_create_sent_write_needs_the_attempts_before_it(table: Any) -> None:
    store = JobStore(table)
    store.record_submission("job-1", **submission())
    sent = {
        "sent_at": "2026-01-01T00:00:00.000Z", "endpoint": "text_to_video", "model": "gen4.5",
        "estimated_credits": 60,
    }  # fmt: skip
    with pytest.raises(RecordConflict):
        store.record_create_sent("job-1", attempt=1, **sent)  # attempt 1 already has its task
    with pytest.raises(RecordConflict):
        store.record_create_sent("job-1", attempt=3, **sent)  # attempt 2 is missing
    record = store.record_create_sent("job-1", attempt=2, **sent)
    assert record["create_attempt"] == 2 and record["create_sent_at"] == sent["sent_at"]


def test_uploads_are_not_written_on_an_ended_job(table: Any) -> None:
    store = JobStore(table)
    store.update("job-1", {"status": "FAILED", "finished_at": "2026-01-01T00:00:00.000Z"})
    with pytest.raises(RecordConflict) as caught:
        store.record_uploads("job-1", {"s3://b/k": {"uri": "runway://x"}})
    assert caught.value.existing["status"] == "FAILED"


def test_a_record_from_before_attempts_were_kept_is_attempt_1() -> None:
    legacy = {"task_id": "t", "submitted_at": "s"}
    assert attempts_of(legacy) == [{"attempt": 1, "task_id": "t", "created_at": "s"}]
    assert attempts_of({}) == [] and attempts_of(None) == []
