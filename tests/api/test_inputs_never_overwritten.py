"""Inputs never overwritten: a stored input keeps its bytes whatever later requests send.

The finding: reusing an Idempotency-Key after its record expired, with another ``data:`` image, answered 409
but had already replaced the first job's uploaded input (the key was ``uploads/<job id>/image.png``, and the
job id is derived from the caller and the key). Now a moved ``data:`` input is stored under the SHA-256 of its
bytes and written only if that key is free; a ``POST /uploads`` ticket is a fresh key whose presigned PUT
carries ``If-None-Match: *``.
"""

from __future__ import annotations

import base64
import hashlib

import requests

from tests.support.entry_points import response_json

FIRST = b"\x89PNG\r\n\x1a\n" + b"\x01" * 64
SECOND = b"\x89PNG\r\n\x1a\n" + b"\x02" * 64


def _request(image: bytes) -> dict:
    return {
        "prompt": "animate",
        "model": "gen4.5",
        "ratio": "1280:720",
        "duration": 5,
        "image": "data:image/png;base64," + base64.b64encode(image).decode(),
    }


def _forget_idempotency_records(api) -> None:
    """What the record's expiry (TTL) does: the Powertools idempotency table no longer knows the key."""
    table = api.stack.session.resource("dynamodb").Table(api.stack.idempotency_table)
    for item in table.scan()["Items"]:
        table.delete_item(Key={"id": item["id"]})


def _stored_input(api, job_id: str) -> tuple[str, bytes]:
    record = api.stack.table.get_item(Key={"job_id": job_id})["Item"]
    key = record["request"]["image"].removeprefix(f"s3://{api.stack.bucket}/")
    body = api.stack.client("s3").get_object(Bucket=api.stack.bucket, Key=key)["Body"].read()
    return key, body


def test_a_reused_key_with_another_image_leaves_the_first_jobs_input_unchanged(api):
    # GIVEN a job started with an Idempotency-Key and an inline image
    first = api("POST", "/generations", body=_request(FIRST), headers={"Idempotency-Key": "order-7"})
    assert first["statusCode"] == 202
    job_id = response_json(first)["job_id"]
    key, before = _stored_input(api, job_id)
    assert before == FIRST
    # AND the key's idempotency record has expired
    _forget_idempotency_records(api)
    # WHEN the same key comes with another image
    second = api("POST", "/generations", body=_request(SECOND), headers={"Idempotency-Key": "order-7"})
    # THEN it is refused as before
    assert second["statusCode"] == 409
    # AND the first job's input object is byte-for-byte what the first request sent, at the same key
    assert _stored_input(api, job_id) == (key, FIRST)
    assert hashlib.sha256(FIRST).hexdigest() in key
    assert len(api.stack.executions()) == 1


def test_the_same_request_again_finds_its_input_already_stored(api):
    # GIVEN a keyed job with an inline image whose idempotency record has expired
    first = api("POST", "/generations", body=_request(FIRST), headers={"Idempotency-Key": "order-8"})
    key, _ = _stored_input(api, response_json(first)["job_id"])
    _forget_idempotency_records(api)
    # WHEN the very same request is sent again
    again = api("POST", "/generations", body=_request(FIRST), headers={"Idempotency-Key": "order-8"})
    # THEN the same job is answered, and its input was not written a second time (the bucket is versioned:
    # one version only)
    assert again["statusCode"] == 202
    assert response_json(again)["job_id"] == response_json(first)["job_id"]
    versions = api.stack.client("s3").list_object_versions(Bucket=api.stack.bucket, Prefix=key)["Versions"]
    assert len(versions) == 1
    assert _stored_input(api, response_json(first)["job_id"]) == (key, FIRST)


def test_an_upload_ticket_is_written_once(api):
    # GIVEN an upload ticket whose file was PUT as the ticket says
    ticket = response_json(api("POST", "/uploads", body={"filename": "frame.png", "size": len(FIRST)}))
    put = requests.put(ticket["upload_url"], data=FIRST, headers=ticket["headers"], timeout=5)
    assert put.status_code == 200
    # WHEN the same URL is used again with other bytes (a job may already use the first file)
    again = requests.put(ticket["upload_url"], data=SECOND, headers=ticket["headers"], timeout=5)
    # THEN S3 refuses it and the object keeps the first bytes
    assert again.status_code == 412
    key = ticket["s3_uri"].removeprefix(f"s3://{api.stack.bucket}/")
    assert api.stack.client("s3").get_object(Bucket=api.stack.bucket, Key=key)["Body"].read() == FIRST
    # AND a second ticket for the same file name is another key
    other = response_json(api("POST", "/uploads", body={"filename": "frame.png"}))
    assert other["s3_uri"] != ticket["s3_uri"]
