"""Helpers shared by the steps: reading Runway task answers and mapping terminal failures to named errors."""

from __future__ import annotations

from typing import Any

from videogen.errors import ContentModerated, GenerationCancelled, GenerationFailed

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
