"""Poll policy benchmark: the adaptive, progress-aware policy against fixed-interval polling.

Simulates generations of several lengths (queueing, then RUNNING with progress that grows with light noise) and
replays each poll policy against them without sleeping. Reports, per policy, how many polls a job costs (each
is one Lambda invocation and three state transitions) and how long a finished video waits before a poll notices
it. Ratios are against the fixed 10 s baseline measured in the same run.
"""

from __future__ import annotations

import random
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers" / "shared"))

from videogen.pipeline.poll_schedule import PollObservation, next_wait_seconds

MIN_WAIT, MAX_WAIT = 10, 60


@dataclass
class Job:
    queued: float  # seconds PENDING
    running: float  # seconds RUNNING

    def observe(self, t: float, rng: random.Random) -> tuple[str, float | None]:
        if t < self.queued:
            return "PENDING", None
        if t < self.queued + self.running:
            p = (t - self.queued) / self.running
            return "RUNNING", min(0.99, max(0.0, p + rng.uniform(-0.03, 0.03)))
        return "SUCCEEDED", 1.0


Policy = Callable[[PollObservation], int]


def adaptive(obs: PollObservation) -> int:
    return next_wait_seconds(obs, min_wait=MIN_WAIT, max_wait=MAX_WAIT)


def fixed(seconds: int) -> Policy:
    return lambda _obs: seconds


def replay(job: Job, policy: Policy, rng: random.Random) -> tuple[int, float]:
    t, polls = float(MIN_WAIT), 0
    prev_progress: float | None = None
    prev_t: float | None = None
    while True:
        polls += 1
        status, progress = job.observe(t, rng)
        if status == "SUCCEEDED":
            return polls, t - (job.queued + job.running)
        obs = PollObservation(
            status=status,
            progress=progress,
            seconds_since_submit=t,
            previous_progress=prev_progress,
            seconds_since_previous_check=None if prev_t is None else t - prev_t,
            seconds_to_deadline=3600 - t,
        )
        prev_progress, prev_t = progress, t
        t += policy(obs)


def main() -> None:
    rng = random.Random(7)
    jobs = [Job(queued=rng.uniform(2, 40), running=rng.lognormvariate(4.4, 0.5)) for _ in range(400)]
    policies: dict[str, Policy] = {
        "fixed 10 s (baseline)": fixed(10),
        "fixed 6 s (SDK's wait_for_task_output)": fixed(6),
        "fixed 30 s": fixed(30),
        "adaptive (poll_schedule)": adaptive,
    }
    results = {}
    for name, policy in policies.items():
        runs = [replay(job, policy, random.Random(i)) for i, job in enumerate(jobs)]
        polls = [r[0] for r in runs]
        lag = [r[1] for r in runs]
        results[name] = (statistics.mean(polls), statistics.mean(lag), sorted(lag)[int(0.95 * len(lag))])
    base_polls, base_lag, _ = results["fixed 10 s (baseline)"]
    generation = statistics.mean(j.queued + j.running for j in jobs)
    sys.stdout.write(f"poll policy: {len(jobs)} simulated jobs, mean generation {generation:.0f} s\n")
    sys.stdout.write(
        f"{'policy':42} {'polls/job':>9} {'x base':>7} {'lag s':>7} {'p95 lag':>8} {'x base':>7}\n"
    )
    for name, (polls, lag, p95) in results.items():
        sys.stdout.write(
            f"{name:42} {polls:9.1f} {polls / base_polls:7.2f} {lag:7.1f} {p95:8.1f} {lag / base_lag:7.2f}\n"
        )


if __name__ == "__main__":
    main()
