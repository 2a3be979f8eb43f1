"""The one check every fault scenario ends with: how the job ended, seen through the whole local pipeline.

:func:`assert_ending` waits for the execution to end and for every asynchronous invocation it caused
(notify, a reconciler...) to finish, then compares each promise of issue 9 with what the stack holds: the job
record, the execution, the Runway simulator's own bookkeeping, the bucket and the bus. Every mismatch is
reported at once, so a failing scenario says everything that went wrong.
"""

from __future__ import annotations

import functools
import hashlib
import time
from dataclasses import dataclass
from typing import Any

from local.runner import JobResult, LocalPipeline
from tests.faults.driving import until

TIMEOUT = 60.0
#: Runway is still working on (and may still bill for) a task in one of these.
LIVE_TASK_STATUSES = frozenset({"PENDING", "THROTTLED", "RUNNING"})
DETAIL_TYPES = {
    "SUCCEEDED": "Video Generation Succeeded",
    "FAILED": "Video Generation Failed",
    "CANCELLED": "Video Generation Cancelled",
    "TIMED_OUT": "Video Generation Timed Out",
}


@dataclass(frozen=True)
class Ending:
    """How a scenario must end."""

    status: str  # the job record's status
    error: str | None  # its error_code (None: no error)
    execution: str  # the Step Functions execution's status
    tasks: int = 1  # Runway tasks created: 1, 0 when refused, one more per INTERNAL retry
    outputs: int = 1  # outputs archived under outputs/<job>/ (only when SUCCEEDED)


SUCCEEDED = Ending("SUCCEEDED", None, "SUCCEEDED")


@dataclass
class Settled:
    """What the stack held once the job had ended (for a scenario's own extra checks)."""

    job: JobResult
    record: dict[str, Any]
    execution: dict[str, Any]
    tasks: list[Any]
    events: list[dict[str, Any]]


def settle(pipeline: LocalPipeline, job_id: str, timeout: float = TIMEOUT) -> None:
    """Wait until the job's ending is final: every execution of the job ended, the status changes the template
    routes to a function (the reconciler's rule) delivered, and no asynchronous invocation still running
    (those started while waiting included)."""
    deadline = time.monotonic() + timeout
    sfn = pipeline.sfn
    watchers = status_change_watchers(pipeline)
    while True:
        executions = executions_of(sfn, pipeline, job_id)
        for execution in executions:
            if execution["status"] == "RUNNING":
                pipeline.wait(execution["name"], timeout=max(0.1, deadline - time.monotonic()))
        executions = executions_of(sfn, pipeline, job_id)
        for logical_id, statuses in watchers.items():
            for name in [e["name"] for e in executions if e["status"] in statuses]:
                until(
                    functools.partial(_status_change_delivered, pipeline, logical_id, name),
                    f"{logical_id} to receive the end of {name}",
                    max(0.1, deadline - time.monotonic()),
                )
        running = [
            invocation
            for logical_id in pipeline.stack_.functions
            for invocation in pipeline.async_invocations(logical_id)
            if not invocation.done.is_set()
        ]
        for invocation in running:
            invocation.wait(max(0.0, deadline - time.monotonic()))
        if not running and all(e["status"] != "RUNNING" for e in executions_of(sfn, pipeline, job_id)):
            return


def status_change_watchers(pipeline: LocalPipeline) -> dict[str, set[str]]:
    """The functions an EventBridge rule of the template sends this machine's execution status changes to,
    with the statuses it sends."""
    watchers: dict[str, set[str]] = {}
    for logical_id, spec in pipeline.stack_.sam["Resources"].items():
        for event in spec.get("Properties", {}).get("Events", {}).values():
            pattern = event.get("Properties", {}).get("Pattern", {})
            if event.get("Type") == "EventBridgeRule" and "aws.states" in pattern.get("source", []):
                watchers.setdefault(logical_id, set()).update(pattern.get("detail", {}).get("status", []))
    return watchers


def _status_change_delivered(pipeline: LocalPipeline, logical_id: str, execution_name: str) -> bool:
    return any(
        (invocation.event.get("detail") or {}).get("name") == execution_name
        for invocation in pipeline.async_invocations(logical_id)
    )


def executions_of(sfn: Any, pipeline: LocalPipeline, job_id: str) -> list[dict[str, Any]]:
    """Every execution of the state machine whose name is the job id or starts with it."""
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=pipeline.stack_.state_machine_arn)
    return [e for page in pages for e in page["executions"] if e["name"].startswith(job_id)]


def ending_events(pipeline: LocalPipeline, job_id: str) -> list[dict[str, Any]]:
    return [e for e in pipeline.events() if e.get("detail", {}).get("job_id") == job_id]


