"""A simulator clock for handler and step tests."""

from __future__ import annotations

import datetime as dt
import time

from local.simulator import ManualClock


def clock_starting_now() -> ManualClock:
    """The simulator's clock, stepped by hand, starting at the real time (the handlers read the real time)."""
    return ManualClock(start=float(int(time.time())))


class FixedClock:
    """A product clock (``videogen.core.clock.Clock``) that always answers the same time."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def now(self) -> dt.datetime:
        return self.at
