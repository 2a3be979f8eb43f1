"""Job ids and request fingerprints: random for a fresh request, derived from something stable otherwise.

A derived id (from an Idempotency-Key, an S3 object version) always names the same job, so the same input
never lands on a second job, a second execution (execution name = job id) or a second Runway task.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

JOB_ID_NAMESPACE = uuid.UUID("6f1d3c2a-51a4-4c56-9a0e-9b5c0d7b7e10")


def new_job_id() -> str:
    return str(uuid.uuid4())


def derived_job_id(*parts: str) -> str:
    """A job id that depends only on ``parts`` (uuid5): the same input always names the same job."""
    return str(uuid.uuid5(JOB_ID_NAMESPACE, "\x1f".join(parts)))


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def request_fingerprint(request: Mapping[str, Any]) -> str:
    """SHA-256 of the request as received (canonical JSON): "the same request again" vs "another one"."""
    return hashlib.sha256(canonical_json(dict(request)).encode("utf-8")).hexdigest()
