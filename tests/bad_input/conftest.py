"""The bad-input suite's stack: one local pipeline for the package (moto + the template's resources + the
deployed ASL + the real handlers + the Runway simulator), shared by the API, S3 and step modules (one
``xdist_group``), the simulator reset before every case.

Every case ends with :func:`assert_nothing_started`: no request reached Runway (so no task), no object
appeared under ``uploads/`` or ``outputs/``, no job record is left in a non-terminal status, no execution
started. ``MAX_UPLOAD_BYTES`` is 1 MiB here so the "too large" cases stay cheap.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local.runner import LocalPipeline
from videogen.core.job import FINAL_STATUSES

MAX_UPLOAD_BYTES = 1024 * 1024
ENVIRONMENT = {"MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES), "POWERTOOLS_LOG_LEVEL": "ERROR"}
FIXTURE_PREFIX = "uploads/bad-input/"

PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + b"\0" * 48
JPEG = b"\xff\xd8\xff\xe0\0\x10JFIF\0" + b"\0" * 48
WEBP = b"RIFF\x24\0\0\0WEBPVP8 " + b"\0" * 48
MP4 = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom" + b"\0" * 40
MOV = b"\0\0\0\x14ftypqt  \0\0\0\0qt  " + b"\0" * 40
WEBM = b"\x1a\x45\xdf\xa3" + b"\0" * 60
MP3 = b"ID3\x04\0\0\0\0\0\0" + b"\0" * 54
JSON_OBJECT = b'{"prompt": "not an image at all"}'

#: Objects the API cases name by s3:// URI (under uploads/, which starts nothing when written).
FIXTURES: dict[str, bytes] = {
    "empty.png": b"",
    "json-object.png": JSON_OBJECT,
    "text.mp4": b"just some text, not a video",
    "image.mp4": PNG,
    "video.png": MP4,
    "audio.png": MP3,
    "real.png": PNG,
    "real.mp4": MP4,
    "too-large.png": PNG + b"\0" * MAX_UPLOAD_BYTES,
}


@pytest.fixture(scope="package")
def bad_input_stack() -> Iterator[LocalPipeline]:
    with LocalPipeline(time_scale=0.005, env_overrides=ENVIRONMENT) as pipeline:
        for name, body in FIXTURES.items():
            pipeline.s3.put_object(Bucket=pipeline.bucket, Key=FIXTURE_PREFIX + name, Body=body)
        yield pipeline


@pytest.fixture
def pipeline(bad_input_stack: LocalPipeline) -> LocalPipeline:
    """The shared pipeline with a fresh simulator (no tasks, requests or faults of earlier cases)."""
    assert bad_input_stack.simulator is not None
    bad_input_stack.simulator.reset()
    return bad_input_stack


def fixture_uri(pipeline: LocalPipeline, name: str) -> str:
    return f"s3://{pipeline.bucket}/{FIXTURE_PREFIX}{name}"


@dataclass(frozen=True)
class Snapshot:
    """What a bad input must not change."""

    keys: frozenset[str]
    executions: int


def snapshot(pipeline: LocalPipeline) -> Snapshot:
    keys: set[str] = set()
    for prefix in ("uploads/", "outputs/"):
        pages = pipeline.s3.get_paginator("list_objects_v2").paginate(Bucket=pipeline.bucket, Prefix=prefix)
        keys.update(obj["Key"] for page in pages for obj in page.get("Contents", []))
    executions = pipeline.sfn.list_executions(stateMachineArn=pipeline.stack_.state_machine_arn)["executions"]
    return Snapshot(frozenset(keys), len(executions))


def assert_nothing_started(pipeline: LocalPipeline, before: Snapshot) -> None:
    """No Runway request (no task), no new object under uploads/ or outputs/, no execution, and no job record
    in a non-terminal status."""
    assert pipeline.simulator is not None
    assert pipeline.simulator.created_tasks() == []
    assert [(r.method, r.path) for r in pipeline.simulator.requests] == []
    after = snapshot(pipeline)
    assert sorted(after.keys - before.keys) == []
    assert after.executions == before.executions
    statuses = {str(item.get("status")) for item in pipeline.jobs_table.scan()["Items"]}
    assert statuses <= {s.value for s in FINAL_STATUSES}, statuses


def invoke(pipeline: LocalPipeline, logical_id: str, event: Any) -> tuple[dict[str, Any], bool]:
    """Invoke a function synchronously (as Step Functions and API Gateway do): (payload, failed)."""
    answer = pipeline.session.client("lambda", region_name=pipeline.region).invoke(
        FunctionName=pipeline.function(logical_id).spec.name, Payload=json.dumps(event)
    )
    return json.loads(answer["Payload"].read()), "FunctionError" in answer
