"""Upload step: send each ``s3://`` input of a job to Runway once, record it, reuse it while it is valid.

A Runway ephemeral upload (``runway://``) lives 24 hours. Each one is recorded on the job (``uploads``: the
``s3://`` URI -> ``{uri, uploaded_at, bytes}``) as soon as it is made, so a retry of this step, a re-run after
its Lambda timed out, and the upload step of every later attempt (a new task after an ``INTERNAL.*``
failure) reuse it instead of sending up to 200 MB again. An upload older than :data:`MAX_UPLOAD_AGE` is sent
again: the margin left of its 24 hours covers the create call and the time Runway may keep the new task
queued before it reads its inputs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from videogen import catalog
from videogen.catalog.translate import prepare
from videogen.core.clock import SYSTEM_CLOCK, Clock, format_time, parse_time, utc
from videogen.core.errors import GenerationCancelled, InvalidRequest, VideoGenError
from videogen.core.job import JobStatus
from videogen.core.request import GenerationRequest
from videogen.core.settings import Settings
from videogen.runway.client import RunwayClients
from videogen.runway.uploads import EPHEMERAL_UPLOAD_LIFETIME, EphemeralUploader, check_media_uri
from videogen.storage.job_store import JobStore, RecordConflict, job_store_errors

log = logging.getLogger(__name__)

#: Reuse a recorded upload while it is younger than this (its 24 hours minus a 4 hour margin).
MAX_UPLOAD_AGE = EPHEMERAL_UPLOAD_LIFETIME - dt.timedelta(hours=4)


def s3_inputs(endpoint: str, body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The distinct ``s3://`` media inputs of a wire body, with their kind, in body order.

    Every media URI is checked: an unsupported scheme is InvalidRequest."""
    found: dict[str, str] = {}

    def collect(uri: str, kind: str) -> str:
        if check_media_uri(uri) == "s3":
            found.setdefault(uri, kind)
        return uri

    try:
        catalog.map_media_uris(endpoint, body, collect)
    except (KeyError, ValueError) as exc:
        raise InvalidRequest([str(exc).strip("'\"")]) from exc
    return list(found.items())


def is_fresh(upload: Mapping[str, Any] | None, now: dt.datetime, max_age: dt.timedelta) -> bool:
    """True when a recorded upload has a ``runway://`` URI and is younger than ``max_age``."""
    if not upload or not str(upload.get("uri", "")).startswith("runway://"):
        return False
    uploaded_at = parse_time(upload.get("uploaded_at"))
    return uploaded_at is not None and dt.timedelta(0) <= now - uploaded_at < max_age


def upload_inputs(
    job_id: str,
    request: GenerationRequest,
    source: str | None,
    *,
    jobs: JobStore,
    runway: RunwayClients,
    s3: Any,
    settings: Settings,
    clock: Clock = SYSTEM_CLOCK,
) -> dict[str, Any]:
    """Make sure every ``s3://`` input of the job has a valid Runway upload recorded on its record.

    Returns ``{"uploads": {s3 URI: runway URI}, "uploaded": n, "reused": n}`` (``$.inputs``). Nothing is
    uploaded for a job that has ended or whose cancellation was asked for (GenerationCancelled), nor for an
    invalid request (InvalidRequest lists every problem).
    """
    with job_store_errors("read", job_id):
        record = jobs.get(job_id) or {}
    raise_if_stopped(job_id, record)
    prepared = prepare(request, default_model=settings.default_model)
    inputs = s3_inputs(prepared.endpoint, prepared.body)
    uploads: dict[str, dict[str, Any]] = {
        uri: dict(entry) for uri, entry in (record.get("uploads") or {}).items() if isinstance(entry, Mapping)
    }
    uploaded = reused = 0
    uploader: EphemeralUploader | None = None
    for uri, kind in inputs:
        if is_fresh(uploads.get(uri), utc(clock.now()), MAX_UPLOAD_AGE):
            reused += 1
            continue
        uploader = uploader or EphemeralUploader(s3, runway.for_repeatable())
        made = uploader.upload(uri, kind)
        uploads[uri] = {"uri": made.uri, "uploaded_at": format_time(clock.now()), "bytes": made.bytes}
        try:
            jobs.record_uploads(job_id, uploads, request=request.plain(), source=source)
        except RecordConflict as conflict:
            raise stopped_error(job_id, conflict.existing) from None
        uploaded += 1
        log.info(
            "uploaded an s3 input to Runway",
            extra={"job_id": job_id, "source": uri, "uri": made.uri, "bytes": made.bytes, "kind": kind},
        )
    if reused:
        log.info("reused recorded Runway uploads", extra={"job_id": job_id, "reused": reused})
    return {
        "uploads": {uri: uploads[uri]["uri"] for uri, _ in inputs},
        "uploaded": uploaded,
        "reused": reused,
    }


def raise_if_stopped(job_id: str, record: Mapping[str, Any]) -> None:
    """No Runway work for a job that has ended or whose cancellation was asked for."""
    if record.get("finished_at") or record.get("cancel_requested_at"):
        raise stopped_error(job_id, record)


def stopped_error(job_id: str, record: Mapping[str, Any]) -> VideoGenError:
    """The error for a job that ended, or was asked to stop, before its Runway task was created."""
    status = str(record.get("status", "unknown"))
    if record.get("cancel_requested_at") or status == JobStatus.CANCELLED.value:
        return GenerationCancelled(f"job {job_id} was cancelled before its Runway task was created")
    return InvalidRequest([f"job {job_id} has already ended with status {status}; start a new job"])
