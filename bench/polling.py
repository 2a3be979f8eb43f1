"""Polling benchmark: the production poll step against the runwayml SDK's own schedule, a fixed 30 s Wait and
a function blocking on the SDK, on simulated Runway tasks (``python -m bench.polling [--quick]``).

The policy side runs the production code itself: ``videogen.pipeline.check.check_task`` (which calls
``videogen.pipeline.poll_schedule``) for every poll step, with a simulated Runway client, clock and sleep,
and the first wait from ``videogen.pipeline.submit.initial_state`` as the create step computes it. Nothing of
the policy is copied here; the baselines are written out below.

Simulated Runway (one model, stated so it can be checked):

- A task's status and progress change only on ticks every 5 s of its own clock, counted from its
  ``createdAt``; a read between ticks sees the last tick's state. SUCCEEDED appears on the first tick at or
  after the generation ends.
- The POST returns 0.3-1.2 s after ``createdAt`` (uniform); the task is PENDING 1-8 s, then RUNNING. The
  pipeline's clock differs from Runway's by a normal skew (sd 50 ms). A read reaches Runway 40-150 ms after
  it is sent and its answer comes back as long again (uniform), plus 50 ms of serving.
- Generation (RUNNING) time per model: the model is drawn from a mix of ten catalog models (weights below);
  each model's true median is its catalog prior (``TYPICAL_GENERATION_SECONDS``) times a fixed bias
  between 0.8 and 1.25 (the prior is an estimate); clip length 5 s or 10 s (10 s takes 1.6x as long);
  lognormal noise with sigma 0.25. So a job takes from about a third to three times its prior: a wide
  spread, on purpose.
- Scenarios: smooth progress (linear in RUNNING time, two decimals); coarse progress (0, .25, .5, .75);
  no progress reported; THROTTLED 0-10 min (uniform) before running (smooth progress); a 5 % long tail
  whose generation takes 10-30 min (uniform, smooth progress).

Step Functions: a Wait ends 50-300 ms late (the Wait's exit, the Task's entry and a warm invoke). The poll
step's time is what it sleeps and reads, plus 5 ms of handler and 20 ms for the progress write.

Lag: from the tick on which Runway marks the task SUCCEEDED to the moment the pipeline holds the answer
that says so. The physical limit is one read sent right at that tick: the way there and back, ~0.25 s.

Cost, list prices (us-east-1, stated here, not fetched): Step Functions Standard $0.025 per 1,000 state
transitions; Lambda $0.20 per 1M requests and $0.0000133334 per GB-s on arm64 (the template's
architecture; x86 would be $0.0000166667). Per job, only what differs between the designs: the policy's
poll loop (3 transitions per iteration: Wait, Check the task, Is the video ready?; one poll function
request per iteration at the template's PollFunction memory, billed per ms) against one Task state
(1 transition) running a function at the API function's memory that blocks on ``wait_for_task_output``
from the create's answer to the SDK's read that sees SUCCEEDED. The states before and after the loop are the
same in both designs and left out. Cold starts (billed init) are left out of both.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "shared"))
sys.path.insert(0, str(ROOT))

from runwayml.lib import polling as sdk_polling  # noqa: E402

from local.stack import load_template  # noqa: E402
from videogen.catalog.model_notes import TYPICAL_GENERATION_SECONDS  # noqa: E402
from videogen.core.settings import Settings  # noqa: E402
from videogen.pipeline.check import check_task  # noqa: E402
from videogen.pipeline.submit import initial_state  # noqa: E402
from videogen.pipeline.task_state import TaskState  # noqa: E402

TASKS_PER_SCENARIO = 20_000
QUICK_TASKS_PER_SCENARIO = 2_000
TICK = 5.0
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

PRICE_TRANSITION = 0.025 / 1000
PRICE_LAMBDA_REQUEST = 0.20 / 1_000_000
PRICE_GB_SECOND_ARM64 = 0.0000133334
POLICY_TRANSITIONS_PER_ITERATION = 3
BLOCKING_TRANSITIONS = 1

#: The SDK's wait_for_task_output: sleep POLL_TIME + random() * POLL_JITTER - POLL_JITTER / 2, then read.
SDK_POLL_TIME = float(sdk_polling.POLL_TIME)
SDK_POLL_JITTER = float(sdk_polling.POLL_JITTER)

MODEL_MIX = {
    "gen4.5": 30,
    "gen4_turbo": 15,
    "veo3.1": 10,
    "veo3.1_fast": 10,
    "aleph2": 8,
    "act_two": 5,
    "kling3.0_pro": 7,
    "seedance2": 5,
    "hailuo3": 5,
    "wan3": 5,
}
SCENARIOS = ("smooth progress", "coarse progress", "no progress", "throttled 0-10 min", "5% long tail")
#: Not a target: smooth progress with ticks at a phase the pipeline cannot know (uniform in 0-5 s), to show
#: what reading on the tick is worth, should Runway's ticks not count from createdAt.
SENSITIVITY = "smooth progress, tick phase unknown"


# --- Simulated Runway ------------------------------------------------------------------------------------


@dataclass
class Task:
    """One simulated task on Runway's clock (seconds from its createdAt)."""

    model: str
    queued: float  # PENDING or THROTTLED until then
    running: float  # seconds RUNNING
    progress: str  # "smooth" | "coarse" | "none"
    throttled: bool
    submit_answer: float  # when the create's answer reaches the pipeline
    skew: float  # pipeline clock minus Runway clock
    phase: float = 0.0  # ticks at phase + 5k (0: counted from createdAt, the model above)

    @property
    def finish(self) -> float:
        return self.queued + self.running

    @property
    def succeeded_tick(self) -> float:
        return self.phase + math.ceil((self.finish - self.phase) / TICK - 1e-9) * TICK

    def view(self, t: float) -> dict[str, Any]:
        """What a read reaching Runway at ``t`` sees."""
        tick = self.phase + math.floor((t - self.phase) / TICK + 1e-9) * TICK
        created = (EPOCH + dt.timedelta(seconds=self.skew)).isoformat().replace("+00:00", "Z")
        base: dict[str, Any] = {"id": "t", "createdAt": created}
        if tick >= self.succeeded_tick:
            return {**base, "status": "SUCCEEDED", "output": ["https://cdn/v.mp4"], "cost": {"credits": 60}}
        if tick < self.queued:
            return {**base, "status": "THROTTLED" if self.throttled else "PENDING"}
        fraction = min(0.99, (tick - self.queued) / self.running)
        if self.progress == "smooth":
            return {**base, "status": "RUNNING", "progress": round(fraction, 2)}
        if self.progress == "coarse":
            return {**base, "status": "RUNNING", "progress": math.floor(fraction * 4) / 4}
        return {**base, "status": "RUNNING"}


