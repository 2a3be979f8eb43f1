"""How long the state machine waits before the next poll of a Runway task. Pure functions: no I/O, no clock.

Policy (every result is a whole number of seconds in ``[min_wait, max_wait]``, ``min_wait >= 5``, but for the
long-job floor below):

- PENDING: ``2 x min_wait``. Queueing usually takes seconds to a minute; polling faster learns nothing.
- THROTTLED: ``3 x min_wait``. The task waits for a concurrency slot, typically behind whole generations.
- RUNNING with progress: estimate the remaining time from the progress rate and wait about a third of it
  (``REMAINING_FRACTION``), so the wait shrinks as the end approaches and the finished video is picked up
  soon after it is ready. The rate is measured between the last two polls when both saw progress, else
  averaged since submission (which includes queueing, so it errs on the slow side: a shorter wait).
- RUNNING without usable progress, or an unknown status: ``min_wait``.
- Long jobs: past ``LONG_WAIT_AFTER_SECONDS`` (15 minutes) since submission, the wait is at least a tenth
  (``LONG_WAIT_GROWTH``) of the time beyond those 15 minutes, up to ``LONG_WAIT_MAX_FLOOR_SECONDS`` (15
  minutes), even above ``max_wait`` (:func:`wait_floor`). A task still queued or generating after that long
  is rarely seconds from done, and this bounds the number of polls of any job. The first 15 minutes, where
  almost every job ends, are unchanged.
- Deadline: never wait past ``seconds_to_deadline`` by more than ``min_wait``: the wait is cut so the next
  poll lands just after the deadline, where the poll step fails the job with GenerationTimedOut.

Bounded history. Step Functions ends an execution at 25,000 history events; this project guarantees at most
10,000. Every wait is at least :func:`wait_floor` (or lands after the deadline), so a task is polled at most
:func:`max_polls` times: with the template's limits (``DeadlineSeconds`` <= 86,400,
``PollMinWaitSeconds`` >= 5) a job is polled at most 330 times. The state machine's poll loop makes 15
history events per poll, 4,950 in all; with every state outside the loop exhausting its retries and 30 polls
exhausting theirs, an execution stays under 10,000 events. ``tests/unit/test_history_bound.py`` derives
these figures from ``statemachine/generate_video.asl.json``, ``template.yaml`` and this module, and fails
when one of them no longer holds (a state added to the loop, a raised ``MaxValue``, a shorter floor).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from videogen.core.settings import RUNWAY_MIN_POLL_SECONDS

PENDING_FACTOR = 2.0
THROTTLED_FACTOR = 3.0
REMAINING_FRACTION = 1 / 3
DEADLINE_OVERSHOOT_SECONDS = 1
LONG_WAIT_AFTER_SECONDS = 900
LONG_WAIT_GROWTH = 0.1
LONG_WAIT_MAX_FLOOR_SECONDS = 900


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


def wait_floor(seconds_since_submit: float | None, min_wait: int) -> int:
    """The shortest wait ``seconds_since_submit`` into a job: ``min_wait`` (at least 5) for its first
    ``LONG_WAIT_AFTER_SECONDS``, then a tenth of the time beyond them, up to ``LONG_WAIT_MAX_FLOOR_SECONDS``.
    Never decreasing in time, so the fastest sequence of polls is the one that always waits the floor."""
    lo = max(int(min_wait), RUNWAY_MIN_POLL_SECONDS)
    t = seconds_since_submit
    if t is None or not math.isfinite(t) or t <= LONG_WAIT_AFTER_SECONDS:
        return lo
    grown = math.ceil(LONG_WAIT_GROWTH * (t - LONG_WAIT_AFTER_SECONDS))
    return max(lo, min(grown, LONG_WAIT_MAX_FLOOR_SECONDS))


def max_polls(deadline_seconds: float, min_wait: int) -> int:
    """The most polls one task can get before its deadline ends the poll loop, the poll that finds the
    deadline passed included: the first may come right after submission, each next one no sooner than
    :func:`wait_floor` later (a shorter wait only ever lands after the deadline)."""
    t = 0.0
    polls = 1
    while t < deadline_seconds:
        t += wait_floor(t, min_wait)
        polls += 1
    return polls


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
    result = max(result, wait_floor(obs.seconds_since_submit, lo))

    if obs.seconds_to_deadline is not None:
        to_deadline = max(0.0, obs.seconds_to_deadline)
        result = min(result, max(lo, math.ceil(to_deadline) + DEADLINE_OVERSHOOT_SECONDS))
    return result
