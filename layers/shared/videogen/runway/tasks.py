"""A Runway task as the pipeline reads it: its wire dict, credits, ending as a named error, and its cancel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from videogen.core.errors import (
    ContentModerated,
    GenerationCancelled,
    GenerationFailed,
    RunwayInternalFailure,
    TaskNotFound,
)
from videogen.core.job import ACTIVE_TASK_STATUSES
from videogen.runway.errors import runway_errors

if TYPE_CHECKING:
    from videogen.runway.client import RunwayClients

MODERATION_PREFIX = "SAFETY."
INTERNAL_PREFIX = "INTERNAL."


def credits_of(task: dict[str, Any], field: str) -> int | float | None:
    """``task[field]["credits"]`` (``estimatedCost`` or ``cost``) when present and numeric."""
    cost = task.get(field)
    if isinstance(cost, dict):
        value = cost.get("credits")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    return None


def failure_code(task: dict[str, Any]) -> str:
    """The task's ``failureCode`` (``""`` when Runway gave none)."""
    code = task.get("failureCode")
    return code if isinstance(code, str) else ""


def is_internal_failure(task: dict[str, Any]) -> bool:
    """A FAILED task whose code is ``INTERNAL.*`` (``INTERNAL.BAD_OUTPUT.*`` included): Runway recommends
    a retry as a new task, and a failed task is not billed."""
    return str(task.get("status", "")) == "FAILED" and failure_code(task).upper().startswith(INTERNAL_PREFIX)


def raise_for_terminal_failure(
    task: dict[str, Any], *, attempt: int = 1, max_attempts: int = 1, deadline_passed: bool = False
) -> None:
    """Raise the named error of a FAILED or CANCELLED task; return for any other status.

    FAILED with a ``SAFETY.*`` code -> ContentModerated (never retried: a user-safe sentence plus the code;
    Runway's failure text is diagnostic only and goes to ``details``); ``INTERNAL.*`` while ``attempt`` <
    ``max_attempts`` and the job's deadline has not passed -> RunwayInternalFailure (the state machine
    creates a new task); other FAILED, and ``INTERNAL.*`` on the last attempt -> GenerationFailed (failure,
    code and attempts); CANCELLED -> GenerationCancelled.
    """
    status = str(task.get("status", ""))
    task_id = task.get("id")
    if status == "FAILED":
        code = failure_code(task)
        failure = task.get("failure") or "no reason given"
        details = {
            "task_id": task_id,
            "failure_code": code or None,
            "failure": failure,
            "attempt": attempt,
            "max_attempts": max_attempts,
        }
        if code.upper().startswith(MODERATION_PREFIX):
            raise ContentModerated(
                f"The video was not generated because the request or its result did not pass Runway's "
                f"content moderation ({code}).",
                details=details,
            )
        reason = f"Runway task {task_id} failed: {failure}" + (f" ({code})" if code else "")
        if is_internal_failure(task):
            if deadline_passed:
                reason += "; not retried: the job's deadline has passed"
            elif attempt < max_attempts:
                raise RunwayInternalFailure(
                    f"{reason}; Runway recommends a retry: attempt {attempt + 1} of {max_attempts} follows",
                    details=details,
                )
            elif max_attempts > 1:
                reason += f"; no attempt left ({attempt} of {max_attempts} made)"
        raise GenerationFailed(reason, details=details)
    if status == "CANCELLED":
        raise GenerationCancelled(f"Runway task {task_id} was cancelled", details={"task_id": task_id})


def task_to_dict(task: Any) -> dict[str, Any]:
    """A task response as its wire dict (camelCase), whatever SDK class it came back as."""
    if isinstance(task, dict):
        return dict(task)
    to_dict = getattr(task, "to_dict", None)
    if callable(to_dict):
        result = to_dict()
        if isinstance(result, dict):
            return result
    dump = getattr(task, "model_dump", None)
    if callable(dump):
        result = dump(by_alias=True)
        if isinstance(result, dict):
            return result
    raise TypeError(f"unexpected Runway task object {type(task).__name__}")


@dataclass(frozen=True)
class CancelResult:
    task_id: str
    status: str  # the task's status when read before cancelling; "NOT_FOUND" when Runway forgot it
    cancelled: bool  # True: DELETE was sent to a task that was still active

    def to_dict(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "task_status": self.status, "cancelled": self.cancelled}


def cancel_if_active(runway: RunwayClients, task_id: str) -> CancelResult:
    """The one Runway cancel: read the task first and DELETE it only while it is still active.

    Runway's ``DELETE /v1/tasks/{id}`` cancels an active task but *deletes* a finished one: deleting a
    SUCCEEDED task destroys a paid video before it is archived. So a finished task is left alone and its
    status returned. A task Runway no longer knows (404) is ``NOT_FOUND``. Runway errors are raised as the
    named errors (RunwayRateLimited/RunwayUnavailable are retried by the caller's policy).
    """
    client = runway.for_repeatable()
    try:
        with runway_errors("retrieve"):
            status = str(task_to_dict(client.tasks.retrieve(task_id)).get("status", ""))
    except TaskNotFound:
        return CancelResult(task_id, "NOT_FOUND", cancelled=False)
    if status not in ACTIVE_TASK_STATUSES:
        return CancelResult(task_id, status, cancelled=False)
    try:
        with runway_errors("delete"):
            client.tasks.delete(task_id)
    except TaskNotFound:
        return CancelResult(task_id, "NOT_FOUND", cancelled=False)
    return CancelResult(task_id, status, cancelled=True)