def model_biases() -> dict[str, float]:
    rng = random.Random(1313)
    return {model: rng.uniform(0.8, 1.25) for model in MODEL_MIX}


def make_tasks(scenario: str, n: int, seed: int) -> list[Task]:
    rng = random.Random(f"{scenario}/{seed}")
    bias = model_biases()
    models, weights = list(MODEL_MIX), list(MODEL_MIX.values())
    tasks = []
    for _ in range(n):
        model = rng.choices(models, weights)[0]
        running = TYPICAL_GENERATION_SECONDS[model] * bias[model] * rng.choice((1.0, 1.6))
        running *= rng.lognormvariate(0.0, 0.25)
        if scenario == "5% long tail" and rng.random() < 0.05:
            running = rng.uniform(600, 1800)
        throttled = scenario == "throttled 0-10 min"
        queued = rng.uniform(1, 8) + (rng.uniform(0, 600) if throttled else 0.0)
        progress = {"coarse progress": "coarse", "no progress": "none"}.get(scenario, "smooth")
        phase = rng.uniform(0, TICK) if scenario == SENSITIVITY else 0.0
        answer, skew = rng.uniform(0.3, 1.2), rng.gauss(0.0, 0.05)
        tasks.append(Task(model, queued, running, progress, throttled, answer, skew, phase))
    return tasks


