"""The submit side in two steps: uploads made once, creates per attempt, lost answers, record failures.

Through the real SDK against the Runway simulator and moto. "The machine" below is what the state machine does
between the steps (retry a step, go back to "Upload inputs to Runway" after an INTERNAL failure).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local.simulator import ManualClock, RunwaySimulator, SimulatorConfig
from tests.support.clock import FixedClock, clock_starting_now
from tests.support.template import create_jobs_table, create_video_bucket
from videogen.core.clock import SYSTEM_CLOCK, format_time
from videogen.core.errors import (
    ContentModerated,
    GenerationCancelled,
    GenerationFailed,
    InputUploadMissing,
    JobStoreUnavailable,
    RunwayInternalFailure,
    RunwayRateLimited,
    RunwayUnavailable,
    SubmitOutcomeUnknown,
)
from videogen.core.request import GenerationRequest
from videogen.core.settings import Settings
from videogen.pipeline.check import check_task
from videogen.pipeline.lost_create import flag_lost_create
from videogen.pipeline.poll_schedule import wait_floor
from videogen.pipeline.submit import create_task
from videogen.pipeline.task_state import TaskState
from videogen.pipeline.upload_inputs import MAX_UPLOAD_AGE, upload_inputs
from videogen.runway import client as runway_client
from videogen.runway.client import RunwayClients
from videogen.storage.job_store import JobStore

JOB = "job-1"
TEXT = {"prompt": "a paper boat on a rainy street", "duration": 5}
IMAGE_URI = "s3://videos/inputs/boat.png"
IMAGE = {"prompt": "sail", "image": IMAGE_URI, "duration": 5}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 4096
INTERNAL = "INTERNAL.BAD_OUTPUT.CODE01"
CANCELLED_AT = "2026-11-25T00:00:00.000Z"


def throttled(operation: str = "UpdateItem") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        operation,
    )


class FlakyTable:
    """The boto3 Table, with ``update_item`` calls that ``match`` failing ``times`` times (None: always).

    ``after=True`` makes the write happen and then fail, as when DynamoDB's answer is lost."""

    def __init__(
        self, table: Any, match: Callable[[dict[str, Any]], bool], times: int | None, *, after: bool = False
    ) -> None:
        self._table = table
        self._match = match
        self._left = times
        self._after = after
        self.failures = 0

    def update_item(self, **kwargs: Any) -> Any:
        if self._match(kwargs) and (self._left is None or self._left > 0):
            if self._left is not None:
                self._left -= 1
            self.failures += 1
            if self._after:
                self._table.update_item(**kwargs)
            raise throttled()
        return self._table.update_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def create_sent_write(kwargs: dict[str, Any]) -> bool:
    return "create_sent_at" in kwargs["ExpressionAttributeNames"].values()


def task_write(kwargs: dict[str, Any]) -> bool:
    return ":task_id" in kwargs["ExpressionAttributeValues"]


@dataclass
class Side:
    sim: RunwaySimulator
    clock: ManualClock
    s3: Any
    table: Any
    jobs: JobStore
    settings: Settings
    runway: RunwayClients
    slept: list[float] = field(default_factory=list)

    def upload(self, request: dict[str, Any] = TEXT, **kwargs: Any) -> dict[str, Any]:
        return upload_inputs(
            JOB, GenerationRequest.parse(request), "api", jobs=self.jobs, runway=self.runway, s3=self.s3,
            settings=self.settings, **kwargs,
        )  # fmt: skip

    def create(
        self, request: dict[str, Any] = TEXT, previous: TaskState | None = None, **kwargs: Any
    ) -> TaskState:
        return create_task(
            JOB, GenerationRequest.parse(request), "api", previous=previous, jobs=self.jobs,
            runway=self.runway, settings=self.settings, sleep=self.slept.append, **kwargs,
        )  # fmt: skip

    def submit(self, request: dict[str, Any] = TEXT, previous: TaskState | None = None) -> TaskState:
        """The machine: upload the inputs, then create the task."""
        self.upload(request)
        return self.create(request, previous)

    def poll_to_the_end(self, state: TaskState, now: dt.datetime | None = None) -> TaskState:
        self.clock.advance(5000)
        clock = FixedClock(now) if now is not None else SYSTEM_CLOCK
        return check_task(JOB, state, runway=self.runway, settings=self.settings, clock=clock)

    def flaky(self, match: Callable[[dict[str, Any]], bool], times: int | None, **kwargs: Any) -> FlakyTable:
        table = FlakyTable(self.table, match, times, **kwargs)
        self.jobs = JobStore(table)
        return table

    def healthy(self) -> None:
        self.jobs = JobStore(self.table)

    def record(self) -> dict[str, Any]:
        return self.jobs.get(JOB) or {}

    def uploads_sent(self) -> list[Any]:
        return [r for r in self.sim.requests if r.method == "POST" and r.path == "/v1/uploads"]

    def creates(self) -> list[Any]:
        return [r for r in self.sim.requests if r.method == "POST" and r.path.endswith("_to_video")]

    def task_status(self, task_id: str) -> str:
        return str((self.sim.task(task_id) or {}).get("status"))


