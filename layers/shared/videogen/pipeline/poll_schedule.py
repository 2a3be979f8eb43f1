"""When the poll step reads a Runway task next. Pure functions: no I/O, no clock.

Runway updates a task's status on ``TICK_SECONDS`` (5 s) ticks of the task's own clock, counted from its
``createdAt``; a read between two ticks learns nothing new. So every read is aligned: it lands
``TICK_MARGIN_SECONDS`` after a tick (:func:`seconds_to_aligned_read`), and the time from Runway marking the
task SUCCEEDED to the read that sees it (the lag) is that margin when the poll step was there to read.

What one poll step does (``videogen.pipeline.check``): it reads the task at the next aligned instant, then
asks :func:`plan` what next. While the task's earliest plausible finish (:func:`earliest_finish_seconds`)
is more than ``STAY_HORIZON_SECONDS`` away, it returns and the state machine's Wait covers the time (no
function runs: an iteration costs three state transitions, whatever its length). When the finish is near,
the step stays and reads every tick, for a bounded window (``POLL_WINDOW_SECONDS``, the function's remaining
time, the deadline): a few seconds of a low-memory poll function cost less than one more loop iteration,
and reads on the tick see the finish within the margin.

The earliest plausible finish, in seconds from now:

- PENDING, THROTTLED or an unknown status: the fastest plausible whole generation, ``EARLIEST_FRACTION`` of
  the model's typical RUNNING time (``typical_seconds``, from the catalog; ``DEFAULT_TYPICAL_SECONDS``
  without one). Time spent queued says nothing about the generation, so a long THROTTLED spell never
  lengthens the wait beyond it.
- RUNNING with a measured rate: the rate is measured over RUNNING time only, between the instants two
  progress values were first seen (so coarse progress, 0 / .25 / .5 / .75, is measured between its steps),
  and the task is assumed to run ``RATE_SLACK`` times faster than measured from the instant its current
  value appeared.
- RUNNING with progress but no rate yet: the remaining fraction of the fastest plausible generation.
- RUNNING without progress: the fastest plausible generation less the longest it may have been running
  (since the last read that saw it queued, or since submission).

The next wait (:func:`next_wait_seconds`) ends ``WAKE_EARLY_SECONDS`` before that instant (Wait states count
whole seconds; the poll step sleeps the rest to the aligned read), and is a whole number of seconds in
``[min_wait, max_wait]``, ``min_wait >= 5``, but for the long-job floor below:

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
``PollMinWaitSeconds`` >= 5) a job is polled at most 330 times. The state machine's poll loop makes 9
history events per poll, 2,970 in all; with every state outside the loop exhausting its retries and 30 polls
exhausting theirs, an execution stays under 10,000 events. Reads within one poll step add no events.
``tests/unit/test_history_bound.py`` derives these figures from ``statemachine/generate_video.asl.json``,
``template.yaml`` and this module, and fails when one of them no longer holds (a state added to the loop, a
raised ``MaxValue``, a shorter floor).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from videogen.core.settings import RUNWAY_MIN_POLL_SECONDS

#: Runway updates a task's status every 5 s; its rate limit allows one read per 5 s.
TICK_SECONDS = 5.0
#: An aligned read lands this long after a tick (clock skew and the request's way there fit in it).
TICK_MARGIN_SECONDS = 0.5
#: A Wait ends this long before the read it leads to: the poll step sleeps the rest to the aligned instant.
WAKE_EARLY_SECONDS = 1.0
#: The fastest plausible generation, as a fraction of the model's typical RUNNING time.
EARLIEST_FRACTION = 0.5
#: The typical RUNNING time of a model the catalog has no figure for.
DEFAULT_TYPICAL_SECONDS = 60.0
#: The earliest finish from a measured rate assumes the task runs this much faster than measured.
RATE_SLACK = 1.25
#: Stay in the poll step, reading every tick, when the earliest plausible finish is this close: three state
#: transitions ($0.075 per 1,000) cost what 45 s of a 128 MB arm64 function does (22 s at 256 MB), and a
#: return costs a Wait's whole seconds besides, so the function stays rather than come back.
STAY_HORIZON_SECONDS = 45.0
DEADLINE_OVERSHOOT_SECONDS = 1
LONG_WAIT_AFTER_SECONDS = 900
LONG_WAIT_GROWTH = 0.1
LONG_WAIT_MAX_FLOOR_SECONDS = 900


@dataclass(frozen=True)
class PollObservation:
    """What the poll step knows after a read, when it picks what to do next. Times are seconds.

    ``rate_progress`` / ``seconds_since_rate_progress``: an earlier progress value of this RUNNING task and
    how long ago it was first seen; ``previous_progress`` / ``seconds_since_previous_check``: the value the
    previous read saw, the fallback anchor of the rate. ``seconds_since_progress_changed``: how long ago the
    current value was first seen (0 when this read saw it first). ``running_for_at_most``: seconds since the
    last read that saw the task queued (or since submission). ``typical_seconds``: the model's typical
    RUNNING time (the prior)."""

    status: str
    progress: float | None = None
    seconds_since_submit: float | None = None
    previous_progress: float | None = None
    seconds_since_previous_check: float | None = None
    seconds_to_deadline: float | None = None
    typical_seconds: float | None = None
    running_for_at_most: float | None = None
    rate_progress: float | None = None
    seconds_since_rate_progress: float | None = None
    seconds_since_progress_changed: float | None = None


@dataclass(frozen=True)
class PollPlan:
    """What the poll step does after a read: read again at the next tick (``stay``), or return and let the
    state machine wait ``wait_seconds``."""

    stay: bool
    wait_seconds: int


def _typical(obs: PollObservation) -> float:
    t = obs.typical_seconds
    return float(t) if t is not None and math.isfinite(t) and t > 0 else DEFAULT_TYPICAL_SECONDS


def _usable_progress(obs: PollObservation) -> float | None:
    p = obs.progress
    return float(p) if p is not None and math.isfinite(p) and 0 < p <= 1 else None


def progress_rate(obs: PollObservation) -> float | None:
    """Progress per second over RUNNING time, between the instants two values were first seen; None when
    no earlier, smaller value is known."""
    p = _usable_progress(obs)
    if p is None:
        return None
    since_change = max(0.0, obs.seconds_since_progress_changed or 0.0)
    anchors = (
        (obs.rate_progress, obs.seconds_since_rate_progress),
        (obs.previous_progress, obs.seconds_since_previous_check),
    )
    for earlier, ago in anchors:
        if earlier is None or ago is None or not 0 <= earlier < p:
            continue
        span = ago - since_change
        if span > 0:
            return (p - earlier) / span
    return None


def estimate_remaining_seconds(obs: PollObservation) -> float | None:
    """Expected seconds until a RUNNING task finishes, from its measured rate; None when there is none."""
    p, rate = _usable_progress(obs), progress_rate(obs)
    if p is None or rate is None or rate <= 0:
        return None
    since_change = max(0.0, obs.seconds_since_progress_changed or 0.0)
    return max(0.0, (1.0 - p) / rate - since_change)


def earliest_finish_seconds(obs: PollObservation) -> float:
    """The soonest the task may plausibly finish, in seconds from now (module docstring)."""
    fastest = EARLIEST_FRACTION * _typical(obs)
    if obs.status.upper() != "RUNNING":
        return fastest
    p, rate = _usable_progress(obs), progress_rate(obs)
    if p is not None and rate is not None and rate > 0:
        since_change = max(0.0, obs.seconds_since_progress_changed or 0.0)
        return max(0.0, (1.0 - p) / (rate * RATE_SLACK) - since_change)
    if p is not None:
        return (1.0 - p) * fastest
    running = obs.running_for_at_most
    if running is None:
        running = obs.seconds_since_submit
    if running is None or not math.isfinite(running):
        return 0.0
    return max(0.0, fastest - max(0.0, running))


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
    """Seconds the state machine waits before the next poll step, per the module's policy."""
    lo = max(int(min_wait), RUNWAY_MIN_POLL_SECONDS)
    hi = max(int(max_wait), lo)
    wait = earliest_finish_seconds(obs) - WAKE_EARLY_SECONDS
    if math.isnan(wait):
        wait = lo
    result = min(max(math.floor(wait), lo), hi)
    result = max(result, wait_floor(obs.seconds_since_submit, lo))

    if obs.seconds_to_deadline is not None:
        to_deadline = max(0.0, obs.seconds_to_deadline)
        result = min(result, max(lo, math.ceil(to_deadline) + DEADLINE_OVERSHOOT_SECONDS))
    return result


def plan(obs: PollObservation, *, min_wait: int, max_wait: int, window_left_seconds: float) -> PollPlan:
    """Stay and read at the next tick when the task is RUNNING, its earliest plausible finish is within
    ``STAY_HORIZON_SECONDS`` and the window has time for one more tick; else return and wait."""
    near = earliest_finish_seconds(obs) <= STAY_HORIZON_SECONDS
    if obs.status.upper() == "RUNNING" and near and window_left_seconds >= TICK_SECONDS:
        return PollPlan(stay=True, wait_seconds=0)
    return PollPlan(stay=False, wait_seconds=next_wait_seconds(obs, min_wait=min_wait, max_wait=max_wait))


def seconds_to_aligned_read(seconds_since_anchor: float) -> float:
    """Seconds from now to the next instant ``TICK_MARGIN_SECONDS`` after one of the task's ticks (ticks
    every ``TICK_SECONDS`` from its anchor, Runway's ``createdAt``); 0 when now is that instant."""
    if not math.isfinite(seconds_since_anchor):
        return 0.0
    phase = (seconds_since_anchor - TICK_MARGIN_SECONDS) % TICK_SECONDS
    return 0.0 if phase < 1e-6 else TICK_SECONDS - phase