class Network:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def one_way(self) -> float:
        return self.rng.uniform(0.04, 0.15)


SERVING = 0.05


# --- The pipeline's side, in simulated time --------------------------------------------------------------


@dataclass
class SimTime:
    """The pipeline's clock (Runway time + skew) for the production code: now(), sleep()."""

    t: float  # Runway time
    skew: float

    def now(self) -> dt.datetime:
        return EPOCH + dt.timedelta(seconds=self.t + self.skew)

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


@dataclass
class Reader:
    """The Runway client the production poll step calls: each retrieve advances the simulated time."""

    task: Task
    time: SimTime
    net: Network
    reads: int = 0
    seen_success_at: float | None = None

    def for_repeatable(self) -> Reader:
        return self

    @property
    def tasks(self) -> Reader:
        return self

    def retrieve(self, _task_id: str) -> dict[str, Any]:
        self.reads += 1
        self.time.t += self.net.one_way()
        answer = self.task.view(self.time.t)
        self.time.t += SERVING + self.net.one_way()
        if answer["status"] == "SUCCEEDED" and self.seen_success_at is None:
            self.seen_success_at = self.time.t
        return answer


class NoStore:
    def update(self, job_id: str, fields: Any, **kwargs: Any) -> dict[str, Any]:
        return {}


@dataclass
class Outcome:
    lag: float
    iterations: int
    reads: int
    cost: float
    lambda_seconds: float = 0.0


@dataclass
class Pricing:
    poll_memory_gb: float
    api_memory_gb: float

    def invocation(self, seconds: float, memory_gb: float) -> float:
        billed = math.ceil(seconds * 1000) / 1000
        return PRICE_LAMBDA_REQUEST + billed * memory_gb * PRICE_GB_SECOND_ARM64


def run_policy(
    task: Task, settings: Settings, pricing: Pricing, rng: random.Random, timeout: float
) -> Outcome:
    time = SimTime(task.submit_answer, task.skew)
    net = Network(rng)
    reader = Reader(task, time, net)
    state: TaskState = initial_state(
        task_id="t",
        endpoint="text_to_video",
        model=task.model,
        estimated_credits=60,
        submitted_at=time.now(),
        deadline_at=time.now() + dt.timedelta(seconds=settings.deadline_seconds),
        settings=settings,
        now=time.now(),
    )
    iterations, cost, lambda_seconds = 0, 0.0, 0.0
    store = NoStore()
    while reader.seen_success_at is None:
        time.t += state.next_wait_seconds + rng.uniform(0.05, 0.3)
        iterations += 1
        started = time.t

        def left(started: float = started) -> float:
            return timeout - (time.t - started)

        runway: Any = reader  # the RunwayClients the step is given, simulated
        state = check_task(
            "job",
            state,
            runway=runway,
            settings=settings,
            clock=time,
            jobs=store,
            time_left=left,
            sleep=time.sleep,
        )
        time.t += 0.005 + (0.02 if state.status != "SUCCEEDED" else 0.0)
        seconds = time.t - started
        lambda_seconds += seconds
        cost += POLICY_TRANSITIONS_PER_ITERATION * PRICE_TRANSITION
        cost += pricing.invocation(seconds, pricing.poll_memory_gb)
    return Outcome(
        reader.seen_success_at - task.succeeded_tick, iterations, reader.reads, cost, lambda_seconds
    )


def sdk_schedule(task: Task, rng: random.Random) -> tuple[float, int, float]:
    """wait_for_task_output from the create's answer: (lag, reads, seconds blocked)."""
    net = Network(rng)
    t = task.submit_answer
    reads = 0
    while True:
        t += SDK_POLL_TIME + rng.random() * SDK_POLL_JITTER - SDK_POLL_JITTER / 2
        reads += 1
        t += net.one_way()
        status = task.view(t)["status"]
        t += SERVING + net.one_way()
        if status == "SUCCEEDED":
            return t - task.succeeded_tick, reads, t - task.submit_answer


