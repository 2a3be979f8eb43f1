"""Archive step: fetch the finished task again, stream every output into S3, write ``job.json`` last.

Re-runnable at any point (a retry after StorageUnavailable or OutputDownloadFailed, a Lambda killed mid-way):
an output already stored whole by an earlier attempt for the same job and Runway task (same size as the
download's Content-Length, same Content-Type, its ``sha256`` tag written) is kept without being downloaded
again; the rest are streamed; the manifest is written only once every output is in S3.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from videogen.core.clock import SYSTEM_CLOCK, Clock, format_time, utc
from videogen.core.errors import GenerationFailed, OutputExpired
from videogen.core.settings import Settings
from videogen.pipeline.output_stream import (
    ArchivedObject,
    OutputArchiver,
    OutputUrlRejected,
    check_output_url,
    host_of,
)
from videogen.pipeline.task_state import TaskState
from videogen.runway.client import RunwayClients
from videogen.runway.errors import runway_errors
from videogen.runway.tasks import credits_of, raise_for_terminal_failure, task_to_dict

log = logging.getLogger(__name__)

MANIFEST_NAME = "job.json"
MANIFEST_VERSION = 1


def _succeeded_task(runway: RunwayClients, task_id: str) -> dict[str, Any]:
    with runway_errors("retrieve"):
        task = task_to_dict(runway.for_repeatable().tasks.retrieve(task_id))
    raise_for_terminal_failure(task)
    status = task.get("status")
    if status != "SUCCEEDED":
        raise GenerationFailed(f"Runway task {task_id} is {status}, not SUCCEEDED: nothing to archive")
    outputs = task.get("output")
    if not isinstance(outputs, list) or not outputs:
        raise GenerationFailed(f"Runway task {task_id} SUCCEEDED without any output")
    return task


def archive_task(
    job_id: str,
    request: Mapping[str, Any] | None,
    state: TaskState,
    *,
    runway: RunwayClients,
    archiver: OutputArchiver,
    settings: Settings,
    clock: Clock = SYSTEM_CLOCK,
) -> dict[str, Any]:
    """Archive every output of the job's SUCCEEDED task under ``OUTPUT_PREFIX<job id>/`` and return
    ``{"bucket", "prefix", "manifest_key", "output_keys", "outputs", "credits_charged"}``.

    Output ``n`` goes to ``<prefix><n>.<ext>`` (ext from the response's Content-Type). A 403/404 on an output
    URL fetches the task again once for fresh URLs; a second 403/404 raises OutputExpired. S3 failures raise
    StorageUnavailable (retryable) or StorageRefused. Idempotent: a re-run writes the same keys and skips
    the outputs already stored whole (module docstring).
    """
    started = utc(clock.now())
    task = _succeeded_task(runway, state.task_id)
    urls: list[str] = [str(u) for u in task["output"]]
    for url in urls:  # refuse before writing anything
        check_output_url(url, settings)

    prefix = f"{settings.output_prefix}{job_id}/"
    metadata = {"job-id": job_id, "task-id": state.task_id}
    archived: list[ArchivedObject] = []
    for index in range(len(urls)):
        stem = f"{prefix}{index}"
        try:
            obj = archiver.stream_to_s3(urls[index], stem, metadata=metadata, reuse=True)
        except OutputUrlRejected as first:
            log.info(
                "output URL refused; fetching the task again for fresh URLs",
                extra={"job_id": job_id, "task_id": state.task_id, "output": index, "status": first.status},
            )
            task = _succeeded_task(runway, state.task_id)
            fresh = [str(u) for u in task["output"]]
            if len(fresh) != len(urls):
                raise GenerationFailed(
                    f"Runway task {state.task_id} now lists {len(fresh)} outputs instead of {len(urls)}"
                ) from first
            for url in fresh:
                check_output_url(url, settings)
            urls = fresh
            try:
                obj = archiver.stream_to_s3(urls[index], stem, metadata=metadata, reuse=True)
            except OutputUrlRejected as second:
                raise OutputExpired(
                    f"output {index} of Runway task {state.task_id} answered HTTP {second.status} even "
                    f"with a fresh URL from {host_of(urls[index])}",
                    details={"task_id": state.task_id, "output": index, "status": second.status},
                ) from second
        archived.append(obj)
        log.info(
            "output already stored whole; kept" if obj.reused else "archived output",
            extra={"job_id": job_id, "key": obj.key, "bytes": obj.bytes, "content_type": obj.content_type},
        )

    cost = credits_of(task, "cost")
    credits_charged = int(cost) if cost is not None else int(state.credits_charged or 0)
    archived_at = utc(clock.now())
    finished = utc(state.checked_at)
    submitted = utc(state.submitted_at)
    manifest_key = f"{prefix}{MANIFEST_NAME}"
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "job_id": job_id,
        "request": dict(request or {}),
        "endpoint": state.endpoint,
        "model": state.model,
        "task_id": state.task_id,
        "credits": {"estimated": state.estimated_credits, "charged": credits_charged},
        "outputs": [
            {
                "index": i,
                "key": obj.key,
                "bytes": obj.bytes,
                "sha256": obj.sha256,
                "content_type": obj.content_type,
                "source_host": obj.source_host,
            }
            for i, obj in enumerate(archived)
        ],
        "timings": {
            "submitted_at": format_time(submitted),
            "generation_finished_at": format_time(finished),
            "archive_started_at": format_time(started),
            "archived_at": format_time(archived_at),
            "generation_seconds": round((finished - submitted).total_seconds(), 3),
            "archive_seconds": round((archived_at - started).total_seconds(), 3),
        },
    }
    archiver.put_json(manifest_key, manifest)
    return {
        "bucket": archiver.bucket,
        "prefix": prefix,
        "manifest_key": manifest_key,
        "output_keys": [obj.key for obj in archived],
        "outputs": [obj.summary() for obj in archived],
        "credits_charged": credits_charged,
    }
