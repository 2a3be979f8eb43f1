"""The reconciler: settle a job whose execution ended outside the machine's own Catch, from Runway's truth.

It runs when this state machine's execution ends FAILED, TIMED_OUT or ABORTED (an EventBridge rule), and on a
schedule that sweeps jobs still unsettled past their deadline plus a grace period. For one job it:

1. reads the record and the Runway task (a fresh read: the record may be stale);
2. cancels the task if it is still active (never DELETEs a finished one: ``cancel_if_active``); a cancel that
   Runway refuses leaves ``task_may_be_running`` on the record, and the next sweep tries again;
3. archives a SUCCEEDED task whose job never recorded its outputs, while Runway still serves them;
4. records the ending, if the job has none, and announces it once (``Lifecycle.finish``).

A job that ended FAILED although its task SUCCEEDED (an archive that failed past its retries) is left as
recorded: ``POST /generations/{id}/retry`` re-archives it on request.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from videogen.core.clock import SYSTEM_CLOCK, Clock, format_time, parse_time, utc
from videogen.core.errors import TaskNotFound, VideoGenError
from videogen.core.job import ACTIVE_TASK_STATUSES, FINAL_STATUSES, JobStatus, TaskStatus, execution_arn
from videogen.core.settings import Settings
from videogen.pipeline.lifecycle import Ending, Lifecycle, ending_of
from videogen.pipeline.lost_create import flag_lost_create, lost_attempt
from videogen.pipeline.submit import state_from_record
from videogen.pipeline.task_state import TaskState
from videogen.runway.client import RunwayClients
from videogen.runway.errors import runway_errors
from videogen.runway.tasks import cancel_if_active, raise_for_terminal_failure, task_to_dict
from videogen.storage.aws_errors import error_code
from videogen.storage.job_store import JobStore

log = logging.getLogger(__name__)

#: ``archive(job_id, request, task_state)`` -> the archive step's result (``videogen.pipeline.archive``).
Archive = Callable[[str, Mapping[str, Any] | None, TaskState], dict[str, Any]]
UNSETTLED = tuple(s.value for s in JobStatus if s not in FINAL_STATUSES)
NOT_FOUND = "NOT_FOUND"
#: How far back the sweep looks for ended jobs that still need an announcement or a confirmed cancel.
SWEEP_LOOKBACK = dt.timedelta(days=3)


def task_id_of(record: Mapping[str, Any]) -> str | None:
    value = record.get("task_id")
    return str(value) if value else None


@dataclass(frozen=True)
class Outcome:
    job_id: str
    action: str  # what the reconciler did, in words: "nothing to do", "cancelled the task", ...
    status: str | None = None  # the job's status afterwards
    task_status: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "action": self.action,
            "status": self.status,
            "task_status": self.task_status,
        }


class Reconciler:
    def __init__(
        self,
        settings: Settings,
        *,
        jobs: JobStore,
        table: Any,
        runway: RunwayClients,
        lifecycle: Lifecycle,
        archive: Archive,
        sfn: Any,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self._table = table
        self._runway = runway
        self._lifecycle = lifecycle
        self._archive = archive
        self._sfn = sfn
        self._clock = clock

    # --- one job ------------------------------------------------------------------------------------------

    def reconcile(
        self,
        job_id: str,
        *,
        why: str,
        execution_status: str | None = None,
        error: Mapping[str, Any] | None = None,
    ) -> Outcome:
        """Settle ``job_id``. ``why`` says what triggered it; ``execution_status`` and ``error`` are the
        execution's, when an execution status change triggered it."""
        record = self.jobs.get(job_id)
        if record is None:
            log.warning("no record for the job: nothing to reconcile", extra={"job_id": job_id, "why": why})
            return Outcome(job_id, "no such job")
        task_id = record.get("task_id")
        task = self._read_task(str(task_id)) if task_id else None
        task_status = str(task.get("status", "")) if task else (NOT_FOUND if task_id else None)
        cancel_failed = False
        if task_status in ACTIVE_TASK_STATUSES:
            task_status, cancel_failed = self._cancel(job_id, str(task_id))

        ended = ending_of(record)
        action: str
        if ended is None:
            ending = self._ending(
                record,
                task,
                task_status,
                execution_status=execution_status,
                error=error,
                cancel_failed=cancel_failed,
            )
            result = self._lifecycle.finish(job_id, ending)
            action = f"recorded {result.status}"
        elif not record.get("announced_at"):
            self._lifecycle.finish(job_id, ended)
            action = "announced the recorded ending"
        else:
            action = "nothing to do"
        if cancel_failed:
            action += "; the Runway task may still be running (cancel refused: retried by the sweep)"
        elif record.get("task_may_be_running") and task_status not in ACTIVE_TASK_STATUSES:
            action += f"; the Runway task is {task_status} now"
        settled: dict[str, Any] = {
            "reconciled_at": format_time(self._clock.now()),
            "reconcile_reason": f"{why}: {action}",
        }
        if cancel_failed or record.get("task_may_be_running"):
            settled["task_may_be_running"] = cancel_failed
        after = self.jobs.update(job_id, settled)
        log.info(
            "reconciled", extra={"job_id": job_id, "why": why, "action": action, "task_status": task_status}
        )
        return Outcome(job_id, action, str(after.get("status")), task_status)

    def recover(self, job_id: str) -> Outcome:
        """Re-archive a job that failed after Runway succeeded (``POST /generations/{id}/retry``), from its
        saved task id: never a second Runway task. Retryable errors are raised (the async retry repeats)."""
        record = self.jobs.get(job_id) or {}
        if record.get("status") != JobStatus.FAILED or not record.get("recovery_requested_at"):
            return Outcome(job_id, "nothing to recover", record.get("status"))
        task = self._read_task(str(record["task_id"]))
        task_status = str(task.get("status", "")) if task else NOT_FOUND
        if task_status != TaskStatus.SUCCEEDED:
            return self._refuse_recovery(job_id, f"the Runway task is {task_status}", task_status)
        try:
            archive = self._archive(job_id, record.get("request"), self._state(record))
        except VideoGenError as exc:
            if exc.retryable:
                raise
            return self._refuse_recovery(job_id, f"{type(exc).__name__}: {exc.message}", task_status)
        result = self._lifecycle.recover(job_id, archive)
        self.jobs.update(
            job_id,
            {"reconciled_at": format_time(self._clock.now()), "reconcile_reason": "recovered on request"},
        )
        return Outcome(job_id, "re-archived the outputs", result.status, task_status)

    def _refuse_recovery(self, job_id: str, reason: str, task_status: str) -> Outcome:
        log.warning("cannot recover the job", extra={"job_id": job_id, "reason": reason})
        self.jobs.update(
            job_id,
            {"reconciled_at": format_time(self._clock.now()), "reconcile_reason": f"not recovered: {reason}"},
            remove=("recovery_requested_at",),
        )
        return Outcome(job_id, f"not recovered: {reason}", JobStatus.FAILED.value, task_status)

    def _read_task(self, task_id: str) -> dict[str, Any] | None:
        """The Runway task (None when Runway no longer knows it)."""
        try:
            with runway_errors("retrieve"):
                return task_to_dict(self._runway.for_repeatable().tasks.retrieve(task_id))
        except TaskNotFound:
            return None

    def _cancel(self, job_id: str, task_id: str) -> tuple[str, bool]:
        """Cancel an active task: ``(its status afterwards, whether the cancel failed)``."""
        try:
            result = cancel_if_active(self._runway, task_id)
        except VideoGenError as exc:
            log.error(
                "Runway refused to cancel the task: it may still be running",
                extra={"job_id": job_id, "task_id": task_id, "error": f"{type(exc).__name__}: {exc.message}"},
            )
            return TaskStatus.RUNNING.value, True
        if result.cancelled:
            return TaskStatus.CANCELLED.value, False
        return result.status, False

    def _ending(  # noqa: PLR0911 - one return per way a job can have ended
        self,
        record: Mapping[str, Any],
        task: Mapping[str, Any] | None,
        task_status: str | None,
        *,
        execution_status: str | None,
        error: Mapping[str, Any] | None,
        cancel_failed: bool,
    ) -> Ending:
        """The ending of a job that has none, from the Runway task's real state."""
        job_id = str(record["job_id"])
        if lost_attempt(record) is not None:  # a create whose answer was lost: flagged for the operator
            flagged = flag_lost_create(job_id, error, jobs=self.jobs, clock=self._clock)
            return Ending(JobStatus.FAILED, error={"Error": flagged["Error"], "Cause": flagged["Cause"]})
        if task_status == TaskStatus.SUCCEEDED:
            try:
                archive = self._archive(job_id, record.get("request"), self._state(record))
            except VideoGenError as exc:
                return Ending(JobStatus.FAILED, error={"Error": type(exc).__name__, "Cause": exc.message})
            return Ending(JobStatus.SUCCEEDED, archive=archive)
        if record.get("cancel_requested_at"):
            cause = f"cancelled on request at {record['cancel_requested_at']}"
            return Ending(
                JobStatus.CANCELLED,
                error={"Error": "GenerationCancelled", "Cause": cause},
                task_may_be_running=cancel_failed,
            )
        if task_status == TaskStatus.FAILED and task is not None:
            try:
                raise_for_terminal_failure(dict(task))
            except VideoGenError as exc:  # the same named error the poll step would have raised
                return Ending(JobStatus.FAILED, error={"Error": type(exc).__name__, "Cause": exc.message})
        if execution_status == "ABORTED":
            cause = "the execution was stopped (StopExecution); the Runway task was cancelled"
            return Ending(
                JobStatus.CANCELLED,
                error={"Error": "ExecutionAborted", "Cause": cause},
                task_may_be_running=cancel_failed,
            )
        deadline = parse_time(record.get("deadline_at"))
        if execution_status == "TIMED_OUT" or (
            task_id_of(record) and deadline and utc(self._clock.now()) > deadline
        ):
            cause = f"the job's deadline ({record.get('deadline_at')}) passed before Runway finished"
            return Ending(
                JobStatus.TIMED_OUT,
                error={"Error": "GenerationTimedOut", "Cause": cause},
                task_may_be_running=cancel_failed,
            )
        error = dict(error or {})
        name = str(error.get("Error") or "ExecutionFailed")
        cause = str(
            error.get("Cause") or f"the execution ended {execution_status or 'without recording an end'}"
        )
        return Ending(
            JobStatus.FAILED, error={"Error": name, "Cause": cause}, task_may_be_running=cancel_failed
        )

    def _state(self, record: Mapping[str, Any]) -> TaskState:
        """The recorded task as the archive step takes it: the create step's own rebuild, now SUCCEEDED."""
        state = state_from_record(record, self.settings, utc(self._clock.now()))
        return state.model_copy(update={"status": TaskStatus.SUCCEEDED.value, "progress": 1.0})

    # --- the sweep ---------------------------------------------------------------------------------------

    def sweep(self) -> list[Outcome]:
        """Reconcile every job unsettled past its deadline plus the grace period (whose execution has ended),
        and every recently ended job still unannounced or whose task may still be running."""
        outcomes = []
        for record in self._candidates():
            job_id = str(record["job_id"])
            if self._execution_running(job_id):
                continue
            try:
                outcomes.append(self.reconcile(job_id, why="sweep"))
            except VideoGenError as exc:  # one job's Runway error must not stop the sweep of the others
                log.warning("could not reconcile the job now", extra={"job_id": job_id, "error": exc.message})
                outcomes.append(Outcome(job_id, f"retry later: {type(exc).__name__}"))
        return outcomes

    def _candidates(self) -> Iterator[Mapping[str, Any]]:
        now = utc(self._clock.now())
        stale = format_time(
            now - dt.timedelta(seconds=self.settings.deadline_seconds + self.settings.reconcile_grace_seconds)
        )
        recent = format_time(now - SWEEP_LOOKBACK)
        for status in UNSETTLED:
            yield from self._query(Key("status").eq(status) & Key("created_at").lt(stale))
        needs_care = Attr("task_may_be_running").eq(True) | Attr("announced_at").not_exists()
        for status in sorted(s.value for s in FINAL_STATUSES if s != JobStatus.REJECTED):
            yield from self._query(Key("status").eq(status) & Key("created_at").gte(recent), needs_care)

    def _query(self, condition: Any, filter_: Any = None) -> Iterator[Mapping[str, Any]]:
        kwargs: dict[str, Any] = {"IndexName": "by_status", "KeyConditionExpression": condition}
        if filter_ is not None:
            kwargs["FilterExpression"] = filter_
        while True:
            page = self._table.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _execution_running(self, job_id: str) -> bool:
        arn = execution_arn(self.settings.state_machine_arn, job_id)
        try:
            status = self._sfn.describe_execution(executionArn=arn)["status"]
        except ClientError as exc:
            if error_code(exc) in ("ExecutionDoesNotExist", "ExecutionNotFound"):
                return False
            raise
        return bool(status == "RUNNING")
