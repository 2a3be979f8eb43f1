"""Bad input through the HTTP API: each case gets its precise 400/413/415/422 answer, listing every problem,
and nothing is started (no Runway request, no object, no execution, no non-terminal record)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from local.runner import LocalPipeline
from tests.bad_input.conftest import (
    FIXTURE_PREFIX,
    JPEG,
    MAX_UPLOAD_BYTES,
    MP4,
    PNG,
    assert_nothing_started,
    invoke,
    snapshot,
)
from tests.cases.invalid_requests import INVALID_GENERATION_REQUESTS
from tests.support.entry_points import api_event
from videogen.core.errors import MAX_LISTED_PROBLEMS
from videogen.intake.request_body import MAX_BODY_BYTES

pytestmark = [pytest.mark.bad_input, pytest.mark.xdist_group("bad_input")]

REQUEST = {"prompt": "a paper boat", "model": "gen4.5", "ratio": "1280:720", "duration": 5}
I2V = {"prompt": "make it drift", "model": "gen4.5", "ratio": "1280:720", "duration": 5}
V2V = {"prompt": "make it snow", "model": "aleph2"}


@dataclass(frozen=True)
class ApiCase:
    id: str
    status: int
    code: str
    # One entry per listed problem, in any order: the text it contains (a tuple: every text in that problem).
    errors: tuple[str | tuple[str, ...], ...]
    body: Any = None  # JSON-encoded unless raw is given; "@name" strings become s3:// URIs of fixtures
    raw: str | None = None
    method: str = "POST"
    path: str = "/generations"
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] | None = None
    base64_body: bool = False


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def data_uri(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{b64(payload)}"


def deep(levels: int) -> Any:
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


BODY_CASES = [
    # --- 400: not JSON, or JSON but not an object ----------------------------------------------------------
    ApiCase("truncated-json", 400, "MalformedJson", ("the body is not valid JSON",), raw='{"prompt": "a'),
    ApiCase("trailing-comma", 400, "MalformedJson", ("the body is not valid JSON",), raw='{"prompt": "a",}'),
    ApiCase("single-quotes", 400, "MalformedJson", ("not valid JSON",), raw="{'prompt': 'a'}"),
    ApiCase("plain-text", 400, "MalformedJson", ("not valid JSON",), raw="make me a video"),
    ApiCase("json-array", 400, "MalformedJson", ("must be a JSON object, not a JSON array",), raw="[1, 2]"),
    ApiCase("json-string", 400, "MalformedJson", ("not a JSON string",), raw='"a paper boat"'),
    ApiCase("json-number", 400, "MalformedJson", ("not a JSON number",), raw="42"),
    ApiCase("json-null", 400, "MalformedJson", ("not a JSON null",), raw="null"),
    ApiCase("json-true", 400, "MalformedJson", ("not a JSON boolean",), raw="true"),
    ApiCase(
        "nested-100000-deep", 400, "MalformedJson", ("nested too deeply",), raw="[" * 100_000 + "]" * 100_000
    ),
    ApiCase(
        "int-with-5000-digits", 400, "MalformedJson", ("not valid JSON",), raw='{"seed": ' + "9" * 5000 + "}"
    ),
    ApiCase(
        "not-utf8-base64-body",
        400,
        "MalformedJson",
        ("not UTF-8",),
        raw=b64(b'{"prompt": "\xff\xfe"}'),
        base64_body=True,
    ),
    # --- 413: too large -------------------------------------------------------------------------------------
    ApiCase(
        "body-over-the-limit",
        413,
        "BodyTooLarge",
        (f"at most {MAX_BODY_BYTES} are accepted",),
        raw=json.dumps({"prompt": "x" * (MAX_BODY_BYTES + 1)}),
    ),
    # --- 415: not JSON --------------------------------------------------------------------------------------
    ApiCase(
        "text-plain",
        415,
        "UnsupportedMediaType",
        ("Content-Type 'text/plain' is not accepted",),
        body=REQUEST,
        headers={"Content-Type": "text/plain"},
    ),
    ApiCase(
        "form-urlencoded",
        415,
        "UnsupportedMediaType",
        ("application/x-www-form-urlencoded",),
        raw="prompt=a+boat",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    ApiCase(
        "xml",
        415,
        "UnsupportedMediaType",
        ("application/xml",),
        raw="<a/>",
        headers={"Content-Type": "application/xml"},
    ),
    ApiCase(
        "latin1-charset",
        415,
        "UnsupportedMediaType",
        ("charset 'latin-1' is not accepted",),
        body=REQUEST,
        headers={"Content-Type": "application/json; charset=latin-1"},
    ),
    ApiCase(
        "no-content-type",
        415,
        "UnsupportedMediaType",
        ("no Content-Type",),
        body=REQUEST,
        headers={"Content-Type": ""},
    ),
]

FIELD_CASES = [
    # --- 422: the request's own fields ----------------------------------------------------------------------
    ApiCase(
        "lone-surrogate",
        422,
        "InvalidRequest",
        ("prompt: text holds an invalid character",),
        raw='{"prompt": "a boat \\ud800"}',
    ),
    ApiCase(
        "control-character",
        422,
        "InvalidRequest",
        ("prompt: text holds a control character",),
        body={"prompt": "a\u0007boat"},
    ),
    ApiCase(
        "surrogate-in-a-field-name",
        422,
        "InvalidRequest",
        ("a field name holds an invalid character",),
        raw='{"prompt": "x", "\\udfff": 1}',
    ),
    ApiCase(
        "options-17-deep",
        422,
        "InvalidRequest",
        ("options: nested deeper than 16 levels",),
        body={**REQUEST, "options": {"a": deep(17)}},
    ),
    ApiCase(
        "options-900-deep",
        422,
        "InvalidRequest",
        ("options: nested deeper than 16 levels",),
        raw='{"prompt": "x", "options": {"a": ' + "[" * 900 + "]" * 900 + "}}",
    ),
    ApiCase(
        "negative-seed",
        422,
        "InvalidRequest",
        ("seed must be a whole number from 0 to 4294967295, not -1",),
        body={**REQUEST, "seed": -1},
    ),
    ApiCase(
        "seed-past-uint32",
        422,
        "InvalidRequest",
        ("seed must be a whole number from 0 to 4294967295, not 4294967296",),
        body={**REQUEST, "seed": 2**32},
    ),
    ApiCase(
        "seed-as-float",
        422,
        "InvalidRequest",
        ("seed must be a whole number from 0 to 4294967295, not 1.5",),
        body={**REQUEST, "seed": 1.5},
    ),
    ApiCase(
        "empty-model",
        422,
        "InvalidRequest",
        ("model: string should have at least 1 character",),
        body={**REQUEST, "model": ""},
    ),
    ApiCase(
        "duration-as-bool",
        422,
        "InvalidRequest",
        ("duration must be a whole number of seconds or auto, not True",),
        body={**REQUEST, "duration": True},
    ),
    ApiCase(
        "unknown-field", 422, "InvalidRequest", ("unknown field colour",), body={**REQUEST, "colour": "red"}
    ),
    ApiCase(
        "three-type-problems-at-once",
        422,
        "InvalidRequest",
        (
            "seed must be a whole number from 0 to 4294967295, not -5",
            "prompt: text holds a control character",
            "unknown field fps",
        ),
        body={**REQUEST, "seed": -5, "prompt": "a\u0001b", "fps": 24},
    ),
    ApiCase(
        "gen4_turbo-duration-11",
        422,
        "InvalidRequest",
        ("duration 11 is outside 2-10 for gen4_turbo",),
        body={
            "model": "gen4_turbo",
            "image": "https://example.com/a.png",
            "ratio": "1280:720",
            "duration": 11,
        },
    ),
    ApiCase(
        "http-webhook",
        422,
        "InvalidRequest",
        ("webhook_url",),
        body={**REQUEST, "webhook_url": "http://hooks.example.com/x"},
    ),
    ApiCase(
        "catalog-and-webhook-problems-together",
        422,
        "InvalidRequest",
        ("duration 12 is outside 2-10 for gen4.5", "webhook_url"),
        body={**REQUEST, "duration": 12, "webhook_url": "http://hooks.example.com/x"},
    ),
    ApiCase(
        "3000-unknown-fields",
        422,
        "InvalidRequest",
        (*(("unknown field f",),) * (MAX_LISTED_PROBLEMS - 1), "... and 2951 more problems"),
        body={**REQUEST, **{f"f{i}": i for i in range(3000)}},
    ),
    ApiCase(
        "a-100k-character-field-name",
        422,
        "InvalidRequest",
        ("unknown field " + "n" * 61 + "...",),
        body={**REQUEST, "n" * 100_000: 1},
    ),
    ApiCase(
        "invalid-idempotency-key",
        422,
        "InvalidIdempotencyKey",
        ("Idempotency-Key must be 1 to 255",),
        body=REQUEST,
        headers={"Idempotency-Key": "has spaces in it"},
    ),
]

S3_CASES = [
    # --- 422: s3:// inputs: where they are, whether they exist, what they hold ---------------------------
    ApiCase(
        "s3-other-bucket",
        422,
        "InvalidRequest",
        ("image: s3://someone-else/uploads/a.png is not in this stack's bucket",),
        body={**I2V, "image": "s3://someone-else/uploads/a.png"},
    ),
    ApiCase(
        "s3-outputs-prefix",
        422,
        "InvalidRequest",
        ("must be an object under inputs/ or uploads/",),
        body={**I2V, "image": "s3://@bucket/outputs/job/0.mp4"},
    ),
    ApiCase(
        "s3-dot-dot",
        422,
        "InvalidRequest",
        ("must be an object under inputs/ or uploads/",),
        body={**I2V, "image": "s3://@bucket/uploads/../outputs/x.png"},
    ),
    ApiCase(
        "s3-missing-key",
        422,
        "InvalidRequest",
        (f"image: s3://@bucket/{FIXTURE_PREFIX}nope.png does not exist",),
        body={**I2V, "image": "@nope.png"},
    ),
    ApiCase(
        "s3-zero-bytes",
        422,
        "InvalidRequest",
        ("empty.png is empty (0 bytes)",),
        body={**I2V, "image": "@empty.png"},
    ),
    ApiCase(
        "s3-json-stored-as-png",
        422,
        "InvalidRequest",
        ("json-object.png is not an image file (its first bytes match no PNG, JPG, WEBP file)",),
        body={**I2V, "image": "@json-object.png"},
    ),
    ApiCase(
        "s3-video-stored-as-png",
        422,
        "InvalidRequest",
        ("video.png is an MP4 file, not an image",),
        body={**I2V, "image": "@video.png"},
    ),
    ApiCase(
        "s3-audio-stored-as-png",
        422,
        "InvalidRequest",
        ("audio.png is an MP3 file, not an image",),
        body={**I2V, "image": "@audio.png"},
    ),
    ApiCase(
        "s3-image-stored-as-mp4",
        422,
        "InvalidRequest",
        ("image.mp4 is a PNG file, not a video",),
        body={**V2V, "video": "@image.mp4"},
    ),
    ApiCase(
        "s3-text-stored-as-mp4",
        422,
        "InvalidRequest",
        ("text.mp4 is not a video file",),
        body={**V2V, "video": "@text.mp4"},
    ),
    ApiCase(
        "s3-over-the-size-limit",
        422,
        "InvalidRequest",
        (f"inputs may be at most {MAX_UPLOAD_BYTES} bytes",),
        body={**I2V, "image": "@too-large.png"},
    ),
    ApiCase(
        "s3-real-video-as-last-frame",
        422,
        "InvalidRequest",
        (("last_image: s3://", "real.mp4 is an MP4 file, not an image"),),
        body={"model": "veo3.1", "prompt": "x", "image": "@real.png", "last_image": "@real.mp4"},
    ),
    ApiCase(
        "s3-two-bad-inputs-both-listed",
        422,
        "InvalidRequest",
        (("image: s3://", "empty.png is empty"), ("last_image: s3://", "json-object.png is not an image")),
        body={"model": "veo3.1", "prompt": "x", "image": "@empty.png", "last_image": "@json-object.png"},
    ),
    ApiCase(
        "s3-bad-content-and-catalog-problem",
        422,
        "InvalidRequest",
        ("ratio 1920:1080 is not offered by gen4.5", ("image: s3://", "empty.png is empty")),
        body={**I2V, "ratio": "1920:1080", "image": "@empty.png"},
    ),
    # --- 422: data: URIs checked by their first bytes -------------------------------------------------------
    ApiCase(
        "data-json-declared-png",
        422,
        "InvalidRequest",
        ("image: the data: URI is not an image file",),
        body={**I2V, "image": data_uri("image/png", b'{"a": 1}' * 8)},
    ),
    ApiCase(
        "data-jpeg-declared-png",
        422,
        "InvalidRequest",
        ("image: the data: URI declares image/png but holds a JPG file (image/jpeg)",),
        body={**I2V, "image": data_uri("image/png", JPEG)},
    ),
    ApiCase(
        "data-gif",
        422,
        "InvalidRequest",
        ("image: the data: URI is of type image/gif",),
        body={**I2V, "image": data_uri("image/gif", b"GIF89a" + b"\0" * 40)},
    ),
    ApiCase(
        "data-png-declared-video",
        422,
        "InvalidRequest",
        ("video: the data: URI is a PNG file, not a video (MP4, MOV, WEBM)",),
        body={**V2V, "video": data_uri("video/mp4", PNG)},
    ),
    ApiCase(
        "data-empty-payload",
        422,
        "InvalidRequest",
        ("image: the data: URI is empty",),
        body={**I2V, "image": "data:image/png;base64,"},
    ),
    ApiCase(
        "data-video-in-image-field",
        422,
        "InvalidRequest",
        ("data:video/mp4 URI but this field takes an image",),
        body={**I2V, "image": data_uri("video/mp4", MP4)},
    ),
    ApiCase(
        "data-not-base64",
        422,
        "InvalidRequest",
        ("base64",),
        body={**I2V, "image": "data:image/png;base64,@@@@"},
    ),
]

OTHER_ROUTE_CASES = [
    ApiCase(
        "upload-executable",
        422,
        "UploadRejected",
        ("must end with an image, video or audio extension",),
        path="/uploads",
        body={"filename": "tool.exe"},
    ),
    ApiCase(
        "upload-too-large",
        422,
        "UploadRejected",
        (f"at most {MAX_UPLOAD_BYTES} are accepted",),
        path="/uploads",
        body={"filename": "frame.png", "size": MAX_UPLOAD_BYTES + 1},
    ),
    ApiCase(
        "upload-type-mismatch",
        422,
        "UploadRejected",
        ("does not match a image file",),
        path="/uploads",
        body={"filename": "frame.png", "content_type": "video/mp4"},
    ),
    ApiCase(
        "upload-unknown-field",
        422,
        "InvalidRequest",
        ("unknown field path",),
        path="/uploads",
        body={"filename": "frame.png", "path": "/etc/passwd"},
    ),
    ApiCase("list-limit-zero", 422, "InvalidRequest", ("limit",), method="GET", query={"limit": "0"}),
    ApiCase(
        "list-unknown-status", 422, "InvalidRequest", ("status",), method="GET", query={"status": "DONE"}
    ),
    ApiCase("list-forged-token", 400, "InvalidPageToken", ("next",), method="GET", query={"next": "forged"}),
]


def catalog_case(case: Any) -> ApiCase:
    return ApiCase(f"catalog-{case.id}", 422, "InvalidRequest", tuple(case.reasons), body=case.request)


CASES = [
    *BODY_CASES,
    *FIELD_CASES,
    *S3_CASES,
    *OTHER_ROUTE_CASES,
    *map(catalog_case, INVALID_GENERATION_REQUESTS),
]


def resolve(value: Any, pipeline: LocalPipeline) -> Any:
    """``@name`` -> the s3:// URI of fixture ``name``; ``@bucket`` -> the stack's bucket."""
    if isinstance(value, str):
        if value.startswith("@"):
            return f"s3://{pipeline.bucket}/{FIXTURE_PREFIX}{value[1:]}"
        return value.replace("@bucket", pipeline.bucket)
    if isinstance(value, dict):
        return {k: resolve(v, pipeline) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, pipeline) for v in value]
    return value


