"""The task state (``$.task``) carried by the state machine between the submit, poll, archive, cancel steps.

Small on purpose (Step Functions payloads are capped at 256 KB): ids, status, progress, credits and times.
Output URLs are never part of it: they are signed and expire, so the archive step fetches them fresh.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from videogen.core.clock import format_time, utc

#: Keys left out of the state while unknown (``reads`` too while 0), so a fresh state stays small.
OPTIONAL_KEYS = (
    "credits_charged",
    "output_count",
    "job_submitted_at",
    "typical_seconds",
    "tick_anchor_at",
    "queued_seen_at",
    "rate_progress",
    "rate_progress_seen_at",
    "progress_seen_at",
)


class TaskState(BaseModel):
    """``$.task``: what submit returns and every poll returns updated."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())

    task_id: str = Field(min_length=1)
    attempt: int = Field(default=1, ge=1)  # 1 + the INTERNAL failures retried before this task
    endpoint: str
    model: str
    status: str = "PENDING"
    progress: float = Field(default=0.0, ge=0.0, le=1.0)
    estimated_credits: int | float | None = None
    submitted_at: dt.datetime
    # When the job's first task was created: the poll schedule counts a job's age from it, so a new task
    # after an INTERNAL failure does not restart the long-job wait floor (the bound on polls and history).
    job_submitted_at: dt.datetime | None = None
    deadline_at: dt.datetime
    polls: int = Field(default=0, ge=0)
    next_wait_seconds: int = Field(ge=0)
    checked_at: dt.datetime
    credits_charged: int | None = None
    output_count: int | None = None
    # What the poll schedule learns across polls (videogen.pipeline.poll_schedule); absent until known.
    typical_seconds: int | None = None  # the model's typical RUNNING time (the catalog's prior)
    reads: int = Field(default=0, ge=0)  # Runway reads of this task, several per poll near its end
    tick_anchor_at: dt.datetime | None = None  # Runway's createdAt: its status ticks count from it
    queued_seen_at: dt.datetime | None = None  # the last read that saw the task PENDING or THROTTLED
    rate_progress: float | None = None  # an earlier progress value of the RUNNING task ...
    rate_progress_seen_at: dt.datetime | None = None  # ... and when it was first seen
    progress_seen_at: dt.datetime | None = None  # when the current progress value was first seen

    @field_serializer("submitted_at", "deadline_at", "checked_at")
    def _iso(self, value: dt.datetime) -> str:
        return format_time(value)

    @field_serializer(
        "job_submitted_at", "tick_anchor_at", "queued_seen_at", "rate_progress_seen_at", "progress_seen_at"
    )
    def _iso_or_none(self, value: dt.datetime | None) -> str | None:
        return format_time(value) if value is not None else None

    def job_age_seconds(self, now: dt.datetime) -> float:
        """Seconds since the job's first task was created (its only task's, for a state without it)."""
        return (utc(now) - utc(self.job_submitted_at or self.submitted_at)).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """The JSON-serialisable dict returned to Step Functions (cost/outputs only once SUCCEEDED)."""
        data = self.model_dump(mode="json")
        for key in OPTIONAL_KEYS:
            if data.get(key) is None:
                data.pop(key, None)
        if not data.get("reads"):
            data.pop("reads", None)
        return data