@pytest.fixture
def side(monkeypatch: pytest.MonkeyPatch) -> Iterator[Side]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "RUNWAYML_API_SECRET": "test-key",
    }.items():
        monkeypatch.setenv(name, value)
    clock = clock_starting_now()
    with mock_aws(), RunwaySimulator(SimulatorConfig(clock=clock, seed=11)) as sim:
        s3 = boto3.client("s3")
        create_video_bucket(s3, "videos")
        s3.put_object(Bucket="videos", Key="inputs/boat.png", Body=PNG, ContentType="image/png")
        create_jobs_table(boto3.client("dynamodb"), "jobs")
        table = boto3.resource("dynamodb").Table("jobs")
        settings = Settings(runway_base_url=sim.base_url, jobs_table="jobs", output_bucket="videos")
        yield Side(sim, clock, s3, table, JobStore(table), settings, RunwayClients(settings))


# --- Uploads: made once, recorded, reused -------------------------------------------------------------------


def test_each_s3_input_is_uploaded_once_and_reused_by_every_retry(side: Side) -> None:
    # GIVEN an image-to-video request whose first frame is in S3
    # WHEN the upload step runs three times (ASL retries) and the create step twice
    first = side.upload(IMAGE)
    again = [side.upload(IMAGE), side.upload(IMAGE)]
    state = side.create(IMAGE)
    side.create(IMAGE)
    # THEN one upload reached Runway, recorded with when it was made, and the task used its runway:// URI
    assert len(side.uploads_sent()) == 1
    assert (first["uploaded"], first["reused"]) == (1, 0)
    assert [(r["uploaded"], r["reused"]) for r in again] == [(0, 1), (0, 1)]
    entry = side.record()["uploads"][IMAGE_URI]
    assert entry["uri"] == first["uploads"][IMAGE_URI] and entry["bytes"] == len(PNG)
    assert entry["uploaded_at"] <= format_time(dt.datetime.now(dt.UTC))
    (task,) = side.sim.created_tasks()
    assert task.id == state.task_id and task.body["promptImage"] == entry["uri"]


def test_an_upload_step_that_failed_midway_keeps_the_uploads_it_made(side: Side) -> None:
    # GIVEN a request with two s3:// frames, and Runway's upload target failing once
    side.s3.put_object(Bucket="videos", Key="inputs/last.png", Body=PNG[::-1], ContentType="image/png")
    request = {
        "model": "veo3.1", "prompt": "sail", "duration": 8,
        "image": IMAGE_URI, "last_image": "s3://videos/inputs/last.png",
    }  # fmt: skip
    side.upload(request)  # both uploaded
    side.jobs.update(JOB, {"uploads": {}})  # forget them: start over
    side.sim.inject("http_error", path="/_uploads/*", status=503)
    # WHEN the first try fails on one of them and the machine retries
    with pytest.raises(RunwayUnavailable):
        side.upload(request)
    kept = dict(side.record()["uploads"])
    result = side.upload(request)
    # THEN the retry reused what the failed try had recorded and uploaded only what was missing
    assert len(kept) <= 1
    assert (result["uploaded"], result["reused"]) == (2 - len(kept), len(kept))
    recorded = side.record()["uploads"]
    assert set(recorded) == {IMAGE_URI, "s3://videos/inputs/last.png"}
    assert all(recorded[uri] == entry for uri, entry in kept.items())
    targets = [r for r in side.sim.requests if r.path.startswith("/_uploads/") and r.status < 300]
    assert len(targets) == 2 + 2  # the two forgotten ones, then each input once more