def run_sdk(task: Task, pricing: Pricing, rng: random.Random) -> tuple[Outcome, Outcome]:
    """The SDK's schedule, and what a function blocking on it at the API function's memory costs."""
    lag, reads, blocked = sdk_schedule(task, rng)
    sdk = Outcome(lag, reads, reads, math.nan)
    blocking_cost = BLOCKING_TRANSITIONS * PRICE_TRANSITION + pricing.invocation(
        blocked, pricing.api_memory_gb
    )
    # A generation longer than Lambda's 15 minutes needs a re-invocation per 15 minutes: one request each.
    blocking_cost += max(0, math.ceil(blocked / 900) - 1) * PRICE_LAMBDA_REQUEST
    return sdk, Outcome(lag, 1, reads, blocking_cost, blocked)


def run_fixed(task: Task, pricing: Pricing, rng: random.Random, wait: float = 30.0) -> Outcome:
    """A fixed Wait between single reads, in the same three-transition loop."""
    net = Network(rng)
    t = task.submit_answer
    iterations, cost = 0, 0.0
    while True:
        t += wait + rng.uniform(0.05, 0.3)
        iterations += 1
        started = t
        t += net.one_way()
        status = task.view(t)["status"]
        t += SERVING + net.one_way() + 0.025
        cost += POLICY_TRANSITIONS_PER_ITERATION * PRICE_TRANSITION
        cost += pricing.invocation(t - started, pricing.poll_memory_gb)
        if status == "SUCCEEDED":
            return Outcome(t - 0.025 - task.succeeded_tick, iterations, iterations, cost, 0.0)


# --- Aggregation -----------------------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def summary(outcomes: list[Outcome], *, with_lag: bool = True) -> dict[str, float]:
    result: dict[str, float] = {}
    if with_lag:
        lags = [o.lag for o in outcomes]
        result |= {"mean_lag_s": statistics.fmean(lags), "p95_lag_s": p95(lags)}
        result["iterations_per_job"] = statistics.fmean(o.iterations for o in outcomes)
        result["runway_reads_per_job"] = statistics.fmean(o.reads for o in outcomes)
    costs = [o.cost for o in outcomes]
    if not any(math.isnan(c) for c in costs):
        result["cost_per_1000_usd"] = 1000 * statistics.fmean(costs)
    lambda_seconds = statistics.fmean(o.lambda_seconds for o in outcomes)
    if lambda_seconds:
        result["function_seconds_per_job"] = lambda_seconds
    return {k: round(v, 4) for k, v in result.items()}


@dataclass
class Setup:
    settings: Settings
    pricing: Pricing
    poll_timeout: float
    template_memory: dict[str, int] = field(default_factory=dict)


def setup() -> Setup:
    template = load_template()
    globals_memory = int(template["Globals"]["Function"].get("MemorySize", 128))
    resources = template["Resources"]

    def memory(name: str) -> int:
        return int(resources[name]["Properties"].get("MemorySize", globals_memory))

    poll_timeout = float(resources["PollFunction"]["Properties"]["Timeout"])
    pricing = Pricing(memory("PollFunction") / 1024, memory("ApiFunction") / 1024)
    defaults = {
        "poll_min_wait_seconds": int(template["Parameters"]["PollMinWaitSeconds"]["Default"]),
        "poll_max_wait_seconds": int(template["Parameters"]["PollMaxWaitSeconds"]["Default"]),
        "deadline_seconds": int(template["Parameters"]["DeadlineSeconds"]["Default"]),
    }
    return Setup(
        Settings(**defaults),  # type: ignore[arg-type]
        pricing,
        poll_timeout,
        {"PollFunction": memory("PollFunction"), "ApiFunction": memory("ApiFunction")},
    )


