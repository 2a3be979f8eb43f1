"""The one owner of a job's ending: recorded once, announced once, errors as human messages."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.support.template import create_jobs_table
from videogen.core.errors import BookkeepingFailed, BookkeepingUnavailable, readable_cause
from videogen.core.job import JobStatus
from videogen.core.settings import Settings
from videogen.pipeline.lifecycle import Ending, Lifecycle
from videogen.storage.job_store import JobStore

LAMBDA_CAUSE = json.dumps(
    {
        "errorMessage": "output 0 answered HTTP 403 even with a fresh URL",
        "errorType": "OutputExpired",
        "stackTrace": ['  File "/var/task/app.py", line 39, in lambda_handler\n    result = archive_task(\n'],
    }
)
ARCHIVE = {"manifest_key": "outputs/j/job.json", "output_keys": ["outputs/j/0.mp4"], "credits_charged": 60}


class Events:
    """An EventBridge client that records entries, and fails when told to."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.failures: list[BaseException | dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, BaseException):
                raise failure
            return failure
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(len(self.entries))}]}


@pytest.fixture
def world() -> Any:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        table = boto3.resource("dynamodb", region_name="us-east-1").Table(create_jobs_table(dynamodb))
        jobs = JobStore(table)
        events = Events()
        jobs.update("j", {"status": "RUNNING", "task_id": "t", "request": {"prompt": "a boat"}})
        yield jobs, events, Lifecycle(Settings(jobs_table="jobs"), jobs=jobs, events=events)


def throttled(operation: str = "UpdateItem") -> ClientError:
    return ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, operation
    )


def test_an_ending_is_recorded_and_announced_once(world: Any) -> None:
    jobs, events, lifecycle = world
    # WHEN the machine finishes the job twice (a retried finish step)
    first = lifecycle.finish("j", Ending(JobStatus.SUCCEEDED, archive=ARCHIVE))
    second = lifecycle.finish("j", Ending(JobStatus.SUCCEEDED, archive=ARCHIVE))
    # THEN the record is SUCCEEDED with the archive's keys, and one event went out
    record = jobs.get("j")
    assert record["status"] == "SUCCEEDED" and record["manifest_key"] == ARCHIVE["manifest_key"]
    assert record["output_keys"] == ARCHIVE["output_keys"] and record["announced_at"]
    assert (first.recorded, first.announced, second.recorded, second.announced) == (True, True, False, False)
    [entry] = events.entries
    assert entry["DetailType"] == "Video Generation Succeeded"
    assert json.loads(entry["Detail"])["request"] == {"prompt": "a boat"}


def test_a_second_writer_announces_what_was_recorded_not_its_own_view(world: Any) -> None:
    jobs, events, lifecycle = world
    # GIVEN a job already recorded CANCELLED but never announced (its first announcement failed)
    events.failures.append(throttled("PutEvents"))
    with pytest.raises(BookkeepingUnavailable):
        lifecycle.finish(
            "j", Ending(JobStatus.CANCELLED, error={"Error": "GenerationCancelled", "Cause": "asked"})
        )
    assert not jobs.get("j").get("announced_at")
    # WHEN the reconciler finishes it as FAILED
    result = lifecycle.finish(
        "j", Ending(JobStatus.FAILED, error={"Error": "BookkeepingFailed", "Cause": "x"})
    )
    # THEN the recorded CANCELLED stands and is what gets announced, once
    assert result.status == "CANCELLED" and not result.recorded and result.announced
    assert jobs.get("j")["status"] == "CANCELLED"
    assert [e["DetailType"] for e in events.entries] == ["Video Generation Cancelled"]


def test_an_entry_eventbridge_refuses_is_retryable_and_leaves_the_job_unannounced(world: Any) -> None:
    jobs, events, lifecycle = world
    events.failures.append({"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]})
    with pytest.raises(BookkeepingUnavailable):
        lifecycle.finish("j", Ending(JobStatus.FAILED, error={"Error": "GenerationFailed", "Cause": "no"}))
    assert jobs.get("j")["status"] == "FAILED" and "announced_at" not in jobs.get("j")


def test_dynamodb_errors_become_named_bookkeeping_errors(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs, _, lifecycle = world

    def fail_with(exc: ClientError) -> None:
        def update(*args: Any, **kwargs: Any) -> Any:
            raise exc

        monkeypatch.setattr(jobs, "update", update)

    fail_with(throttled())
    with pytest.raises(BookkeepingUnavailable):
        lifecycle.finish("j", Ending(JobStatus.FAILED, error={"Error": "X", "Cause": "y"}))
    fail_with(ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "UpdateItem"))
    with pytest.raises(BookkeepingFailed):
        lifecycle.finish("j", Ending(JobStatus.FAILED, error={"Error": "X", "Cause": "y"}))


def test_records_and_events_carry_a_message_never_a_stack_trace(world: Any) -> None:
    jobs, events, lifecycle = world
    lifecycle.finish("j", Ending(JobStatus.FAILED, error={"Error": "OutputExpired", "Cause": LAMBDA_CAUSE}))
    record = jobs.get("j")
    assert record["error_code"] == "OutputExpired"
    assert record["error_cause"] == "output 0 answered HTTP 403 even with a fresh URL"
    assert json.loads(events.entries[0]["Detail"])["error"]["Cause"] == record["error_cause"]


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (LAMBDA_CAUSE, "output 0 answered HTTP 403 even with a fresh URL"),
        ("plain text", "plain text"),
        ("boom\nTraceback (most recent call last):\n  File x", "boom"),
        (None, ""),
        ("x" * 3000, "x" * 997 + "..."),
    ],
)
def test_readable_cause(cause: Any, expected: str) -> None:
    assert readable_cause(cause) == expected


def test_a_cancel_that_failed_is_recorded_as_a_task_that_may_still_run(world: Any) -> None:
    jobs, events, lifecycle = world
    ending = Ending(
        JobStatus.TIMED_OUT, error={"Error": "GenerationTimedOut", "Cause": "late"}, task_may_be_running=True
    )
    lifecycle.finish("j", ending)
    assert jobs.get("j")["task_may_be_running"] is True
    assert json.loads(events.entries[0]["Detail"])["task_may_be_running"] is True
