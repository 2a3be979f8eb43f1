"""Standard Webhooks signing, URL rules and delivery retries (videogen.notifications)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from videogen.core.settings import Settings
from videogen.egress.policy import webhook_policy
from videogen.egress.transport import egress_client
from videogen.notifications.delivery import WebhookDeliveryFailed, WebhookRejected, WebhookSender, message_for
from videogen.notifications.signing import InvalidWebhookSecret, secret_bytes, sign, verify
from videogen.notifications.url_safety import InvalidWebhookUrl, check_webhook_url

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def test_signature_is_hmac_sha256_of_id_timestamp_body_keyed_with_the_decoded_secret():
    body = b'{"type":"video.generation.succeeded"}'
    expected = base64.b64encode(
        hmac.new(b"0123456789abcdef0123456789abcdef", b"msg_1.1700000000." + body, hashlib.sha256).digest()
    ).decode()
    assert sign("msg_1", 1700000000, body, SECRET) == f"v1,{expected}"


def test_verify_accepts_a_good_signature_and_refuses_tampering_and_old_timestamps():
    body = b"{}"
    headers = {
        "webhook-id": "m",
        "webhook-timestamp": "1700000000",
        "webhook-signature": "v1,bogus " + sign("m", 1700000000, body, SECRET),
    }
    assert verify(headers, body, SECRET, now=1700000010)
    assert not verify(headers, b"{ }", SECRET, now=1700000010)
    assert not verify(headers, body, SECRET, now=1700009999)


@pytest.mark.parametrize("secret", ["whsec_***", "whsec_" + base64.b64encode(b"short").decode()])
def test_malformed_secrets_are_refused(secret):
    with pytest.raises(InvalidWebhookSecret):
        secret_bytes(secret)


@pytest.mark.parametrize(
    ("url", "allow_loopback", "ok"),
    [
        ("https://hooks.example.com/x", False, True),
        ("http://hooks.example.com/x", False, False),
        ("http://127.0.0.1:8080/x", False, False),
        ("http://127.0.0.1:8080/x", True, True),
        ("http://localhost/x", True, True),
        ("https://10.0.0.5/x", False, False),
        ("https://169.254.169.254/latest", False, False),
        ("https://user:pw@hooks.example.com/x", False, False),
        ("ftp://hooks.example.com/x", False, False),
        ("not a url", False, False),
    ],
)
def test_only_https_public_urls_or_local_loopback(url, allow_loopback, ok):
    resolver = {"hooks.example.com": ["93.184.215.14"], "localhost": ["127.0.0.1"]}.__getitem__
    policy = webhook_policy(Settings(allow_loopback_http=allow_loopback))
    if ok:
        check_webhook_url(url, policy, resolver=resolver)
    else:
        with pytest.raises(InvalidWebhookUrl):
            check_webhook_url(url, policy, resolver=resolver)


def test_a_host_resolving_to_a_private_address_is_refused():
    with pytest.raises(InvalidWebhookUrl):
        check_webhook_url(
            "https://internal.example.com/x", webhook_policy(Settings()), resolver=lambda host: ["10.1.2.3"]
        )


LOCAL_POLICY = webhook_policy(Settings(allow_loopback_http=True))


def _sender(**kwargs):
    return WebhookSender(
        egress_client(LOCAL_POLICY, timeout=5),
        secret=lambda: SECRET,
        policy=LOCAL_POLICY,
        sleep=lambda s: None,
        **kwargs,
    )


def test_delivery_is_signed_and_retried_with_the_same_id(receiver):
    # GIVEN a receiver that fails twice
    receiver.statuses = [503, 429]
    message = message_for("job-1", "SUCCEEDED", {"job_id": "job-1"})
    # WHEN the message is delivered
    result = _sender().deliver(receiver.url, message)
    # THEN the third attempt succeeds; every attempt had the same id and a valid signature
    assert result.delivered and result.attempts == 3
    assert {r["headers"]["webhook-id"] for r in receiver.received} == {"job-1.succeeded"}
    for attempt in receiver.received:
        assert verify(attempt["headers"], attempt["body"], SECRET)
    assert receiver.payload()["type"] == "video.generation.succeeded"


def test_a_refusal_is_final(receiver):
    receiver.statuses = [400]
    with pytest.raises(WebhookRejected):
        _sender().deliver(receiver.url, message_for("j", "FAILED", {}))
    assert len(receiver.received) == 1


def test_persistent_failures_raise_for_the_async_retries(receiver):
    receiver.statuses = [500, 500, 500]
    with pytest.raises(WebhookDeliveryFailed):
        _sender(max_attempts=3).deliver(receiver.url, message_for("j", "FAILED", {}))
    assert len(receiver.received) == 3