def test_an_upload_older_than_the_reuse_limit_is_sent_again(side: Side) -> None:
    # GIVEN an upload recorded just over MAX_UPLOAD_AGE ago (a later attempt, a day later)
    side.upload(IMAGE)
    old = side.record()["uploads"][IMAGE_URI]
    made = dt.datetime.now(dt.UTC) - MAX_UPLOAD_AGE - dt.timedelta(minutes=1)
    side.jobs.update(JOB, {"uploads": {IMAGE_URI: {**old, "uploaded_at": format_time(made)}}})
    # WHEN the upload step runs again THEN it makes a fresh upload and records it
    result = side.upload(IMAGE)
    assert result["uploaded"] == 1 and len(side.uploads_sent()) == 2
    assert side.record()["uploads"][IMAGE_URI]["uri"] == result["uploads"][IMAGE_URI] != old["uri"]


def test_create_without_a_recorded_upload_sends_nothing(side: Side) -> None:
    # GIVEN no upload step ran WHEN the create step runs THEN it refuses and Runway hears nothing
    with pytest.raises(InputUploadMissing, match="Upload inputs to Runway"):
        side.create(IMAGE)
    assert side.sim.requests == []


def test_nothing_is_uploaded_for_a_job_whose_cancellation_was_asked_for(side: Side) -> None:
    side.jobs.update(JOB, {"status": "QUEUED", "cancel_requested_at": CANCELLED_AT})
    with pytest.raises(GenerationCancelled):
        side.upload(IMAGE)
    assert side.sim.requests == []


# --- A create whose answer was lost -------------------------------------------------------------------------


@pytest.fixture
def short_create_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runway_client, "CREATE_TIMEOUT", httpx.Timeout(0.3, connect=2.0))


@pytest.mark.parametrize("fault", ["timeout", "disconnect"])
@pytest.mark.usefixtures("short_create_timeout")
def test_a_lost_create_answer_is_submit_outcome_unknown_recorded_for_an_operator(
    side: Side, fault: str
) -> None:
    # GIVEN Runway answers the create too late (the SDK times out) or resets the connection after the request
    if fault == "timeout":
        side.sim.inject("delay", method="POST", path="/v1/text_to_video", seconds=1.5)
    else:
        side.sim.inject("disconnect", method="POST", path="/v1/text_to_video")
    # WHEN the create step runs
    with pytest.raises(SubmitOutcomeUnknown):
        side.submit()
    # THEN it was sent once, not retried by the SDK, and the record says when and for which model
    assert len(side.creates()) == 1
    record = side.record()
    assert "task_id" not in record
    assert record["create_attempt"] == 1 and record["model"] == "gen4.5"
    assert record["estimated_credits"] == 60  # the catalog's: 12 credits/s x 5 s
    # WHEN the machine flags it
    outcome = flag_lost_create(JOB, {"Error": "SubmitOutcomeUnknown"}, jobs=side.jobs)
    # THEN the job's error says why no reconcile is possible and what to check by hand
    assert outcome["flagged"] is True and outcome["Error"] == "SubmitOutcomeUnknown"
    flag = side.record()["submit_outcome_unknown"]
    assert flag["window_start"] == record["create_sent_at"] <= flag["window_end"]
    assert (flag["model"], flag["endpoint"], flag["attempt"]) == ("gen4.5", "text_to_video", 1)
    assert flag["estimated_credits"] == 60 and flag["reason"] == "SubmitOutcomeUnknown"
    assert flag["usage_dates"] == [record["create_sent_at"][:10]]
    cause = outcome["Cause"]
    for words in ("retrieve_usage", "per model and per day", "gen4.5", flag["window_start"], "60 credits"):
        assert words in cause


def test_a_create_lambda_stopped_before_its_post_flags_nothing(side: Side) -> None:
    # GIVEN the create Lambda timed out before it recorded a create (nothing was sent)
    side.upload()
    # WHEN the machine's lost-create step runs on the Sandbox.Timedout
    outcome = flag_lost_create(JOB, {"Error": "Sandbox.Timedout"}, jobs=side.jobs)
    # THEN it says no task was created, and flags nothing for an operator
    assert outcome["flagged"] is False and "before it sent a create request" in outcome["Cause"]
    assert "submit_outcome_unknown" not in side.record()


