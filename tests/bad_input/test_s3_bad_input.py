"""Bad files dropped under inputs/: whatever the file holds, the S3 trigger's one delivery succeeds and
leaves a REJECTED record with the reason (never a silent drop, never a crash retried by Lambda), and
nothing starts."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

import pytest

from local.runner import LocalPipeline
from tests.bad_input.conftest import (
    FIXTURE_PREFIX,
    JSON_OBJECT,
    MAX_UPLOAD_BYTES,
    MP3,
    MP4,
    PNG,
    WEBM,
    assert_nothing_started,
    snapshot,
)
from videogen.intake.s3_inputs import MAX_REQUEST_OBJECT_BYTES

pytestmark = [pytest.mark.bad_input, pytest.mark.xdist_group("bad_input")]

REQUEST = {"prompt": "a paper boat", "model": "gen4.5", "ratio": "1280:720", "duration": 5}


@dataclass(frozen=True)
class S3Case:
    id: str
    name: str  # the file name under inputs/<unique>/
    body: bytes
    code: str  # the REJECTED record's error_code
    reason: str  # in the record's error_cause; "@bucket" stands for the stack's bucket
    metadata: dict[str, str] = field(default_factory=dict)


def request_file(**fields: Any) -> bytes:
    return json.dumps({**REQUEST, **fields}).encode()


CASES = [
    # --- request files (.json) that are not a request ------------------------------------------------------
    S3Case(
        "binary-garbage",
        "garbage.json",
        bytes(range(256)) * 4,
        "UnsupportedFile",
        "is not UTF-8 text (byte 128",
    ),
    S3Case(
        "invalid-utf8",
        "latin1.json",
        '{"prompt": "caf\u00e9"}'.encode("latin-1"),
        "UnsupportedFile",
        "is not UTF-8 text",
    ),
    S3Case("empty-request-file", "empty.json", b"", "UnsupportedFile", "the request file is empty"),
    S3Case(
        "huge-request-file",
        "huge.json",
        b'{"prompt": "' + b"x" * MAX_REQUEST_OBJECT_BYTES + b'"}',
        "UnsupportedFile",
        f"at most {MAX_REQUEST_OBJECT_BYTES} are read",
    ),
    S3Case(
        "json-array",
        "array.json",
        b"[1, 2, 3]",
        "UnsupportedFile",
        "holds a JSON array; it must hold one JSON object",
    ),
    S3Case("json-string", "string.json", b'"a paper boat"', "UnsupportedFile", "holds a JSON string"),
    S3Case("json-null", "null.json", b"null", "UnsupportedFile", "holds a JSON null"),
    S3Case(
        "nested-too-deep-to-read",
        "deep.json",
        b"[" * 100_000 + b"]" * 100_000,
        "UnsupportedFile",
        "nested too deeply to read",
    ),
    S3Case(
        "options-nested-past-16",
        "options.json",
        request_file(options={"a": json.loads("[" * 20 + "]" * 20)}),
        "InvalidRequest",
        "options: nested deeper than 16 levels",
    ),
    S3Case("truncated-json", "truncated.json", b'{"prompt": "a', "UnsupportedFile", "is not valid JSON"),
    S3Case(
        "utf16-json",
        "utf16.json",
        json.dumps(REQUEST).encode("utf-16"),
        "UnsupportedFile",
        "is not UTF-8 text",
    ),
    S3Case(
        "lone-surrogate",
        "surrogate.json",
        b'{"prompt": "a boat \\ud800"}',
        "InvalidRequest",
        "prompt: text holds an invalid character (a lone UTF-16 surrogate)",
    ),
    S3Case(
        "control-character",
        "control.json",
        b'{"prompt": "a \\u0007 boat"}',
        "InvalidRequest",
        "prompt: text holds a control character",
    ),
    S3Case("unknown-field", "field.json", request_file(fps=24), "InvalidRequest", "unknown field fps"),
    S3Case(
        "seed-out-of-range",
        "seed.json",
        request_file(seed=2**32),
        "InvalidRequest",
        "seed must be a whole number from 0 to 4294967295",
    ),
    S3Case(
        "empty-model",
        "model.json",
        request_file(model=""),
        "InvalidRequest",
        "model: string should have at least 1",
    ),
    S3Case(
        "gen4_turbo-duration-99999",
        "turbo.json",
        json.dumps(
            {
                "model": "gen4_turbo",
                "image": "https://example.com/a.png",
                "ratio": "1280:720",
                "duration": 99999,
            }
        ).encode(),
        "InvalidRequest",
        "duration 99999 is outside 2-10 for gen4_turbo",
    ),
    S3Case(
        "input-in-another-bucket",
        "other.json",
        request_file(image="s3://someone-else/inputs/a.png"),
        "InvalidRequest",
        "image: s3://someone-else/inputs/a.png is not in this stack's bucket",
    ),
    S3Case(
        "input-missing",
        "missing.json",
        request_file(image=f"s3://@bucket/{FIXTURE_PREFIX}nope.png"),
        "InvalidRequest",
        f"image: s3://@bucket/{FIXTURE_PREFIX}nope.png does not exist",
    ),
    S3Case(
        "input-zero-bytes",
        "zero.json",
        request_file(image=f"s3://@bucket/{FIXTURE_PREFIX}empty.png"),
        "InvalidRequest",
        "empty.png is empty (0 bytes)",
    ),
    S3Case(
        "input-json-as-png",
        "jsonpng.json",
        request_file(image=f"s3://@bucket/{FIXTURE_PREFIX}json-object.png"),
        "InvalidRequest",
        "json-object.png is not an image file",
    ),
    S3Case(
        "5000-unknown-fields",
        "fields.json",
        request_file(**{f"f{i}": i for i in range(5000)}),
        "InvalidRequest",
        "... and 4951 more problems",
    ),
    S3Case(
        "several-problems-listed",
        "several.json",
        request_file(duration=12, ratio="1:1", fps=1),
        "InvalidRequest",
        "unknown field fps",
    ),
    # --- media files: the content decides, not the extension ----------------------------------------------
    S3Case("zero-byte-png", "frame.png", b"", "UnsupportedFile", "'frame.png' is empty (0 bytes)"),
    S3Case(
        "json-object-as-png",
        "frame.png",
        JSON_OBJECT,
        "UnsupportedFile",
        "'frame.png' is not an image file (its first bytes match no PNG, JPG, WEBP file)",
    ),
    S3Case("video-as-jpg", "frame.jpg", MP4, "UnsupportedFile", "'frame.jpg' is an MP4 file, not an image"),
    S3Case(
        "audio-as-webp", "frame.webp", MP3, "UnsupportedFile", "'frame.webp' is an MP3 file, not an image"
    ),
    S3Case("image-as-mp4", "clip.mp4", PNG, "UnsupportedFile", "'clip.mp4' is a PNG file, not a video"),
    S3Case(
        "text-as-mov",
        "clip.mov",
        b"hello, this is not a movie",
        "UnsupportedFile",
        "'clip.mov' is not a video file",
    ),
    S3Case("garbage-as-webm", "clip.webm", b"\0" * 64, "UnsupportedFile", "'clip.webm' is not a video file"),
    S3Case(
        "huge-image",
        "huge.png",
        PNG + b"\0" * MAX_UPLOAD_BYTES,
        "UnsupportedFile",
        f"inputs may be at most {MAX_UPLOAD_BYTES} bytes",
    ),
    S3Case(
        "unsupported-extension",
        "notes.txt",
        b"hello",
        "UnsupportedFile",
        "'notes.txt' is not a supported input",
    ),
    S3Case(
        "gif", "anim.gif", b"GIF89a" + b"\0" * 32, "UnsupportedFile", "'anim.gif' is not a supported input"
    ),
    S3Case("no-extension", "README", b"hello", "UnsupportedFile", "'README' is not a supported input"),
    S3Case(
        "bad-duration-metadata",
        "frame.png",
        PNG,
        "InvalidRequest",
        "x-amz-meta-duration must be a whole number of seconds or auto, not 'long'",
        {"duration": "long"},
    ),
    S3Case(
        "retired-model-metadata",
        "clip.webm",
        WEBM,
        "InvalidRequest",
        "use aleph2 instead",
        {"model": "gen4_aleph", "prompt": "snow"},
    ),
    S3Case(
        "unknown-model-metadata",
        "frame.png",
        PNG,
        "InvalidRequest",
        "model gen5 is not a Runway video model",
        {"model": "gen5"},
    ),
]


def until(predicate: Any, what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


def drop(pipeline: LocalPipeline, key: str, body: bytes, metadata: dict[str, str]) -> Any:
    """PutObject under inputs/ and wait for the S3 trigger's one delivery of it."""
    pipeline.s3.put_object(Bucket=pipeline.bucket, Key=key, Body=body, Metadata=metadata)

    def deliveries() -> list[Any]:
        return [
            i
            for i in pipeline.async_invocations("S3TriggerFunction")
            if unquote_plus(i.event["Records"][0]["s3"]["object"]["key"]) == key
        ]

    (delivery,) = until(deliveries, f"the S3 notification of {key}")
    return delivery.wait(30)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_bad_file_is_rejected_with_its_reason(pipeline: LocalPipeline, case: S3Case) -> None:
    before = snapshot(pipeline)
    # WHEN the file lands under inputs/
    key = f"inputs/bad-input/{uuid.uuid4().hex}/{case.name}"
    delivery = drop(pipeline, key, case.body.replace(b"@bucket", pipeline.bucket.encode()), case.metadata)
    # THEN the one delivery succeeded at its first attempt (no crash, no retry) and reports the rejection
    assert delivery.succeeded and delivery.attempts == 1, delivery.error
    (outcome,) = delivery.result["outcomes"]
    reason = case.reason.replace("@bucket", pipeline.bucket)
    assert outcome["outcome"] == "rejected" and reason in outcome["reason"], outcome
    # AND the job record is REJECTED with the reason and where the file is
    record = pipeline.job(outcome["job_id"])
    assert record is not None
    assert (record["status"], record["error_code"]) == ("REJECTED", case.code), record
    assert reason in record["error_cause"]
    assert record["source_object"] == f"s3://{pipeline.bucket}/{key}"
    # AND nothing was started or half-written
    assert_nothing_started(pipeline, before)


def test_several_problems_of_a_request_file_are_all_listed(pipeline: LocalPipeline) -> None:
    delivery = drop(
        pipeline, f"inputs/bad-input/{uuid.uuid4().hex}/x.json", request_file(duration=12, ratio="1:1"), {}
    )
    (outcome,) = delivery.result["outcomes"]
    cause = pipeline.job(outcome["job_id"])["error_cause"]
    assert "ratio 1:1 is not offered by gen4.5" in cause and "duration 12 is outside 2-10" in cause
