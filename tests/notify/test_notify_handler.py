"""The notify function: EventBridge "Video Generation ..." events -> signed webhook with the job view."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.entry_points import TEST_WEBHOOK_SECRET, EntryStack, entry_stack
from videogen.notifications.signing import verify
from videogen.storage.job_store import JobStore


class Notify:
    def __init__(self, stack: EntryStack, context: Any) -> None:
        self.stack = stack
        self.context = context
        self.handler = stack.load("NotifyFunction", {"WEBHOOK_MAX_ATTEMPTS": "2"})
        stack.modules["NotifyFunction"].notifier._sender._sleep = lambda s: None

    def __call__(self, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
        event = {
            "version": "0",
            "id": "e-1",
            "detail-type": detail_type,
            "source": "runway-video-pipeline",
            "account": "123456789012",
            "time": "2026-11-25T09:31:45Z",
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
        return self.handler(event, self.context)


@pytest.fixture
def notify(monkeypatch: pytest.MonkeyPatch, lambda_context: Any) -> Iterator[Notify]:
    with entry_stack(monkeypatch) as stack:
        yield Notify(stack, lambda_context)


def test_succeeded_job_is_posted_signed_with_presigned_outputs(notify, receiver):
    # GIVEN a succeeded job whose request named a webhook
    JobStore(notify.stack.table).update(
        "job-9", {"status": "SUCCEEDED", "output_keys": {"outputs/job-9/output-1.mp4"}, "credits_charged": 60}
    )
    request = {"prompt": "a boat", "webhook_url": receiver.url}
    # WHEN the Succeeded event arrives
    result = notify(
        "Video Generation Succeeded", {"job_id": "job-9", "status": "SUCCEEDED", "request": request}
    )
    # THEN the job view was delivered, signed with the stack's secret
    assert result["outcome"] == "delivered"
    (delivery,) = receiver.received
    assert verify(delivery["headers"], delivery["body"], TEST_WEBHOOK_SECRET)
    payload = receiver.payload()
    assert payload["type"] == "video.generation.succeeded"
    assert payload["data"]["job_id"] == "job-9" and payload["data"]["credits"]["charged"] == 60
    assert notify.stack.bucket in payload["data"]["outputs"][0]["url"]


def test_no_webhook_url_means_no_call(notify, receiver):
    result = notify(
        "Video Generation Failed", {"job_id": "j", "status": "FAILED", "request": {"prompt": "x"}}
    )
    assert result["outcome"] == "no_webhook" and receiver.received == []


def test_missing_record_falls_back_to_the_event(notify, receiver):
    detail = {"job_id": "gone", "status": "TIMED_OUT", "request": {"webhook_url": receiver.url}}
    assert notify("Video Generation Timed Out", detail)["outcome"] == "delivered"
    assert receiver.payload()["data"]["job_id"] == "gone"


def test_a_failing_receiver_raises_so_lambda_retries_later(notify, receiver):
    receiver.statuses = [502, 502]
    detail = {"job_id": "j", "status": "CANCELLED", "request": {"webhook_url": receiver.url}}
    with pytest.raises(Exception, match="failed 2 attempts"):
        notify("Video Generation Cancelled", detail)


def test_a_non_https_public_url_is_reported_not_called(notify):
    detail = {"job_id": "j", "status": "FAILED", "request": {"webhook_url": "http://hooks.example.com/x"}}
    assert notify("Video Generation Failed", detail)["outcome"] == "invalid_url"