def test_a_create_lambda_stopped_after_recording_its_task_flags_nothing(side: Side) -> None:
    state = side.submit()
    outcome = flag_lost_create(JOB, {"Error": "Sandbox.Timedout"}, jobs=side.jobs)
    assert outcome["flagged"] is False and state.task_id in outcome["Cause"]


# --- DynamoDB failing on the record writes ---------------------------------------------------------------


def test_a_throttled_create_sent_write_is_retried_with_exactly_one_task(side: Side) -> None:
    # GIVEN DynamoDB throttles the write made just before the POST
    side.upload()
    side.flaky(create_sent_write, times=1)
    # WHEN the create step runs THEN it raises the retryable name and sends nothing
    with pytest.raises(JobStoreUnavailable):
        side.create()
    assert side.creates() == []
    # WHEN the machine retries it THEN exactly one task exists, recorded
    state = side.create()
    assert [t.id for t in side.sim.created_tasks()] == [state.task_id] == [side.record()["task_id"]]


def test_a_throttled_task_write_is_ridden_out_with_exactly_one_task(side: Side) -> None:
    # GIVEN DynamoDB throttles the write of the created task twice
    side.upload()
    flaky = side.flaky(task_write, times=2)
    # WHEN the create step runs
    state = side.create()
    # THEN it waited and wrote again: one task, recorded, never cancelled
    assert flaky.failures == 2 and side.slept == [1.0, 2.0]
    (task,) = side.sim.created_tasks()
    assert task.id == state.task_id == side.record()["task_id"]
    assert side.task_status(task.id) != "CANCELLED"


def test_a_task_write_whose_answer_was_lost_is_not_a_conflict(side: Side) -> None:
    # GIVEN DynamoDB applies the task write but its answer is lost
    side.upload()
    side.flaky(task_write, times=1, after=True)
    # WHEN the create step writes again THEN it finds its own task recorded: one task, not cancelled
    state = side.create()
    (task,) = side.sim.created_tasks()
    assert task.id == state.task_id == side.record()["task_id"]
    assert side.task_status(task.id) != "CANCELLED"


def test_a_task_write_that_keeps_failing_cancels_the_task_and_no_task_is_left_untracked(side: Side) -> None:
    # GIVEN DynamoDB refuses every write of the created task
    side.upload()
    side.flaky(task_write, times=None)
    # WHEN the create step runs THEN after its patience it raises the retryable name, the task cancelled
    with pytest.raises(JobStoreUnavailable):
        side.create()
    (first,) = side.sim.created_tasks()
    assert side.task_status(first.id) == "CANCELLED"
    assert "task_id" not in side.record()
    # WHEN DynamoDB recovers and the machine retries THEN the create is not sent again (the record says it was
    # sent and holds no task: from the record alone that is a create whose outcome is unknown)
    side.healthy()
    with pytest.raises(SubmitOutcomeUnknown):
        side.create()
    assert [t.id for t in side.sim.created_tasks()] == [first.id]


def test_a_create_step_stopped_after_it_recorded_its_task_resumes_with_that_task(side: Side) -> None:
    # GIVEN a create step that recorded its task and was then stopped (its answer never reached the machine)
    side.upload()
    recorded = side.create()
    # WHEN the machine runs it once more (the Sandbox.Timedout retrier)
    again = side.create()
    # THEN it returns the recorded task and sends nothing
    assert again.task_id == recorded.task_id
    assert len(side.sim.created_tasks()) == 1


def test_a_create_step_stopped_between_its_post_and_its_record_never_posts_again(side: Side) -> None:
    # GIVEN a create step whose POST reached Runway but which was stopped before it recorded the task
    side.upload()
    side.flaky(task_write, times=None)
    with pytest.raises(JobStoreUnavailable):
        side.create()
    side.healthy()
    # WHEN it runs again THEN it raises SubmitOutcomeUnknown instead of a second POST
    with pytest.raises(SubmitOutcomeUnknown):
        side.create()
    assert len(side.sim.created_tasks()) == 1


# --- Runway's failure classes: INTERNAL retried as a new task, SAFETY never ---------------------------------


