"""A job: its statuses, the Runway task statuses it tracks, and the schema of its record.

:class:`JobRecord` is the schema of one item of the jobs table (``JOBS_TABLE``, key ``job_id``, GSIs
``by_status`` on ``status`` + ``created_at`` and ``by_owner`` on ``owner`` + ``created_at``). Attributes are
absent until known. Every writer uses these names: the job store refuses any other, and a test checks the
state machine's own ``UpdateExpression``s against them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    SUBMITTED = "SUBMITTED"
    PENDING = "PENDING"
    THROTTLED = "THROTTLED"
    RUNNING = "RUNNING"
    ARCHIVING = "ARCHIVING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"
    REJECTED = "REJECTED"


FINAL_STATUSES = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.TIMED_OUT, JobStatus.REJECTED}
)
ALL_STATUSES: tuple[str, ...] = tuple(s.value for s in JobStatus)


class TaskStatus(StrEnum):
    """A Runway task's ``status`` (Runway's own values)."""

    PENDING = "PENDING"
    THROTTLED = "THROTTLED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


#: Runway is still working on (and may still bill for) a task in one of these.
ACTIVE_TASK_STATUSES: tuple[str, ...] = (TaskStatus.PENDING, TaskStatus.THROTTLED, TaskStatus.RUNNING)


class JobRecord(BaseModel):
    """One job's record in DynamoDB. Numbers are stored as Decimal and read back as int or float."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    job_id: str = Field(description="the job id, also the Step Functions execution name (key)")
    status: JobStatus = Field(description="GSI by_status hash key")
    task_id: str | None = Field(None, description="Runway task id, written once by submit, never overwritten")
    progress: float | None = Field(None, description="0..1, last progress seen by the poll loop")
    model: str | None = Field(None, description="Runway model")
    endpoint: str | None = Field(None, description="Runway endpoint (text_to_video, ...)")
    request: dict[str, Any] | None = Field(None, description="the generation request as accepted")
    source: str | None = Field(None, description="where the job came from: api | s3 | cli")
    owner: str | None = Field(
        None,
        description="who may see the job (GSI by_owner hash key): the caller's IAM principal or API key "
        "id, or s3://<bucket> for a dropped file (videogen.intake.callers)",
    )
    estimated_credits: float | None = Field(None, description="Runway's estimatedCost.credits at creation")
    credits_charged: float | None = Field(None, description="Runway's final cost.credits")
    output_keys: list[str] | None = Field(None, description="S3 keys of the archived outputs (SS)")
    manifest_key: str | None = Field(None, description="S3 key of job.json")
    error_code: str | None = Field(None, description="the error name that ended the job")
    error_cause: str | None = Field(None, description="its message")
    created_at: str | None = Field(None, description="first write of the record (GSI range key)")
    updated_at: str | None = Field(None, description="every write")
    submitted_at: str | None = Field(None, description="when the Runway task was created")
    finished_at: str | None = Field(None, description="when the job reached a final status")
    deadline_at: str | None = Field(None, description="when the poll loop gives up and cancels the task")
    webhook_url: str | None = Field(None, description="where the notify function POSTs the finished job")
    idempotency_key: str | None = Field(None, description="the API caller's Idempotency-Key")
    request_sha256: str | None = Field(None, description="SHA-256 of the request, to refuse a reused key")
    source_object: str | None = Field(None, description="s3://bucket/key of an S3-triggered job's upload")
    source_version: str | None = Field(None, description="its version id or ETag")
    cancel_requested_at: str | None = Field(None, description="when DELETE /generations/{id} asked")
    archive_started_at: str | None = Field(None, description="when Runway's SUCCEEDED task began archiving")
    recovery_requested_at: str | None = Field(
        None,
        description="when POST /generations/{id}/retry asked to re-archive a job that failed after Runway",
    )
    announced_at: str | None = Field(None, description="when the ending event was put on the bus (once)")
    task_may_be_running: bool | None = Field(
        None,
        description="true while a cancel of the Runway task has not been confirmed; the sweep retries it",
    )
    reconciled_at: str | None = Field(None, description="when the reconciler last settled the job")
    reconcile_reason: str | None = Field(None, description="why the reconciler settled it, and what it did")
    uploads: dict[str, dict[str, Any]] | None = Field(
        None,
        description="s3:// input -> its Runway ephemeral upload {uri, uploaded_at, bytes}, made once by the "
        "upload step and reused while younger than videogen.pipeline.upload_inputs.MAX_UPLOAD_AGE",
    )
    attempts: list[dict[str, Any]] | None = Field(
        None,
        description="one entry per Runway task created for the job, oldest first: attempt, task_id, "
        "created_at, model, estimated_credits; once it ended: status, failure_code, credits (task_id is the "
        "last entry's)",
    )
    create_sent_at: str | None = Field(
        None, description="when the create POST of attempt create_attempt was sent (written just before it)"
    )
    create_attempt: int | None = Field(None, description="the attempt whose create create_sent_at records")
    submit_outcome_unknown: dict[str, Any] | None = Field(
        None,
        description="a create whose answer was lost, for an operator's check: attempt, model, endpoint, "
        "window_start/window_end (UTC), usage_dates, estimated_credits, reason, flagged_at",
    )


RECORD_FIELDS: frozenset[str] = frozenset(JobRecord.model_fields)


def execution_arn(state_machine_arn: str, job_id: str) -> str:
    """The job's execution: the job id is the execution name (``arn:...:execution:<machine>:<job id>``)."""
    head, sep, name = state_machine_arn.rpartition(":stateMachine:")
    if not sep:
        raise ValueError(f"not a state machine ARN: {state_machine_arn}")
    return f"{head}:execution:{name}:{job_id}"
