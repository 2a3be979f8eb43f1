"""``POST /generations/{id}/retry``: re-archive a job that failed after Runway had made its video.

The API only checks the record and records the request (``recovery_requested_at``, conditional on a FAILED
job whose Runway task reached archiving); the reconcile function, invoked asynchronously, reads the task,
archives its outputs from the saved task id (never a second Runway task) and records SUCCEEDED, or writes
why it could not. A job that failed before Runway finished cannot be recovered: start a new job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from videogen.core.clock import SYSTEM_CLOCK, Clock, format_time
from videogen.core.errors import JobNotFound, JobNotRecoverable, PipelineUnavailable
from videogen.core.job import JobStatus
from videogen.storage.aws_errors import CONDITION_FAILED, error_code
from videogen.storage.job_store import JobStore

RECOVERING = "RECOVERING"


@dataclass(frozen=True)
class RecoveryOutcome:
    job_id: str
    status: str
    message: str


class RecoverFunction:
    """Hands a recovery to the reconcile function (``RECONCILE_FUNCTION_NAME``), asynchronously."""

    def __init__(self, lambda_client: Any, function_name: str) -> None:
        self._lambda = lambda_client
        self._name = function_name

    def __call__(self, job_id: str) -> None:
        payload = json.dumps({"job_id": job_id, "recover": True}).encode()
        try:
            self._lambda.invoke(FunctionName=self._name, InvocationType="Event", Payload=payload)
        except ClientError as exc:
            raise PipelineUnavailable(
                f"the reconcile function did not take the job ({error_code(exc)})"
            ) from exc


class JobRecovery:
    def __init__(self, *, jobs: JobStore, recover: RecoverFunction, clock: Clock = SYSTEM_CLOCK) -> None:
        self.jobs = jobs
        self._recover = recover
        self._clock = clock

    def retry(self, job_id: str, *, owner: str | None = None) -> RecoveryOutcome:
        """Re-archive ``job_id``; with ``owner``, only a job of theirs (another's: JobNotFound, untouched)."""
        condition = (
            "#status = :c_failed AND attribute_exists(#task_id) AND attribute_exists(#archive_started_at)"
        )
        values: dict[str, Any] = {":c_failed": JobStatus.FAILED.value}
        names = {"#status": "status", "#task_id": "task_id", "#archive_started_at": "archive_started_at"}
        if owner is not None:
            condition += " AND #owner = :c_owner"
            values[":c_owner"] = owner
            names["#owner"] = "owner"
        try:
            self.jobs.update(
                job_id,
                {"recovery_requested_at": format_time(self._clock.now())},
                condition=condition,
                condition_values=values,
                condition_names=names,
            )
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
            raise self._refusal(job_id, owner) from None
        self._recover(job_id)
        return RecoveryOutcome(
            job_id,
            RECOVERING,
            "the outputs are being archived again from the Runway task; no new task is created",
        )

    def _refusal(self, job_id: str, owner: str | None) -> Exception:
        record = self.jobs.get(job_id)
        if record is None or (owner is not None and record.get("owner") != owner):
            return JobNotFound(f"no job {job_id}")
        status = str(record.get("status", ""))
        if status != JobStatus.FAILED:
            return JobNotRecoverable(f"job {job_id} is {status}: only a FAILED job can be retried")
        return JobNotRecoverable(
            f"job {job_id} failed before Runway finished its video: nothing to re-archive, start a new job"
        )
