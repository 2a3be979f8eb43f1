"""The domain steps, through the real SDK against the Runway simulator and moto (S3, DynamoDB).

The submit side's attempts, uploads, lost creates and record failures: tests/unit/test_submit_side.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local.simulator import ManualClock, RunwaySimulator, SimulatorConfig
from tests.support.clock import FixedClock, clock_starting_now
from tests.support.template import create_jobs_table, create_video_bucket
from videogen.core.clock import SYSTEM_CLOCK
from videogen.core.errors import (
    ContentModerated,
    GenerationCancelled,
    GenerationFailed,
    GenerationTimedOut,
    InputNotFound,
    InvalidRequest,
    OutputDownloadFailed,
    OutputExpired,
    OutputHostNotAllowed,
    RunwayRejected,
    RunwayUnavailable,
    TaskNotFound,
)
from videogen.core.request import GenerationRequest
from videogen.core.settings import Settings
from videogen.pipeline.archive import archive_task
from videogen.pipeline.cancel import cancel_task
from videogen.pipeline.check import check_task
from videogen.pipeline.output_stream import OutputArchiver, make_http_client
from videogen.pipeline.submit import create_task
from videogen.pipeline.task_state import TaskState
from videogen.pipeline.upload_inputs import upload_inputs
from videogen.runway.client import RunwayClients
from videogen.storage.job_store import JobStore

REQUEST = {"prompt": "a paper boat on a rainy street", "duration": 5}
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@dataclass
class World:
    sim: RunwaySimulator
    clock: ManualClock
    s3: Any
    jobs: JobStore
    settings: Settings
    runway: RunwayClients
    archiver: OutputArchiver

    def submit(self, job_id: str = "job-1", request: dict[str, Any] | None = None) -> TaskState:
        """What the machine does first: "Upload inputs to Runway", then "Create the Runway task"."""
        parsed = GenerationRequest.parse(request or REQUEST)
        upload_inputs(
            job_id, parsed, "api", jobs=self.jobs, runway=self.runway, s3=self.s3, settings=self.settings
        )
        return create_task(job_id, parsed, "api", jobs=self.jobs, runway=self.runway, settings=self.settings)

    def poll(self, state: TaskState, now: dt.datetime | None = None) -> TaskState:
        clock = FixedClock(now) if now is not None else SYSTEM_CLOCK
        return check_task("job-1", state, runway=self.runway, settings=self.settings, clock=clock)

    def archive(self, state: TaskState, **kwargs: Any) -> dict[str, Any]:
        return archive_task(
            "job-1", REQUEST, state, runway=kwargs.get("runway", self.runway), archiver=self.archiver,
            settings=kwargs.get("settings", self.settings),
        )  # fmt: skip

    def creates(self) -> list[Any]:
        return [r for r in self.sim.requests if r.method == "POST" and r.path.endswith("_to_video")]

    def finished(self, **faults: Any) -> TaskState:
        """A task submitted and polled to SUCCEEDED."""
        state = self.submit()
        self.clock.advance(5000)
        state = self.poll(state)
        assert state.status == "SUCCEEDED"
        return state


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "RUNWAYML_API_SECRET": "test-key",
    }.items():
        monkeypatch.setenv(name, value)
    clock = clock_starting_now()
    with mock_aws(), RunwaySimulator(SimulatorConfig(clock=clock, seed=7)) as sim:
        s3 = boto3.client("s3")
        create_video_bucket(s3, "videos")
        create_jobs_table(boto3.client("dynamodb"), "jobs")
        settings = Settings(
            runway_base_url=sim.base_url, jobs_table="jobs", output_bucket="videos", allow_loopback_http=True
        )
        yield World(
            sim=sim,
            clock=clock,
            s3=s3,
            jobs=JobStore(boto3.resource("dynamodb").Table("jobs")),
            settings=settings,
            runway=RunwayClients(settings),
            archiver=OutputArchiver(s3, make_http_client(settings), bucket="videos"),
        )


class StubClients:
    """RunwayClients look-alike answering ``tasks.retrieve`` with fixed wire dicts (one per call)."""

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)
        self.deleted: list[str] = []
        self.tasks = SimpleNamespace(retrieve=self._retrieve, delete=self.deleted.append)

    def _retrieve(self, task_id: str) -> dict[str, Any]:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def for_repeatable(self) -> Any:
        return self

    def for_create(self) -> Any:
        return self


def make_state(**overrides: Any) -> TaskState:
    now = dt.datetime.now(dt.UTC)
    values: dict[str, Any] = {
        "task_id": "task-1",
        "endpoint": "text_to_video",
        "model": "gen4.5",
        "status": "PENDING",
        "progress": 0.0,
        "estimated_credits": 60,
        "submitted_at": now - dt.timedelta(seconds=30),
        "deadline_at": now + dt.timedelta(hours=1),
        "polls": 0,
        "next_wait_seconds": 20,
        "checked_at": now - dt.timedelta(seconds=20),
    }
    values.update(overrides)
    return TaskState(**values)


# --- submit ------------------------------------------------------------------------------------------------


def test_submit_creates_the_task_and_records_it(world: World) -> None:
    # GIVEN a text-to-video request WHEN submitted
    state = world.submit()
    # THEN one task exists, the state has the contract's keys, and the record holds the task id
    created = world.sim.created_tasks()
    assert [t.id for t in created] == [state.task_id]
    data = state.to_dict()
    assert set(data) == {
        "task_id", "attempt", "endpoint", "model", "status", "progress", "estimated_credits", "submitted_at",
        "deadline_at", "polls", "next_wait_seconds", "checked_at", "typical_seconds",
    }  # fmt: skip
    assert data["typical_seconds"] == 75  # the catalog's prior for gen4.5, the poll schedule's first guess
    assert data["attempt"] == 1
    assert data["status"] == "PENDING" and data["progress"] == 0 and data["polls"] == 0
    assert data["endpoint"] == "text_to_video" and data["model"] == "gen4.5"
    assert data["estimated_credits"] == world.sim.task(state.task_id)["estimatedCost"]["credits"]  # type: ignore[index]
    assert state.deadline_at - state.submitted_at == dt.timedelta(seconds=3600)
    assert 10 <= data["next_wait_seconds"] <= 60
    json.dumps(data)
    record = world.jobs.get("job-1")
    assert record is not None
    assert record["task_id"] == state.task_id
    assert record["status"] == "SUBMITTED"
    assert record["request"] == REQUEST and record["source"] == "api"
    assert record["submitted_at"] == data["submitted_at"]
    assert record["attempts"] == [
        {
            "attempt": 1,
            "task_id": state.task_id,
            "created_at": data["submitted_at"],
            "model": "gen4.5",
            "estimated_credits": data["estimated_credits"],
        }
    ]
    assert record["create_attempt"] == 1 and record["create_sent_at"] <= data["submitted_at"]


def test_second_submit_creates_no_second_task(world: World) -> None:
    # GIVEN a job already submitted
    first = world.submit()
    # WHEN the submit step runs again (retry or redrive)
    again = world.submit()
    # THEN Runway saw one create only, and the same task comes back
    assert len(world.creates()) == 1
    assert len(world.sim.created_tasks()) == 1
    assert again.task_id == first.task_id
    assert (again.submitted_at, again.deadline_at) == (first.submitted_at, first.deadline_at)
    assert again.estimated_credits == first.estimated_credits


def test_s3_input_is_uploaded_and_its_runway_uri_sent(world: World) -> None:
    # GIVEN an image in S3
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 4096
    world.s3.put_object(Bucket="videos", Key="inputs/boat.png", Body=png, ContentType="image/png")
    # WHEN an image-to-video request names it
    state = world.submit(request={"prompt": "sail", "image": "s3://videos/inputs/boat.png", "duration": 5})
    # THEN it was uploaded and the create body carries the runway:// URI instead of the s3:// one
    (task,) = world.sim.created_tasks()
    assert state.endpoint == "image_to_video"
    uri = task.body["promptImage"]
    assert uri.startswith("runway://uploads/")
    assert world.sim.engine.upload_for_uri(uri).data == png  # type: ignore[union-attr]
    assert "s3://" not in json.dumps(task.body)


def test_missing_s3_input_creates_nothing(world: World) -> None:
    with pytest.raises(InputNotFound):
        world.submit(request={"prompt": "sail", "image": "s3://videos/inputs/none.png", "duration": 5})
    assert world.sim.requests == []
    assert world.jobs.get("job-1") is None


def test_invalid_request_lists_every_problem_and_calls_nobody(world: World) -> None:
    with pytest.raises(InvalidRequest) as caught:
        world.submit(request={"prompt": "x", "duration": "five", "colour": "red"})
    assert len(caught.value.errors) >= 2
    assert world.sim.requests == []


def test_runway_rejection_records_no_task(world: World) -> None:
    world.sim.inject(
        "http_error", method="POST", path="/v1/text_to_video", status=400, message="prompt refused"
    )
    with pytest.raises(RunwayRejected, match="prompt refused"):
        world.submit()
    record = world.jobs.get("job-1")
    assert record is not None and "task_id" not in record and "attempts" not in record
    # the refused create is not left marked as sent: Runway answered, so nothing is unknown about it
    assert "create_attempt" not in record and "create_sent_at" not in record


def test_failed_save_cancels_the_new_task(world: World) -> None:
    # GIVEN a job store whose write fails
    class BrokenStore(JobStore):
        def record_submission(self, job_id: str, **kwargs: Any) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": "ValidationException"}}, "UpdateItem")

    world.jobs = BrokenStore(boto3.resource("dynamodb").Table("jobs"))
    # WHEN submitting THEN the write error surfaces, and the task it could not record was cancelled
    with pytest.raises(ClientError):  # not a transient code: not JobStoreUnavailable
        world.submit()
    (task,) = world.sim.created_tasks()
    assert world.sim.task(task.id)["status"] == "CANCELLED"  # type: ignore[index]


def test_a_submit_race_seen_before_the_post_creates_nothing(world: World) -> None:
    # GIVEN another submit recorded its task between our read and our create-sent write
    class RacyStore(JobStore):
        first = True

        def get(self, job_id: str, *, consistent: bool = True) -> dict[str, Any] | None:
            if self.first:
                self.first = False
                return None
            return super().get(job_id, consistent=consistent)

    winner = world.submit(job_id="job-1")
    world.jobs = RacyStore(boto3.resource("dynamodb").Table("jobs"))
    # WHEN our create runs
    state = create_task(
        "job-1", GenerationRequest.parse(REQUEST), "api", jobs=world.jobs, runway=world.runway,
        settings=world.settings,
    )  # fmt: skip
    # THEN the conditional write saw the recorded attempt: the winner's task comes back, nothing was sent
    assert state.task_id == winner.task_id
    assert len(world.sim.created_tasks()) == 1


def test_losing_a_submit_race_after_the_post_cancels_our_task_and_returns_the_recorded_one(
    world: World,
) -> None:
    # GIVEN another submit records its task while ours is being created
    winner: dict[str, str] = {}

    class RacyStore(JobStore):
        def record_submission(self, job_id: str, **kwargs: Any) -> dict[str, Any]:
            if not winner:
                winner["task_id"] = "the-winners-task"
                super().record_submission(job_id, **{**kwargs, "task_id": winner["task_id"]})
            return super().record_submission(job_id, **kwargs)

    world.jobs = RacyStore(boto3.resource("dynamodb").Table("jobs"))
    # WHEN our submit runs
    state = world.submit(job_id="job-1")
    # THEN the winner's task comes back, and ours was cancelled
    assert state.task_id == winner["task_id"]
    (ours,) = world.sim.created_tasks()
    assert world.sim.task(ours.id)["status"] == "CANCELLED"  # type: ignore[index]
    assert world.jobs.get("job-1")["task_id"] == winner["task_id"]  # type: ignore[index]


def test_submit_of_a_job_cancelled_before_submit_calls_nobody(world: World) -> None:
    # GIVEN a job cancelled through the API before the submit step ran
    world.jobs.update("job-1", {"status": "CANCELLED", "finished_at": "2026-11-25T00:00:00.000Z"})
    # WHEN the submit step runs THEN it ends the job as cancelled without creating a Runway task
    with pytest.raises(GenerationCancelled):
        world.submit()
    assert world.sim.requests == []


def test_cancel_during_submit_cancels_the_task_it_created(world: World) -> None:
    # GIVEN the API cancels the job (no task recorded yet) while the submit step is creating the task
    class CancelledMeanwhile(JobStore):
        def record_submission(self, job_id: str, **kwargs: Any) -> dict[str, Any]:
            self.update(job_id, {"status": "CANCELLED", "finished_at": "2026-11-25T00:00:00.000Z"})
            return super().record_submission(job_id, **kwargs)

    world.jobs = CancelledMeanwhile(boto3.resource("dynamodb").Table("jobs"))
    # WHEN the submit step records its task THEN the job stays cancelled and the new task is cancelled too
    with pytest.raises(GenerationCancelled):
        world.submit()
    (task,) = world.sim.created_tasks()
    assert world.sim.task(task.id)["status"] == "CANCELLED"  # type: ignore[index]
    record = world.jobs.get("job-1")
    assert record is not None and record["status"] == "CANCELLED" and "task_id" not in record


# --- poll ---------------------------------------------------------------------------------------------------


def test_poll_follows_the_task_to_success(world: World) -> None:
    state = world.submit()
    world.clock.advance(1)  # still PENDING
    pending = world.poll(state)
    assert pending.status == "PENDING" and pending.polls == 1 and pending.progress == 0
    world.clock.advance(5)  # queueing lasts 1-4 s in the simulator
    running = world.poll(pending)
    assert running.status == "RUNNING" and 0 < running.progress < 1 and running.polls == 2
    assert 10 <= running.next_wait_seconds <= 60
    world.clock.advance(5000)
    done = world.poll(running)
    data = done.to_dict()
    assert data["status"] == "SUCCEEDED" and data["progress"] == 1.0 and data["polls"] == 3
    assert data["output_count"] == 1
    assert data["credits_charged"] == world.sim.task(state.task_id)["cost"]["credits"]  # type: ignore[index]
    assert "http" not in json.dumps(data)  # output URLs never enter the state


@pytest.mark.parametrize("code", ["SAFETY.INPUT.TEXT", "SAFETY.OUTPUT.VIDEO"])
def test_moderated_task_raises_content_moderated(world: World, code: str) -> None:
    world.sim.inject("task_failure", code=code, message="diagnostic: public figure detected")
    state = world.submit()
    world.clock.advance(5000)
    with pytest.raises(ContentModerated) as caught:
        world.poll(state)
    assert code in str(caught.value)
    assert "diagnostic" not in str(caught.value)  # Runway's text is not shown to users
    assert caught.value.details["failure"] == "diagnostic: public figure detected"


def test_failed_task_raises_generation_failed_with_reason_and_code(world: World) -> None:
    world.sim.inject("task_failure", code="ASSET.INVALID", message="the input could not be read")
    state = world.submit()
    world.clock.advance(5000)
    with pytest.raises(GenerationFailed, match=r"the input could not be read \(ASSET.INVALID\)"):
        world.poll(state)


def test_cancelled_task_raises_generation_cancelled(world: World) -> None:
    state = world.submit()
    world.runway.for_repeatable().tasks.delete(state.task_id)
    with pytest.raises(GenerationCancelled):
        world.poll(state)


def test_unknown_task_raises_task_not_found(world: World) -> None:
    with pytest.raises(TaskNotFound):
        world.poll(make_state(task_id=UNKNOWN_ID))


def test_past_deadline_raises_generation_timed_out(world: World) -> None:
    # GIVEN a task still running when the deadline passes
    state = world.submit()
    world.clock.advance(5)
    with pytest.raises(GenerationTimedOut, match="deadline"):
        world.poll(state, now=state.deadline_at + dt.timedelta(seconds=1))


def test_success_after_the_deadline_still_succeeds(world: World) -> None:
    state = world.submit()
    world.clock.advance(5000)
    done = world.poll(state, now=state.deadline_at + dt.timedelta(minutes=5))
    assert done.status == "SUCCEEDED"


def test_poll_near_the_deadline_waits_only_until_it(world: World) -> None:
    state = world.submit()
    world.clock.advance(1)
    polled = world.poll(state, now=state.deadline_at - dt.timedelta(seconds=12))
    assert polled.next_wait_seconds <= 12 + world.settings.poll_min_wait_seconds


def test_unknown_status_is_non_terminal_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    stub = StubClients({"task_id": "task-1", "status": "WARMING_UP", "createdAt": "2026-01-01T00:00:00Z"})
    state = make_state(status="RUNNING", progress=0.4)
    with caplog.at_level(logging.WARNING, logger="videogen"):
        polled = check_task("job-1", state, runway=stub, settings=Settings())  # type: ignore[arg-type]
    assert polled.status == "RUNNING" and polled.progress == 0.4 and polled.polls == 1
    assert any("unknown Runway task status" in r.getMessage() for r in caplog.records)


def test_progress_is_never_null(world: World) -> None:
    stub = StubClients({"task_id": "task-1", "status": "THROTTLED", "estimatedCost": {"credits": 12.5}})
    polled = check_task("job-1", make_state(progress=0.0), runway=stub, settings=Settings())  # type: ignore[arg-type]
    assert polled.progress == 0.0
    assert polled.estimated_credits == 12.5
    # THROTTLED: the next read comes just before the fastest plausible whole generation could end
    # (half the default typical time of 60 s, less the second the poll step sleeps to the tick)
    assert polled.next_wait_seconds == 29


# --- archive ------------------------------------------------------------------------------------------------


def test_archive_streams_every_output_and_writes_the_manifest(world: World) -> None:
    # GIVEN a task with three outputs
    world.sim.inject("output", count=3)
    state = world.finished()
    # WHEN archived
    result = world.archive(state)
    # THEN each output is in S3 under outputs/<job>/<n>.mp4, with the hash of its bytes
    assert result["bucket"] == "videos" and result["prefix"] == "outputs/job-1/"
    assert result["output_keys"] == [f"outputs/job-1/{n}.mp4" for n in range(3)]
    for summary in result["outputs"]:
        body = world.s3.get_object(Bucket="videos", Key=summary["key"])["Body"].read()
        assert summary["bytes"] == len(body) > 0
        assert summary["sha256"] == hashlib.sha256(body).hexdigest()
        assert summary["content_type"] == "video/mp4"
    assert result["credits_charged"] == state.credits_charged
    manifest = json.loads(world.s3.get_object(Bucket="videos", Key=result["manifest_key"])["Body"].read())
    assert result["manifest_key"] == "outputs/job-1/job.json"
    assert manifest["job_id"] == "job-1" and manifest["task_id"] == state.task_id
    assert manifest["request"] == REQUEST
    assert manifest["credits"] == {"estimated": state.estimated_credits, "charged": result["credits_charged"]}
    assert [o["source_host"] for o in manifest["outputs"]] == ["127.0.0.1"] * 3
    assert "Signature" not in json.dumps(manifest)
    assert set(manifest["timings"]) >= {"submitted_at", "generation_finished_at", "archived_at",
                                        "generation_seconds", "archive_seconds"}  # fmt: skip
    json.dumps(result)


def test_archive_retry_rewrites_the_same_keys(world: World) -> None:
    state = world.finished()
    first = world.archive(state)
    second = world.archive(state)
    assert first["output_keys"] == second["output_keys"]
    assert first["outputs"] == second["outputs"]


def test_mov_output_gets_a_mov_key(world: World) -> None:
    world.sim.inject("output", format="mov")
    result = world.archive(world.finished())
    assert result["output_keys"] == ["outputs/job-1/0.mov"]
    assert result["outputs"][0]["content_type"] == "video/quicktime"


def test_expired_url_is_refreshed_once(world: World) -> None:
    # GIVEN a task whose next answer carries already-expired URLs
    state = world.finished()
    world.sim.inject("expired_urls", ttl=0)
    # WHEN archived THEN the task is fetched again and the fresh URL works
    result = world.archive(state)
    assert len(result["outputs"]) == 1
    gets = [r for r in world.sim.requests if r.method == "GET" and r.path == f"/v1/tasks/{state.task_id}"]
    assert len(gets) == 3  # the poll, the archive's read, the refresh


def test_url_still_expired_after_refresh_is_output_expired(world: World) -> None:
    state = world.finished()
    world.sim.inject("expired_urls", ttl=0, times=2)
    with pytest.raises(OutputExpired):
        world.archive(state)


@pytest.mark.parametrize("kind", ["truncate_download", "reset_download"])
def test_broken_download_is_output_download_failed(world: World, kind: str) -> None:
    state = world.finished()
    world.sim.inject(kind)
    with pytest.raises(OutputDownloadFailed):
        world.archive(state)
    assert world.s3.list_objects_v2(Bucket="videos").get("KeyCount") == 0


def test_http_output_off_loopback_is_refused_before_writing(world: World) -> None:
    stub = StubClients(
        {
            "task_id": "task-1",
            "status": "SUCCEEDED",
            "output": ["http://cdn.example.com/0.mp4"],
            "cost": {"credits": 5},
        }
    )
    with pytest.raises(OutputHostNotAllowed):
        world.archive(make_state(status="SUCCEEDED"), runway=stub)
    assert world.s3.list_objects_v2(Bucket="videos").get("KeyCount") == 0


def test_allowlist_refuses_other_hosts(world: World) -> None:
    state = world.finished()
    # (without AllowLoopbackHttp: with it, the simulator's loopback URLs pass whatever the allowlist)
    settings = world.settings.model_copy(
        update={"output_host_allowlist": ("cdn.runwayml.example",), "allow_loopback_http": False}
    )
    with pytest.raises(OutputHostNotAllowed, match=r"127\.0\.0\.1"):
        world.archive(state, settings=settings)


def test_succeeded_without_outputs_is_generation_failed(world: World) -> None:
    stub = StubClients({"task_id": "task-1", "status": "SUCCEEDED", "output": [], "cost": {"credits": 5}})
    with pytest.raises(GenerationFailed, match="without any output"):
        world.archive(make_state(status="SUCCEEDED"), runway=stub)


def test_archive_of_a_deleted_task_is_task_not_found(world: World) -> None:
    with pytest.raises(TaskNotFound):
        world.archive(make_state(task_id=UNKNOWN_ID, status="SUCCEEDED"))


# --- cancel -------------------------------------------------------------------------------------------------


def test_cancel_without_a_task_does_nothing(world: World) -> None:
    assert cancel_task("job-1", None, runway=world.runway) == {
        "cancelled": False,
        "task_id": None,
        "task_status": None,
    }
    assert world.sim.requests == []


def test_cancel_stops_a_live_task(world: World) -> None:
    state = world.submit()
    result = cancel_task("job-1", state.task_id, runway=world.runway, error={"Error": "GenerationTimedOut"})
    assert result == {"cancelled": True, "task_id": state.task_id, "task_status": "PENDING"}
    assert world.sim.task(state.task_id)["status"] == "CANCELLED"  # type: ignore[index]


def test_cancel_of_a_task_already_gone_is_fine(world: World) -> None:
    assert cancel_task("job-1", UNKNOWN_ID, runway=world.runway) == {
        "cancelled": False,
        "task_id": UNKNOWN_ID,
        "task_status": "NOT_FOUND",
    }


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_cancel_when_runway_is_down_is_retryable(world: World, method: str) -> None:
    state = world.submit()
    world.sim.inject("http_error", method=method, status=503, times=None)
    with pytest.raises(RunwayUnavailable):
        cancel_task("job-1", state.task_id, runway=world.runway)


def test_cancel_never_deletes_a_finished_task(world: World) -> None:
    # GIVEN a task that SUCCEEDED (its paid video not archived yet)
    state = world.finished()
    # WHEN the cancel step runs (a deadline that passed just as Runway finished, or a DELETE from the API)
    result = cancel_task("job-1", state.task_id, runway=world.runway, error={"Error": "GenerationTimedOut"})
    # THEN no DELETE reached Runway and the task still serves its output
    assert result == {"cancelled": False, "task_id": state.task_id, "task_status": "SUCCEEDED"}
    assert [r for r in world.sim.requests if r.method == "DELETE"] == []
    assert world.sim.task(state.task_id)["status"] == "SUCCEEDED"  # type: ignore[index]
