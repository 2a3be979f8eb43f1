"""Property-based: no JSON value (arbitrary values, lone surrogates, control characters, deep nesting, huge
integers, NaN and infinities) makes request validation or the intake raise anything but InvalidRequest.

The example counts are bounded (profile ``bad_input``, or ``bad_input_ci`` with ``HYPOTHESIS_PROFILE``) so
the whole module runs in a few seconds; no example database is written.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from videogen.catalog.translate import prepare
from videogen.core.errors import InvalidRequest
from videogen.core.request import GenerationRequest
from videogen.core.settings import Settings
from videogen.intake.job_intake import JobIntake
from videogen.intake.request_body import refuse_body

pytestmark = [pytest.mark.bad_input]

settings.register_profile(
    "bad_input", max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "bad_input_ci",
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "bad_input")
if PROFILE.startswith("bad_input"):
    settings.load_profile(PROFILE)

BUCKET = "videos"

# Text with everything JSON can carry: any code point, lone surrogates and control characters included.
# (text() never yields surrogates, so the characters are joined by hand.)
hostile_text = st.lists(
    st.one_of(
        st.characters(codec=None, exclude_categories=()),
        st.sampled_from(["\ud800", "\udfff", "\x00", "\x07", "\x1b", "\x7f"]),
    ),
    max_size=30,
).map("".join)
plausible_text = st.sampled_from(
    [
        "a paper boat",
        "gen4.5",
        "gen4_turbo",
        "aleph2",
        "veo3.1",
        "act_two",
        "1280:720",
        "auto",
        "720p",
        "image",
        "video",
        "https://example.com/a.png",
        "https://example.com/clip.mp4",
        "data:image/png;base64,iVBORw0KGgo=",
        "data:video/mp4;base64,AAAAGGZ0eXA=",
        "data:image/png;base64,@@",
        f"s3://{BUCKET}/uploads/a.png",
        f"s3://{BUCKET}/inputs/../outputs/a.mp4",
        "s3://other/inputs/a.png",
        "s3://",
        "runway://upload-1",
        "http://127.0.0.1/x",
        "",
    ]
)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-(10**300), max_value=10**300),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, hostile_text, plausible_text)


def nested(depth: int) -> Any:
    value: Any = "x"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(hostile_text, plausible_text), children, max_size=4),
    ),
    max_leaves=12,
)
any_value = st.one_of(json_values, st.integers(min_value=0, max_value=60).map(nested))
request_like = st.fixed_dictionaries(
    {}, optional={name: st.one_of(scalars, any_value) for name in GenerationRequest.model_fields}
)
# A valid request with one field replaced: most of these get past every other check.
VALID = {"prompt": "a paper boat", "model": "gen4.5", "ratio": "1280:720", "duration": 5}
near_valid = st.builds(
    lambda name, value: {**VALID, name: value},
    st.sampled_from([*VALID, "seed", "webhook_url", "options", "task"]),
    st.one_of(hostile_text, plausible_text, numbers, any_value),
)
candidates = st.one_of(
    near_valid, request_like, any_value, st.dictionaries(hostile_text, any_value, max_size=3)
)


class MissingObjects:
    """An S3 client on which every object is missing (the intake's content checks ask for it)."""

    def head_object(self, **_: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")

    def get_object(self, **_: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "Not Found"}}, "GetObject")


INTAKE = JobIntake(
    Settings(output_bucket=BUCKET, jobs_table="jobs"),
    jobs=None,
    sfn=None,
    s3=MissingObjects(),  # type: ignore[arg-type]
)


@given(candidates)
def test_request_validation_raises_only_invalid_request(value: Any) -> None:
    # WHEN any JSON value is parsed as a request and prepared for Runway
    try:
        request = GenerationRequest.parse(value)
        prepare(request)
    except InvalidRequest as exc:
        # THEN a refusal lists readable problems that can be stored and sent back as JSON
        assert exc.errors and all(isinstance(e, str) and e for e in exc.errors)
        json.dumps(exc.errors, ensure_ascii=False).encode("utf-8")


@given(candidates)
def test_the_intake_raises_only_invalid_request(value: Any) -> None:
    # WHEN the intake validates any JSON value (catalog, input locations and contents, webhook URL)
    try:
        INTAKE.validate(value)
    except InvalidRequest as exc:
        # THEN only InvalidRequest, each problem a UTF-8-encodable sentence (it is stored on REJECTED records)
        assert exc.errors
        for problem in exc.errors:
            problem.encode("utf-8")


@given(candidates)
def test_an_accepted_request_is_plain_json(value: Any) -> None:
    # GIVEN any value the intake accepts
    try:
        parsed, _ = INTAKE.validate(value)
    except InvalidRequest:
        return
    # THEN what is recorded and passed on is finite JSON that encodes to UTF-8 (as DynamoDB and Step Functions
    # need it) and holds no control character
    text = json.dumps(parsed.plain(), allow_nan=False, ensure_ascii=False)
    text.encode("utf-8")
    assert not any(ord(c) < 32 for c in text)
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in parsed.plain().values())


@given(st.one_of(st.binary(max_size=200), hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_any_body_is_refused_or_passed_on_never_raised(body: bytes) -> None:
    # WHEN the API's body check sees any bytes as a JSON body
    refusal = refuse_body(body, "application/json")
    # THEN it answers a 400 or lets a JSON object through
    assert refusal is None or refusal.status == 400
    if refusal is None and body:
        assert isinstance(json.loads(body.decode("utf-8")), dict)
