"""Lost-create step: a create whose answer never came back, recorded for an operator, and the job's error.

The create step records ``create_sent_at`` (with ``create_attempt``, the model and the catalog's estimate)
just before its POST. When the POST timed out or its connection broke after sending (SubmitOutcomeUnknown), or
the create Lambda itself was stopped (``Sandbox.Timedout``, ``States.Timeout``), Runway may or may not have
created a task, and nothing can tell which: Runway has no idempotency key and no task listing, and its usage
endpoint (``organization.retrieve_usage``) reports credits per model and per day only, which cannot single
out one task. So the job is not retried and no reconcile is attempted: it ends FAILED with
SubmitOutcomeUnknown, and the record's ``submit_outcome_unknown`` holds everything needed to check by hand.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from videogen.core.clock import SYSTEM_CLOCK, Clock, format_time, parse_time, utc
from videogen.storage.job_store import JobStore, attempts_of, job_store_errors

log = logging.getLogger(__name__)

ERROR_NAME = "SubmitOutcomeUnknown"


def flag_lost_create(
    job_id: str,
    cause: Mapping[str, Any] | None,
    *,
    jobs: JobStore,
    clock: Clock = SYSTEM_CLOCK,
) -> dict[str, Any]:
    """Record the lost create on the job and return the job's error ``{"Error", "Cause", "flagged"}``.

    ``cause`` is the create step's error as the state machine caught it (``{"Error", "Cause"}``). A create
    was lost when ``create_attempt`` is past the recorded attempts; otherwise the create step stopped before
    its POST (nothing to check) or after its task was recorded (the task is tracked).
    """
    reason = str((cause or {}).get("Error") or "unknown")
    now = utc(clock.now())
    with job_store_errors("read", job_id):
        record = jobs.get(job_id) or {}
    attempt = lost_attempt(record)
    sent_at = parse_time(record.get("create_sent_at"))
    if attempt is None or sent_at is None:
        return {"Error": ERROR_NAME, "Cause": _not_lost_message(job_id, record, reason), "flagged": False}

    flag = {
        "attempt": attempt,
        "model": record.get("model"),
        "endpoint": record.get("endpoint"),
        "window_start": format_time(sent_at),
        "window_end": format_time(now),
        "usage_dates": _dates(sent_at, now),
        "estimated_credits": record.get("estimated_credits"),
        "reason": reason,
        "flagged_at": format_time(now),
    }
    jobs.record_outcome_unknown(job_id, flag)
    message = _lost_message(job_id, flag)
    log.error("a Runway create lost its answer: check by hand", extra={"job_id": job_id, **flag})
    return {"Error": ERROR_NAME, "Cause": message, "flagged": True}


def lost_attempt(record: Mapping[str, Any]) -> int | None:
    """The attempt whose create was sent (``create_sent_at``) and never recorded a task, or None."""
    attempt = record.get("create_attempt")
    if not record.get("create_sent_at") or not isinstance(attempt, int):
        return None
    return attempt if attempt > len(attempts_of(record)) else None


def _dates(start: dt.datetime, end: dt.datetime) -> list[str]:
    """The UTC days the window touches (the usage endpoint's granularity)."""
    days = []
    day = start.date()
    while day <= end.date():
        days.append(day.isoformat())
        day += dt.timedelta(days=1)
    return days


def _lost_message(job_id: str, flag: Mapping[str, Any]) -> str:
    credits = flag.get("estimated_credits")
    cost = (
        f"about {credits:g} credits" if isinstance(credits, int | float) else "an unknown number of credits"
    )
    return (
        f"Runway may have created a {flag['model']} {flag['endpoint']} task for job {job_id} (attempt "
        f"{flag['attempt']}): the create request was sent at {flag['window_start']} and its answer was lost "
        f"({flag['reason']}). It was not sent again, so that a retry cannot start a second billed task. "
        "Runway cannot say whether the task exists: it has no task listing, and its usage report "
        "(organization.retrieve_usage) gives credits per model and per day only, which cannot single out "
        f"one task. Check by hand in Runway's dashboard for a {flag['model']} task created between "
        f"{flag['window_start']} and {flag['window_end']} UTC ({cost}; usage dates "
        f"{', '.join(flag['usage_dates'])}) and cancel it if it is still running."
    )


def _not_lost_message(job_id: str, record: Mapping[str, Any], reason: str) -> str:
    task_id = record.get("task_id")
    if task_id and record.get("create_attempt") == len(attempts_of(record)):
        return (
            f"the create step of job {job_id} stopped ({reason}) after it recorded Runway task {task_id}; "
            "the task is tracked on the job record"
        )
    return (
        f"the create step of job {job_id} stopped ({reason}) before it sent a create request: no Runway task "
        "was created for this attempt"
    )
