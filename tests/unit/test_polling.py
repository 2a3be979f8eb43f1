"""The polling policy (pure functions, table-driven) and the poll step's reads on Runway's ticks."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local.stack import load_template
from tests.support.template import create_jobs_table
from videogen.core.errors import GenerationTimedOut
from videogen.core.settings import Settings
from videogen.pipeline.check import READ_RESERVE_SECONDS, check_task, record_progress
from videogen.pipeline.poll_schedule import (
    STAY_HORIZON_SECONDS,
    TICK_MARGIN_SECONDS,
    TICK_SECONDS,
    PollObservation,
    earliest_finish_seconds,
    estimate_remaining_seconds,
    max_polls,
    next_wait_seconds,
    plan,
    seconds_to_aligned_read,
    wait_floor,
)
from videogen.pipeline.task_state import TaskState
from videogen.storage.job_store import JobStore

MIN, MAX = 10, 60


@pytest.mark.parametrize(
    ("case", "obs", "expected"),
    [
        # Half the default typical time (60 s), less the second the poll step sleeps to the tick.
        ("pending: just before the fastest plausible generation", PollObservation("PENDING"), 29),
        ("pending, with the model's prior", PollObservation("PENDING", typical_seconds=75), 36),
        ("a fast model's prior waits less", PollObservation("PENDING", typical_seconds=30), 14),
        ("a slow model's prior is capped", PollObservation("THROTTLED", typical_seconds=200), 60),
        ("status is case-insensitive", PollObservation("pending"), 29),
        ("unknown status: as if queued", PollObservation("WEIRD"), 29),
        (
            "running without progress, long since submission",
            PollObservation("RUNNING", seconds_since_submit=100),
            10,
        ),
        (
            "running without progress, queued until 10 s ago: the rest of the fastest generation",
            PollObservation("RUNNING", seconds_since_submit=300, running_for_at_most=10, typical_seconds=120),
            49,
        ),
        (
            "running at half, no rate yet: half the fastest generation",
            PollObservation("RUNNING", progress=0.5, seconds_since_submit=60, typical_seconds=100),
            24,
        ),
        (
            "measured rate: 0.4 -> 0.6 in 20 s, 40 s left, 32 s at 1.25x the rate",
            PollObservation("RUNNING", progress=0.6, rate_progress=0.4, seconds_since_rate_progress=20),
            31,
        ),
        (
            "coarse progress: the rate between the instants .25 and .5 were first seen",
            # 0.25 in 30 s; 0.5 left takes 60 s from when 0.5 appeared (10 s ago): earliest 0.5/(1.25 r) - 10
            PollObservation(
                "RUNNING",
                progress=0.5,
                rate_progress=0.25,
                seconds_since_rate_progress=40,
                seconds_since_progress_changed=10,
            ),
            37,
        ),
        (
            "the previous read anchors the rate when no earlier value is kept",
            PollObservation("RUNNING", progress=0.6, previous_progress=0.4, seconds_since_previous_check=20),
            31,
        ),
        (
            "nearly done: never below the minimum",
            PollObservation("RUNNING", progress=0.99, seconds_since_submit=100),
            10,
        ),
        (
            "progress that went backwards is no rate: the prior",
            PollObservation(
                "RUNNING",
                progress=0.5,
                previous_progress=0.7,
                seconds_since_previous_check=10,
                typical_seconds=100,
            ),
            24,
        ),
        (
            "deadline close: wait only until just after it",
            PollObservation("THROTTLED", seconds_to_deadline=14.2),
            16,
        ),
        (
            "deadline closer than the minimum: the minimum",
            PollObservation("PENDING", seconds_to_deadline=3),
            10,
        ),
        ("deadline passed: the minimum", PollObservation("PENDING", seconds_to_deadline=-50), 10),
        ("far deadline changes nothing", PollObservation("PENDING", seconds_to_deadline=10_000), 29),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_next_wait_seconds(case: str, obs: PollObservation, expected: int) -> None:
    # GIVEN an observation WHEN the next wait is chosen THEN it follows the documented policy
    assert next_wait_seconds(obs, min_wait=MIN, max_wait=MAX) == expected


def test_time_spent_throttled_never_lengthens_the_wait() -> None:
    # GIVEN the same RUNNING task seen 20 s into its generation, once after 10 minutes THROTTLED
    fresh = PollObservation(
        "RUNNING", progress=0.2, seconds_since_submit=25, running_for_at_most=20, typical_seconds=100
    )
    after_queue = PollObservation(
        "RUNNING", progress=0.2, seconds_since_submit=625, running_for_at_most=20, typical_seconds=100
    )
    # THEN the queue changes nothing: the rate is over RUNNING time only (no cap hides a difference)
    assert next_wait_seconds(after_queue, min_wait=MIN, max_wait=3600) == next_wait_seconds(
        fresh, min_wait=MIN, max_wait=3600
    )
    # AND with a measured rate, the same: 0.1 -> 0.2 in 10 s of RUNNING, whatever the age
    measured: dict[str, float] = {"progress": 0.2, "rate_progress": 0.1, "seconds_since_rate_progress": 10}
    assert earliest_finish_seconds(
        PollObservation("RUNNING", seconds_since_submit=625, **measured)
    ) == earliest_finish_seconds(PollObservation("RUNNING", seconds_since_submit=15, **measured))


@pytest.mark.parametrize(
    ("min_wait", "max_wait", "obs", "expected"),
    [
        (1, 60, PollObservation("RUNNING"), 5),  # Runway: at most one poll per 5 s
        (5, 5, PollObservation("THROTTLED"), 5),  # max == min
        (30, 10, PollObservation("PENDING"), 30),  # max below min: min wins
        (5, 600, PollObservation("THROTTLED"), 29),
        (5, 600, PollObservation("RUNNING", progress=0.01, seconds_since_submit=30), 28),
    ],
)
def test_bounds(min_wait: int, max_wait: int, obs: PollObservation, expected: int) -> None:
    assert next_wait_seconds(obs, min_wait=min_wait, max_wait=max_wait) == expected


@pytest.mark.parametrize("status", ["PENDING", "THROTTLED", "RUNNING", "SUCCEEDED", "WEIRD", ""])
@pytest.mark.parametrize("progress", [None, 0.0, 0.01, 0.5, 0.99, 1.0])
@pytest.mark.parametrize("to_deadline", [None, -10.0, 0.0, 4.0, 30.0, 1e6])
@pytest.mark.parametrize("typical", [None, 1.0, 75.0, 10_000.0])
def test_invariants(
    status: str, progress: float | None, to_deadline: float | None, typical: float | None
) -> None:
    # GIVEN any combination WHEN a wait is chosen THEN it is an int in [min, max] that never overshoots the
    # deadline by more than the minimum
    obs = PollObservation(
        status,
        progress=progress,
        seconds_since_submit=120,
        previous_progress=0.2,
        seconds_since_previous_check=15,
        seconds_to_deadline=to_deadline,
        typical_seconds=typical,
    )
    wait = next_wait_seconds(obs, min_wait=MIN, max_wait=MAX)
    assert isinstance(wait, int)
    assert MIN <= wait <= MAX
    if to_deadline is not None:
        assert wait <= max(to_deadline, 0) + MIN
    # AND the plan either stays (RUNNING only, with a window) or waits that same wait
    step = plan(obs, min_wait=MIN, max_wait=MAX, window_left_seconds=100)
    assert step.wait_seconds == (0 if step.stay else wait)
    assert not step.stay or status == "RUNNING"


def test_waits_shrink_as_a_steady_task_nears_its_end() -> None:
    # GIVEN a task progressing at a steady 1 %/s WHEN polled along the way THEN waits never grow
    waits = [
        next_wait_seconds(
            PollObservation(
                "RUNNING", progress=p, previous_progress=p - 0.1, seconds_since_previous_check=10
            ),
            min_wait=5,
            max_wait=60,
        )
        for p in (0.2, 0.4, 0.6, 0.8, 0.95)
    ]
    assert waits == sorted(waits, reverse=True)
    assert waits[-1] == 5


@pytest.mark.parametrize(
    ("obs", "expected"),
    [
        (
            PollObservation("RUNNING", progress=0.5, previous_progress=0.25, seconds_since_previous_check=25),
            50.0,
        ),
        (
            PollObservation("RUNNING", progress=1.0, previous_progress=0.5, seconds_since_previous_check=10),
            0.0,
        ),
        (PollObservation("RUNNING", progress=None, seconds_since_submit=50), None),
        # No earlier value: no rate. The time since submission includes the queue, so it is never a rate.
        (PollObservation("RUNNING", progress=0.5, seconds_since_submit=50), None),
        (
            PollObservation(
                "RUNNING",
                progress=0.5,
                rate_progress=0.25,
                seconds_since_rate_progress=40,
                seconds_since_progress_changed=10,
            ),
            50.0,
        ),
    ],
)
def test_estimate_remaining_seconds(obs: PollObservation, expected: float | None) -> None:
    result = estimate_remaining_seconds(obs)
    assert result == expected if expected is None else result == pytest.approx(expected)


# --- Staying near the end, reading on the tick --------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "obs", "window", "stay"),
    [
        (
            "running and nearly done: stay",
            PollObservation("RUNNING", progress=0.9, typical_seconds=60),
            100,
            True,
        ),
        (
            "nearly done but no time for one more tick: return",
            PollObservation("RUNNING", progress=0.9, typical_seconds=60),
            TICK_SECONDS - 0.1,
            False,
        ),
        (
            "running, a long way to go: return",
            PollObservation("RUNNING", progress=0.1, typical_seconds=600),
            100,
            False,
        ),
        (
            "queued never stays, however fast the model",
            PollObservation("PENDING", typical_seconds=1),
            100,
            False,
        ),
        ("throttled never stays", PollObservation("THROTTLED", typical_seconds=1), 100, False),
        (
            "no progress, past the fastest plausible generation: stay",
            PollObservation("RUNNING", running_for_at_most=40, typical_seconds=60),
            100,
            True,
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_plan(case: str, obs: PollObservation, window: float, stay: bool) -> None:
    step = plan(obs, min_wait=MIN, max_wait=MAX, window_left_seconds=window)
    assert step.stay is stay
    if not stay:
        assert step.wait_seconds == next_wait_seconds(obs, min_wait=MIN, max_wait=MAX)


def test_the_stay_horizon_is_the_boundary() -> None:
    # GIVEN RUNNING tasks whose earliest finish is just inside and just outside the horizon
    def obs(earliest: float) -> PollObservation:
        # without progress, earliest = typical / 2 - running
        return PollObservation("RUNNING", running_for_at_most=0, typical_seconds=2 * earliest)

    assert plan(obs(STAY_HORIZON_SECONDS), min_wait=MIN, max_wait=MAX, window_left_seconds=100).stay
    assert not plan(obs(STAY_HORIZON_SECONDS + 1), min_wait=MIN, max_wait=MAX, window_left_seconds=100).stay


@pytest.mark.parametrize(
    ("since_anchor", "expected"),
    [
        (0.0, TICK_MARGIN_SECONDS),
        (TICK_MARGIN_SECONDS, 0.0),
        (0.6, 4.9),
        (5.4, 0.1),
        (1000.5, 0.0),
        (-0.2, 0.7),  # the pipeline's clock behind Runway's createdAt
        (float("nan"), 0.0),
    ],
)
def test_seconds_to_aligned_read(since_anchor: float, expected: float) -> None:
    assert seconds_to_aligned_read(since_anchor) == pytest.approx(expected)


# --- Long jobs: the wait grows with the time waited -------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds_since_submit", "expected"),
    [
        (None, MIN),
        (0, MIN),
        (900, MIN),  # the first 15 minutes: the minimum
        (1000, MIN),  # a tenth of 100 s beyond them is still below the minimum
        (1500, 60),
        (3600, 270),
        (9900, 900),  # at most 15 minutes
        (86_400, 900),
        (float("nan"), MIN),
    ],
)
def test_wait_floor(seconds_since_submit: float | None, expected: int) -> None:
    assert wait_floor(seconds_since_submit, MIN) == expected


def test_wait_floor_never_goes_below_runways_limit_nor_the_minimum() -> None:
    assert wait_floor(0, 1) == 5
    assert wait_floor(3600, 1200) == 1200


@pytest.mark.parametrize(
    ("case", "obs", "expected"),
    [
        (
            "an hour in, nearly done: a tenth of the 45 minutes beyond the first 15, above the maximum",
            PollObservation("RUNNING", progress=0.99, seconds_since_submit=3600),
            270,
        ),
        ("an hour in, still throttled", PollObservation("THROTTLED", seconds_since_submit=3600), 270),
        (
            "the deadline still cuts the long wait",
            PollObservation("THROTTLED", seconds_since_submit=3600, seconds_to_deadline=100),
            101,
        ),
        (
            "14 minutes in: unchanged",
            PollObservation("RUNNING", progress=0.99, seconds_since_submit=840),
            MIN,
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_long_jobs_wait_longer(case: str, obs: PollObservation, expected: int) -> None:
    assert next_wait_seconds(obs, min_wait=MIN, max_wait=MAX) == expected


@pytest.mark.parametrize(
    ("deadline", "min_wait", "expected"),
    [
        (0, 10, 1),  # one poll, which finds the deadline passed
        (10, 10, 2),
        (900, 10, 91),  # every 10 s for 15 minutes, plus the poll at the deadline
        (3600, 10, 136),
        (86_400, 5, 330),
    ],
)
def test_max_polls(deadline: int, min_wait: int, expected: int) -> None:
    assert max_polls(deadline, min_wait) == expected


# --- The poll step on Runway's ticks ------------------------------------------------------------------------

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
READ_SECONDS = 0.2


@dataclass
class TickingRunway:
    """A task on Runway's 5 s ticks from its createdAt (T0): RUNNING at ``progress_per_tick`` per tick from
    ``start``, SUCCEEDED on the first tick at or after ``finish`` (None: never). Also the clock and sleep
    the poll step is given, so that every read takes ``READ_SECONDS`` of simulated time."""

    finish: float | None
    start: float = 0.0
    progress_per_tick: float | None = 0.05
    t: float = 0.0
    reads_at: list[float] = field(default_factory=list)

    def now(self) -> dt.datetime:
        return T0 + dt.timedelta(seconds=self.t)

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.t += seconds

    def for_repeatable(self) -> TickingRunway:
        return self

    @property
    def tasks(self) -> TickingRunway:
        return self

    def retrieve(self, task_id: str) -> dict[str, Any]:
        self.reads_at.append(self.t)
        tick = math.floor(self.t / TICK_SECONDS + 1e-9) * TICK_SECONDS
        self.t += READ_SECONDS
        answer: dict[str, Any] = {"id": task_id, "createdAt": "2026-01-01T00:00:00.000Z"}
        if self.finish is not None and tick >= math.ceil(self.finish / TICK_SECONDS) * TICK_SECONDS:
            return {**answer, "status": "SUCCEEDED", "output": ["https://x/v.mp4"], "cost": {"credits": 5}}
        if tick < self.start:
            return {**answer, "status": "PENDING"}
        running: dict[str, Any] = {**answer, "status": "RUNNING"}
        if self.progress_per_tick is not None:
            running["progress"] = min(0.99, (tick - self.start) / TICK_SECONDS * self.progress_per_tick)
        return running


@dataclass
class Recorder:
    """A job store that records the progress writes (or fails them with ``error``)."""

    error: Exception | None = None
    writes: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    def update(self, job_id: str, fields: Any, **kwargs: Any) -> dict[str, Any]:
        self.writes.append((job_id, dict(fields), kwargs))
        if self.error is not None:
            raise self.error
        return {}


def state_at(t: float, **overrides: Any) -> TaskState:
    values: dict[str, Any] = {
        "task_id": "task-1",
        "endpoint": "text_to_video",
        "model": "gen4.5",
        "submitted_at": T0 + dt.timedelta(seconds=0.7),  # the create's answer came 0.7 s after createdAt
        "deadline_at": T0 + dt.timedelta(hours=1),
        "next_wait_seconds": 10,
        "checked_at": T0 + dt.timedelta(seconds=t),
        "typical_seconds": 60,
        "tick_anchor_at": T0,  # Runway's createdAt, known since the task's first read
    }
    return TaskState(**{**values, **overrides})


def poll(runway: TickingRunway, state: TaskState, *, left: float = 300.0, **kwargs: Any) -> TaskState:
    started = runway.t
    settings = kwargs.pop("settings", Settings())
    return check_task(
        "job-1",
        state,
        runway=runway,  # type: ignore[arg-type]
        settings=settings,
        clock=runway,
        time_left=lambda: left - (runway.t - started),
        sleep=runway.sleep,
        **kwargs,
    )


def test_near_the_end_the_step_reads_every_tick_until_the_task_succeeds() -> None:
    # GIVEN a RUNNING task at 80 % that succeeds on the tick at 60 s, and a poll step arriving at 43.3 s
    runway = TickingRunway(finish=57.0, t=43.3, progress_per_tick=0.1)
    jobs = Recorder()
    state = poll(runway, state_at(43.3, status="RUNNING", progress=0.8), jobs=jobs)
    # THEN it returns SUCCEEDED from the read 0.5 s after that tick: the lag is the tick margin
    assert state.status == "SUCCEEDED"
    assert runway.reads_at[-1] == pytest.approx(60 + TICK_MARGIN_SECONDS)
    # AND every read lands just after a tick, one tick apart (Runway's one read per 5 s)
    assert runway.reads_at == pytest.approx([45.5, 50.5, 55.5, 60.5])
    # AND it is one poll of the loop, four reads of Runway; no progress write once the task SUCCEEDED
    assert state.polls == 1 and state.reads == 4
    assert jobs.writes == []


def test_far_from_the_end_the_step_reads_once_and_waits() -> None:
    # GIVEN a task at 10 % of a generation the prior says takes 10 minutes
    runway = TickingRunway(finish=None, t=20.1, progress_per_tick=0.01)
    jobs = Recorder()
    state = poll(runway, state_at(20.1, status="RUNNING", progress=0.0, typical_seconds=600), jobs=jobs)
    # THEN one aligned read, a long wait, and the progress written once, conditional on the job not finished
    assert runway.reads_at == pytest.approx([20.5])
    assert state.status == "RUNNING" and state.next_wait_seconds == MAX
    [(job_id, fields, kwargs)] = jobs.writes
    assert job_id == "job-1" and fields == {"status": "RUNNING", "progress": state.progress}
    assert "attribute_not_exists(#finished_at)" in kwargs["condition"]


def test_the_window_is_bounded_by_its_setting() -> None:
    # GIVEN a task that looks nearly done but never finishes, and a 30 s window
    runway = TickingRunway(finish=None, t=0.0, progress_per_tick=None)
    settings = Settings(poll_window_seconds=30)
    state = poll(runway, state_at(0, status="RUNNING", typical_seconds=10), settings=settings)
    # THEN the step returns within the window, having read on each tick, and waits the minimum
    assert runway.t <= 30 + TICK_SECONDS
    assert len(runway.reads_at) <= 30 / TICK_SECONDS + 1
    assert state.status == "RUNNING" and state.next_wait_seconds == settings.poll_min_wait_seconds


def test_the_window_keeps_the_time_of_one_more_read_in_reserve() -> None:
    # GIVEN the same task and a function with a minute left
    runway = TickingRunway(finish=None, t=0.0, progress_per_tick=None)
    left = 60.0
    state = poll(runway, state_at(0, status="RUNNING", typical_seconds=10), left=left)
    # THEN it starts no read without the time of a read and a progress write at their worst
    assert state.reads == len(runway.reads_at) >= 2
    assert all(left - t >= READ_RESERVE_SECONDS - TICK_SECONDS for t in runway.reads_at)
    assert left - runway.reads_at[-1] < READ_RESERVE_SECONDS  # and it stopped for that reason


def test_the_first_read_of_a_task_aligns_on_the_creates_answer() -> None:
    # GIVEN a task never read (its createdAt unknown yet): reads count from the create's answer (0.7 s later)
    runway = TickingRunway(finish=None, t=3.0, progress_per_tick=None)
    state = poll(runway, state_at(3, tick_anchor_at=None), settings=Settings(poll_window_seconds=0))
    # THEN the first read lands a margin after the create's answer, still after Runway's tick
    assert runway.reads_at == pytest.approx([TICK_SECONDS + 0.7 + TICK_MARGIN_SECONDS])
    # AND later reads count from Runway's createdAt
    assert state.tick_anchor_at == T0


def test_the_window_never_runs_past_the_deadline() -> None:
    # GIVEN a nearly done task 12 s before the job's deadline
    runway = TickingRunway(finish=None, t=0.0, progress_per_tick=None)
    deadline = T0 + dt.timedelta(seconds=12)
    state = poll(runway, state_at(0, status="RUNNING", typical_seconds=10, deadline_at=deadline))
    # THEN the step returns before the deadline, with a wait that lands just after it
    assert runway.t < 12
    assert state.next_wait_seconds <= 12 - runway.t + MIN


def test_a_read_after_the_deadline_times_the_job_out() -> None:
    runway = TickingRunway(finish=None, t=20.0)
    with pytest.raises(GenerationTimedOut):
        poll(runway, state_at(20, status="RUNNING", deadline_at=T0 + dt.timedelta(seconds=10)))


def test_without_the_functions_time_left_the_step_reads_once_now() -> None:
    # GIVEN a caller that gives no remaining time (tests, tools) WHEN it polls a nearly done task
    runway = TickingRunway(finish=None, t=13.0, progress_per_tick=None)
    state = check_task(
        "job-1", state_at(13, status="RUNNING"), runway=runway, settings=Settings(), clock=runway,  # type: ignore[arg-type]
        sleep=runway.sleep,
    )  # fmt: skip
    # THEN one read, right away
    assert runway.reads_at == [13.0] and state.reads == 1


def test_the_rate_is_measured_over_running_time_only() -> None:
    # GIVEN a task queued for its first 300 s, then at 5 % per tick
    runway = TickingRunway(finish=None, start=300.0, t=290.0, progress_per_tick=0.05)
    queued = poll(runway, state_at(290))
    assert queued.status == "PENDING" and queued.queued_seen_at is not None
    runway.t += queued.next_wait_seconds
    first = poll(runway, queued, settings=Settings(poll_window_seconds=0))
    runway.t += 9.0
    second = poll(runway, first, settings=Settings(poll_window_seconds=0))
    # THEN the rate anchors at the first value seen RUNNING, and the estimate is the true remaining time
    assert first.status == second.status == "RUNNING"
    assert second.rate_progress == first.progress
    observed = PollObservation(
        "RUNNING",
        progress=second.progress,
        rate_progress=second.rate_progress,
        seconds_since_rate_progress=(second.checked_at - second.rate_progress_seen_at).total_seconds(),  # type: ignore[operator]
    )
    true_remaining = (1 - second.progress) / (0.05 / TICK_SECONDS)
    assert estimate_remaining_seconds(observed) == pytest.approx(true_remaining, rel=0.1)


@pytest.mark.parametrize(
    "error",
    [
        ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem"),
        ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "UpdateItem"),
        RuntimeError("anything"),
    ],
    ids=["throttled", "finished", "unexpected"],
)
def test_a_failed_progress_write_never_fails_the_poll(error: Exception) -> None:
    runway = TickingRunway(finish=None, t=20.1, progress_per_tick=0.01)
    jobs = Recorder(error=error)
    state = poll(runway, state_at(20.1, status="RUNNING", typical_seconds=600), jobs=jobs)
    assert state.status == "RUNNING" and len(jobs.writes) == 1


@pytest.fixture
def job_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[JobStore]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        create_jobs_table(boto3.client("dynamodb"), "jobs")
        yield JobStore(boto3.resource("dynamodb").Table("jobs"))


def test_progress_is_written_on_a_running_job_only(job_store: JobStore) -> None:
    # GIVEN a running job, a finished one, and no job at all
    job_store.update("running", {"status": "PENDING"})
    job_store.update("done", {"status": "CANCELLED", "finished_at": "2026-01-01T00:00:00.000Z"})
    polled = state_at(30, status="RUNNING", progress=0.4)
    # WHEN the poll step records the progress of each
    for job_id in ("running", "done", "absent"):
        record_progress(job_store, job_id, polled)
    # THEN only the running job changes; a finished job keeps its ending; no record is created
    running, done = job_store.get("running"), job_store.get("done")
    assert running is not None and running["status"] == "RUNNING" and running["progress"] == 0.4
    assert done is not None and done["status"] == "CANCELLED" and "progress" not in done
    assert job_store.get("absent") is None


def test_the_poll_functions_timeout_covers_the_window_and_its_reserve() -> None:
    # GIVEN the template's poll function WHEN its window runs in full THEN the timeout still covers one more
    # read and write, so the window never ends in a Lambda timeout (which cancels the task)
    function = load_template()["Resources"]["PollFunction"]["Properties"]
    assert function["Timeout"] >= Settings().poll_window_seconds + READ_RESERVE_SECONDS
    # AND the function may write the job's progress, and nothing else on the table
    actions = [
        statement["Action"]
        for policy in function["Policies"]
        if isinstance(policy, dict) and "Statement" in policy
        for statement in policy["Statement"]
    ]
    assert actions == [["dynamodb:UpdateItem"]]


def test_the_polling_bench_runs_the_production_step_and_reports_the_issues_shape() -> None:
    # GIVEN the polling benchmark on a few simulated tasks (its full run: python -m bench.polling)
    from bench import polling

    assert polling.check_task is check_task  # the production step, not a copy
    section = polling.scenario_results("coarse progress", 40, polling.setup())
    # THEN each design reports the figures the issue asks for, and the ratios are against the SDK's schedule
    for design in ("policy", "sdk", "fixed_30s"):
        assert {"mean_lag_s", "p95_lag_s", "iterations_per_job", "runway_reads_per_job"} <= set(
            section[design]
        )
    assert "cost_per_1000_usd" in section["policy"] and "cost_per_1000_usd" in section["blocking_lambda"]
    ratio = section["policy"]["mean_lag_s"] / section["sdk"]["mean_lag_s"]
    assert section["mean_lag_ratio_vs_sdk"] == pytest.approx(ratio, abs=1e-3)
    assert section["policy"]["mean_lag_s"] >= section["physical_limit"]["mean_lag_s"]