def test_internal_failure_is_retried_as_a_new_task_with_both_attempts_recorded(side: Side) -> None:
    # GIVEN the first task fails with INTERNAL.BAD_OUTPUT.* (an s3:// input, uploaded once)
    side.sim.inject("task_failure", code=INTERNAL, message="quality check failed")
    first = side.submit(IMAGE)
    # WHEN polled THEN the poll step asks for a new task
    with pytest.raises(RunwayInternalFailure) as caught:
        side.poll_to_the_end(first)
    assert caught.value.details["attempt"] == 1 and caught.value.details["max_attempts"] == 3
    # WHEN the machine goes back through the upload and create steps with the failed attempt
    second = side.submit(IMAGE, previous=first)
    # THEN a second task exists, the record's task moved to it and both attempts are recorded
    tasks = side.sim.created_tasks()
    assert [t.id for t in tasks] == [first.task_id, second.task_id] and second.attempt == 2
    record = side.record()
    assert record["task_id"] == second.task_id and record["status"] == "SUBMITTED"
    one, two = record["attempts"]
    assert one["attempt"] == 1 and one["task_id"] == first.task_id
    assert (one["status"], one["failure_code"], one["credits"]) == ("FAILED", INTERNAL, 0)
    assert two["attempt"] == 2 and two["task_id"] == second.task_id and "status" not in two
    assert two["created_at"] == record["submitted_at"]
    # AND the input was uploaded once, its URI reused by the new task; the job's deadline did not move
    assert len(side.uploads_sent()) == 1
    assert tasks[1].body["promptImage"] == tasks[0].body["promptImage"]
    assert second.deadline_at == first.deadline_at
    assert second.job_submitted_at == first.submitted_at and first.job_submitted_at is None
    # AND the new task goes on to succeed
    assert side.poll_to_the_end(second).status == "SUCCEEDED"


def test_a_retried_create_of_attempt_2_makes_no_second_attempt_2_task(side: Side) -> None:
    side.sim.inject("task_failure", code=INTERNAL)
    first = side.submit()
    with pytest.raises(RunwayInternalFailure):
        side.poll_to_the_end(first)
    second = side.create(previous=first)
    # WHEN the create of attempt 2 runs again (an ASL retry) THEN it returns the attempt-2 task
    again = side.create(previous=first)
    assert again.task_id == second.task_id and again.attempt == 2
    assert len(side.sim.created_tasks()) == 2 and len(side.record()["attempts"]) == 2


def test_a_new_task_does_not_restart_the_jobs_age_for_the_poll_schedule(side: Side) -> None:
    # GIVEN a day-long deadline and a second task created after an INTERNAL failure
    side.settings = side.settings.model_copy(update={"deadline_seconds": 86_400})
    side.sim.inject("task_failure", code=INTERNAL)
    first = side.submit()
    with pytest.raises(RunwayInternalFailure):
        side.poll_to_the_end(first)
    side.upload()
    second = side.create(previous=first, clock=FixedClock(first.submitted_at + dt.timedelta(seconds=4000)))
    # WHEN it is polled while running, 5,000 s into the job (1,000 s into the second task)
    side.clock.advance(5)
    late = first.submitted_at + dt.timedelta(seconds=5000)
    polled = check_task(JOB, second, runway=side.runway, settings=side.settings, clock=FixedClock(late))
    # THEN the long-job floor counts from the job's first task, so the polls of all attempts stay bounded
    assert polled.status == "RUNNING"
    assert polled.next_wait_seconds >= wait_floor(5000, side.settings.poll_min_wait_seconds) > 60


@pytest.mark.parametrize("code", ["SAFETY.INPUT.TEXT", "SAFETY.OUTPUT.VIDEO"])
def test_a_safety_failure_is_never_retried(side: Side, code: str) -> None:
    # GIVEN attempts left, and a task moderated by Runway
    side.sim.inject("task_failure", code=code)
    first = side.submit()
    # WHEN polled THEN it is ContentModerated, not a retry
    with pytest.raises(ContentModerated):
        side.poll_to_the_end(first)
    # AND a create asked to follow it anyway refuses: one task in all
    with pytest.raises(ContentModerated):
        side.create(previous=first)
    assert len(side.sim.created_tasks()) == 1


