"""How long the state machine waits before the next poll of a Runway task. Pure functions: no I/O, no clock.

Policy (every result is a whole number of seconds, clamped to ``[min_wait, max_wait]``, ``min_wait >= 5``):

- PENDING: ``2 x min_wait``. Queueing usually takes seconds to a minute; polling faster learns nothing.
- THROTTLED: ``3 x min_wait``. The task waits for a concurrency slot, typically behind whole generations.
- RUNNING with progress: estimate the remaining time from the progress rate and wait about a third of it
  (``REMAINING_FRACTION``), so the wait shrinks as the end approaches and the finished video is picked up
  soon after it is ready. The rate is measured between the last two polls when both saw progress, else
  averaged since submission (which includes queueing, so it errs on the slow side: a shorter wait).
- RUNNING without usable progress, or an unknown status: ``min_wait``.
- Deadline: never wait past ``seconds_to_deadline`` by more than ``min_wait``: the wait is cut so the next
  poll lands just after the deadline, where the poll step fails the job with GenerationTimedOut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from videogen.core.settings import RUNWAY_MIN_POLL_SECONDS

PENDING_FACTOR = 2.0
THROTTLED_FACTOR = 3.0
REMAINING_FRACTION = 1 / 3
DEADLINE_OVERSHOOT_SECONDS = 1


@dataclass(frozen=True)
class PollObservation:
    """What the poll step knows when it picks the next wait. Times are seconds."""

    status: str
    progress: float | None = None
    seconds_since_submit: float | None = None
    previous_progress: float | None = None
    seconds_since_previous_check: float | None = None
    seconds_to_deadline: float | None = None


def estimate_remaining_seconds(obs: PollObservation) -> float | None:
    """Seconds until a RUNNING task finishes, from its progress rate; None when the rate is unknown."""
    p = obs.progress
    if p is None or not 0 < p <= 1:
        return None
    rate: float | None = None
    prev, dt = obs.previous_progress, obs.seconds_since_previous_check
    if prev is not None and dt is not None and dt > 0 and 0 < prev < p:
        rate = (p - prev) / dt
    elif obs.seconds_since_submit is not None and obs.seconds_since_submit > 0:
        rate = p / obs.seconds_since_submit
    if rate is None or rate <= 0:
        return None
    return max(0.0, (1.0 - p) / rate)


def next_wait_seconds(obs: PollObservation, *, min_wait: int, max_wait: int) -> int:
    """Seconds to wait before the next poll, per the module's policy."""
    lo = max(int(min_wait), RUNWAY_MIN_POLL_SECONDS)
    hi = max(int(max_wait), lo)
    status = obs.status.upper()

    wait: float
    if status == "PENDING":
        wait = lo * PENDING_FACTOR
    elif status == "THROTTLED":
        wait = lo * THROTTLED_FACTOR
    elif status == "RUNNING":
        remaining = estimate_remaining_seconds(obs)
        wait = lo if remaining is None else remaining * REMAINING_FRACTION
    else:
        wait = lo

    if math.isnan(wait):
        wait = lo
    result = min(max(math.ceil(wait), lo), hi)

    if obs.seconds_to_deadline is not None:
        to_deadline = max(0.0, obs.seconds_to_deadline)
        result = min(result, max(lo, math.ceil(to_deadline) + DEADLINE_OVERSHOOT_SECONDS))
    return result
