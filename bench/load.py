"""Load: concurrent jobs through the local stack, about one in ten with a fault injected (make load).

``python bench/load.py [--jobs 200] [--fault-every 10] [--time-scale 0.05] [--timeout 600] [--verbose]``

Every job is a POST /generations with its own Idempotency-Key (so its job id is known before it starts and a
fault can be aimed at it), sent one after the other: the jobs then run at the same time. Every
``--fault-every``-th job gets the next fault of ``FAULTS`` (the kinds of the fault suite, tests/faults):
Runway 429/5xx on creates, polls and downloads, broken and expired downloads, moderation, INTERNAL, THROTTLED
past the deadline, a stop, a cancel, S3/DynamoDB/EventBridge failures, a killed Lambda... Runway's faults on
a create match the job's prompt. Jobs may wait ``DeadlineSeconds`` = 900 simulated seconds.

Once every execution has ended and its asynchronous work (reconciler, notify) is over, prints: submitted,
succeeded, failed by reason, cancelled, Runway tasks created, duplicates (tasks beyond one per job and one
per INTERNAL failure), orphaned tasks (still PENDING/THROTTLED/RUNNING at Runway), lost outputs (a task
SUCCEEDED at Runway whose video is not whole in the bucket under a manifest), partial objects (objects under
outputs/ not whole under a manifest, and multipart uploads left open) and the wall time. Exits 1 unless the
last four are 0.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import sys
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT)]

from local.aws_faults import DYNAMODB_WRITES, AwsCall, AwsFaults  # noqa: E402
from local.runner import LocalPipeline  # noqa: E402
from tests.faults.driving import api, post_generation  # noqa: E402
from tests.faults.ending import live_tasks, status_change_watchers  # noqa: E402
from tests.support.entry_points import api_event  # noqa: E402
from videogen.intake.job_ids import derived_job_id  # noqa: E402

ENVIRONMENT = {"DEADLINE_SECONDS": "900", "POWERTOOLS_LOG_LEVEL": "CRITICAL"}
SUBMIT_STATES = ["Submit to Runway", "Create the Runway task"]
SUCCESS_STATES = ["Record the success", "Record and announce the video"]
CREATE = "/v1/text_to_video"
CALLER = api_event("POST", "/")["requestContext"]["identity"]["userArn"]


@dataclass
class Run:
    """What a fault can reach: the stack, the AWS fault hook, and the job's id."""

    pipeline: LocalPipeline
    aws: AwsFaults
    job_id: str
    prompt: str

    @property
    def sim(self) -> Any:
        return self.pipeline.simulator

    def task_id(self) -> str:
        return str((self.pipeline.job(self.job_id) or {})["task_id"])

    def on_task(self, state: str, action: Callable[[], None], times: int | None = 1) -> None:
        self.aws.on_task(state, lambda job_id: action(), job=self.job_id, times=times)

    def when_running(self, action: Callable[[], None]) -> None:
        """Run ``action`` on a thread of its own once the job's Runway task is RUNNING (never, if the task
        ends first). Watched from the simulator's own view: cheap enough to see a few seconds of RUNNING."""

        def watch() -> None:
            while True:
                task = next(
                    (t for t in self.sim.created_tasks() if t.body.get("promptText") == self.prompt), None
                )
                status = (self.sim.task(task.id) or {}).get("status") if task else None
                if status == "RUNNING":
                    action()
                    return
                if status not in (None, "PENDING", "THROTTLED"):
                    return
                time.sleep(0.02)

        threading.Thread(target=watch, daemon=True).start()


def _on_create(run: Run, kind: str, **params: Any) -> None:
    """A fault Runway applies to this job's creates (matched on its prompt)."""
    run.sim.inject(kind, method="POST", path=CREATE, body={"promptText": run.prompt}, **params)


def _task_error(run: Run, status: int) -> None:
    run.on_task(
        "Check the task",
        lambda: run.sim.inject(
            "http_error",
            times=2,
            method="GET",
            path=f"/v1/tasks/{run.task_id()}",
            status=status,
            retry_after=0.01,
        ),
    )


def _download(run: Run, kind: str, **params: Any) -> None:
    run.on_task(
        "Archive outputs to S3", lambda: run.sim.inject(kind, path=f"/_outputs/{run.task_id()}/*", **params)
    )


def _deadline_cancel_refused(run: Run) -> None:
    _on_create(run, "throttle", seconds=100_000)

    def refuse(job_id: str) -> None:
        task_id = (run.pipeline.job(job_id) or {})["task_id"]
        run.sim.inject("http_error", times=10, method="DELETE", path=f"/v1/tasks/{task_id}", status=503)

    run.aws.on_task("Cancel the Runway task", refuse)


def _history_limit(run: Run) -> None:
    def history_full() -> None:
        raise RuntimeError("the execution reached 25,000 history events")

    run.on_task("Check the task", history_full)


