"""The one owner of a job's ending: record the final status once, announce it once.

Two callers, one rule: the state machine's "Record and announce ..." states (the finish step) and the
reconciler (for executions that ended outside the machine's own Catch). Both call :meth:`Lifecycle.finish`:

1. The final status is written only if the record has none yet (``attribute_not_exists(finished_at)``): the
   first writer wins, a second one reads what was recorded and announces that instead.
2. The ending event ("Video Generation Succeeded/Failed/Cancelled/Timed Out") is put on the bus only while
   ``announced_at`` is absent, and ``announced_at`` is written right after it. A crash between the two can
   repeat the event (consumers dedupe on ``job_id``); it can never lose it, because a record without
   ``announced_at`` is announced by the next caller (the reconciler's sweep).

Error causes are stored and announced as a human message: a Lambda error's ``Cause`` is the runtime's JSON
(``errorMessage``, ``errorType``, ``stackTrace``) and only its message is kept.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from videogen.core.clock import SYSTEM_CLOCK, Clock, format_time
from videogen.core.errors import BookkeepingFailed, BookkeepingUnavailable, JobAlreadyFinished, readable_cause
from videogen.core.job import FINAL_STATUSES, JobStatus
from videogen.core.settings import Settings
from videogen.storage.aws_errors import CONDITION_FAILED, error_code, is_transient
from videogen.storage.job_store import JobStore

log = logging.getLogger(__name__)

DETAIL_TYPES: dict[str, str] = {
    JobStatus.SUCCEEDED: "Video Generation Succeeded",
    JobStatus.FAILED: "Video Generation Failed",
    JobStatus.CANCELLED: "Video Generation Cancelled",
    JobStatus.TIMED_OUT: "Video Generation Timed Out",
    JobStatus.REJECTED: "Video Generation Rejected",
}


@dataclass(frozen=True)
class Ending:
    """How a job ended. ``error`` is ``{"Error", "Cause"}`` for every status but SUCCEEDED; ``archive`` is the
    archive step's result for SUCCEEDED."""

    status: JobStatus
    error: Mapping[str, Any] | None = None
    archive: Mapping[str, Any] | None = None
    task: Mapping[str, Any] | None = None
    task_may_be_running: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)  # other record fields written with the ending

    def __post_init__(self) -> None:
        if self.status not in FINAL_STATUSES:
            raise ValueError(f"{self.status} is not a final status")
        if self.status == JobStatus.SUCCEEDED and not self.archive:
            raise ValueError("a SUCCEEDED ending needs the archive result")

    @property
    def error_code(self) -> str | None:
        if self.status == JobStatus.SUCCEEDED:
            return None
        return str((self.error or {}).get("Error") or "JobFailed")

    @property
    def error_cause(self) -> str | None:
        if self.status == JobStatus.SUCCEEDED:
            return None
        return readable_cause((self.error or {}).get("Cause")) or self.error_code

    def record_fields(self, now: str) -> dict[str, Any]:
        fields: dict[str, Any] = {"status": self.status.value, "finished_at": now, **self.extra}
        if self.status == JobStatus.SUCCEEDED:
            archive = self.archive or {}
            fields.update(
                progress=1,
                credits_charged=archive.get("credits_charged", 0),
                manifest_key=archive["manifest_key"],
                output_keys=list(archive.get("output_keys", [])),
            )
        else:
            fields.update(error_code=self.error_code, error_cause=self.error_cause)
        if self.task_may_be_running:
            fields["task_may_be_running"] = True
        return fields


def ending_of(record: Mapping[str, Any]) -> Ending | None:
    """The ending already on a record (None while the job is running)."""
    status = record.get("status")
    if not record.get("finished_at") or status not in FINAL_STATUSES:
        return None
    final = JobStatus(str(status))
    if final == JobStatus.SUCCEEDED:
        archive = {
            "manifest_key": record.get("manifest_key"),
            "output_keys": record.get("output_keys") or [],
            "credits_charged": record.get("credits_charged"),
        }
        return Ending(final, archive=archive)
    error = {"Error": record.get("error_code") or "JobFailed", "Cause": record.get("error_cause") or ""}
    return Ending(final, error=error, task_may_be_running=bool(record.get("task_may_be_running")))


@dataclass(frozen=True)
class FinishResult:
    job_id: str
    status: str
    recorded: bool  # this call wrote the final status (False: it was already there)
    announced: bool  # this call put the ending event

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "status": self.status,
            "recorded": self.recorded,
            "announced": self.announced,
        }


