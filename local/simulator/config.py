"""Settings of a simulator instance."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

RUNWAY_VERSION = "2024-11-06"
# outputFormat surcharges, from the SDK's outputFormat docstrings: 5 credits/s for prores and png_sequence, 20
# for every 10-bit and deeper profile (the other formats; seedance2_5's mov states none).
_SURCHARGE_5 = ("prores", "png_sequence")


class ManualClock:
    """A clock that moves only when told to: ``SimulatorConfig(clock=clock)``, then ``clock.advance(s)``."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


@dataclass(frozen=True)
class ModelProfile:
    """How long a model takes, in simulated seconds (multiplied by ``SimulatorConfig.time_scale``).

    The run time is log-normal: ``median_s * exp(N(0, sigma))``, scaled by ``duration / 5`` when the request
    names a numeric duration, and clipped to ``[min_s, max_s]``. ``credits_per_second`` is the model's price.
    """

    median_s: float = 60.0
    sigma: float = 0.25
    min_s: float = 5.0
    max_s: float = 900.0
    pending_s: tuple[float, float] = (1.0, 4.0)
    credits_per_second: float = 10.0


# Credits per second are plausible prices of the simulator's own: the SDK states none (10 for other models).
DEFAULT_PROFILES: dict[str, ModelProfile] = {
    "gen4.5": ModelProfile(median_s=90, credits_per_second=12),
    "gen4_turbo": ModelProfile(median_s=30, credits_per_second=5),
    "veo3.1": ModelProfile(median_s=75, credits_per_second=40),
    "veo3.1_fast": ModelProfile(median_s=40, credits_per_second=15),
    "aleph2": ModelProfile(median_s=120, credits_per_second=15),
    "act_two": ModelProfile(median_s=50, credits_per_second=5),
}


@dataclass
class SimulatorConfig:
    """Everything is optional; the defaults behave like a healthy Runway account.

    - ``time_scale``: real seconds per simulated second for task timing (0.01 makes a 90 s generation 0.9 s).
    - ``seed``: seeds task ids, timings and picture content, so a run is reproducible.
    - ``api_key``: accepted Bearer key. The simulator process's ``RUNWAYML_API_SECRET`` is accepted too when
      set; when neither is set, any non-empty key is accepted.
    - ``credit_balance``: the organization's starting balance; every task is charged against it.
    - ``profiles``: per-model timing and price (``default_profile`` for the rest).
    - ``output_url_ttl_s``: lifetime of output URLs in real seconds (of ``clock``).
    - ``clock``: wall clock in seconds (``time.time``); tests may pass a fake one to step time by hand.
    """

    host: str = "127.0.0.1"
    port: int = 0
    time_scale: float = 1.0
    seed: int = 0
    api_key: str | None = None
    credit_balance: int = 100_000
    profiles: dict[str, ModelProfile] = field(default_factory=lambda: dict(DEFAULT_PROFILES))
    default_profile: ModelProfile = field(default_factory=ModelProfile)
    output_url_ttl_s: float = 36 * 3600
    clock: Callable[[], float] = time.time

    def profile(self, model: str) -> ModelProfile:
        return self.profiles.get(model, self.default_profile)

    def estimate(self, body: dict[str, Any]) -> float:
        """``estimatedCost.credits`` of a create body: (price + outputFormat surcharge) x duration (5 s unless
        the body names a number of seconds)."""
        duration, output_format = body.get("duration"), body.get("outputFormat")
        seconds = duration if isinstance(duration, int | float) and not isinstance(duration, bool) else 5
        surcharge = 0 if output_format in (None, "mp4", "mov") else 5 if output_format in _SURCHARGE_5 else 20
        return float((self.profile(str(body.get("model"))).credits_per_second + surcharge) * seconds)
