"""Cold starts: what importing each handler loads and makes, in a fresh interpreter with its Lambda
environment (tests/support/lambda_init: template variables, LAMBDA_TASK_ROOT so tracing is on, AWS endpoints
that refuse connections)."""

from __future__ import annotations

import functools
import threading
from typing import Any

import pytest

from tests.support.lambda_init import ImportProbe, probe_handler
from tests.support.template import load_template
from videogen.storage.clients import Deferred

FUNCTIONS = sorted(
    rid for rid, res in load_template()["Resources"].items() if res["Type"] == "AWS::Serverless::Function"
)
NO_RUNWAY_CALLS = ("ApiFunction", "S3TriggerFunction")
RUNWAY_CALLERS = (
    "UploadInputsFunction",
    "SubmitFunction",
    "PollFunction",
    "ArchiveFunction",
    "CancelFunction",
    "ReconcileFunction",
)


@functools.cache
def cold_start(logical_id: str) -> ImportProbe:
    return probe_handler(logical_id)


def test_every_function_of_the_template_is_covered() -> None:
    assert len(FUNCTIONS) == 11
    assert set(NO_RUNWAY_CALLS) | set(RUNWAY_CALLERS) <= set(FUNCTIONS)


@pytest.mark.parametrize("logical_id", NO_RUNWAY_CALLS)
def test_the_api_and_the_s3_trigger_load_neither_the_runway_sdk_nor_httpx(logical_id: str) -> None:
    # GIVEN the function's deployed environment, tracing on  WHEN its handler is imported
    probe = cold_start(logical_id)
    # THEN nothing of the Runway SDK or of httpx is loaded, not even through a dependency
    loaded = [p for p in ("runwayml", "httpx", "httpcore") if probe.imported(p)]
    assert loaded == []
    assert not probe.imported("videogen.runway")


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_no_function_makes_an_aws_client_at_import(logical_id: str) -> None:
    # GIVEN AWS endpoints that refuse connections  WHEN the handler is imported
    probe = cold_start(logical_id)
    # THEN the import succeeded without calling AWS, and made no boto3 client or resource (no default
    # session: clients are made by the first invocation that calls them)
    assert not probe.default_session
    # AND the Tracer instruments boto3 only, not every library the X-Ray SDK knows
    assert "aws_xray_sdk.ext.botocore.patch" in probe.modules
    assert not probe.imported("requests")
    assert "aws_xray_sdk.ext.sqlite3.patch" not in probe.modules


@pytest.mark.parametrize("logical_id", RUNWAY_CALLERS)
def test_the_functions_that_call_runway_trace_their_http_calls(logical_id: str) -> None:
    probe = cold_start(logical_id)
    assert "aws_xray_sdk.ext.httpx.patch" in probe.modules


def test_a_bad_setting_still_fails_the_cold_start() -> None:
    # GIVEN a function whose required table name is missing  WHEN it cold-starts  THEN the import fails
    with pytest.raises(RuntimeError, match="SettingsError"):
        probe_handler("FinishFunction", overrides={"JOBS_TABLE": ""})


# --- the lazy holder -------------------------------------------------------------------------------------


class Made:
    count = 0

    def __init__(self) -> None:
        Made.count += 1
        self.value = "made"

    def method(self) -> str:
        return self.value


def test_a_deferred_object_is_made_on_first_use_and_once() -> None:
    # GIVEN a deferred object nobody used yet
    Made.count = 0
    holder: Any = Deferred(Made)
    assert not holder.made and Made.count == 0
    # WHEN eight threads use it at once
    barrier = threading.Barrier(8)
    answers: list[str] = []

    def use() -> None:
        barrier.wait()
        answers.append(holder.method())

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN it was made once, and every use reached it
    assert Made.count == 1
    assert answers == ["made"] * 8
    assert holder.made and holder.get() is holder.get()
    assert holder.value == "made"