def _records_the_task_id(call: AwsCall) -> bool:
    """The write that sets the job's Runway task id (not one that only names it in a condition)."""
    return "#task_id = :task_id" in call.params.get("UpdateExpression", "")


FAULTS: list[tuple[str, Callable[[Run], None]]] = [
    ("429 storm on create", lambda r: _on_create(r, "rate_limit", times=3)),
    ("5xx on polls", lambda r: _task_error(r, 500)),
    ("5xx on download", lambda r: _download(r, "http_error", times=2, status=502)),
    ("reset mid-download", lambda r: _download(r, "reset_download")),
    ("truncated download", lambda r: _download(r, "truncate_download")),
    ("expired output URL", lambda r: _download(r, "expired_urls", ttl=0)),
    ("SAFETY.INPUT", lambda r: _on_create(r, "task_failure", code="SAFETY.INPUT.TEXT")),
    ("INTERNAL.BAD_OUTPUT", lambda r: _on_create(r, "task_failure", code="INTERNAL.BAD_OUTPUT.CODE01")),
    ("THROTTLED past the deadline", lambda r: _on_create(r, "throttle", seconds=100_000)),
    (
        "cancel while RUNNING",
        lambda r: r.when_running(lambda: one_api_call(api, r.pipeline, "DELETE", f"/generations/{r.job_id}")),
    ),
    (
        "StopExecution mid-generation",
        lambda r: r.when_running(
            lambda: r.pipeline.sfn.stop_execution(
                executionArn=r.pipeline.execution_arn(r.job_id), error="Operator"
            )
        ),
    ),
    ("S3 PutObject past retries", lambda r: r.aws.fail("s3", "PutObject", key_prefix=f"outputs/{r.job_id}/")),
    (
        "DynamoDB: submit's record",
        lambda r: r.aws.fail("dynamodb", DYNAMODB_WRITES, state=SUBMIT_STATES, job=r.job_id),
    ),
    (
        "DynamoDB: the poll step's progress",
        lambda r: r.aws.fail("dynamodb", DYNAMODB_WRITES, state="Check the task", job=r.job_id, times=2),
    ),
    (
        "recording the success fails for good",
        lambda r: r.aws.fail("dynamodb", DYNAMODB_WRITES, state=SUCCESS_STATES, job=r.job_id, times=None),
    ),
    (
        "submit killed after Runway accepted",
        lambda r: r.aws.kill(
            "dynamodb",
            "UpdateItem",
            state=SUBMIT_STATES,
            job=r.job_id,
            where=_records_the_task_id,
            after=True,
        ),
    ),
    ("DELETE refused past the deadline", _deadline_cancel_refused),
    ("EventBridge throttling", lambda r: r.aws.fail("eventbridge", "PutEvents", job=r.job_id, times=2)),
    ("execution failed at its history limit", _history_limit),
    (
        "5xx on create",
        lambda r: _on_create(r, "http_error", times=2, status=503),
    ),
    ("429 storm on polls", lambda r: _task_error(r, 429)),
    ("SAFETY.OUTPUT", lambda r: _on_create(r, "task_failure", code="SAFETY.OUTPUT.VIDEO")),
]


_api_lock = threading.Lock()


