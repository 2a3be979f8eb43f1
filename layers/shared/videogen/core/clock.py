"""Time: the one clock protocol every step takes (``clock.now()``), and the one timestamp format.

Domain code never calls ``datetime.now`` itself: it gets a :class:`Clock` (``SYSTEM_CLOCK`` by default), so
tests and the local runner can step or compress time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


SYSTEM_CLOCK: Clock = SystemClock()


def utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def format_time(value: dt.datetime) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z`` suffix (sorts lexicographically)."""
    return utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: Any) -> dt.datetime | None:
    """A datetime from an ISO string (``Z`` accepted) or a datetime; None when absent or unreadable."""
    if isinstance(value, dt.datetime):
        return utc(value)
    if isinstance(value, str) and value:
        try:
            return utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None