def event_for(case: ApiCase, pipeline: LocalPipeline) -> dict[str, Any]:
    raw = (
        case.raw
        if case.raw is not None
        else None
        if case.body is None
        else json.dumps(resolve(case.body, pipeline))
    )
    headers = {k: v for k, v in case.headers.items() if v}
    event = api_event(case.method, case.path, raw_body=raw, query=case.query, headers=headers)
    if "Content-Type" in case.headers and not case.headers["Content-Type"]:
        event["headers"].pop("Content-Type", None)
        event["multiValueHeaders"].pop("Content-Type", None)
    event["isBase64Encoded"] = case.base64_body
    return event


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_gets_its_precise_answer_and_starts_nothing(pipeline: LocalPipeline, case: ApiCase) -> None:
    before = snapshot(pipeline)
    # WHEN the request is sent to the API
    answer, failed = invoke(pipeline, "ApiFunction", event_for(case, pipeline))
    # THEN the precise status and code, and exactly the expected problems, each naming its field
    assert not failed, answer
    body = json.loads(answer["body"])
    assert (answer["statusCode"], body["code"]) == (case.status, case.code), body
    problems = body["errors"]
    assert len(problems) == len(case.errors), problems
    for entry in case.errors:
        texts = [resolve(t, pipeline) for t in ((entry,) if isinstance(entry, str) else entry)]
        assert any(all(t in problem for t in texts) for problem in problems), (texts, problems)
    assert not any(p.startswith(("body: value error", "Value error")) for p in problems), problems
    # AND nothing was started or half-written
    assert_nothing_started(pipeline, before)


def test_valid_inputs_of_each_kind_are_accepted(pipeline: LocalPipeline) -> None:
    """The control: a real PNG (as image) and a real MP4 (as video) pass the same content checks."""
    for body in ({**I2V, "image": "@real.png"}, {**V2V, "video": "@real.mp4"}):
        answer, failed = invoke(
            pipeline, "ApiFunction", api_event("POST", "/generations", body=resolve(body, pipeline))
        )
        assert not failed and answer["statusCode"] == 202, answer
        job_id = json.loads(answer["body"])["job_id"]
        assert pipeline.wait(job_id, timeout=60).status == "SUCCEEDED"
