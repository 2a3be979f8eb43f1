"""Submit step: validate the request, upload s3:// inputs, create the Runway task once, record it."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from videogen import catalog
from videogen.catalog.translate import prepare
from videogen.core.clock import SYSTEM_CLOCK, Clock, format_time, parse_time, utc
from videogen.core.errors import GenerationCancelled, InvalidRequest, VideoGenError
from videogen.core.job import JobStatus
from videogen.core.request import GenerationRequest
from videogen.core.settings import Settings
from videogen.pipeline.poll_schedule import PollObservation, next_wait_seconds
from videogen.pipeline.task_state import TaskState
from videogen.runway.client import RunwayClients
from videogen.runway.errors import runway_errors
from videogen.runway.tasks import cancel_if_active, credits_of, task_to_dict
from videogen.runway.uploads import InputResolver
from videogen.storage.job_store import JobStore, TaskIdConflict

log = logging.getLogger(__name__)


def initial_state(
    *,
    task_id: str,
    endpoint: str,
    model: str,
    estimated_credits: int | float | None,
    submitted_at: dt.datetime,
    deadline_at: dt.datetime,
    settings: Settings,
    now: dt.datetime,
) -> TaskState:
    """The task state of a task just created (or found on the job record): PENDING, no polls yet."""
    wait = next_wait_seconds(
        PollObservation(
            status="PENDING",
            seconds_since_submit=(now - submitted_at).total_seconds(),
            seconds_to_deadline=(deadline_at - now).total_seconds(),
        ),
        min_wait=settings.poll_min_wait_seconds,
        max_wait=settings.poll_max_wait_seconds,
    )
    return TaskState(
        task_id=task_id,
        endpoint=endpoint,
        model=model,
        status="PENDING",
        progress=0.0,
        estimated_credits=estimated_credits,
        submitted_at=submitted_at,
        deadline_at=deadline_at,
        polls=0,
        next_wait_seconds=wait,
        checked_at=now,
    )


def state_from_record(record: Mapping[str, Any], settings: Settings, now: dt.datetime) -> TaskState:
    """Rebuild the submit result from a job record that already holds a Runway task id."""
    submitted = parse_time(record.get("submitted_at")) or parse_time(record.get("created_at")) or now
    deadline = parse_time(record.get("deadline_at")) or submitted + dt.timedelta(
        seconds=settings.deadline_seconds
    )
    estimated = record.get("estimated_credits")
    return initial_state(
        task_id=str(record["task_id"]),
        endpoint=str(record.get("endpoint", "")),
        model=str(record.get("model", "")),
        estimated_credits=estimated if isinstance(estimated, int | float) else None,
        submitted_at=submitted,
        deadline_at=deadline,
        settings=settings,
        now=now,
    )


def submit_task(
    job_id: str,
    request: GenerationRequest,
    source: str | None,
    *,
    jobs: JobStore,
    runway: RunwayClients,
    s3: Any,
    settings: Settings,
    clock: Clock = SYSTEM_CLOCK,
) -> TaskState:
    """Create the Runway task of ``job_id`` once and return its task state.

    1. A job record that already holds ``task_id`` is returned as is: Runway is not called.
    2. ``prepare`` the (already parsed) request into its wire body (InvalidRequest lists every problem).
    3. ``s3://`` inputs become Runway ephemeral uploads; https/runway/data URIs pass through.
    4. Create the task (no SDK retries; see ``runway_client``).
    5. Save the task id on the job record. If that fails, the task is cancelled before the error is raised,
       so no credit is spent on a task nobody tracks. If another submit recorded a different task first, ours
       is cancelled and the recorded one is returned.
    """
    record = jobs.get(job_id)
    if record and record.get("task_id"):
        log.info(
            "job already has a Runway task; not creating another",
            extra={"job_id": job_id, "task_id": record["task_id"]},
        )
        return state_from_record(record, settings, utc(clock.now()))
    if record and record.get("finished_at"):
        raise _ended_before_submit(job_id, record)
    if record and record.get("cancel_requested_at"):
        raise GenerationCancelled(f"job {job_id} was cancelled before its Runway task was created")

    prepared = prepare(request, default_model=settings.default_model)
    resolver = InputResolver(s3, runway.for_repeatable())
    try:
        body = catalog.map_media_uris(prepared.endpoint, prepared.body, resolver)
        kwargs = catalog.to_sdk_kwargs(prepared.endpoint, body)
    except (KeyError, ValueError) as exc:
        raise InvalidRequest([str(exc).strip("'\"")]) from exc
    if resolver.uploaded:
        log.info("uploaded s3 inputs to Runway", extra={"job_id": job_id, "uploads": resolver.uploaded})

    resource = getattr(runway.for_create(), prepared.endpoint)
    with runway_errors("create"):
        created = task_to_dict(resource.create(**kwargs))
    task_id = str(created["id"])
    estimated = credits_of(created, "estimatedCost")
    if estimated is None:
        estimated = prepared.estimated_credits
    submitted_at = utc(clock.now())
    submitted_at = submitted_at.replace(microsecond=submitted_at.microsecond // 1000 * 1000)  # as recorded
    deadline_at = submitted_at + dt.timedelta(seconds=settings.deadline_seconds)
    log.info(
        "created Runway task",
        extra={"job_id": job_id, "task_id": task_id, "model": prepared.model, "estimated_credits": estimated},
    )

    try:
        jobs.record_submission(
            job_id,
            task_id=task_id,
            endpoint=prepared.endpoint,
            model=prepared.model,
            estimated_credits=estimated,
            submitted_at=format_time(submitted_at),
            deadline_at=format_time(deadline_at),
            request=request.plain(),
            source=source,
        )
    except TaskIdConflict as conflict:
        existing = conflict.existing or {}
        log.warning(
            "the job record took another task or ended first; cancelling ours",
            extra={"job_id": job_id, "task_id": task_id, "recorded": existing.get("task_id")},
        )
        _cancel_untracked(runway, task_id, job_id)
        if existing.get("task_id"):
            return state_from_record(existing, settings, submitted_at)
        raise _ended_before_submit(job_id, existing) from None
    except Exception:
        # Not swallowed: the original error is re-raised once the orphan task is cancelled.
        _cancel_untracked(runway, task_id, job_id)
        raise

    return initial_state(
        task_id=task_id,
        endpoint=prepared.endpoint,
        model=prepared.model,
        estimated_credits=estimated,
        submitted_at=submitted_at,
        deadline_at=deadline_at,
        settings=settings,
        now=submitted_at,
    )


def _ended_before_submit(job_id: str, record: Mapping[str, Any]) -> VideoGenError:
    """The job ended (cancelled through the API, most likely) before its Runway task was recorded."""
    status = str(record.get("status", "unknown"))
    if status == JobStatus.CANCELLED.value:
        return GenerationCancelled(f"job {job_id} was cancelled before its Runway task was created")
    return InvalidRequest([f"job {job_id} has already ended with status {status}; start a new job"])


def _cancel_untracked(runway: RunwayClients, task_id: str, job_id: str) -> None:
    """Cancel a task the job record does not track. A mapped Runway error is logged, not raised: the
    caller's own error (or result) matters more, and the log line names the task to cancel by hand."""
    try:
        result = cancel_if_active(runway, task_id)
    except VideoGenError as exc:
        log.error(
            "could not cancel untracked Runway task: cancel it by hand",
            extra={"job_id": job_id, "task_id": task_id, "error": f"{type(exc).__name__}: {exc}"},
        )
    else:
        log.warning("untracked Runway task handled", extra={"job_id": job_id, **result.to_dict()})