def test_when_the_attempts_are_exhausted_the_job_fails_with_the_runway_code(side: Side) -> None:
    # GIVEN one retry allowed, and two tasks that both fail INTERNAL
    side.settings = side.settings.model_copy(update={"runway_internal_retries": 1})
    side.sim.inject("task_failure", code=INTERNAL, times=2)
    first = side.submit()
    with pytest.raises(RunwayInternalFailure):
        side.poll_to_the_end(first)
    second = side.submit(previous=first)
    # WHEN the second fails THEN the job fails with the code, no third task
    with pytest.raises(GenerationFailed, match=rf"\({INTERNAL}\); no attempt left \(2 of 2 made\)"):
        side.poll_to_the_end(second)
    with pytest.raises(GenerationFailed, match="made its 2 attempt"):
        side.create(previous=second)
    assert len(side.sim.created_tasks()) == 2


def test_an_internal_failure_seen_after_the_deadline_is_not_retried(side: Side) -> None:
    side.sim.inject("task_failure", code=INTERNAL)
    first = side.submit()
    with pytest.raises(GenerationFailed, match="deadline has passed"):
        side.poll_to_the_end(first, now=first.deadline_at + dt.timedelta(seconds=1))


def test_no_internal_retries_when_the_parameter_is_zero(side: Side) -> None:
    side.settings = side.settings.model_copy(update={"runway_internal_retries": 0})
    side.sim.inject("task_failure", code=INTERNAL)
    with pytest.raises(GenerationFailed, match=INTERNAL):
        side.poll_to_the_end(side.submit())


# --- Cancellation asked for around the create ---------------------------------------------------------------


def test_no_task_is_created_for_a_job_whose_cancellation_was_asked_for(side: Side) -> None:
    side.upload()
    side.jobs.update(JOB, {"cancel_requested_at": CANCELLED_AT})
    with pytest.raises(GenerationCancelled):
        side.create()
    assert side.creates() == []


def test_a_cancellation_that_lands_just_before_the_post_still_sends_nothing(side: Side) -> None:
    # GIVEN the API records a cancellation between the create step's read and its create-sent write
    side.upload()

    class CancelledJustBefore(JobStore):
        def record_create_sent(self, job_id: str, **kwargs: Any) -> dict[str, Any]:
            self.update(job_id, {"cancel_requested_at": CANCELLED_AT})
            return super().record_create_sent(job_id, **kwargs)

    side.jobs = CancelledJustBefore(side.table)
    # WHEN the create step runs THEN the conditional write stops it before the POST
    with pytest.raises(GenerationCancelled):
        side.create()
    assert side.creates() == []


def test_a_cancellation_asked_for_during_the_create_cancels_the_new_task_at_once(side: Side) -> None:
    # GIVEN the API records a cancellation while the POST is on its way (no task id to hand over yet)
    side.upload()

    class CancelledMeanwhile(JobStore):
        def record_submission(self, job_id: str, **kwargs: Any) -> dict[str, Any]:
            self.update(job_id, {"cancel_requested_at": CANCELLED_AT})
            return super().record_submission(job_id, **kwargs)

    side.jobs = CancelledMeanwhile(side.table)
    # WHEN the create step records its task THEN it cancels it and ends the job as cancelled
    with pytest.raises(GenerationCancelled, match="while its Runway task"):
        side.create()
    (task,) = side.sim.created_tasks()
    assert side.task_status(task.id) == "CANCELLED"
    assert side.record()["task_id"] == task.id  # tracked, so nothing is ever left unaccounted for
    # AND a retry of the step creates nothing and says the same
    side.healthy()
    with pytest.raises(GenerationCancelled):
        side.create()
    assert len(side.sim.created_tasks()) == 1


@pytest.mark.parametrize(("status", "error"), [(429, RunwayRateLimited), (503, RunwayUnavailable)])
def test_a_create_runway_answered_with_an_error_may_be_sent_again(
    side: Side, status: int, error: type
) -> None:
    # GIVEN Runway answers the first create with a 429 or a 5xx (it created no task)
    side.upload()
    side.sim.inject("http_error", method="POST", path="/v1/text_to_video", status=status)
    with pytest.raises(error):
        side.create()
    assert "create_sent_at" not in side.record()
    # WHEN the machine retries THEN the create is sent again and its task recorded: one task in all
    state = side.create()
    assert [t.id for t in side.sim.created_tasks()] == [state.task_id] == [side.record()["task_id"]]
    assert len(side.creates()) == 2
