"""A Runway task as the pipeline reads it: its wire dict, credits, ending as a named error, and its cancel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from videogen.core.errors import ContentModerated, GenerationCancelled, GenerationFailed, TaskNotFound
from videogen.core.job import ACTIVE_TASK_STATUSES
from videogen.runway.errors import runway_errors

if TYPE_CHECKING:
    from videogen.runway.client import RunwayClients

MODERATION_PREFIX = "SAFETY."


def credits_of(task: dict[str, Any], field: str) -> int | float | None:
    """``task[field]["credits"]`` (``estimatedCost`` or ``cost``) when present and numeric."""
    cost = task.get(field)
    if isinstance(cost, dict):
        value = cost.get("credits")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    return None


def raise_for_terminal_failure(task: dict[str, Any]) -> None:
    """Raise the named error of a FAILED or CANCELLED task; return for any other status.

    FAILED with a ``SAFETY.*`` code -> ContentModerated (a user-safe sentence plus the code; Runway's failure
    text is diagnostic only and goes to ``details``); other FAILED -> GenerationFailed (failure and code);
    CANCELLED -> GenerationCancelled.
    """
    status = str(task.get("status", ""))
    task_id = task.get("id")
    if status == "FAILED":
        code = task.get("failureCode") or ""
        failure = task.get("failure") or "no reason given"
        details = {"task_id": task_id, "failure_code": code or None, "failure": failure}
        if code.upper().startswith(MODERATION_PREFIX):
            raise ContentModerated(
                f"The video was not generated because the request or its result did not pass Runway's "
                f"content moderation ({code}).",
                details=details,
            )
        raise GenerationFailed(
            f"Runway task {task_id} failed: {failure}" + (f" ({code})" if code else ""), details=details
        )
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
