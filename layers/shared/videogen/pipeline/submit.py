"""Create step: create the Runway task of one attempt of a job, once, and record it before anything else.

The job's ``s3://`` inputs were sent to Runway by the upload step (``videogen.pipeline.upload_inputs``) and
are read back from the record. Attempt 1 is the first task; attempt n + 1 follows a task that FAILED with an
``INTERNAL.*`` code (the poll step decides, the state machine comes back here with that task as
``previous``). Every write is conditional on the number of attempts recorded, so a retried create of attempt
n never makes a second attempt-n task, and on the job not having ended or been cancelled.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from videogen import catalog
from videogen.catalog import model_notes
from videogen.catalog.translate import prepare
from videogen.core.clock import SYSTEM_CLOCK, Clock, format_time, parse_time, utc
from videogen.core.errors import (
    GenerationCancelled,
    GenerationFailed,
    InputUploadMissing,
    InvalidRequest,
    JobStoreUnavailable,
    SubmitOutcomeUnknown,
    TaskNotFound,
    VideoGenError,
)
from videogen.core.request import GenerationRequest
from videogen.core.settings import Settings
from videogen.pipeline.check import max_attempts
from videogen.pipeline.poll_schedule import PollObservation, next_wait_seconds
from videogen.pipeline.task_state import TaskState
from videogen.pipeline.time_budgets import RECORD_PATIENCE_SECONDS
from videogen.pipeline.upload_inputs import is_fresh, raise_if_stopped, stopped_error
from videogen.runway.client import RunwayClients
from videogen.runway.errors import runway_errors
from videogen.runway.tasks import (
    cancel_if_active,
    credits_of,
    failure_code,
    is_internal_failure,
    raise_for_terminal_failure,
    task_to_dict,
)
from videogen.runway.uploads import EPHEMERAL_UPLOAD_LIFETIME, check_media_uri
from videogen.storage.job_store import (
    JobStore,
    RecordConflict,
    TaskIdConflict,
    attempts_of,
    job_store_errors,
)

log = logging.getLogger(__name__)

#: A recorded upload older than this is not sent to Runway (the upload step renews uploads well before).
CREATE_UPLOAD_MAX_AGE = EPHEMERAL_UPLOAD_LIFETIME - dt.timedelta(hours=1)
#: Waits between the tries of the write that records a created task (bounded by RECORD_PATIENCE_SECONDS).
RECORD_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0)


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
    attempt: int = 1,
    job_submitted_at: dt.datetime | None = None,
) -> TaskState:
    """The task state of a task just created (or found on the job record): PENDING, no polls yet.

    ``job_submitted_at`` is when the job's first task was created (None: this is it)."""
    job_start = job_submitted_at or submitted_at
    typical = model_notes.typical_generation_seconds(model)
    wait = next_wait_seconds(
        PollObservation(
            status="PENDING",
            typical_seconds=typical,
            seconds_since_submit=(now - job_start).total_seconds(),
            seconds_to_deadline=(deadline_at - now).total_seconds(),
        ),
        min_wait=settings.poll_min_wait_seconds,
        max_wait=settings.poll_max_wait_seconds,
    )
    return TaskState(
        task_id=task_id,
        attempt=attempt,
        endpoint=endpoint,
        model=model,
        status="PENDING",
        progress=0.0,
        estimated_credits=estimated_credits,
        submitted_at=submitted_at,
        job_submitted_at=job_start if attempt > 1 else None,
        deadline_at=deadline_at,
        polls=0,
        next_wait_seconds=wait,
        checked_at=now,
        typical_seconds=typical,
    )


def state_from_record(record: Mapping[str, Any], settings: Settings, now: dt.datetime) -> TaskState:
    """Rebuild the create result from a job record that already holds the task of its latest attempt."""
    submitted = parse_time(record.get("submitted_at")) or parse_time(record.get("created_at")) or now
    deadline = parse_time(record.get("deadline_at")) or submitted + dt.timedelta(
        seconds=settings.deadline_seconds
    )
    estimated = record.get("estimated_credits")
    attempts = attempts_of(record)
    return initial_state(
        task_id=str(record["task_id"]),
        attempt=max(len(attempts), 1),
        job_submitted_at=first_submitted_at(attempts),
        endpoint=str(record.get("endpoint", "")),
        model=str(record.get("model", "")),
        estimated_credits=estimated if isinstance(estimated, int | float) else None,
        submitted_at=submitted,
        deadline_at=deadline,
        settings=settings,
        now=now,
    )


