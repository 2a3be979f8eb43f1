"""Compressed time for the handlers.

The Runway simulator and the state machine's Wait states run on compressed time (``SimulatorConfig
(time_scale=...)``, ``local.moto_gaps``); handlers compare their own clock with deadlines and measure progress
rates, so they must see compressed time too, or a 60 s deadline would take 60 real seconds while a whole
generation takes 0.9.
"""

from __future__ import annotations

import datetime
import time
import types


class ScaledClock:
    """A wall clock that runs ``1 / scale`` times as fast as real time, starting now.

    :meth:`patch_module` swaps the ``datetime``/``time`` modules a module imported for scaled copies; only
    ``time.time``, ``datetime.now`` and ``time.sleep`` change (a handler that sleeps until an instant of its
    clock, as the poll step does to read on Runway's ticks, sleeps scaled time); ``monotonic`` stays real.
    """

    def __init__(self, scale: float) -> None:
        self.scale = float(scale)
        self.epoch = time.time()
        self.datetime = self._datetime_module()
        self.time = types.SimpleNamespace(
            **{k: getattr(time, k) for k in dir(time) if not k.startswith("__")}
        )
        self.time.time = self.now
        self.time.sleep = lambda seconds: time.sleep(seconds * self.scale)

    def now(self) -> float:
        return self.epoch + (time.time() - self.epoch) / self.scale

    def _datetime_module(self) -> types.ModuleType:
        clock = self
        real = datetime.datetime

        class ScaledDateTime(datetime.datetime):
            @classmethod
            def now(cls, tz: datetime.tzinfo | None = None) -> datetime.datetime:  # type: ignore[override]
                return real.fromtimestamp(clock.now(), tz)

        ScaledDateTime.__name__ = ScaledDateTime.__qualname__ = "datetime"
        module = types.ModuleType("datetime", "datetime with a scaled clock (local.timescale)")
        module.__dict__.update({k: v for k, v in vars(datetime).items() if not k.startswith("__")})
        module.datetime = ScaledDateTime  # type: ignore[attr-defined]
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
