"""What moto 5.2.5 lacks to run this project locally, patched in one place.

:func:`install` (process-wide; installs nest, :func:`uninstall` undoes the latest) applies every patch below.
Functions registered with :func:`register` (by ARN) run in-process; the others keep moto's behaviour. The
one gap not patched here is ``DefinitionSubstitutions``, which moto ignores: ``local.stack`` applies them.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import json
import logging
import threading
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.events.models import Rule
from moto.events.utils import EventTemplateParser
from moto.s3 import notifications
from moto.s3.responses import S3Response
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

log = logging.getLogger(__name__)


class InProcessFunction(Protocol):
    def invoke(self, body: Any, response_headers: dict[str, Any]) -> bytes: ...

    def invoke_async(self, body: Any) -> Any: ...


_lock = threading.RLock()
_functions: dict[str, InProcessFunction] = {}
_scales: list[float] = []
_originals: dict[str, Any] = {
    "invoke": LambdaSimpleBackend.invoke,
    "invoke_awslambda": notifications._invoke_awslambda,
    "key_response": S3Response.key_response,
    "send_to_targets": Rule.send_to_targets,
    "wait_interval": WaitFunction._wait_interval,
    "retrier_time": retrier_decl.time,
}


def register(arn: str, function: InProcessFunction) -> None:
    with _lock:
        _functions[arn] = function


def unregister(arn: str) -> None:
    with _lock:
        _functions.pop(arn, None)


def _registered(arn: str) -> InProcessFunction | None:
    with _lock:
        return _functions.get(":".join(arn.split(":")[:7]))  # without a qualifier


# Gap: without Docker, moto's Lambda answers every Invoke with the request body. Patch: the Invoke API
# (the state machine's tasks, boto3 callers) runs the registered handler in-process; an ``Event``
# invocation is queued and runs on its own thread.
def _invoke(  # noqa: PLR0917 - moto's signature
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> str | bytes | None:
    function = _registered(self.get_function(function_name, qualifier).function_arn)
    if function is None:
        return _originals["invoke"](self, function_name, qualifier, body, headers, response_headers)
    invocation_type = {k.lower(): v for k, v in dict(headers or {}).items()}.get("x-amz-invocation-type")
    if invocation_type == "DryRun":
        return b""
    if invocation_type == "Event":
        _start_async(function, body)
        return b""
    payload = function.invoke(body, response_headers)
    response_headers["Content-Length"] = str(len(payload))
    return payload


# Gap: moto calls a notified function synchronously from inside PutObject, before it stores the object's
# metadata and tags, and drops its errors. Patch: the notification becomes an asynchronous invocation,
# started once the S3 request being handled on this thread is complete.
_s3_request = threading.local()


def _invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
    function = _registered(fn_arn)
    if function is None:
        _originals["invoke_awslambda"](account_id, event_body, fn_arn, region_name)
    else:
        _start_async(function, json.dumps(event_body))


def _start_async(function: InProcessFunction, body: Any) -> None:
    pending = getattr(_s3_request, "pending", None)
    if pending is None:
        function.invoke_async(body)
    else:
        pending.append((function, body))


def _key_response(self: S3Response, request: Any, full_url: str, headers: Any) -> Any:
    if getattr(_s3_request, "pending", None) is not None:
        return _originals["key_response"](self, request, full_url, headers)
    _s3_request.pending = []
    try:
        return _originals["key_response"](self, request, full_url, headers)
    finally:
        pending, _s3_request.pending = _s3_request.pending, None
        for function, body in pending:
            function.invoke_async(body)


# Gap: moto's EventBridge raises NotImplementedError for a Lambda target. Patch: a matching rule sends its
# Lambda targets the event (``time`` in ISO 8601, ``Input`` or ``InputTransformer`` applied) as an
# asynchronous invocation; its other targets keep moto's delivery.
def _send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
    ours = [t for t in self.targets if _registered(str(t.get("Arn", "")))]
    if ours and self.event_pattern.matches_event(original_event):
        event = copy.deepcopy(original_event)
        event.pop("ingestion-time", None)
        with contextlib.suppress(TypeError, ValueError):
            stamp = datetime.datetime.fromtimestamp(float(event["time"]), datetime.UTC)
            event["time"] = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        for target in ours:
            _start_async(_registered(target["Arn"]), _target_body(target, event, transform_input))  # type: ignore[arg-type]
    others = copy.copy(self)
    others.targets = [t for t in self.targets if t not in ours]
    if others.targets:
        _originals["send_to_targets"](others, original_event, transform_input)


def _target_body(target: dict[str, Any], event: dict[str, Any], transform_input: bool) -> str:
    if transform_input and "Input" in target:
        return str(target["Input"])
    if transform_input and "InputTransformer" in target:
        transformer = target["InputTransformer"]
        template, paths = transformer.get("InputTemplate"), transformer.get("InputPathsMap", {})
        return json.dumps(
            EventTemplateParser.parse(input_template=template, input_paths_map=paths, event=event)  # type: ignore[arg-type]
        )
    return json.dumps(event)


# Gap: the Step Functions interpreter really sleeps in Wait states and between Retry attempts. Patch: both
# are multiplied by the installed time scale (0.01 turns a 10 s Wait into 0.1 s).
def current_scale() -> float:
    with _lock:
        return _scales[-1] if _scales else 1.0


def _wait_interval(self: WaitFunction, env: Any, wait_seconds: float) -> None:
    deadline = time.monotonic() + max(wait_seconds, 0) * current_scale()
    while env.is_running() and (remaining := deadline - time.monotonic()) > 0:
        env.program_state_event.wait(remaining)  # pulsed when the execution is stopped


_retrier_time = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if not k.startswith("__")})
_retrier_time.sleep = lambda seconds: time.sleep(max(seconds, 0) * current_scale())


def install(scale: float = 1.0) -> None:
    """Apply every patch; Wait states and Retry backoff run ``scale`` times as long as on AWS."""
    if not scale > 0:
        raise ValueError(f"time scale must be > 0, not {scale!r}")
    with _lock:
        _scales.append(float(scale))
        if len(_scales) == 1:
            LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]
            notifications._invoke_awslambda = _invoke_awslambda
            S3Response.key_response = _key_response  # type: ignore[method-assign]
            Rule.send_to_targets = _send_to_targets  # type: ignore[method-assign]
            WaitFunction._wait_interval = _wait_interval  # type: ignore[method-assign]
            retrier_decl.time = _retrier_time  # type: ignore[assignment]


def uninstall() -> None:
    with _lock:
        if not _scales:
            raise RuntimeError("local.moto_gaps is not installed")
        _scales.pop()
        if not _scales:
            LambdaSimpleBackend.invoke = _originals["invoke"]  # type: ignore[method-assign]
            notifications._invoke_awslambda = _originals["invoke_awslambda"]
            S3Response.key_response = _originals["key_response"]  # type: ignore[method-assign]
            Rule.send_to_targets = _originals["send_to_targets"]  # type: ignore[method-assign]
            WaitFunction._wait_interval = _originals["wait_interval"]  # type: ignore[method-assign]
            retrier_decl.time = _originals["retrier_time"]


@contextmanager
def installed(scale: float = 1.0) -> Iterator[None]:
    install(scale)
    try:
        yield
    finally:
        uninstall()