def scenario_results(scenario: str, n: int, env: Setup) -> dict[str, Any]:
    tasks = make_tasks(scenario, n, seed=13)
    policy, sdk, blocking, fixed = [], [], [], []
    for i, task in enumerate(tasks):
        # Interleaved, each with its own random stream: the same task through every design in turn.
        policy.append(run_policy(task, env.settings, env.pricing, random.Random(4 * i), env.poll_timeout))
        s, b = run_sdk(task, env.pricing, random.Random(4 * i + 1))
        sdk.append(s)
        blocking.append(b)
        fixed.append(run_fixed(task, env.pricing, random.Random(4 * i + 2)))
    limit = 2 * 0.095 + SERVING  # one read sent at the SUCCEEDED tick: the mean way there and back
    section: dict[str, Any] = {
        "policy": summary(policy),
        "sdk": summary(sdk),
        "fixed_30s": summary(fixed),
        "blocking_lambda": summary(blocking, with_lag=False),
        "physical_limit": {"mean_lag_s": round(limit, 4), "iterations_per_job": 1, "runway_reads_per_job": 1},
        "mean_generation_s": round(statistics.fmean(t.finish for t in tasks), 1),
    }
    pol, base = section["policy"], section["sdk"]
    section["iterations_ratio_vs_sdk"] = round(pol["iterations_per_job"] / base["runway_reads_per_job"], 4)
    section["mean_lag_ratio_vs_sdk"] = round(pol["mean_lag_s"] / base["mean_lag_s"], 4)
    section["p95_lag_ratio_vs_sdk"] = round(pol["p95_lag_s"] / base["p95_lag_s"], 4)
    section["cost_ratio_vs_blocking_lambda"] = round(
        pol["cost_per_1000_usd"] / section["blocking_lambda"]["cost_per_1000_usd"], 4
    )
    return section


TARGETS = {
    "mean_lag_ratio_vs_sdk": 0.6,
    "p95_lag_ratio_vs_sdk": 1.0,
    "iterations_ratio_vs_sdk": 0.3,
    "cost_ratio_vs_blocking_lambda": 0.8,
}


