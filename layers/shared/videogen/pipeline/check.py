"""Poll step: read the Runway task on its ticks, map its status, enforce the deadline, record the progress
and pick the next wait (the schedule: videogen.pipeline.poll_schedule)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from botocore.exceptions import ClientError

from videogen.core.clock import SYSTEM_CLOCK, Clock, parse_time, utc
from videogen.core.errors import GenerationTimedOut
from videogen.core.job import ACTIVE_TASK_STATUSES, TaskStatus
from videogen.core.settings import Settings
from videogen.pipeline.poll_schedule import (
    TICK_SECONDS,
    PollObservation,
    PollPlan,
    plan,
    seconds_to_aligned_read,
)
from videogen.pipeline.task_state import TaskState
from videogen.pipeline.time_budgets import RUNWAY_READ_CALL_SECONDS
from videogen.runway.client import RunwayClients
from videogen.runway.errors import runway_errors
from videogen.runway.tasks import credits_of, raise_for_terminal_failure, task_to_dict
from videogen.storage.aws_errors import CONDITION_FAILED, error_code
from videogen.storage.job_store import STEP_CALL_MAX_SECONDS

log = logging.getLogger(__name__)

#: The function time one more read in the window needs: the tick's sleep, the read at its worst, the
#: progress write at its worst, and a margin. The window never starts a read it could not finish.
READ_RESERVE_SECONDS = TICK_SECONDS + RUNWAY_READ_CALL_SECONDS + STEP_CALL_MAX_SECONDS + 5


class ProgressStore(Protocol):
    """Where the poll step records progress (``videogen.storage.job_store.JobStore``)."""

    def update(
        self,
        job_id: str,
        fields: Mapping[str, Any],
        *,
        condition: str | None = None,
        condition_names: Mapping[str, str] | None = None,
        now: dt.datetime | None = None,
    ) -> dict[str, Any]: ...


def max_attempts(settings: Settings) -> int:
    """How many Runway tasks one job may create: the first, plus one per INTERNAL failure retried."""
    return 1 + settings.runway_internal_retries


def _seconds(later: dt.datetime, earlier: dt.datetime | None) -> float | None:
    return None if earlier is None else (utc(later) - utc(earlier)).total_seconds()


def check_task(
    job_id: str,
    state: TaskState,
    *,
    runway: RunwayClients,
    settings: Settings,
    clock: Clock = SYSTEM_CLOCK,
    jobs: ProgressStore | None = None,
    time_left: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> TaskState:
    """The updated task state, or a named error for every ending that is not SUCCEEDED.

    - Reads on the task's ticks: with ``time_left`` (the function's remaining seconds), each read waits
      for the next aligned instant, and while the schedule says the finish is near the step keeps reading
      every tick, within ``POLL_WINDOW_SECONDS``, the deadline and ``time_left`` less
      ``READ_RESERVE_SECONDS``. Without it, one read now (tests, tools).
    - PENDING/THROTTLED/RUNNING (and unknown statuses, logged as a warning, kept as the previous status):
      progress (0..1, kept from the last read when Runway gives none), ``polls`` + 1, ``reads`` + each
      read, ``next_wait_seconds``; GenerationTimedOut when ``deadline_at`` has passed (the state machine
      then cancels the task). The progress is written to the job record (``jobs``), conditional on the job
      not being finished; a failed write is logged and never fails the poll.
    - SUCCEEDED: progress 1, ``credits_charged`` and ``output_count`` (never the URLs).
    - FAILED -> ContentModerated (``SAFETY.*``, never retried); ``INTERNAL.*`` -> RunwayInternalFailure while
      the job has attempts left (``state.attempt`` <= ``RUNWAY_INTERNAL_RETRIES``) and its deadline has not
      passed: the state machine then creates a new task; else GenerationFailed with the failure code.
      CANCELLED -> GenerationCancelled; 404 -> TaskNotFound.
    """
    pause = sleep or time.sleep  # looked up per call: the local runner scales time.sleep
    started = utc(clock.now())
    window_end = started + dt.timedelta(seconds=settings.poll_window_seconds)
    state = state.model_copy(update={"polls": state.polls + 1})
    while True:
        if time_left is not None:
            anchor = state.tick_anchor_at or state.submitted_at
            delay = seconds_to_aligned_read((utc(clock.now()) - utc(anchor)).total_seconds())
            if delay > 0:
                pause(delay)
        state, next_step = _read_once(
            job_id, state, runway=runway, settings=settings, clock=clock, until=window_end
        )
        if next_step is None:
            return state
        if next_step.stay and time_left is not None and time_left() >= READ_RESERVE_SECONDS:
            continue
        if next_step.stay:
            next_step = plan(
                _observation(state, state.checked_at, settings), **_bounds(settings), window_left_seconds=0
            )
        state = state.model_copy(update={"next_wait_seconds": next_step.wait_seconds})
        if jobs is not None:
            record_progress(jobs, job_id, state)
        return state


def _bounds(settings: Settings) -> dict[str, int]:
    return {"min_wait": settings.poll_min_wait_seconds, "max_wait": settings.poll_max_wait_seconds}


def _observation(state: TaskState, now: dt.datetime, settings: Settings) -> PollObservation:
    running = state.status == "RUNNING"
    deadline = utc(state.deadline_at)
    return PollObservation(
        status=state.status,
        progress=state.progress if running else None,
        seconds_since_submit=state.job_age_seconds(now),
        seconds_to_deadline=(deadline - now).total_seconds(),
        typical_seconds=state.typical_seconds,
        running_for_at_most=_seconds(now, state.queued_seen_at or state.submitted_at),
        rate_progress=state.rate_progress if running else None,
        seconds_since_rate_progress=_seconds(now, state.rate_progress_seen_at),
        seconds_since_progress_changed=_seconds(now, state.progress_seen_at),
    )


def _read_once(
    job_id: str,
    state: TaskState,
    *,
    runway: RunwayClients,
    settings: Settings,
    clock: Clock,
    until: dt.datetime,
) -> tuple[TaskState, PollPlan | None]:
    """One read: the state it leaves, and what next (None: the task SUCCEEDED)."""
    with runway_errors("retrieve"):
        task = task_to_dict(runway.for_repeatable().tasks.retrieve(state.task_id))
    checked_at = utc(clock.now())
    status = str(task.get("status", ""))
    raise_for_terminal_failure(
        task,
        attempt=state.attempt,
        max_attempts=max_attempts(settings),
        deadline_passed=checked_at >= utc(state.deadline_at),
    )
    reads = state.reads + 1
    anchor = state.tick_anchor_at or parse_time(task.get("createdAt")) or state.submitted_at

    if status == TaskStatus.SUCCEEDED:
        outputs = task.get("output") or []
        cost = credits_of(task, "cost")
        done = state.model_copy(
            update={
                "status": "SUCCEEDED",
                "progress": 1.0,
                "reads": reads,
                "tick_anchor_at": anchor,
                "checked_at": checked_at,
                "next_wait_seconds": 0,
                "credits_charged": int(cost) if cost is not None else None,
                "output_count": len(outputs) if isinstance(outputs, list) else 0,
            }
        )
        return done, None

    if status not in ACTIVE_TASK_STATUSES:
        log.warning(
            "unknown Runway task status; treated as still in progress",
            extra={"job_id": job_id, "task_id": state.task_id, "runway_status": status},
        )
        status = state.status if state.status in ACTIVE_TASK_STATUSES else "PENDING"

    progress = state.progress
    raw_progress = task.get("progress")
    if isinstance(raw_progress, int | float) and not isinstance(raw_progress, bool):
        progress = min(max(float(raw_progress), 0.0), 1.0)
    estimated = credits_of(task, "estimatedCost")

    deadline = utc(state.deadline_at)
    if checked_at >= deadline:
        raise GenerationTimedOut(
            f"Runway task {state.task_id} was still {status} ({progress:.0%}) when the job's deadline "
            f"{state.deadline_at.isoformat()} passed",
            details={"task_id": state.task_id, "status": status, "progress": progress},
        )

    update: dict[str, Any] = {
        "status": status,
        "progress": progress,
        "reads": reads,
        "tick_anchor_at": anchor,
        "checked_at": checked_at,
        "estimated_credits": estimated if estimated is not None else state.estimated_credits,
    }
    if status != "RUNNING":
        update |= {"queued_seen_at": checked_at, "rate_progress": None, "rate_progress_seen_at": None}
        update["progress_seen_at"] = None
    elif state.status != "RUNNING" or state.progress_seen_at is None or progress != state.progress:
        update["progress_seen_at"] = checked_at
        if state.status == "RUNNING" and state.rate_progress is None and progress > state.progress:
            # The first value seen since RUNNING anchors the rate (RUNNING time only, never the queue).
            update |= {"rate_progress": state.progress, "rate_progress_seen_at": state.progress_seen_at}
    state = state.model_copy(update=update)
    window_left = (until - checked_at).total_seconds()
    window_left = min(window_left, (deadline - checked_at).total_seconds())
    return state, plan(
        _observation(state, checked_at, settings), **_bounds(settings), window_left_seconds=window_left
    )


def record_progress(jobs: ProgressStore, job_id: str, state: TaskState) -> None:
    """Write the task's status and progress on the job record unless the job has finished. Bookkeeping
    only: a failure is logged and the poll goes on."""
    try:
        jobs.update(
            job_id,
            {"status": state.status, "progress": state.progress},
            condition="attribute_exists(job_id) AND attribute_not_exists(#finished_at)",
            condition_names={"#finished_at": "finished_at"},
            now=state.checked_at,
        )
    except Exception as exc:  # bookkeeping must never fail the poll
        finished = isinstance(exc, ClientError) and error_code(exc) == CONDITION_FAILED
        log.log(
            logging.INFO if finished else logging.WARNING,
            "progress not recorded" + ("; the job has finished" if finished else ""),
            extra={"job_id": job_id, "task_id": state.task_id, "error": type(exc).__name__},
        )
