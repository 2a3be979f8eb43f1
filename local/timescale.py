"""Compress time inside moto's Step Functions interpreter.

moto really sleeps in Wait states (``WaitFunction._wait_interval``) and between Retry attempts
(``RetrierDecl._eval_body`` calls ``time.sleep``). :func:`time_scale` multiplies both by a factor: 0.01
turns a 10 s Wait into 0.1 s, 1.0 leaves them as on AWS. The Runway simulator takes the same factor
(``SimulatorConfig(time_scale=...)``) so generation times and the waits between polls shrink together.

The patch is process-wide (the interpreter's classes are shared); installs nest and the innermost scale wins.
"""

from __future__ import annotations

import datetime
import threading
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

_lock = threading.Lock()
_scales: list[float] = []
_original_wait_interval = WaitFunction._wait_interval
_original_retrier_time = retrier_decl.time


def current_scale() -> float:
    """The scale in force (1.0 when nothing is installed)."""
    with _lock:
        return _scales[-1] if _scales else 1.0


def _scaled_wait_interval(self: WaitFunction, env: Any, wait_seconds: float) -> None:
    deadline = time.monotonic() + max(wait_seconds, 0) * current_scale()
    while env.is_running():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        # The event is pulsed when the execution is stopped; an unrelated pulse just resumes the wait.
        env.program_state_event.wait(remaining)


def _scaled_sleep(seconds: float) -> None:
    time.sleep(max(seconds, 0) * current_scale())


# Only ``sleep`` is looked up on ``retrier_decl.time``; everything else falls through to the real module.
_retrier_time = types.SimpleNamespace(
    **{name: getattr(time, name) for name in dir(time) if not name.startswith("__")}
)
_retrier_time.sleep = _scaled_sleep


def install(scale: float) -> None:
    """Scale Wait states and Retry intervals by ``scale`` until the matching :func:`uninstall`."""
    if not scale > 0:
        raise ValueError(f"time scale must be > 0, not {scale!r}")
    with _lock:
        _scales.append(float(scale))
        if len(_scales) == 1:
            WaitFunction._wait_interval = _scaled_wait_interval  # type: ignore[method-assign]
            retrier_decl.time = _retrier_time  # type: ignore[assignment]


def uninstall() -> None:
    """Undo the latest :func:`install`; the interpreter sleeps for real again once every install is undone."""
    with _lock:
        if not _scales:
            raise RuntimeError("time scale is not installed")
        _scales.pop()
        if not _scales:
            WaitFunction._wait_interval = _original_wait_interval  # type: ignore[method-assign]
            retrier_decl.time = _original_retrier_time


@contextmanager
def time_scale(scale: float) -> Iterator[float]:
    """``with time_scale(0.01): ...`` runs Wait states and Retry backoff 100 times faster."""
    install(scale)
    try:
        yield scale
    finally:
        uninstall()


class ScaledClock:
    """A wall clock that runs ``1 / scale`` times as fast as real time, starting from ``epoch`` (now).

    The handlers compare their own clock with deadlines and measure progress rates, while Runway (the
    simulator) and the Wait states run on compressed time: handlers must see compressed time too, or a
    deadline of 60 s would take 60 real seconds while a whole generation takes 0.9. :meth:`patch_module`
    swaps the ``datetime``/``time`` modules a module imported for scaled copies; only ``now``-style
    readings change (``time.time``, ``datetime.now``/``utcnow``/``today``); ``monotonic``/``sleep`` stay
    real.
    """

    def __init__(self, scale: float, epoch: float | None = None) -> None:
        if not scale > 0:
            raise ValueError(f"time scale must be > 0, not {scale!r}")
        self.scale = float(scale)
        self.epoch = time.time() if epoch is None else epoch
        self.datetime = self._datetime_module()
        self.time = self._time_module()

    def now(self) -> float:
        return self.epoch + (time.time() - self.epoch) / self.scale

    def _datetime_module(self) -> types.ModuleType:
        clock = self
        real = datetime.datetime

        class ScaledDateTime(datetime.datetime):
            @classmethod
            def now(cls, tz: datetime.tzinfo | None = None) -> datetime.datetime:  # type: ignore[override]
                return real.fromtimestamp(clock.now(), tz)

            @classmethod
            def utcnow(cls) -> datetime.datetime:  # type: ignore[override]
                return real.fromtimestamp(clock.now(), datetime.UTC).replace(tzinfo=None)

            @classmethod
            def today(cls) -> datetime.datetime:  # type: ignore[override]
                return real.fromtimestamp(clock.now())

        ScaledDateTime.__name__ = ScaledDateTime.__qualname__ = "datetime"
        module = types.ModuleType("datetime", "datetime with a scaled clock (local.timescale)")
        module.__dict__.update({k: v for k, v in vars(datetime).items() if not k.startswith("__")})
        module.datetime = ScaledDateTime  # type: ignore[attr-defined]
        return module

    def _time_module(self) -> types.SimpleNamespace:
        module = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if not k.startswith("__")})
        module.time = self.now
        module.time_ns = lambda: int(self.now() * 1e9)
        return module

    def patch_module(self, module: types.ModuleType) -> None:
        """Point ``module``'s references to ``datetime``, ``datetime.datetime`` and ``time`` at this clock."""
        for name, value in list(vars(module).items()):
            if value is datetime:
                setattr(module, name, self.datetime)
            elif value is datetime.datetime:
                setattr(module, name, self.datetime.datetime)
            elif value is time:
                setattr(module, name, self.time)