def live_tasks(pipeline: LocalPipeline) -> list[tuple[str, str]]:
    """(id, status) of every Runway task still PENDING, THROTTLED or RUNNING (a deleted task had finished)."""
    assert pipeline.simulator is not None
    found = []
    for task in pipeline.simulator.created_tasks():
        seen = pipeline.simulator.task(task.id)
        if seen is not None and seen["status"] in LIVE_TASK_STATUSES:
            found.append((task.id, seen["status"]))
    return found


def assert_ending(
    pipeline: LocalPipeline, job_id: str, expected: Ending, *, timeout: float = TIMEOUT
) -> Settled:
    """Wait for the job to end, then check every promise; returns what was found."""
    assert pipeline.simulator is not None, "the fault suite runs against the simulator"
    job = pipeline.wait(job_id, timeout=timeout)
    settle(pipeline, job_id, timeout)
    record = pipeline.job(job_id) or {}
    execution = pipeline.sfn.describe_execution(executionArn=pipeline.execution_arn(job_id))
    tasks = list(pipeline.simulator.created_tasks())
    events = ending_events(pipeline, job_id)
    problems: list[str] = []

    seen = (record.get("status"), record.get("error_code"))
    if seen != (expected.status, expected.error):
        problems.append(f"job record: status/error {seen}, expected {(expected.status, expected.error)}")
    if execution["status"] != expected.execution:
        problems.append(
            f"execution: {execution['status']} ({execution.get('error')}), expected {expected.execution}"
        )
    if len(tasks) != expected.tasks:
        problems.append(f"Runway tasks created: {len(tasks)}, expected {expected.tasks}")
    if live := live_tasks(pipeline):
        problems.append(f"Runway tasks left running: {live}")
    problems += _archive_problems(pipeline, job_id, record, expected)
    if uploads := _multipart_uploads(pipeline, job_id):
        problems.append(f"orphaned multipart uploads: {uploads}")
    kinds = [(e["detail-type"], e["detail"].get("status")) for e in events]
    wanted = [(DETAIL_TYPES.get(expected.status, "?"), expected.status)]
    if kinds != wanted:
        problems.append(f"ending events on the bus: {kinds}, expected {wanted}")

    assert not problems, "\n".join([f"job {job_id}:", *problems])
    return Settled(job, record, execution, tasks, events)


def _archive_problems(
    pipeline: LocalPipeline, job_id: str, record: dict[str, Any], expected: Ending
) -> list[str]:
    """S3 under outputs/<job>/ holds exactly the manifest and the outputs it lists (size and SHA-256), each
    whole (what Runway served), and nothing at all when the job did not succeed."""
    prefix = f"{pipeline.output_prefix}{job_id}/"
    keys = sorted(pipeline.archived_keys(job_id))
    if expected.status != "SUCCEEDED":
        return [f"objects under {prefix} of a job that did not succeed: {keys}"] if keys else []
    manifest_key = f"{prefix}job.json"
    manifest = pipeline.read_json(manifest_key) if manifest_key in keys else None
    if manifest is None:
        return [f"no manifest {manifest_key}; objects: {keys}"]
    problems = []
    entries = manifest.get("outputs", [])
    if len(entries) != expected.outputs:
        problems.append(f"manifest lists {len(entries)} outputs, expected {expected.outputs}")
    listed = sorted([manifest_key, *(entry["key"] for entry in entries)])
    if keys != listed:
        problems.append(f"objects under {prefix}: {keys}, manifest lists {listed}")
    assert pipeline.simulator is not None
    for index, entry in enumerate(entries):
        if entry["key"] not in keys:
            continue
        body = pipeline.read_object(entry["key"])
        stored = (len(body), hashlib.sha256(body).hexdigest())
        if stored != (entry["bytes"], entry["sha256"]):
            problems.append(f"{entry['key']}: {stored}, the manifest lists {entry['bytes']} bytes")
        served = pipeline.simulator.output_digest(str(manifest.get("task_id")), index)
        if stored != served:
            problems.append(f"{entry['key']}: {stored[0]} bytes, Runway served {served[0]} (not whole)")
    if sorted(record.get("output_keys") or []) != sorted(e["key"] for e in entries):
        problems.append(f"record output_keys {record.get('output_keys')} differ from the manifest")
    if record.get("manifest_key") != manifest_key:
        problems.append(f"record manifest_key {record.get('manifest_key')!r}, expected {manifest_key!r}")
    return problems


def _multipart_uploads(pipeline: LocalPipeline, job_id: str) -> list[str]:
    answer = pipeline.s3.list_multipart_uploads(
        Bucket=pipeline.bucket, Prefix=f"{pipeline.output_prefix}{job_id}/"
    )
    return [upload["Key"] for upload in answer.get("Uploads", [])]
