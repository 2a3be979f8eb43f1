"""Cancel step: stop a Runway task that may still be spending credits."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from videogen.errors import TaskNotFound
from videogen.runway_client import RunwayClients, runway_errors

log = logging.getLogger(__name__)


def cancel_task(
    job_id: str,
    task_id: str | None,
    *,
    runway: RunwayClients,
    error: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``DELETE /v1/tasks/{id}``; returns ``{"cancelled": bool, "task_id"}``.

    No task id (nothing was created): does nothing, ``cancelled`` false. 404 (already gone): ``cancelled``
    false, not an error. Other Runway errors are raised as the named errors (the state machine retries
    RunwayRateLimited/RunwayUnavailable).
    """
    reason = (error or {}).get("Error")
    if not task_id:
        log.info("no Runway task to cancel", extra={"job_id": job_id, "reason": reason})
        return {"cancelled": False, "task_id": None}
    try:
        with runway_errors("delete"):
            runway.for_reads().tasks.delete(task_id)
    except TaskNotFound:
        log.info("Runway task already gone", extra={"job_id": job_id, "task_id": task_id, "reason": reason})
        return {"cancelled": False, "task_id": task_id}
    log.info("cancelled Runway task", extra={"job_id": job_id, "task_id": task_id, "reason": reason})
    return {"cancelled": True, "task_id": task_id}
