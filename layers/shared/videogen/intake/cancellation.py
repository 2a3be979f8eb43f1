"""``DELETE /generations/{id}``: cancel a job that is still generating.

With a Runway task, the Runway side is handed to the function that owns Runway calls (the cancel step's
function, invoked synchronously): it reads the task first and cancels it only while it is still active, so a
video that just finished is never deleted. The execution's next poll then sees the task CANCELLED and the
state machine records CANCELLED and announces it. Without a task yet: the execution is stopped, the job is
recorded CANCELLED and the Cancelled event is put here. A Runway task created in the meantime (submit raced
us) is cancelled too, so it cannot run unwatched.
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
from videogen.core.settings import Settings
from videogen.intake.job_ids import canonical_json, execution_arn
from videogen.storage.aws_errors import CONDITION_FAILED, error_code
from videogen.storage.job_store import JobStore

CANCELLED_BEFORE_SUBMIT = "cancelled before a Runway task was created"

#: ``runway_cancel(job_id, task_id)`` -> ``{"cancelled": bool, "task_status": str | None, ...}``
RunwayCancel = Callable[[str, str], Mapping[str, Any]]


@dataclass(frozen=True)
class CancelOutcome:
    job_id: str
    status: str  # CANCELLED (done here) or CANCELLING (the state machine records it at its next poll)
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
    def __init__(
        self,
        settings: Settings,
        *,
        jobs: JobStore,
        sfn: Any,
        events: Any,
        runway_cancel: RunwayCancel,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self._sfn = sfn
        self._events = events
        self._runway_cancel = runway_cancel
        self._clock = clock

    def cancel(self, job_id: str) -> CancelOutcome:
        record = self.jobs.get(job_id)
        if record is None:
            raise JobNotFound(f"no job {job_id}")
        self._refuse_if_finished(job_id, record)
        task_id = record.get("task_id")
        if task_id:
            return self._cancel_task(job_id, str(task_id))
        self._stop_execution(job_id)
        try:
            self._record_cancelled(job_id, CANCELLED_BEFORE_SUBMIT, without_task=True)
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
            return self._cancel_after_race(job_id)
        self._announce_cancelled(record, CANCELLED_BEFORE_SUBMIT)
        return CancelOutcome(job_id, JobStatus.CANCELLED.value, CANCELLED_BEFORE_SUBMIT)

    @staticmethod
    def _refuse_if_finished(job_id: str, record: Mapping[str, Any]) -> None:
        status = str(record.get("status", ""))
        if status in FINAL_STATUSES or status == JobStatus.ARCHIVING.value or record.get("finished_at"):
            raise JobAlreadyFinished(job_id, status)

    def _cancel_task(self, job_id: str, task_id: str) -> CancelOutcome:
        self.jobs.update(job_id, {"cancel_requested_at": format_time(self._clock.now())})
        answer = self._runway_cancel(job_id, task_id)
        task_status = str(answer.get("task_status") or "")
        if task_status in (TaskStatus.SUCCEEDED, TaskStatus.FAILED):
            # Runway finished first: the state machine archives (or records) it; nothing was deleted.
            raise JobAlreadyFinished(job_id, f"finished on Runway ({task_status})")
        return CancelOutcome(
            job_id,
            "CANCELLING",
            f"Runway task {task_id} was cancelled; the job ends CANCELLED at its next check",
        )

    def _cancel_after_race(self, job_id: str) -> CancelOutcome:
        """The submit step saved a task id (or the job ended) between our read and our write."""
        record = self.jobs.get(job_id) or {}
        if record.get("finished_at"):
            raise JobAlreadyFinished(job_id, str(record.get("status", "")))
        task_id = str(record.get("task_id", ""))
        self.jobs.update(job_id, {"cancel_requested_at": format_time(self._clock.now())})
        self._runway_cancel(job_id, task_id)
        # The execution is stopped: nobody else will record the end of this job.
        cause = f"cancelled; Runway task {task_id} was cancelled too"
        self._record_cancelled(job_id, cause, without_task=False)
        self._announce_cancelled(record, cause)
        return CancelOutcome(job_id, JobStatus.CANCELLED.value, cause)

    def _record_cancelled(self, job_id: str, cause: str, *, without_task: bool) -> None:
        condition = "attribute_not_exists(#finished_at)"
        names = {"#finished_at": "finished_at"}
        if without_task:
            condition += " AND attribute_not_exists(#task_id)"
            names["#task_id"] = "task_id"
        self.jobs.update(
            job_id,
            {
                "status": JobStatus.CANCELLED.value,
                "error_code": "GenerationCancelled",
                "error_cause": cause,
                "finished_at": format_time(self._clock.now()),
            },
            condition=condition,
            condition_names=names,
        )

    def _stop_execution(self, job_id: str) -> None:
        arn = execution_arn(self.settings.state_machine_arn, job_id)
        try:
            self._sfn.stop_execution(
                executionArn=arn, error="GenerationCancelled", cause="cancelled by DELETE /generations/{id}"
            )
        except ClientError as exc:
            if error_code(exc) not in ("ExecutionDoesNotExist", "ExecutionNotFound"):
                raise

    def _announce_cancelled(self, record: Mapping[str, Any], cause: str) -> None:
        detail = {
            "job_id": record["job_id"],
            "status": JobStatus.CANCELLED.value,
            "request": record.get("request", {}),
            "error": {"Error": "GenerationCancelled", "Cause": cause},
        }
        self._events.put_events(
            Entries=[
                {
                    "EventBusName": self.settings.event_bus_name,
                    "Source": self.settings.event_source,
                    "DetailType": "Video Generation Cancelled",
                    "Detail": canonical_json(detail),
                    "Time": self._clock.now(),
                }
            ]
        )