def measure(quick: bool = False) -> dict[str, Any]:
    """Every scenario, ``TASKS_PER_SCENARIO`` tasks each (a tenth with ``quick``), and bench/polling.png."""
    env = setup()
    n = QUICK_TASKS_PER_SCENARIO if quick else TASKS_PER_SCENARIO
    results: dict[str, Any] = {scenario: scenario_results(scenario, n, env) for scenario in SCENARIOS}
    results["_sensitivity"] = {SENSITIVITY: scenario_results(SENSITIVITY, n // 4, env)}
    results["_setup"] = {
        "tasks_per_scenario": n,
        "memory_mb": env.template_memory,
        "poll_timeout_s": env.poll_timeout,
        "prices_usd": {
            "step_functions_standard_per_transition": PRICE_TRANSITION,
            "lambda_per_request": PRICE_LAMBDA_REQUEST,
            "lambda_per_gb_second_arm64": PRICE_GB_SECOND_ARM64,
        },
        "targets": TARGETS,
    }
    write_plot(results, ROOT / "bench" / "polling.png")
    return results


def meets_targets(section: dict[str, Any]) -> bool:
    return all(section[key] <= limit for key, limit in TARGETS.items())


def markdown(section: dict[str, Any]) -> str:
    """The polling table: per scenario the policy's figures and its ratios to the baselines."""
    lines = [
        "| scenario | iterations/job (SDK polls) | ratio | mean lag s (SDK) | ratio | p95 lag s (SDK) | ratio "
        "| reads/job | fixed 30 s mean / p95 lag s | cost per 1,000 $ (blocking) | ratio | targets |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario in SCENARIOS:
        s = section[scenario]
        pol, sdk, fixed, blocking = s["policy"], s["sdk"], s["fixed_30s"], s["blocking_lambda"]
        lines.append(
            f"| {scenario} | {pol['iterations_per_job']:.2f} ({sdk['runway_reads_per_job']:.1f}) "
            f"| {s['iterations_ratio_vs_sdk']:.2f}x | {pol['mean_lag_s']:.2f} ({sdk['mean_lag_s']:.2f}) "
            f"| {s['mean_lag_ratio_vs_sdk']:.2f}x | {pol['p95_lag_s']:.2f} ({sdk['p95_lag_s']:.2f}) "
            f"| {s['p95_lag_ratio_vs_sdk']:.2f}x | {pol['runway_reads_per_job']:.1f} "
            f"| {fixed['mean_lag_s']:.1f} / {fixed['p95_lag_s']:.1f} "
            f"| {pol['cost_per_1000_usd']:.3f} ({blocking['cost_per_1000_usd']:.3f}) "
            f"| {s['cost_ratio_vs_blocking_lambda']:.2f}x | {'met' if meets_targets(s) else 'MISSED'} |"
        )
    lines.append("")
    lines.append("Distance to the physical limit (one read sent at the SUCCEEDED tick, lag "
                 f"{section[SCENARIOS[0]]['physical_limit']['mean_lag_s']:.2f} s, one iteration):")  # fmt: skip
    lines.append("")
    lines.append("| scenario | mean lag over the limit s | p95 lag over the limit s | iterations over one |")
    lines.append("|---|---|---|---|")
    for scenario in SCENARIOS:
        s = section[scenario]
        limit = s["physical_limit"]["mean_lag_s"]
        pol = s["policy"]
        lines.append(
            f"| {scenario} | +{pol['mean_lag_s'] - limit:.2f} | +{pol['p95_lag_s'] - limit:.2f} "
            f"| +{pol['iterations_per_job'] - 1:.2f} |"
        )
    for name, s in section.get("_sensitivity", {}).items():
        pol, sdk = s["policy"], s["sdk"]
        lines.append("")
        lines.append(
            f"Not a target, {name}: mean lag {pol['mean_lag_s']:.2f} s ({s['mean_lag_ratio_vs_sdk']:.2f}x the "
            f"SDK's {sdk['mean_lag_s']:.2f}), p95 {pol['p95_lag_s']:.2f} s ({s['p95_lag_ratio_vs_sdk']:.2f}x), "
            f"iterations {s['iterations_ratio_vs_sdk']:.2f}x, cost {s['cost_ratio_vs_blocking_lambda']:.2f}x."
        )
    setup_info = section.get("_setup", {})
    if setup_info:
        lines.append("")
        lines.append(
            f"{setup_info['tasks_per_scenario']:,} simulated tasks per scenario; poll function "
            f"{setup_info['memory_mb']['PollFunction']} MB, API function {setup_info['memory_mb']['ApiFunction']} MB"
            " (arm64); Step Functions Standard $0.025 per 1,000 transitions, Lambda $0.20 per 1M requests and "
            "$0.0000133334 per GB-s."
        )
    return "\n".join(lines) + "\n"


# --- The plot --------------------------------------------------------------------------------------------


def write_plot(results: dict[str, Any], path: Path) -> None:
    """Mean lag against loop iterations per job, one point per design and scenario (matplotlib, log x)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    markers = dict(zip(SCENARIOS, ("o", "s", "^", "D", "v"), strict=True))
    colors = {"policy": "tab:green", "sdk": "tab:red", "fixed_30s": "tab:blue"}
    labels = {
        "policy": "poll step (this project)",
        "sdk": "SDK wait_for_task_output",
        "fixed_30s": "fixed 30 s Wait",
    }
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for scenario in SCENARIOS:
        for design, color in colors.items():
            row = results[scenario][design]
            x = row["iterations_per_job"] if design != "sdk" else row["runway_reads_per_job"]
            ax.scatter(x, row["mean_lag_s"], color=color, marker=markers[scenario], s=60, edgecolors="black")
    for design, color in colors.items():
        ax.scatter([], [], color=color, marker="o", label=labels[design])
    for scenario, marker in markers.items():
        ax.scatter([], [], color="white", edgecolors="black", marker=marker, label=scenario)
    ax.set_xscale("log")
    ax.set_xlabel("loop iterations per job (SDK: polls per job), log scale")
    ax.set_ylabel("mean lag after Runway marks SUCCEEDED (s)")
    ax.set_title("Polling: lag against iterations per job (simulated, 5 s status ticks)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_TASKS_PER_SCENARIO:,} tasks per scenario"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = measure(quick=args.quick)
    sys.stdout.write(markdown(results))
    if args.json:
        args.json.write_text(json.dumps({"polling": results}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