def one_api_call(call: Callable[..., Any], *args: Any) -> Any:
    """One API invocation at a time: concurrent invocations of one local function share its module, where the
    API's resolver keeps the request it serves (a Lambda container serves one request at a time)."""
    with _api_lock:
        return call(*args)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--fault-every", type=int, default=10, help="one job in N gets a fault (0: none)")
    parser.add_argument("--time-scale", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=600, help="real seconds to wait for every job")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def quiet(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.CRITICAL, stream=sys.stderr)
    if not verbose:
        warnings.filterwarnings("ignore")
        for name in ("moto", "botocore", "urllib3", "httpx", "local", "aws_lambda_powertools"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def settle(pipeline: LocalPipeline, job_ids: list[str], timeout: float) -> None:
    """Every execution ended, every status change delivered to its watcher, no asynchronous work running."""
    deadline = time.monotonic() + timeout
    for job_id in job_ids:
        pipeline.wait(job_id, timeout=max(1.0, deadline - time.monotonic()))
    watchers = status_change_watchers(pipeline)
    for logical_id, statuses in watchers.items():
        for job_id in job_ids:
            status = pipeline.sfn.describe_execution(executionArn=pipeline.execution_arn(job_id))["status"]
            while status in statuses and not any(
                (i.event.get("detail") or {}).get("name") == job_id
                for i in pipeline.async_invocations(logical_id)
            ):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{logical_id} never received the end of {job_id}")
                time.sleep(0.02)
    while running := [
        i for f in pipeline.stack_.functions for i in pipeline.async_invocations(f) if not i.done.is_set()
    ]:
        for invocation in running:
            invocation.wait(max(1.0, deadline - time.monotonic()))


def archive_problems(pipeline: LocalPipeline, job_id: str) -> tuple[bool, int]:
    """(is the archive whole under its manifest, how many objects under the job's prefix are not)."""
    keys = pipeline.archived_keys(job_id)
    manifest_key = f"{pipeline.output_prefix}{job_id}/job.json"
    manifest = pipeline.read_json(manifest_key) if manifest_key in keys else None
    if manifest is None:
        return False, len(keys)
    whole = 0
    for index, entry in enumerate(manifest.get("outputs", [])):
        if entry["key"] not in keys:
            continue
        body = pipeline.read_object(entry["key"])
        stored = (len(body), hashlib.sha256(body).hexdigest())
        served = pipeline.simulator.output_digest(str(manifest["task_id"]), index)
        whole += stored == (entry["bytes"], entry["sha256"]) == served
    listed = len(manifest.get("outputs", []))
    partial = len(keys) - 1 - whole
    return whole == listed > 0, partial


def report(
    pipeline: LocalPipeline, job_ids: list[str], prompts: dict[str, str], seconds: float, out: Any
) -> int:
    sim = pipeline.simulator
    records = {job_id: pipeline.job(job_id) or {} for job_id in job_ids}
    statuses = Counter(str(r.get("status")) for r in records.values())
    failed = Counter(
        f"{r.get('status')} {r.get('error_code') or '(no error)'}"
        for r in records.values()
        if r.get("status") not in ("SUCCEEDED", "CANCELLED")
    )
    tasks = sim.created_tasks()
    per_job: dict[str, list[Any]] = {}
    for task in tasks:
        per_job.setdefault(prompts.get(str(task.body.get("promptText")), "?"), []).append(task)
    duplicates = lost = 0
    for job_id, job_tasks in per_job.items():
        views = [sim.task(t.id) for t in job_tasks]
        internal = sum(1 for v in views if v and str(v.get("failureCode", "")).startswith("INTERNAL"))
        duplicates += max(0, len(job_tasks) - 1 - internal)
        paid = [t for t, v in zip(job_tasks, views, strict=True) if v is None or v["status"] == "SUCCEEDED"]
        if paid and job_id in records and not archive_problems(pipeline, job_id)[0]:
            lost += 1
    partial = sum(archive_problems(pipeline, job_id)[1] for job_id in job_ids)
    uploads = pipeline.s3.list_multipart_uploads(Bucket=pipeline.bucket, Prefix=pipeline.output_prefix)
    partial += len(uploads.get("Uploads", []))
    orphans = len(live_tasks(pipeline))
    lines = [
        f"submitted              {len(job_ids)}",
        f"succeeded              {statuses['SUCCEEDED']}",
        "failed by reason       " + (", ".join(f"{k}: {n}" for k, n in sorted(failed.items())) or "none"),
        f"cancelled              {statuses['CANCELLED']}",
        f"Runway tasks created   {len(tasks)}",
        f"duplicates             {duplicates}",
        f"orphaned tasks         {orphans}",
        f"lost outputs           {lost}",
        f"partial objects        {partial}",
        f"wall time              {seconds:.1f} s",
    ]
    print("\n".join(lines), file=out)
    return 1 if duplicates or orphans or lost or partial else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet(args.verbose)
    run_id = uuid.uuid4().hex[:8]
    keys = [f"load-{run_id}-{i}" for i in range(args.jobs)]
    job_ids = [derived_job_id("api", CALLER, key) for key in keys]
    prompts = {f"load job {i}: a paper boat drifting down a rainy street": j for i, j in enumerate(job_ids)}
    out = sys.stdout
    # Powertools prints its metrics (EMF) to stdout: the handlers' output goes to stderr, the figures to stdout.
    with (
        contextlib.redirect_stdout(sys.stderr),
        LocalPipeline(time_scale=args.time_scale, env_overrides=ENVIRONMENT) as pipeline,
        AwsFaults() as aws,
    ):
        faulted = [
            i for i in range(args.jobs) if args.fault_every and i % args.fault_every == args.fault_every // 2
        ]
        for n, i in enumerate(faulted):
            name, inject = FAULTS[n % len(FAULTS)]
            inject(Run(pipeline, aws, job_ids[i], list(prompts)[i]))
            print(f"fault: job {i:3d} {name}", file=sys.stderr)
        started = time.monotonic()

        for i, prompt in enumerate(prompts):
            request = {"model": "gen4.5", "prompt": prompt, "duration": 5}
            job_id = one_api_call(post_generation, pipeline, request, keys[i])
            if job_id != job_ids[i]:
                raise RuntimeError(f"job {i}: the API started {job_id}, not {job_ids[i]}")
        settle(pipeline, job_ids, args.timeout)
        return report(pipeline, job_ids, prompts, time.monotonic() - started, out)


if __name__ == "__main__":
    sys.exit(main())
