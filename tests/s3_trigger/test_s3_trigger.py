"""S3 trigger: images, videos and JSON requests under inputs/ become jobs; the rest is REJECTED or ignored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

import pytest

from tests.support.entry_points import EntryStack, entry_stack, s3_put_event
from tests.support.s3_faults import S3Faults
from videogen.core.errors import VideoGenError
from videogen.intake.s3_inputs import decode_metadata_value

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
MOV = b"\0\0\0\x14ftypqt  \0\0\0\0qt  " + b"\0" * 32  # a QuickTime file's first box


class Trigger:
    def __init__(self, stack: EntryStack, context: Any) -> None:
        self.stack = stack
        self.context = context
        self.handler = stack.load("S3TriggerFunction")
        self.s3 = stack.client("s3")

    def put(self, key: str, body: bytes = PNG, **metadata: str) -> dict[str, Any]:
        """Put the object and deliver the notification S3 would send (key URL-encoded)."""
        answer = self.s3.put_object(Bucket=self.stack.bucket, Key=key, Body=body, Metadata=metadata)
        return self.notify(key, answer)

    def notify(self, key: str, answer: dict[str, Any]) -> dict[str, Any]:
        event = s3_put_event(
            self.stack.bucket,
            quote_plus(key, safe="/"),
            etag=answer["ETag"].strip('"'),
            version=answer.get("VersionId"),
        )
        return self.handler(event, self.context)

    def record(self, job_id: str) -> dict[str, Any]:
        return self.stack.table.get_item(Key={"job_id": job_id})["Item"]

    def execution_input(self, job_id: str) -> dict[str, Any]:
        sfn = self.stack.client("stepfunctions")
        (execution,) = [e for e in self.stack.executions() if e["name"] == job_id]
        return json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])


@pytest.fixture
def trigger(monkeypatch: pytest.MonkeyPatch, lambda_context: Any) -> Iterator[Trigger]:
    with entry_stack(monkeypatch) as stack:
        yield Trigger(stack, lambda_context)


def test_image_with_metadata_becomes_an_image_to_video_job(trigger):
    # WHEN an image with prompt/ratio/duration metadata lands in inputs/
    result = trigger.put("inputs/boat.png", prompt="make it drift", ratio="1280:720", duration="5")
    # THEN a job starts with the image as an s3:// input and the metadata as parameters
    (outcome,) = result["outcomes"]
    assert outcome["outcome"] == "started"
    request = trigger.execution_input(outcome["job_id"])["request"]
    assert request == {
        "task": "image_to_video",
        "image": f"s3://{trigger.stack.bucket}/inputs/boat.png",
        "model": "gen4.5",
        "prompt": "make it drift",
        "ratio": "1280:720",
        "duration": 5,
    }
    assert trigger.record(outcome["job_id"])["source"] == "s3"


def test_video_defaults_to_aleph2(trigger):
    result = trigger.put("inputs/clip.mov", MOV, prompt="make it snow")
    (outcome,) = result["outcomes"]
    assert outcome["outcome"] == "started"
    request = trigger.execution_input(outcome["job_id"])["request"]
    assert request["model"] == "aleph2" and request["task"] == "video_to_video"
    assert request["video"].endswith("/inputs/clip.mov")


def test_json_request_is_used_as_is_and_may_point_at_other_objects(trigger):
    trigger.s3.put_object(Bucket=trigger.stack.bucket, Key="uploads/frame.png", Body=PNG)
    body = {
        "prompt": "drift",
        "model": "gen4.5",
        "ratio": "1280:720",
        "duration": 5,
        "image": f"s3://{trigger.stack.bucket}/uploads/frame.png",
    }
    result = trigger.put("inputs/requests/job.json", json.dumps(body).encode())
    (outcome,) = result["outcomes"]
    assert outcome["outcome"] == "started"
    assert trigger.execution_input(outcome["job_id"])["request"] == body


def test_duplicate_notification_never_starts_a_second_job(trigger):
    # GIVEN an object that already started a job
    answer = trigger.s3.put_object(
        Bucket=trigger.stack.bucket, Key="inputs/dup.png", Body=PNG, Metadata={"prompt": "x"}
    )
    first = trigger.notify("inputs/dup.png", answer)
    # WHEN S3 delivers the same notification again
    second = trigger.notify("inputs/dup.png", answer)
    # THEN the same job id, reported as a duplicate, and one execution
    assert second["outcomes"][0]["job_id"] == first["outcomes"][0]["job_id"]
    assert second["outcomes"][0]["outcome"] == "duplicate"
    assert len(trigger.stack.executions()) == 1


def test_a_new_version_of_the_same_key_is_a_new_job(trigger):
    first = trigger.put("inputs/again.png", prompt="one")
    second = trigger.put("inputs/again.png", prompt="two")
    assert first["outcomes"][0]["job_id"] != second["outcomes"][0]["job_id"]
    assert len(trigger.stack.executions()) == 2


def test_keys_with_spaces_and_unicode_work(trigger):
    key = "inputs/été à la plage/photo 1 ✨.jpg"
    result = trigger.put(key, prompt="waves")
    (outcome,) = result["outcomes"]
    assert outcome["outcome"] == "started"
    assert (
        trigger.execution_input(outcome["job_id"])["request"]["image"] == f"s3://{trigger.stack.bucket}/{key}"
    )


@pytest.mark.parametrize(
    "key", ["outputs/job/output-1.mp4", "uploads/abc/frame.png", "elsewhere/a.png", "inputs/"]
)
def test_keys_outside_inputs_never_start_anything(trigger, key):
    result = trigger.put(key)
    assert result["outcomes"][0]["outcome"] == "ignored"
    assert trigger.stack.executions() == []
    assert trigger.stack.table.scan()["Items"] == []


DEEP = b"[" * 900 + b"]" * 900  # JSON nested 900 deep


@pytest.mark.parametrize(
    ("key", "body", "metadata", "reason"),
    [
        ("inputs/notes.txt", b"hello", {}, "not a supported input"),
        ("inputs/bad.json", b"{not json", {}, "not valid JSON"),
        ("inputs/list.json", b"[1, 2]", {}, "one JSON object"),
        ("inputs/wrong.json", json.dumps({"prompt": "x", "model": "gen5"}).encode(), {}, "gen5"),
        ("inputs/long.png", PNG, {"duration": "long"}, "x-amz-meta-duration"),
        ("inputs/bad-model.mp4", MOV, {"model": "gen4_aleph"}, "aleph2"),
        ("inputs/surrogate.json", b'{"prompt": "a boat \\ud800"}', {}, "lone UTF-16 surrogate"),
        (
            "inputs/deep.json",
            b'{"prompt": "x", "options": {"a": ' + b"[" * 900 + b"]" * 900 + b"}}",
            {},
            "nested",
        ),
    ],
    ids=[
        "txt",
        "bad-json",
        "json-list",
        "unknown-model",
        "bad-duration",
        "retired-model",
        "surrogate",
        "deep",
    ],
)
def test_files_that_cannot_become_a_job_are_rejected_with_a_reason(trigger, key, body, metadata, reason):
    # WHEN such a file lands in inputs/
    result = trigger.put(key, body, **metadata)
    # THEN a REJECTED record says why, and nothing is started
    (outcome,) = result["outcomes"]
    assert outcome["outcome"] == "rejected"
    record = trigger.record(outcome["job_id"])
    assert record["status"] == "REJECTED" and reason in record["error_cause"]
    assert record["source_object"] == f"s3://{trigger.stack.bucket}/{key}"
    assert trigger.stack.executions() == []


@pytest.mark.parametrize("key", ["inputs/gone.png", "inputs/gone.json"])
def test_an_object_deleted_before_it_is_read_is_rejected_as_gone(trigger, key):
    # GIVEN an object that was created, then deleted before the notification was handled
    answer = trigger.s3.put_object(Bucket=trigger.stack.bucket, Key=key, Body=PNG)
    trigger.s3.delete_object(Bucket=trigger.stack.bucket, Key=key, VersionId=answer["VersionId"])
    # WHEN its notification arrives (S3 answers 404: the trigger may list its prefix)
    (outcome,) = trigger.notify(key, answer)["outcomes"]
    # THEN a REJECTED record says it no longer exists, and nothing is started
    assert outcome["outcome"] == "rejected"
    record = trigger.record(outcome["job_id"])
    assert record["status"] == "REJECTED" and "no longer exists" in record["error_cause"]
    assert trigger.stack.executions() == []


@pytest.mark.parametrize(
    ("operation", "code"), [("HeadObject", "403"), ("GetObject", "AccessDenied"), ("HeadObject", "Forbidden")]
)
def test_access_denied_is_never_taken_for_a_deleted_object(trigger, operation, code):
    # GIVEN S3 refuses the trigger's read (its role or the object's KMS key does not allow it)
    if operation == "GetObject":
        key, body, metadata = "inputs/locked.json", b'{"prompt": "a boat"}', {}
    else:
        key, body, metadata = "inputs/locked.png", PNG, {"prompt": "a boat"}
    answer = trigger.s3.put_object(Bucket=trigger.stack.bucket, Key=key, Body=body, Metadata=metadata)
    with S3Faults(trigger.stack.modules["S3TriggerFunction"]._s3) as faults:
        faults.fail(operation, code, 403)
        # WHEN its notification arrives THEN the invocation fails, so Lambda retries it, then dead-letters it
        with pytest.raises(VideoGenError, match="dead-lettered"):
            trigger.notify(key, answer)
    # AND no REJECTED record claims the file is gone or bad (a re-drive after the fix starts the job)
    assert trigger.stack.table.scan()["Items"] == []
    assert trigger.stack.executions() == []
    (outcome,) = trigger.notify(key, answer)["outcomes"]
    assert outcome["outcome"] == "started"


def test_non_ascii_metadata_is_decoded():
    # S3 returns non-ASCII user metadata RFC 2047-encoded
    assert decode_metadata_value("=?UTF-8?B?w6l0w6kg4pyo?=") == "été ✨"
    assert decode_metadata_value(" plain ") == "plain"
