"""Poll step: read the Runway task, map its status, enforce the deadline, pick the next wait."""

from __future__ import annotations

import logging

from videogen.core.clock import SYSTEM_CLOCK, Clock, utc
from videogen.core.errors import GenerationTimedOut
from videogen.core.job import ACTIVE_TASK_STATUSES, TaskStatus
from videogen.core.settings import Settings
from videogen.pipeline.poll_schedule import PollObservation, next_wait_seconds
from videogen.pipeline.task_state import TaskState
from videogen.runway.client import RunwayClients
from videogen.runway.errors import runway_errors
from videogen.runway.tasks import credits_of, raise_for_terminal_failure, task_to_dict

log = logging.getLogger(__name__)


def max_attempts(settings: Settings) -> int:
    """How many Runway tasks one job may create: the first, plus one per INTERNAL failure retried."""
    return 1 + settings.runway_internal_retries


def check_task(
    job_id: str,
    state: TaskState,
    *,
    runway: RunwayClients,
    settings: Settings,
    clock: Clock = SYSTEM_CLOCK,
) -> TaskState:
    """The updated task state, or a named error for every ending that is not SUCCEEDED.

    - PENDING/THROTTLED/RUNNING (and unknown statuses, logged as a warning, kept as the previous status):
      progress (0..1, kept from the last poll when Runway gives none), ``polls`` + 1, ``next_wait_seconds``;
      GenerationTimedOut when ``deadline_at`` has passed (the state machine then cancels the task).
    - SUCCEEDED: progress 1, ``credits_charged`` and ``output_count`` (never the URLs).
    - FAILED -> ContentModerated (``SAFETY.*``, never retried); ``INTERNAL.*`` -> RunwayInternalFailure while
      the job has attempts left (``state.attempt`` <= ``RUNWAY_INTERNAL_RETRIES``) and its deadline has not
      passed: the state machine then creates a new task; else GenerationFailed with the failure code.
      CANCELLED -> GenerationCancelled; 404 -> TaskNotFound.
    """
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

    if status == TaskStatus.SUCCEEDED:
        outputs = task.get("output") or []
        cost = credits_of(task, "cost")
        return state.model_copy(
            update={
                "status": "SUCCEEDED",
                "progress": 1.0,
                "polls": state.polls + 1,
                "checked_at": checked_at,
                "next_wait_seconds": 0,
                "credits_charged": int(cost) if cost is not None else None,
                "output_count": len(outputs) if isinstance(outputs, list) else 0,
            }
        )

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

    wait = next_wait_seconds(
        PollObservation(
            status=status,
            progress=progress if status == "RUNNING" else None,
            seconds_since_submit=state.job_age_seconds(checked_at),
            previous_progress=state.progress if state.status == "RUNNING" else None,
            seconds_since_previous_check=(checked_at - utc(state.checked_at)).total_seconds(),
            seconds_to_deadline=(deadline - checked_at).total_seconds(),
        ),
        min_wait=settings.poll_min_wait_seconds,
        max_wait=settings.poll_max_wait_seconds,
    )
    return state.model_copy(
        update={
            "status": status,
            "progress": progress,
            "polls": state.polls + 1,
            "checked_at": checked_at,
            "next_wait_seconds": wait,
            "estimated_credits": estimated if estimated is not None else state.estimated_credits,
        }
    )
