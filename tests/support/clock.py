"""A simulator clock for handler and step tests."""

from __future__ import annotations

import time

from local.simulator import ManualClock


def clock_starting_now() -> ManualClock:
    """The simulator's clock, stepped by hand, starting at the real time (the handlers read the real time)."""
    return ManualClock(start=float(int(time.time())))
