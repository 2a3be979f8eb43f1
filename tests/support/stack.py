"""Assertions shared by the end-to-end tests: what landed in S3, the job record, the simulator's view."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from local.runner import JobResult, LocalPipeline

CREATE_PATHS = {
    "/v1/text_to_video",
    "/v1/image_to_video",
    "/v1/video_to_video",
    "/v1/character_performance",
}


def assert_archived(pipeline: LocalPipeline, job: JobResult, *, outputs: int = 1) -> list[dict[str, Any]]:
    """The job SUCCEEDED and every output in job.json is in S3 with the bytes and SHA-256 it lists."""
    assert job.status == "SUCCEEDED", f"{job.error}: {job.cause}"
    assert job.manifest is not None, "no job.json"
    entries = job.manifest["outputs"]
    assert len(entries) == outputs
    prefix = f"{pipeline.output_prefix}{job.job_id}/"
    for index, entry in enumerate(entries):
        assert entry["key"].startswith(prefix)
        assert entry["key"].rsplit("/", 1)[-1].split(".")[0] == str(index)
        body = pipeline.read_object(entry["key"])
        assert len(body) == entry["bytes"] > 0
        assert hashlib.sha256(body).hexdigest() == entry["sha256"]
    assert sorted(pipeline.archived_keys(job.job_id)) == sorted(
        [*(e["key"] for e in entries), f"{prefix}job.json"]
    )

    record = job.record or {}
    assert record["status"] == "SUCCEEDED"
    assert sorted(record["output_keys"]) == sorted(e["key"] for e in entries)
    assert record["manifest_key"] == f"{prefix}job.json"
    assert record["task_id"] == job.manifest["task_id"]
    assert "finished_at" in record
    return list(entries)


def created_tasks(pipeline: LocalPipeline) -> list[Any]:
    return list(pipeline.simulator.created_tasks())


def assert_one_task(pipeline: LocalPipeline, job: JobResult, *, endpoint: str, model: str) -> Any:
    """Exactly one Runway task was created for the job, on ``endpoint`` with ``model``."""
    tasks = created_tasks(pipeline)
    assert len(tasks) == 1, [t.id for t in tasks]
    task = tasks[0]
    assert (task.endpoint, task.model) == (endpoint, model)
    assert (job.record or {}).get("task_id") == task.id
    return task


def creates(pipeline: LocalPipeline) -> list[Any]:
    """Every create request the simulator received (accepted or not)."""
    return [r for r in pipeline.simulator.requests if r.method == "POST" and r.path in CREATE_PATHS]


def events_for(pipeline: LocalPipeline, job_id: str) -> list[dict[str, Any]]:
    return [e for e in pipeline.events() if e.get("detail", {}).get("job_id") == job_id]


def assert_announced(pipeline: LocalPipeline, job_id: str, detail_type: str, status: str) -> dict[str, Any]:
    events = events_for(pipeline, job_id)
    assert [e["detail-type"] for e in events] == [detail_type]
    assert events[0]["detail"]["status"] == status
    assert events[0]["source"] == pipeline.stack_.event_source
    return events[0]


def reconciles(pipeline: LocalPipeline, job_id: str, *, timeout: float = 60) -> list[Any]:
    """The reconcile function's invocations for ``job_id`` (execution status changes), each waited for."""
    found = [
        invocation.wait(timeout)
        for invocation in pipeline.async_invocations("ReconcileFunction")
        if (invocation.event.get("detail") or {}).get("name") == job_id
    ]
    return found


def wait_reconciled(pipeline: LocalPipeline, job_id: str, *, timeout: float = 60) -> Any:
    """Wait until the execution's status change reached the reconcile function, and for its one invocation."""
    deadline = time.monotonic() + timeout
    while not (found := reconciles(pipeline, job_id, timeout=timeout)):
        assert time.monotonic() < deadline, f"no reconcile of {job_id} after {timeout} s"
        time.sleep(0.02)
    (invocation,) = found
    assert invocation.succeeded, invocation.error
    return invocation.result
