"""POST /generations: validation, job record before the execution, Location, idempotency, data: URIs."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from tests.support.entry_points import header, response_json

REQUEST = {"prompt": "A paper boat on a rainy street", "model": "gen4.5", "ratio": "1280:720", "duration": 5}
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()


def test_valid_request_is_recorded_and_started(api):
    # GIVEN a valid request
    # WHEN it is posted
    response = api("POST", "/generations", body=REQUEST)
    # THEN 202 with the job id and its Location
    assert response["statusCode"] == 202
    body = response_json(response)
    job_id = body["job_id"]
    assert header(response, "Location") == f"/generations/{job_id}"
    assert body["status"] == "QUEUED" and body["model"] == "gen4.5" and body["endpoint"] == "text_to_video"
    # AND a QUEUED record holds the request, model, source and estimate
    record = api.stack.table.get_item(Key={"job_id": job_id})["Item"]
    assert record["status"] == "QUEUED" and record["source"] == "api"
    assert record["request"]["prompt"] == REQUEST["prompt"] and record["created_at"]
    # AND one execution named after the job carries the input contract
    (execution,) = api.stack.executions()
    assert execution["name"] == job_id
    sfn_input = json.loads(
        api.stack.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])["input"]
    )
    assert sfn_input == {"job_id": job_id, "request": {**REQUEST}, "source": "api"}


def test_same_idempotency_key_and_body_give_the_same_job_and_one_execution(api):
    # GIVEN a request sent with an Idempotency-Key
    first = api("POST", "/generations", body=REQUEST, headers={"Idempotency-Key": "order-42"})
    # WHEN the same request is retried with the same key
    second = api("POST", "/generations", body=REQUEST, headers={"Idempotency-Key": "order-42"})
    # THEN both answers name the same job and only one execution exists
    assert first["statusCode"] == second["statusCode"] == 202
    assert response_json(first)["job_id"] == response_json(second)["job_id"]
    assert len(api.stack.executions()) == 1


def test_same_idempotency_key_with_another_body_is_a_conflict(api):
    # GIVEN a key already used
    api("POST", "/generations", body=REQUEST, headers={"Idempotency-Key": "order-43"})
    # WHEN another body comes with the same key
    response = api(
        "POST", "/generations", body={**REQUEST, "duration": 10}, headers={"Idempotency-Key": "order-43"}
    )
    # THEN 409, and still one execution
    assert response["statusCode"] == 409
    assert response_json(response)["code"] == "IdempotencyKeyReused"
    assert len(api.stack.executions()) == 1


def test_key_reused_after_the_idempotency_record_expired_still_never_starts_twice(api):
    # GIVEN a keyed job whose Powertools idempotency record has gone (expired)
    first = api("POST", "/generations", body=REQUEST, headers={"Idempotency-Key": "order-44"})
    idem = api.stack.session.resource("dynamodb").Table(api.stack.idempotency_table)
    for item in idem.scan()["Items"]:
        idem.delete_item(Key={"id": item["id"]})
    # WHEN the same key comes again, with the same body and then another body
    again = api("POST", "/generations", body=REQUEST, headers={"Idempotency-Key": "order-44"})
    other = api(
        "POST", "/generations", body={**REQUEST, "prompt": "x"}, headers={"Idempotency-Key": "order-44"}
    )
    # THEN the same job, then a conflict; one execution in all
    assert response_json(again)["job_id"] == response_json(first)["job_id"]
    assert other["statusCode"] == 409
    assert len(api.stack.executions()) == 1


def test_keys_are_scoped_to_the_caller(api):
    # GIVEN two callers using the same key
    a = api(
        "POST",
        "/generations",
        body=REQUEST,
        headers={"Idempotency-Key": "k"},
        user_arn="arn:aws:iam::1:user/a",
    )
    b = api(
        "POST",
        "/generations",
        body=REQUEST,
        headers={"Idempotency-Key": "k"},
        user_arn="arn:aws:iam::1:user/b",
    )
    # THEN each gets its own job
    assert response_json(a)["job_id"] != response_json(b)["job_id"]


@pytest.mark.parametrize(
    ("raw", "status", "expected"),
    [
        ('{"prompt": "a boat",', 400, "not valid JSON"),
        ('["a", "list"]', 400, "JSON object"),
        (json.dumps({**REQUEST, "duration": "5"}), 422, "duration"),
        (json.dumps({**REQUEST, "seed": True}), 422, "seed"),
        (json.dumps({**REQUEST, "model": "gen5"}), 422, "gen5"),
        (
            json.dumps(
                {**REQUEST, "model": "gen4_aleph", "task": "video_to_video", "video": "https://e.com/v.mp4"}
            ),
            422,
            "aleph2",
        ),
        (json.dumps({**REQUEST, "colour": "blue"}), 422, "colour"),
        (json.dumps({**REQUEST, "ratio": "1:1", "duration": 99}), 422, "ratio"),
        (json.dumps({**REQUEST, "webhook_url": "http://hooks.example.com/x"}), 422, "https"),
        ('{"prompt": "a boat \\ud800"}', 422, "surrogate"),
        (json.dumps({"prompt": "a\u0000boat"}), 422, "control character"),
        (json.dumps({**REQUEST, "options": {"a": json.loads("[" * 20 + "]" * 20)}}), 422, "nested deeper"),
        ('{"prompt": "x", "options": {"a": ' + "[" * 900 + "]" * 900 + "}}", 422, "nested deeper"),
        (json.dumps({**REQUEST, "seed": -1}), 422, "seed must be a whole number from 0 to 4294967295"),
        (json.dumps({**REQUEST, "seed": 2**32}), 422, "4294967295"),
        (json.dumps({**REQUEST, "model": ""}), 422, "model"),
    ],
    ids=[
        "malformed",
        "array",
        "string-duration",
        "bool-seed",
        "unknown-model",
        "retired-model",
        "extra-field",
        "two-problems",
        "http-webhook",
        "lone-surrogate",
        "control-character",
        "deep-options",
        "900-deep",
        "negative-seed",
        "seed-past-uint32",
        "empty-model",
    ],
)
def test_bad_input_is_a_4xx_listing_every_problem(api, raw, status, expected):
    # WHEN a bad body is posted
    response = api("POST", "/generations", raw_body=raw)
    # THEN a 400/422 whose body lists the problems, and nothing is started
    assert response["statusCode"] == status
    body = response_json(response)
    assert body["errors"] and expected in json.dumps(body)
    assert api.stack.executions() == []


def test_every_problem_is_listed(api):
    response = api("POST", "/generations", body={**REQUEST, "ratio": "1:1", "duration": 99})
    assert response["statusCode"] == 422
    assert len(response_json(response)["errors"]) >= 2


def test_data_uri_is_moved_to_s3_before_the_execution(api):
    # GIVEN a request with an inline image
    request = {
        "prompt": "animate",
        "model": "gen4.5",
        "ratio": "1280:720",
        "duration": 5,
        "image": f"data:image/png;base64,{PNG}",
    }
    # WHEN it is posted
    response = api("POST", "/generations", body=request)
    # THEN the execution input and the record carry an s3:// URI under uploads/<job id>/<sha256 of the bytes>/
    assert response["statusCode"] == 202
    job_id = response_json(response)["job_id"]
    record = api.stack.table.get_item(Key={"job_id": job_id})["Item"]
    uri = record["request"]["image"]
    key = f"uploads/{job_id}/{hashlib.sha256(base64.b64decode(PNG)).hexdigest()}/image.png"
    assert uri == f"s3://{api.stack.bucket}/{key}"
    body = api.stack.client("s3").get_object(Bucket=api.stack.bucket, Key=key)
    assert body["Body"].read() == base64.b64decode(PNG)
    execution = api.stack.executions()[0]
    sfn_input = api.stack.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
    assert "data:" not in sfn_input["input"]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://someone-elses-bucket/uploads/a/frame.png", "is not in this stack's bucket"),
        ("s3://{bucket}/outputs/other-job/0.mp4", "must be an object under inputs/ or uploads/"),
        ("s3://{bucket}/uploads/../outputs/other-job/0.mp4", "must be an object under inputs/ or uploads/"),
    ],
    ids=["other-bucket", "outputs-prefix", "dot-dot"],
)
def test_s3_inputs_outside_the_stacks_input_prefixes_are_refused_at_once(api, uri, expected):
    # WHEN a request names an s3:// input outside this stack's bucket and its input/upload prefixes
    body = {"prompt": "sail", "model": "gen4_turbo", "image": uri.format(bucket=api.stack.bucket)}
    response = api("POST", "/generations", body=body)
    # THEN 422 says why, and no job was started
    assert response["statusCode"] == 422
    assert expected in json.dumps(response_json(response))
    assert api.stack.executions() == []


REAL_HEADS = {
    "frame.png": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
    "frame.jpg": b"\xff\xd8\xff\xe0\0\x10JFIF\0",
    "frame.webp": b"RIFF\x24\0\0\0WEBPVP8 ",
    "clip.mp4": b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom",
    "clip.mov": b"\0\0\0\x14ftypqt  \0\0\0\0qt  ",
    "clip.webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01",
    "named-anyhow.bin": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",  # the bytes decide, not the name
}


@pytest.mark.parametrize("name", sorted(REAL_HEADS))
def test_a_real_file_in_the_bucket_is_accepted_for_its_role(api, name):
    # GIVEN a real image or video (its first bytes) under uploads/
    key = f"uploads/fixtures/{name}"
    api.stack.client("s3").put_object(Bucket=api.stack.bucket, Key=key, Body=REAL_HEADS[name] + b"\0" * 256)
    uri = f"s3://{api.stack.bucket}/{key}"
    is_video = name.startswith("clip")
    body = (
        {"prompt": "make it snow", "model": "aleph2", "video": uri}
        if is_video
        else {"prompt": "sail", "model": "gen4_turbo", "ratio": "1280:720", "image": uri}
    )
    # WHEN a request names it as an input of that kind
    response = api("POST", "/generations", body=body)
    # THEN the job is accepted
    assert response["statusCode"] == 202, response_json(response)
