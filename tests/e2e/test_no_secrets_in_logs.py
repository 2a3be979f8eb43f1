"""Secrets never logged, prompts and input URLs only where they are the job's data.

Whole jobs run through the local stack (the API function, the S3 trigger, the deployed ASL, every step, the
notify function and its signed webhook) with the root logger at DEBUG and ``POWERTOOLS_LOG_LEVEL=DEBUG``, as
Lambda's ``ApplicationLogLevel=DEBUG`` gives. Every line is captured twice over: each record any logger makes
(a handler on the root logger, like the Lambda runtime's own) and what the Powertools handler writes.

The rule enforced:

- the Runway API key and the webhook signing secret appear nowhere: no log line, job record, event, manifest,
  execution history or dead letter;
- the prompt, ``data:`` contents and input URLs (a presigned URL's signature) appear in no log line while
  ``LogRequestContent`` is false (the default). They are the job's own data, so they are kept where the job
  is: its record, its manifest, the "Video Generation ..." events (their documented ``request``) and the
  execution's input and history, which carry the request from step to step (``states:GetExecutionHistory``
  guards them; the machine's CloudWatch logs have ``IncludeExecutionData: false``). The test checks that
  they are there too, so a search that found nothing is known to have looked in the right places.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from local import lambdas
from local.runner import JobResult, LocalPipeline
from tests.e2e.test_pipeline import png_bytes
from tests.notify.conftest import Receiver

pytestmark = pytest.mark.e2e

TIME_SCALE = 0.005
TIMEOUT = 30
RUNWAY_KEY = "key_" + secrets.token_hex(24)
PROMPTS = {
    "text": "PROMPT-TEXT-" + secrets.token_hex(6) + " a paper boat on a rainy street",
    "image": "PROMPT-IMAGE-" + secrets.token_hex(6) + " the boat sails away",
    "url": "PROMPT-URL-" + secrets.token_hex(6) + " the harbour at dawn",
    "s3": "PROMPT-S3-" + secrets.token_hex(6) + " a lighthouse in fog",
}
SIGNATURE = secrets.token_hex(32)
SIGNED_URL = f"https://example.com/frames/boat.png?X-Amz-Expires=900&X-Amz-Signature={SIGNATURE}"
#: Loggers of the stand-ins for AWS and Runway (moto, the simulator, the harness that plays Lambda): not code
#: that runs in a deployed stack.
STAND_IN_LOGGERS = ("moto", "local.", "werkzeug", "responses")
SERVICE_LOGGER = "runway-video-pipeline"  # the Powertools logger (POWERTOOLS_SERVICE_NAME)


@dataclass
class Captured:
    """Every log line of the run, every job and what the stack kept of it."""

    lines: list[str] = field(default_factory=list)
    jobs: dict[str, JobResult] = field(default_factory=dict)
    records: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    manifests: list[str] = field(default_factory=list)
    histories: list[str] = field(default_factory=list)
    dead_letters: list[str] = field(default_factory=list)
    webhook_secret: str = ""
    data_uri_payload: str = ""
    deliveries: int = 0


class _Everything(logging.Handler):
    """Keeps each record as the text a handler could write: message, exception, stack and extra keys."""

    STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(STAND_IN_LOGGERS):
            return
        try:
            text = record.getMessage()
        except Exception:  # a malformed record still counts: keep its raw parts
            text = f"{record.msg!r} {record.args!r}"
        extras = {k: v for k, v in vars(record).items() if k not in self.STANDARD}
        parts = [f"{record.name} {record.levelname} {text}", repr(extras)]
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            parts.append(record.stack_info)
        self.lines.append("\n".join(parts))


class _Tee(io.TextIOBase):
    """A stream that keeps what is written (the Powertools handler's JSON lines) and passes it on."""

    def __init__(self, target: Any, lines: list[str]) -> None:
        self.target, self.lines, self._lock = target, lines, threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self.lines.append(text)
        return int(self.target.write(text))

    def flush(self) -> None:
        self.target.flush()


def _until(predicate: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


def _dump(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


@pytest.fixture(scope="module")
def captured() -> Iterator[Captured]:
    out = Captured()
    root = logging.getLogger()
    saved_level = root.level
    handler = _Everything(out.lines)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    saved_streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tee(sys.stdout, out.lines), _Tee(sys.stderr, out.lines)
    receiver = Receiver()
    env = {
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
        "AWS_LAMBDA_LOG_LEVEL": "DEBUG",
        "WEBHOOK_ALLOW_HTTP_LOOPBACK": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Test",
        "POLL_MIN_WAIT_SECONDS": "5",
    }
    loaded = lambdas.loaded
    saved_levels: dict[str, int] = {}

    def cold_start(*args: Any, **kwargs: Any) -> Any:
        out.lines.clear()  # what the harness logged while it played CloudFormation is not the stack's
        return loaded(*args, **kwargs)

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(lambdas, "loaded", cold_start)
            with LocalPipeline(
                time_scale=TIME_SCALE, env_overrides=env, runway_api_key=RUNWAY_KEY
            ) as pipeline:
                # Powertools keeps the level and handler of a logger it set up before (for another stack of
                # this process): put the handlers' loggers at DEBUG, as POWERTOOLS_LOG_LEVEL=DEBUG does on a
                # fresh container, and point every handler still writing to the real streams at a tee.
                for name in (SERVICE_LOGGER, "videogen"):
                    saved_levels[name] = logging.getLogger(name).level
                    logging.getLogger(name).setLevel(logging.DEBUG)
                for logger in [root, *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]:
                    for h in logger.handlers:
                        if isinstance(h, logging.StreamHandler) and h.stream in saved_streams:
                            patch.setattr(h, "stream", _Tee(h.stream, out.lines))
                _run_jobs(pipeline, receiver, out)
    finally:
        receiver.close()
        sys.stdout, sys.stderr = saved_streams
        root.removeHandler(handler)
        root.setLevel(saved_level)
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)
    yield out


def _run_jobs(pipeline: LocalPipeline, receiver: Receiver, out: Captured) -> None:
    secrets_client = pipeline.stack_.client("secretsmanager")
    out.webhook_secret = secrets_client.get_secret_value(
        SecretId=pipeline.stack_.refs["WebhookSigningSecret"]
    )["SecretString"]
    hook = {"webhook_url": receiver.url}
    png = base64.b64encode(png_bytes()).decode()
    out.data_uri_payload = png
    requests = {
        "text": {"model": "gen4.5", "prompt": PROMPTS["text"], "duration": 5, **hook},
        "image": {
            "model": "gen4_turbo",
            "prompt": PROMPTS["image"],
            "image": f"data:image/png;base64,{png}",
            **hook,
        },
        "url": {"model": "gen4_turbo", "prompt": PROMPTS["url"], "image": SIGNED_URL, **hook},
    }
    for name, request in requests.items():
        out.jobs[name] = pipeline.run(request, timeout=TIMEOUT)
    s3_request = {"model": "gen4.5", "prompt": PROMPTS["s3"], "duration": 5, **hook}
    key = "inputs/lighthouse.json"
    pipeline.s3.put_object(Bucket=pipeline.bucket, Key=key, Body=json.dumps(s3_request).encode())
    (delivery,) = _until(lambda: pipeline.async_invocations("S3TriggerFunction"), "the S3 trigger")
    delivery.wait(TIMEOUT)
    assert delivery.succeeded, delivery.error
    (outcome,) = delivery.result["outcomes"]
    out.jobs["s3"] = pipeline.wait(outcome["job_id"], timeout=TIMEOUT)
    _until(lambda: len(receiver.received) >= len(out.jobs), "a webhook delivery per job")
    for invocation in pipeline.async_invocations("NotifyFunction"):
        invocation.wait(TIMEOUT)
    out.deliveries = len(receiver.received)
    for job in out.jobs.values():
        out.records.append(_dump(pipeline.job(job.job_id)))
        out.manifests.append(_dump(job.manifest))
        out.histories.append(_dump(pipeline.history(job.job_id)))
    out.events = [_dump(event) for event in pipeline.events()]
    out.dead_letters = [_dump(letter) for letter in pipeline.dead_letters()]


# --- the run was real -------------------------------------------------------------------------------------


def test_every_job_succeeded_with_the_key_and_a_signed_webhook(captured: Captured) -> None:
    # THEN each job used the Runway key (the simulator accepts no other) and its webhook was signed
    for job in captured.jobs.values():
        assert_archived_status(job)
    assert captured.deliveries >= len(captured.jobs)
    assert captured.webhook_secret
    # AND the capture saw the handlers' lines, botocore's included (the root logger was at DEBUG)
    text = "\n".join(captured.lines)
    assert all(job.job_id in text for job in captured.jobs.values())
    assert sum(line.startswith("botocore") for line in captured.lines) > 0
    # AND what the Powertools handler wrote (JSON lines on stdout), the intake's "job accepted" included
    written = [line for line in captured.lines if '"service":"runway-video-pipeline"' in line]
    assert any('"job accepted"' in line for line in written)


def assert_archived_status(job: JobResult) -> None:
    assert job.status == "SUCCEEDED", f"{job.error}: {job.cause}"


# --- secrets: nowhere -------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["lines", "records", "events", "manifests", "histories", "dead_letters"])
def test_neither_secret_appears_anywhere(captured: Captured, where: str) -> None:
    # WHEN every captured text of one kind is searched
    texts: list[str] = getattr(captured, where)
    # THEN neither the Runway key nor the webhook signing secret is in any of them
    leaks = [t for t in texts if RUNWAY_KEY in t or captured.webhook_secret in t]
    assert not leaks, f"{len(leaks)} {where} carry a secret, e.g. {leaks[0][:400]}"


# --- the request: the job's data, never a log line --------------------------------------------------------


def test_no_log_line_carries_a_prompt_a_data_uri_or_a_signature(captured: Captured) -> None:
    values = [*PROMPTS.values(), captured.data_uri_payload[:64], SIGNATURE]
    leaks = [line for line in captured.lines if any(value in line for value in values)]
    assert not leaks, f"{len(leaks)} log lines carry request content, e.g. {leaks[0][:400]}"


def test_the_request_is_kept_where_the_job_is(captured: Captured) -> None:
    # THEN each prompt is in its job's record, manifest, event and execution history
    for name, job in captured.jobs.items():
        prompt = PROMPTS[name]
        record = next(r for r in captured.records if job.job_id in r)
        history = next(h for h in captured.histories if job.job_id in h)
        assert prompt in record
        assert prompt in json.dumps(job.manifest)
        assert prompt in history
        assert any(prompt in event and job.job_id in event for event in captured.events)
    assert SIGNATURE in json.dumps(captured.jobs["url"].record, default=str)
