"""The polling policy: a pure function, tested table-driven."""

from __future__ import annotations

import pytest

from videogen.pipeline.poll_schedule import (
    PollObservation,
    estimate_remaining_seconds,
    max_polls,
    next_wait_seconds,
    wait_floor,
)

MIN, MAX = 10, 60


@pytest.mark.parametrize(
    ("case", "obs", "expected"),
    [
        ("pending waits twice the minimum", PollObservation("PENDING"), 20),
        ("throttled waits three times the minimum", PollObservation("THROTTLED"), 30),
        ("status is case-insensitive", PollObservation("pending"), 20),
        ("running without progress waits the minimum", PollObservation("RUNNING"), 10),
        ("running at 0 progress waits the minimum", PollObservation("RUNNING", progress=0.0), 10),
        (
            "slow progress since submit: a third of the remaining time, capped at the maximum",
            PollObservation("RUNNING", progress=0.1, seconds_since_submit=100),  # 900 s left -> 300
            60,
        ),
        (
            "average rate since submit: (1-0.5)/(0.5/60) = 60 s left -> 20",
            PollObservation("RUNNING", progress=0.5, seconds_since_submit=60),
            20,
        ),
        (
            "rate between the last two polls wins over the average",
            # 0.4 -> 0.6 in 20 s: 0.01/s, 40 s left -> 14 (the average would say 0.6/200 -> 133 s left -> 44)
            PollObservation(
                "RUNNING",
                progress=0.6,
                seconds_since_submit=200,
                previous_progress=0.4,
                seconds_since_previous_check=20,
            ),
            14,
        ),
        (
            "nearly done: never below the minimum",
            PollObservation("RUNNING", progress=0.99, seconds_since_submit=100),
            10,
        ),
        (
            "progress that went backwards falls back to the average",
            PollObservation(
                "RUNNING",
                progress=0.5,
                seconds_since_submit=60,
                previous_progress=0.7,
                seconds_since_previous_check=10,
            ),
            20,
        ),
        ("unknown status waits the minimum", PollObservation("WEIRD"), 10),
        (
            "deadline close: wait only until just after it",
            PollObservation("THROTTLED", seconds_to_deadline=14.2),
            16,
        ),
        (
            "deadline closer than the minimum: the minimum",
            PollObservation("PENDING", seconds_to_deadline=3),
            10,
        ),
        ("deadline passed: the minimum", PollObservation("PENDING", seconds_to_deadline=-50), 10),
        ("far deadline changes nothing", PollObservation("PENDING", seconds_to_deadline=10_000), 20),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_next_wait_seconds(case: str, obs: PollObservation, expected: int) -> None:
    # GIVEN an observation WHEN the next wait is chosen THEN it follows the documented policy
    assert next_wait_seconds(obs, min_wait=MIN, max_wait=MAX) == expected


@pytest.mark.parametrize(
    ("min_wait", "max_wait", "obs", "expected"),
    [
        (1, 60, PollObservation("RUNNING"), 5),  # Runway: at most one poll per 5 s
        (5, 5, PollObservation("THROTTLED"), 5),  # max == min
        (30, 10, PollObservation("PENDING"), 30),  # max below min: min wins
        (5, 600, PollObservation("THROTTLED"), 15),
        (5, 600, PollObservation("RUNNING", progress=0.01, seconds_since_submit=30), 600),
    ],
)
def test_bounds(min_wait: int, max_wait: int, obs: PollObservation, expected: int) -> None:
    assert next_wait_seconds(obs, min_wait=min_wait, max_wait=max_wait) == expected


@pytest.mark.parametrize("status", ["PENDING", "THROTTLED", "RUNNING", "SUCCEEDED", "WEIRD", ""])
@pytest.mark.parametrize("progress", [None, 0.0, 0.01, 0.5, 0.99, 1.0])
@pytest.mark.parametrize("to_deadline", [None, -10.0, 0.0, 4.0, 30.0, 1e6])
def test_invariants(status: str, progress: float | None, to_deadline: float | None) -> None:
    # GIVEN any combination WHEN a wait is chosen THEN it is an int in [min, max] that never overshoots the
    # deadline by more than the minimum
    obs = PollObservation(
        status,
        progress=progress,
        seconds_since_submit=120,
        previous_progress=0.2,
        seconds_since_previous_check=15,
        seconds_to_deadline=to_deadline,
    )
    wait = next_wait_seconds(obs, min_wait=MIN, max_wait=MAX)
    assert isinstance(wait, int)
    assert MIN <= wait <= MAX
    if to_deadline is not None:
        assert wait <= max(to_deadline, 0) + MIN


def test_waits_shrink_as_a_steady_task_nears_its_end() -> None:
    # GIVEN a task progressing at a steady 1 %/s WHEN polled along the way THEN waits never grow
    waits = [
        next_wait_seconds(
            PollObservation(
                "RUNNING", progress=p, previous_progress=p - 0.1, seconds_since_previous_check=10
            ),
            min_wait=5,
            max_wait=60,
        )
        for p in (0.2, 0.4, 0.6, 0.8, 0.95)
    ]
    assert waits == sorted(waits, reverse=True)
    assert waits[-1] == 5


@pytest.mark.parametrize(
    ("obs", "expected"),
    [
        (PollObservation("RUNNING", progress=0.5, seconds_since_submit=50), 50.0),
        (PollObservation("RUNNING", progress=1.0, seconds_since_submit=50), 0.0),
        (PollObservation("RUNNING", progress=None, seconds_since_submit=50), None),
        (PollObservation("RUNNING", progress=0.5), None),
        (PollObservation("RUNNING", progress=0.5, seconds_since_submit=0), None),
    ],
)
def test_estimate_remaining_seconds(obs: PollObservation, expected: float | None) -> None:
    assert estimate_remaining_seconds(obs) == expected


# --- Long jobs: the wait grows with the time waited -------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds_since_submit", "expected"),
    [
        (None, MIN),
        (0, MIN),
        (900, MIN),  # the first 15 minutes: the minimum
        (1000, MIN),  # a tenth of 100 s beyond them is still below the minimum
        (1500, 60),
        (3600, 270),
        (9900, 900),  # at most 15 minutes
        (86_400, 900),
        (float("nan"), MIN),
    ],
)
def test_wait_floor(seconds_since_submit: float | None, expected: int) -> None:
    assert wait_floor(seconds_since_submit, MIN) == expected


def test_wait_floor_never_goes_below_runways_limit_nor_the_minimum() -> None:
    assert wait_floor(0, 1) == 5
    assert wait_floor(3600, 1200) == 1200


@pytest.mark.parametrize(
    ("case", "obs", "expected"),
    [
        (
            "an hour in, nearly done: a tenth of the 45 minutes beyond the first 15, above the maximum",
            PollObservation("RUNNING", progress=0.99, seconds_since_submit=3600),
            270,
        ),
        ("an hour in, still throttled", PollObservation("THROTTLED", seconds_since_submit=3600), 270),
        (
            "the deadline still cuts the long wait",
            PollObservation("THROTTLED", seconds_since_submit=3600, seconds_to_deadline=100),
            101,
        ),
        (
            "14 minutes in: unchanged",
            PollObservation("RUNNING", progress=0.99, seconds_since_submit=840),
            MIN,
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_long_jobs_wait_longer(case: str, obs: PollObservation, expected: int) -> None:
    assert next_wait_seconds(obs, min_wait=MIN, max_wait=MAX) == expected


@pytest.mark.parametrize(
    ("deadline", "min_wait", "expected"),
    [
        (0, 10, 1),  # one poll, which finds the deadline passed
        (10, 10, 2),
        (900, 10, 91),  # every 10 s for 15 minutes, plus the poll at the deadline
        (3600, 10, 136),
        (86_400, 5, 330),
    ],
)
def test_max_polls(deadline: int, min_wait: int, expected: int) -> None:
    assert max_polls(deadline, min_wait) == expected
