"""Job records in the DynamoDB table defined by template.yaml (moto)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.support.template import create_jobs_table
from videogen.core.clock import format_time
from videogen.core.job import JobStatus
from videogen.storage.job_store import JobStore, TaskIdConflict, UnknownRecordField, from_dynamo, to_dynamo


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[JobStore]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        create_jobs_table(boto3.client("dynamodb"), "jobs")
        yield JobStore(boto3.resource("dynamodb").Table("jobs"))


def submission(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "task_id": "task-1",
        "endpoint": "text_to_video",
        "model": "gen4.5",
        "estimated_credits": 60.5,
        "submitted_at": "2026-01-01T00:00:00.000Z",
        "deadline_at": "2026-01-01T01:00:00.000Z",
        "request": {"prompt": "a cat", "duration": 5, "options": {"weight": 0.25}},
        "source": "api",
    }
    values.update(overrides)
    return values


def test_record_submission_creates_the_record(store: JobStore) -> None:
    # GIVEN no record WHEN a submission is recorded THEN the item holds every field, numbers round-tripped
    store.record_submission("job-1", **submission())
    record = store.get("job-1")
    assert record is not None
    assert record["task_id"] == "task-1"
    assert record["status"] == JobStatus.SUBMITTED
    assert record["estimated_credits"] == 60.5
    assert record["request"] == {"prompt": "a cat", "duration": 5, "options": {"weight": 0.25}}
    assert record["source"] == "api"
    assert record["created_at"] == record["updated_at"]
    assert record["deadline_at"] == "2026-01-01T01:00:00.000Z"


def test_record_submission_keeps_existing_request_and_created_at(store: JobStore) -> None:
    # GIVEN a QUEUED record written by the API
    store.update(
        "job-1",
        {"status": "QUEUED", "request": {"prompt": "original"}, "source": "api"},
        now=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )
    # WHEN the submit step records its task
    store.record_submission("job-1", **submission(request={"prompt": "other"}, source="cli"))
    # THEN request, source and created_at are untouched
    record = store.get("job-1")
    assert record is not None
    assert record["request"] == {"prompt": "original"}
    assert record["source"] == "api"
    assert record["created_at"] == "2025-01-01T00:00:00.000Z"
    assert record["status"] == "SUBMITTED"


def test_same_task_id_again_is_fine(store: JobStore) -> None:
    store.record_submission("job-1", **submission())
    store.record_submission("job-1", **submission())
    assert store.get("job-1")["task_id"] == "task-1"  # type: ignore[index]


def test_a_different_task_id_is_never_overwritten(store: JobStore) -> None:
    # GIVEN a record with task-1 WHEN another task id is recorded THEN TaskIdConflict carries the record
    store.record_submission("job-1", **submission())
    with pytest.raises(TaskIdConflict) as caught:
        store.record_submission("job-1", **submission(task_id="task-2"))
    assert caught.value.existing["task_id"] == "task-1"
    assert store.get("job-1")["task_id"] == "task-1"  # type: ignore[index]


def test_by_status_index_finds_records(store: JobStore) -> None:
    # GIVEN records WHEN the template's GSI is queried THEN status and created_at are its keys
    store.record_submission("job-1", **submission())
    table = boto3.resource("dynamodb").Table("jobs")
    items = table.query(
        IndexName="by_status",
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "SUBMITTED"},
    )["Items"]
    assert [i["job_id"] for i in items] == ["job-1"]


def test_update_with_failing_condition_raises_client_error(store: JobStore) -> None:
    with pytest.raises(ClientError) as caught:
        store.update(
            "job-9",
            {"status": "RUNNING"},
            condition="attribute_exists(#job_id)",
            condition_names={"#job_id": "job_id"},
        )
    assert caught.value.response["Error"]["Code"] == "ConditionalCheckFailedException"


def test_get_missing_is_none(store: JobStore) -> None:
    assert store.get("nope") is None


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (1.5, Decimal("1.5")),
        (3, Decimal(3)),
        (True, True),
        (None, None),
        ({"a": [0.1, 2]}, {"a": [Decimal("0.1"), Decimal(2)]}),
        ("text", "text"),
    ],
)
def test_decimal_round_trip(value: Any, stored: Any) -> None:
    assert to_dynamo(value) == stored
    assert from_dynamo(to_dynamo(value)) == value


def test_format_time_is_utc_with_z() -> None:
    assert format_time(dt.datetime(2026, 1, 2, 3, 4, 5, 678900)) == "2026-01-02T03:04:05.678Z"
    tz = dt.timezone(dt.timedelta(hours=2))
    assert format_time(dt.datetime(2026, 1, 2, 3, 0, tzinfo=tz)) == "2026-01-02T01:00:00.000Z"


def test_writes_name_only_attributes_of_the_record_schema(store: JobStore) -> None:
    # GIVEN the record schema WHEN a write names an attribute it does not define THEN it is refused
    with pytest.raises(UnknownRecordField, match="runway_task_id"):
        store.update("job-x", {"runway_task_id": "t-1"})
    assert store.get("job-x") is None