def first_submitted_at(attempts: Sequence[Mapping[str, Any]]) -> dt.datetime | None:
    """When the job's first task was created, from its recorded attempts."""
    return parse_time(attempts[0].get("created_at")) if attempts else None


class RecordedUploads:
    """Resolves the media URIs of a wire body: ``s3://`` ones by the job's recorded Runway uploads."""

    def __init__(self, job_id: str, uploads: Mapping[str, Any], now: dt.datetime) -> None:
        self._job_id = job_id
        self._uploads = uploads
        self._now = now

    def __call__(self, uri: str, kind: str) -> str:
        if check_media_uri(uri) != "s3":
            return uri
        upload = self._uploads.get(uri)
        if not isinstance(upload, Mapping) or not is_fresh(upload, self._now, CREATE_UPLOAD_MAX_AGE):
            raise InputUploadMissing(
                f"job {self._job_id}: no Runway upload of {uri} younger than {CREATE_UPLOAD_MAX_AGE} is "
                "recorded; the 'Upload inputs to Runway' step makes one before a task is created"
            )
        return str(upload["uri"])


def create_task(
    job_id: str,
    request: GenerationRequest,
    source: str | None,
    *,
    previous: TaskState | None = None,
    jobs: JobStore,
    runway: RunwayClients,
    settings: Settings,
    clock: Clock = SYSTEM_CLOCK,
    sleep: Callable[[float], None] = time.sleep,
) -> TaskState:
    """Create the Runway task of the job's next attempt once, record it, and return its task state.

    ``previous`` is the task state of the attempt that failed with an ``INTERNAL.*`` code (None: attempt 1).

    1. The attempt already recorded (a retry of this step): its task is returned, Runway is not called; a
       cancellation asked for meanwhile cancels it (GenerationCancelled).
    2. An ended job, or one whose cancellation was asked for, gets no task (GenerationCancelled...).
    3. The wire body is built with the recorded uploads (InvalidRequest, InputUploadMissing).
    4. For attempt n > 1 the previous task is read: it must have FAILED with an ``INTERNAL.*`` code; its
       ending (status, failure code, credits) is recorded with the attempt.
    5. ``create_sent_at`` (and the model) are recorded; then one POST without SDK retries. A lost answer is
       SubmitOutcomeUnknown (never retried: the state machine flags it for an operator).
    6. The task is recorded (retried for RECORD_PATIENCE_SECONDS on transient DynamoDB errors). If that fails,
       or the job took another task or ended first, the task is cancelled before the error is raised: no task
       is ever left untracked. A cancellation found on the record just written cancels the task at once.
    """
    attempt = previous.attempt + 1 if previous is not None else 1
    with job_store_errors("read", job_id):
        record = jobs.get(job_id) or {}
    attempts = attempts_of(record)
    if len(attempts) >= attempt and record.get("task_id"):
        log.info(
            "the attempt already has a Runway task; not creating another",
            extra={"job_id": job_id, "task_id": record["task_id"], "attempt": attempt},
        )
        return _tracked(job_id, record, runway=runway, settings=settings, now=utc(clock.now()))
    raise_if_stopped(job_id, record)
    raise_if_sent_before(job_id, record, attempt)
    if attempt > max_attempts(settings):
        raise GenerationFailed(
            f"job {job_id} has made its {max_attempts(settings)} attempt(s): no new Runway task is created",
            details={"attempt": attempt, "max_attempts": max_attempts(settings)},
        )

    prepared = prepare(request, default_model=settings.default_model)
    resolver = RecordedUploads(job_id, record.get("uploads") or {}, utc(clock.now()))
    try:
        body = catalog.map_media_uris(prepared.endpoint, prepared.body, resolver)
        kwargs = catalog.to_sdk_kwargs(prepared.endpoint, body)
    except (KeyError, ValueError) as exc:
        raise InvalidRequest([str(exc).strip("'\"")]) from exc

    before: list[dict[str, Any]] = []
    if previous is not None:
        before = _with_previous_ending(job_id, record, attempts, previous, runway)

    sent_at = utc(clock.now())
    try:
        jobs.record_create_sent(
            job_id,
            attempt=attempt,
            sent_at=format_time(sent_at),
            endpoint=prepared.endpoint,
            model=prepared.model,
            estimated_credits=prepared.estimated_credits,
            attempts=before,
            request=request.plain(),
            source=source,
        )
    except RecordConflict as conflict:
        existing = conflict.existing
        if len(attempts_of(existing)) >= attempt and existing.get("task_id"):
            return _tracked(job_id, existing, runway=runway, settings=settings, now=sent_at)
        raise_if_stopped(job_id, existing)
        raise_if_sent_before(job_id, existing, attempt)
        raise

    resource = getattr(runway.for_create(), prepared.endpoint)
    log.info(
        "creating the Runway task",
        extra={
            "job_id": job_id,
            "attempt": attempt,
            "model": prepared.model,
            "sent_at": format_time(sent_at),
        },
    )
    try:
        with runway_errors("create"):
            answer = resource.create(**kwargs)
    except SubmitOutcomeUnknown:
        raise
    except VideoGenError:
        # Runway answered (429, 5xx, a refusal): it created no task, so this attempt may be sent again.
        try:
            jobs.forget_create_sent(job_id, attempt)
        except JobStoreUnavailable:  # then a retry sees a sent create and sends nothing: safe
            log.warning("could not clear the refused create", extra={"job_id": job_id, "attempt": attempt})
        raise

    return _record_created(
        job_id,
        task_to_dict(answer),
        attempt=attempt,
        before=before,
        prepared_estimate=prepared.estimated_credits,
        endpoint=prepared.endpoint,
        model=prepared.model,
        request=request,
        source=source,
        record=record,
        jobs=jobs,
        runway=runway,
        settings=settings,
        clock=clock,
        sleep=sleep,
    )


