"""``DELETE /generations/{id}``: ask for a job to be cancelled. The API records the request; the state machine
records the ending.

1. ``cancel_requested_at`` is written, conditional on a job that exists, has not ended and is not archiving
   (a video Runway already made is kept: 409).
2. With a Runway task, the Runway side is handed to the function that owns Runway calls (the cancel step's
   function, invoked synchronously): it reads the task first and cancels it only while it is still active.
   A task that already SUCCEEDED is left alone (the machine archives it) and the API answers 409.
3. The machine then sees the task CANCELLED (or gone) at its next check, or, without a task yet, the submit
   step sees ``cancel_requested_at`` and creates none; either way it records CANCELLED and announces it.
   The API itself writes no final status and puts no event.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from videogen.core.clock import SYSTEM_CLOCK, Clock, format_time
from videogen.core.errors import JobAlreadyFinished, JobNotFound, PipelineUnavailable
from videogen.core.job import FINAL_STATUSES, JobStatus, TaskStatus
from videogen.storage.aws_errors import CONDITION_FAILED, error_code
from videogen.storage.job_store import JobStore

CANCELLING = "CANCELLING"
#: Past cancelling: the job has ended, or Runway has made its video and it is being archived.
ENDED = frozenset({*(s.value for s in FINAL_STATUSES), JobStatus.ARCHIVING.value})

#: ``runway_cancel(job_id, task_id)`` -> ``{"cancelled": bool, "task_status": str | None, ...}``
RunwayCancel = Callable[[str, str], Mapping[str, Any]]


@dataclass(frozen=True)
class CancelOutcome:
    job_id: str
    status: str  # CANCELLING: the state machine records CANCELLED
    message: str


class CancelFunction:
    """Invokes the function that owns Runway cancels (``CANCEL_FUNCTION_NAME``) and returns its answer."""

    def __init__(self, lambda_client: Any, function_name: str) -> None:
        self._lambda = lambda_client
        self._name = function_name

    def __call__(self, job_id: str, task_id: str) -> Mapping[str, Any]:
        event = {
            "job_id": job_id,
            "task": {"task_id": task_id},
            "error": {"Error": "GenerationCancelled", "Cause": "cancelled by DELETE /generations/{id}"},
        }
        try:
            response = self._lambda.invoke(FunctionName=self._name, Payload=json.dumps(event).encode())
        except ClientError as exc:
            raise PipelineUnavailable(f"the cancel function did not answer ({error_code(exc)})") from exc
        answer = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            raise PipelineUnavailable(
                f"the cancel function failed with {answer.get('errorType')}: {answer.get('errorMessage')}"
            )
        return dict(answer)


class JobCanceller:
    def __init__(self, *, jobs: JobStore, runway_cancel: RunwayCancel, clock: Clock = SYSTEM_CLOCK) -> None:
        self.jobs = jobs
        self._runway_cancel = runway_cancel
        self._clock = clock

    def cancel(self, job_id: str, *, owner: str | None = None) -> CancelOutcome:
        """Cancel ``job_id``; with ``owner``, only a job of theirs (another's is JobNotFound, untouched)."""
        record = self._record_request(job_id, owner)
        task_id = record.get("task_id")
        if not task_id:
            return CancelOutcome(
                job_id, CANCELLING, "no Runway task yet: none will be created and the job ends CANCELLED"
            )
        answer = self._runway_cancel(job_id, str(task_id))
        task_status = str(answer.get("task_status") or "")
        if task_status in (TaskStatus.SUCCEEDED, TaskStatus.FAILED):
            # Runway finished first: the state machine archives (or records) it; nothing was deleted.
            raise JobAlreadyFinished(job_id, f"finished on Runway ({task_status})")
        return CancelOutcome(
            job_id,
            CANCELLING,
            f"Runway task {task_id} was cancelled; the job ends CANCELLED at its next check",
        )

    def _record_request(self, job_id: str, owner: str | None) -> dict[str, Any]:
        """Write ``cancel_requested_at`` on a job that is still generating; the record after the write."""
        values: dict[str, Any] = {f":c_{i}": status for i, status in enumerate(sorted(ENDED))}
        condition = (
            "attribute_exists(#job_id) AND attribute_not_exists(#finished_at) "
            f"AND NOT (#status IN ({', '.join(values)}))"
        )
        names = {"#job_id": "job_id", "#finished_at": "finished_at", "#status": "status"}
        if owner is not None:
            condition += " AND #owner = :c_owner"
            values[":c_owner"] = owner
            names["#owner"] = "owner"
        try:
            return self.jobs.update(
                job_id,
                {"cancel_requested_at": format_time(self._clock.now())},
                condition=condition,
                condition_values=values,
                condition_names=names,
            )
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
        record = self.jobs.get(job_id)
        if record is None or (owner is not None and record.get("owner") != owner):
            raise JobNotFound(f"no job {job_id}")
        raise JobAlreadyFinished(job_id, str(record.get("status", "")))
