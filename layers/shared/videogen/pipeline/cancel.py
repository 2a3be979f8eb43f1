"""Cancel step: stop a Runway task that may still be spending credits, never one that already finished."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from videogen.runway.client import RunwayClients
from videogen.runway.tasks import cancel_if_active

log = logging.getLogger(__name__)


def cancel_task(
    job_id: str,
    task_id: str | None,
    *,
    runway: RunwayClients,
    error: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Cancel the job's Runway task if it is still active: ``{"cancelled", "task_id", "task_status"}``.

    No task id (nothing was created): nothing to do. A finished task is left alone (its ``task_status``
    says how it ended); a task Runway forgot is ``NOT_FOUND``. Other Runway errors are raised as the named
    errors (the state machine retries RunwayRateLimited/RunwayUnavailable).
    """
    reason = (error or {}).get("Error")
    if not task_id:
        log.info("no Runway task to cancel", extra={"job_id": job_id, "reason": reason})
        return {"cancelled": False, "task_id": None, "task_status": None}
    result = cancel_if_active(runway, task_id)
    log.info(
        "cancelled Runway task" if result.cancelled else "Runway task not active: left as it is",
        extra={"job_id": job_id, "task_id": task_id, "task_status": result.status, "reason": reason},
    )
    return result.to_dict()