class Lifecycle:
    """Records and announces job endings. Clients are the caller's, created once per container."""

    def __init__(
        self, settings: Settings, *, jobs: JobStore, events: Any, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self._events = events
        self._clock = clock

    def finish(
        self, job_id: str, ending: Ending, *, request: Mapping[str, Any] | None = None
    ) -> FinishResult:
        """Record ``ending`` unless the job has one already, then announce the recorded ending once."""
        now = format_time(self._clock.now())
        recorded = True
        with _bookkeeping("record the ending of", job_id):
            try:
                record = self.jobs.update(
                    job_id,
                    ending.record_fields(now),
                    condition="attribute_not_exists(#finished_at)",
                    condition_names={"#finished_at": "finished_at"},
                )
            except ClientError as exc:
                if error_code(exc) != CONDITION_FAILED:
                    raise
                recorded = False
                record = self.jobs.get(job_id) or {}
        final = ending_of(record) or ending
        if not recorded:
            log.info(
                "the job had already ended: announcing what was recorded",
                extra={
                    "job_id": job_id,
                    "recorded_status": final.status.value,
                    "ending": ending.status.value,
                },
            )
        if record.get("announced_at"):
            return FinishResult(job_id, final.status.value, recorded, announced=False)
        self.announce(job_id, final, request=request if request is not None else record.get("request"))
        return FinishResult(job_id, final.status.value, recorded, announced=True)

    def recover(self, job_id: str, archive: Mapping[str, Any]) -> FinishResult:
        """Replace the FAILED ending of a job whose outputs have now been archived by SUCCEEDED, and announce
        it. Only for a job whose recovery was asked for (``recovery_requested_at``); raises
        :class:`~videogen.core.errors.JobAlreadyFinished` otherwise."""
        ending = Ending(JobStatus.SUCCEEDED, archive=archive)
        with _bookkeeping("record the recovery of", job_id):
            try:
                record = self.jobs.update(
                    job_id,
                    ending.record_fields(format_time(self._clock.now())),
                    remove=("error_code", "error_cause", "announced_at", "recovery_requested_at"),
                    condition="#status = :c_failed AND attribute_exists(#recovery_requested_at)",
                    condition_values={":c_failed": JobStatus.FAILED.value},
                    condition_names={"#recovery_requested_at": "recovery_requested_at"},
                )
            except ClientError as exc:
                if error_code(exc) != CONDITION_FAILED:
                    raise
                current = self.jobs.get(job_id) or {}
                raise JobAlreadyFinished(job_id, str(current.get("status", ""))) from exc
        self.announce(job_id, ending, request=record.get("request"))
        return FinishResult(job_id, JobStatus.SUCCEEDED.value, recorded=True, announced=True)

    def announce(self, job_id: str, ending: Ending, *, request: Mapping[str, Any] | None) -> None:
        """Put the ending event, then mark the record announced."""
        detail: dict[str, Any] = {
            "job_id": job_id,
            "status": ending.status.value,
            "request": dict(request or {}),
        }
        if ending.status == JobStatus.SUCCEEDED:
            detail["archive"] = dict(ending.archive or {})
            if ending.task:
                detail["task"] = dict(ending.task)
        else:
            detail["error"] = {"Error": ending.error_code, "Cause": ending.error_cause}
            if ending.task_may_be_running:
                detail["task_may_be_running"] = True
        entry = {
            "EventBusName": self.settings.event_bus_name,
            "Source": self.settings.event_source,
            "DetailType": DETAIL_TYPES[ending.status],
            "Detail": json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str),
        }
        with _bookkeeping("announce the ending of", job_id):
            answer = self._events.put_events(Entries=[entry])
            if answer.get("FailedEntryCount"):
                failed = (answer.get("Entries") or [{}])[0]
                raise BookkeepingUnavailable(
                    f"EventBridge did not take the ending event of job {job_id}: "
                    f"{failed.get('ErrorCode')} {failed.get('ErrorMessage')}"
                )
            self.jobs.update(job_id, {"announced_at": format_time(self._clock.now())})
        log.info("announced the ending", extra={"job_id": job_id, "status": ending.status.value})


@contextmanager
def _bookkeeping(doing: str, job_id: str) -> Iterator[None]:
    """Map DynamoDB/EventBridge failures to the named errors the state machine retries or catches."""
    what = f"could not {doing} job {job_id}"
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        reason = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
        if is_transient(exc) or not isinstance(exc, ClientError):
            raise BookkeepingUnavailable(f"{what}: {reason}") from exc
        raise BookkeepingFailed(f"{what}: {reason}") from exc