def raise_if_sent_before(job_id: str, record: Mapping[str, Any], attempt: int) -> None:
    """An earlier run of this step sent the attempt's create and recorded no task (it was stopped, or its
    answer was lost): sending again could bill a second task, so the outcome is unknown."""
    if record.get("create_attempt") == attempt and record.get("create_sent_at"):
        raise SubmitOutcomeUnknown(
            f"the create of attempt {attempt} of job {job_id} was sent at {record['create_sent_at']} by an "
            "earlier run of the create step that recorded no task; it is not sent again"
        )


def _record_created(
    job_id: str,
    created: dict[str, Any],
    *,
    attempt: int,
    before: Sequence[Mapping[str, Any]],
    prepared_estimate: float | None,
    endpoint: str,
    model: str,
    request: GenerationRequest,
    source: str | None,
    record: Mapping[str, Any],
    jobs: JobStore,
    runway: RunwayClients,
    settings: Settings,
    clock: Clock,
    sleep: Callable[[float], None],
) -> TaskState:
    """Record the task Runway just created; whatever fails here cancels it before the error is raised."""
    task_id = str(created.get("id") or "")
    if not task_id:
        raise VideoGenError(f"Runway answered the create of job {job_id} without a task id: {created}")
    try:
        estimated = credits_of(created, "estimatedCost")
        if estimated is None:
            estimated = prepared_estimate
        submitted_at = utc(clock.now())
        submitted_at = submitted_at.replace(microsecond=submitted_at.microsecond // 1000 * 1000)  # as stored
        deadline_at = parse_time(record.get("deadline_at")) or submitted_at + dt.timedelta(
            seconds=settings.deadline_seconds
        )
        log.info(
            "created Runway task",
            extra={"job_id": job_id, "task_id": task_id, "attempt": attempt, "estimated_credits": estimated},
        )
        stored = _patiently(
            lambda: jobs.record_submission(
                job_id,
                task_id=task_id,
                endpoint=endpoint,
                model=model,
                estimated_credits=estimated,
                submitted_at=format_time(submitted_at),
                deadline_at=format_time(deadline_at),
                request=request.plain(),
                source=source,
                attempt=attempt,
                attempts_before=before,
            ),
            job_id=job_id,
            sleep=sleep,
        )
    except TaskIdConflict as conflict:
        existing = conflict.existing
        log.warning(
            "the job record took another task or ended first; cancelling ours",
            extra={"job_id": job_id, "task_id": task_id, "recorded": existing.get("task_id")},
        )
        _cancel_untracked(runway, task_id, job_id)
        if (
            len(attempts_of(existing)) >= attempt
            and existing.get("task_id")
            and not existing.get("finished_at")
        ):
            return _tracked(job_id, existing, runway=runway, settings=settings, now=utc(clock.now()))
        raise stopped_error(job_id, existing) from None
    except BaseException:
        # Not swallowed: the original error is re-raised once the task nobody tracks is cancelled.
        _cancel_untracked(runway, task_id, job_id)
        raise

    deadline = parse_time(stored.get("deadline_at")) or deadline_at
    if stored.get("cancel_requested_at"):
        _cancel_requested(job_id, task_id, stored, runway)
    return initial_state(
        task_id=task_id,
        attempt=attempt,
        job_submitted_at=first_submitted_at(before),
        endpoint=endpoint,
        model=model,
        estimated_credits=estimated,
        submitted_at=submitted_at,
        deadline_at=deadline,
        settings=settings,
        now=submitted_at,
    )


def _patiently(write: Callable[[], dict[str, Any]], *, job_id: str, sleep: Callable[[float], None]) -> Any:
    """``write()``, tried again after each of RECORD_RETRY_DELAYS while DynamoDB is transiently unavailable
    and RECORD_PATIENCE_SECONDS have not passed: a created task is worth waiting for."""
    started = time.monotonic()
    for delay in (*RECORD_RETRY_DELAYS, None):
        try:
            return write()
        except JobStoreUnavailable:
            if delay is None or time.monotonic() - started + delay > RECORD_PATIENCE_SECONDS:
                raise
            log.warning("recording the new Runway task failed; trying again", extra={"job_id": job_id})
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _tracked(
    job_id: str, record: Mapping[str, Any], *, runway: RunwayClients, settings: Settings, now: dt.datetime
) -> TaskState:
    """The state of the task the record tracks; cancelled at once if a cancellation was asked for."""
    if record.get("cancel_requested_at") and not record.get("finished_at"):
        _cancel_requested(job_id, str(record["task_id"]), record, runway)
    return state_from_record(record, settings, now)


def _cancel_requested(job_id: str, task_id: str, record: Mapping[str, Any], runway: RunwayClients) -> None:
    """A cancellation was asked for while the task was being created: cancel it now (the API saw no task
    to hand to the cancel function). Runway errors are raised (retried: the task stays recorded)."""
    result = cancel_if_active(runway, task_id)
    log.info("cancelled the new Runway task on request", extra={"job_id": job_id, **result.to_dict()})
    raise GenerationCancelled(
        f"job {job_id} was cancelled at {record.get('cancel_requested_at')} while its Runway task {task_id} "
        "was being created; the task was cancelled",
        details={"task_id": task_id, "task_status": result.status},
    )


def _with_previous_ending(
    job_id: str,
    record: Mapping[str, Any],
    attempts: list[dict[str, Any]],
    previous: TaskState,
    runway: RunwayClients,
) -> list[dict[str, Any]]:
    """The recorded attempts, the previous one with its ending as Runway reports it.

    The previous task must be the record's latest and must have FAILED with an ``INTERNAL.*`` code: a new
    task is never created beside one that may still run, nor after a failure that a retry cannot help.
    """
    if len(attempts) != previous.attempt or attempts[-1].get("task_id") != previous.task_id:
        raise RecordConflict(
            job_id,
            record,
            f"job {job_id} records {len(attempts)} attempt(s); task {previous.task_id} (attempt "
            f"{previous.attempt}) is not its latest, so no attempt follows it",
        )
    try:
        with runway_errors("retrieve"):
            task = task_to_dict(runway.for_repeatable().tasks.retrieve(previous.task_id))
    except TaskNotFound:
        task = {"id": previous.task_id, "status": "FAILED"}  # gone since the poll saw it FAILED
    if str(task.get("status")) == "FAILED" and (not failure_code(task) or is_internal_failure(task)):
        cost = credits_of(task, "cost")
        ending = {
            "status": "FAILED",
            "failure_code": failure_code(task) or None,
            "credits": cost if cost is not None else 0,
        }
        return [*attempts[:-1], {**attempts[-1], **ending}]
    raise_for_terminal_failure(task, attempt=previous.attempt, max_attempts=previous.attempt)
    raise GenerationFailed(
        f"Runway task {previous.task_id} (attempt {previous.attempt}) is {task.get('status')}, not FAILED "
        "with an INTERNAL code: no new task is created",
        details={"task_id": previous.task_id, "status": task.get("status")},
    )


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
