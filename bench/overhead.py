"""Overhead benchmark: from Runway finishing a task to the manifest in S3 and the ending event, per job.

Jobs run through the local runner (``local.runner.LocalPipeline``: moto, the template's state machine and
handlers, the Runway simulator) at its default time scale. Per job:

- Runway finishes: the simulator's task turns SUCCEEDED at ``start + run`` (``local.simulator.engine.Task``);
- detected: the first read of the task that answered SUCCEEDED (the poll step's GET; timed on the simulator);
- done: the Finish function returned, i.e. the manifest ``<prefix><job>/job.json`` is in S3 (the Archive
  step wrote it) and the ending event is on the bus (checked for every job).

``overhead`` = done - finished, split into ``detection`` (finished -> detected: the poll schedule's wait, in
compressed time) and ``archive_and_finish`` (detected -> done: the poll's return, the state machine's
transitions, the Archive step, the Finish step; real compute, not compressed). ``detection_simulated_s``
divides the detection lag by the time scale: the lag a deployed stack would see.
"""

from __future__ import annotations

import functools
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT)]

from local.runner import LocalPipeline  # noqa: E402

REQUEST = {"model": "gen4.5", "prompt": "A paper boat drifting down a rainy street", "duration": 5}
CONCURRENCY = 4
TIMEOUT_S = 120.0
#: The handlers log at WARNING here, so the figures are not interleaved with every job's INFO lines.
QUIET = {"POWERTOOLS_LOG_LEVEL": "WARNING"}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered) + 0.5) - 1))]


def _stats(values: list[float]) -> dict[str, float]:
    return {"mean": round(statistics.fmean(values), 4), "p95": round(_p95(values), 4)}


class _Timings:
    """Timestamps (``time.time``, the simulator's clock) the wrapped simulator and handlers record."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first_success_read: dict[str, float] = {}  # task id -> when a read first answered SUCCEEDED
        self.returned: dict[tuple[str, str], float] = {}  # (function, job id) -> when its handler returned
        self.entered: dict[tuple[str, str], float] = {}

    def watch_reads(self, engine: Any) -> None:
        original = engine.task_json

        @functools.wraps(original)
        def task_json(task: Any, output_urls: list[str] | None = None) -> dict[str, Any]:
            data: dict[str, Any] = original(task, output_urls)
            if data.get("status") == "SUCCEEDED":
                with self.lock:
                    self.first_success_read.setdefault(task.id, time.time())
            return data

        engine.task_json = task_json

    def watch_handler(self, name: str, function: Any) -> None:
        original: Callable[[Any, Any], Any] = function.handler

        @functools.wraps(original)
        def handler(event: Any, context: Any) -> Any:
            job_id = str(event.get("job_id", "")) if isinstance(event, dict) else ""
            with self.lock:
                self.entered.setdefault((name, job_id), time.time())
            result = original(event, context)
            with self.lock:
                self.returned[(name, job_id)] = time.time()
            return result

        function.handler = handler


def measure(quick: bool = False) -> dict[str, Any]:
    """``{"mean", "p95"}`` seconds of overhead per job, with its split and the per-job figures."""
    jobs = 6 if quick else 20
    timings = _Timings()
    with LocalPipeline(env_overrides=QUIET) as pipeline:
        assert pipeline.simulator is not None
        timings.watch_reads(pipeline.simulator.engine)
        for name in ("ArchiveFunction", "FinishFunction"):
            timings.watch_handler(name, pipeline.function(name))
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            results = list(pool.map(lambda _: pipeline.run(REQUEST, timeout=TIMEOUT_S), range(jobs)))
        ended = {e.get("detail", {}).get("job_id") for e in pipeline.events()}
        engine = pipeline.simulator.engine
        rows = []
        for result in results:
            if not result.succeeded or result.manifest is None or result.job_id not in ended:
                raise RuntimeError(f"job {result.job_id} did not end with a manifest and an event: {result}")
            task_id = (result.record or {}).get("task_id")
            task = engine.tasks[task_id]
            finished = task.start + task.run
            detected = timings.first_success_read[task_id]
            done = timings.returned[("FinishFunction", result.job_id)]
            archive_in = timings.entered[("ArchiveFunction", result.job_id)]
            archive_out = timings.returned[("ArchiveFunction", result.job_id)]
            rows.append(
                {
                    "job_id": result.job_id,
                    "overhead_s": done - finished,
                    "detection_s": detected - finished,
                    "archive_and_finish_s": done - detected,
                    "to_archive_s": archive_in - detected,
                    "archive_s": archive_out - archive_in,
                    "archive_to_done_s": done - archive_out,
                }
            )
        scale = pipeline.time_scale
    section: dict[str, Any] = _stats([r["overhead_s"] for r in rows])
    section.update(
        {
            "jobs": jobs,
            "concurrency": CONCURRENCY,
            "time_scale": scale,
            "detection_s": _stats([r["detection_s"] for r in rows]),
            "detection_simulated_s": _stats([r["detection_s"] / scale for r in rows]),
            "archive_and_finish_s": _stats([r["archive_and_finish_s"] for r in rows]),
            "to_archive_s": _stats([r["to_archive_s"] for r in rows]),
            "archive_s": _stats([r["archive_s"] for r in rows]),
            "archive_to_done_s": _stats([r["archive_to_done_s"] for r in rows]),
            "per_job": [
                {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in rows
            ],
        }
    )
    return section


def markdown(section: dict[str, Any]) -> str:
    def row(label: str, stats: dict[str, float]) -> str:
        return f"| {label} | {stats['mean']:.3f} | {stats['p95']:.3f} |"

    return "\n".join(
        [
            f"Runway SUCCEEDED -> manifest in S3 and ending event, per job ({section['jobs']} jobs, "
            f"{section['concurrency']} at a time, local runner at time scale {section['time_scale']:g}; "
            "seconds of wall time).",
            "",
            "| part | mean (s) | p95 (s) |",
            "|---|---|---|",
            row("overhead (SUCCEEDED -> done)", section),
            row("detection (SUCCEEDED -> first read seeing it)", section["detection_s"]),
            row("  same, in deployed seconds (/ time scale)", section["detection_simulated_s"]),
            row("archive and finish (read -> done)", section["archive_and_finish_s"]),
            row("  read -> Archive step starts", section["to_archive_s"]),
            row("  Archive step", section["archive_s"]),
            row("  Archive returns -> Finish returns", section["archive_to_done_s"]),
        ]
    )


if __name__ == "__main__":
    result = measure(quick="--quick" in sys.argv)
    sys.stdout.write(markdown(result) + "\n")
    sys.stdout.write(json.dumps({k: v for k, v in result.items() if k != "per_job"}, indent=2) + "\n")
