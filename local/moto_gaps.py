"""What moto 5.2.5 lacks to run this project locally, patched in one place.

:func:`install` applies every patch below, process-wide (installs nest; :func:`uninstall` undoes the latest).
Functions registered with :func:`register` run in-process; the others keep moto's behaviour. moto also
ignores ``DefinitionSubstitutions``; that gap needs no patch: ``local.stack`` substitutes the ASL itself.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import functools
import json
import threading
import time
import types
from typing import Any, Protocol

from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.dynamodb.responses import DynamoHandler
from moto.events.models import Rule, events_backends
from moto.s3 import notifications
from moto.s3.responses import S3Response
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication


class InProcessFunction(Protocol):
    def invoke(self, body: Any, response_headers: dict[str, Any]) -> bytes: ...

    def invoke_async(self, body: Any) -> Any: ...


_lock = threading.Lock()
_functions: dict[str, InProcessFunction] = {}  # by unqualified function ARN
_scales: list[float] = []


def register(arn: str, function: InProcessFunction) -> None:
    _functions[arn] = function


def unregister(arn: str) -> None:
    _functions.pop(arn, None)


def _registered(arn: str) -> InProcessFunction | None:
    return _functions.get(":".join(arn.split(":")[:7]))


# Gap: without Docker, moto's Lambda answers every Invoke with the request body. Patch: the Invoke API (the
# state machine's tasks, boto3 callers) runs the registered handler; an ``Event`` invocation is queued.
def _invoke(  # noqa: PLR0917 - moto's signature
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response: Any,
) -> str | bytes | None:
    function = _registered(self.get_function(function_name, qualifier).function_arn)
    if function is None:
        return _original_invoke(self, function_name, qualifier, body, headers, response)
    if headers.get("X-Amz-Invocation-Type") == "Event":
        _start_async(function, body)
        return b""
    return function.invoke(body, response)


# Gap: moto calls a notified function synchronously from inside PutObject, before it stores the object's
# metadata, and drops its errors. Patch: the notification is an asynchronous invocation, started once the
# S3 request being handled on this thread is complete.
_s3_request = threading.local()


def _invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
    function = _registered(fn_arn)
    if function is None:
        _original_invoke_awslambda(account_id, event_body, fn_arn, region_name)
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
        return _original_key_response(self, request, full_url, headers)
    _s3_request.pending = []
    try:
        return _original_key_response(self, request, full_url, headers)
    finally:
        pending, _s3_request.pending = _s3_request.pending, None
        for function, body in pending:
            function.invoke_async(body)


# Gap: moto's EventBridge raises NotImplementedError for a Lambda target. Patch: a matching rule sends its
# Lambda targets the event (``time`` in ISO 8601) or their constant ``Input`` as asynchronous invocations
# (``InputPath``/``InputTransformer`` are not applied); its other targets keep moto's delivery. A Lambda
# target of a stack closed earlier in the process is skipped.
def _send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
    ours = {target["Id"]: _registered(target["Arn"]) for target in self.targets}
    if any(ours.values()) and self.event_pattern.matches_event(original_event):
        event = copy.deepcopy(original_event)
        event.pop("ingestion-time", None)
        with contextlib.suppress(TypeError, ValueError):
            stamp = datetime.datetime.fromtimestamp(float(event["time"]), datetime.UTC)
            event["time"] = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        for target in self.targets:
            function = ours[target["Id"]]
            if function is not None:
                _start_async(
                    function, target["Input"] if transform_input and "Input" in target else json.dumps(event)
                )
    others = copy.copy(self)
    # A Lambda target that is not registered belongs to a local stack already closed in this process: dropped.
    others.targets = [
        target for target in self.targets if ours[target["Id"]] is None and ":lambda:" not in target["Arn"]
    ]
    if others.targets:
        _original_send_to_targets(others, original_event, transform_input)


# Gap: the Step Functions interpreter really sleeps in Wait states and between Retry attempts. Patch: both
# are multiplied by the installed time scale (0.01 turns a 10 s Wait into 0.1 s).
def time_scale() -> float:
    return _scales[-1] if _scales else 1.0


def _wait_interval(self: WaitFunction, env: Any, wait_seconds: float) -> None:
    deadline = time.monotonic() + max(wait_seconds, 0) * time_scale()
    while env.is_running() and (remaining := deadline - time.monotonic()) > 0:
        env.program_state_event.wait(remaining)  # pulsed when the execution is stopped


# Gap: moto's Step Functions sends no "Step Functions Execution Status Change" event when an execution ends.
# Patch: once the interpreter has recorded the end, the event goes to the default bus, as on AWS (detail:
# executionArn, stateMachineArn, name, status, input, error, cause, startDate and stopDate in epoch ms).
def _terminated(self: BaseExecutionWorkerCommunication) -> None:
    _original_terminated(self)
    execution = self.execution
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": getattr(execution.exec_status, "value", execution.exec_status),
        "startDate": int(execution.start_date.timestamp() * 1000),
        "stopDate": int(execution.stop_date.timestamp() * 1000) if execution.stop_date else None,
        "input": execution.execution_input,
        "output": json.dumps(execution.output) if execution.output is not None else None,
        "error": execution.error,
        "cause": execution.cause,
    }
    entry = {
        "Source": "aws.states",
        "DetailType": "Step Functions Execution Status Change",
        "Detail": json.dumps(detail),
        "Resources": [execution.exec_arn],
        "EventBusName": "default",
    }
    events_backends[execution.account_id][execution.region_name].put_events([entry])


_retrier_time = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if not k.startswith("__")})
_retrier_time.sleep = lambda seconds: time.sleep(max(seconds, 0) * time_scale())

# Gap: moto's DynamoDB checks a write's ConditionExpression and then writes, without a lock: two concurrent
# conditional writes (the same S3 event delivered twice at once) can both succeed, which DynamoDB never
# allows. Patch: writes are applied one at a time.
_dynamodb_writes = threading.Lock()
_WRITE_ACTIONS = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")


def _one_write_at_a_time(action: Any) -> Any:
    def write(self: DynamoHandler) -> Any:
        with _dynamodb_writes:
            return action(self)

    return write


# Gap (speed): moto parses the ASL with a pure-Python ANTLR parser when the machine is created and again at
# every execution start (a quarter of a second each for this template). Patch: the parse tree of a definition
# is kept; each execution still gets fresh evaluation components from it, and a bad definition still raises.
@functools.lru_cache(maxsize=32)
def _asl_tree(definition: str) -> Any:
    return _original_parse(definition)[1]


def _parse_asl(definition: str) -> tuple[Any, Any]:
    tree = _asl_tree(definition)
    return Preprocessor().visit(tree), tree


_original_parse = AmazonStateLanguageParser.parse
_original_invoke = LambdaSimpleBackend.invoke
_original_invoke_awslambda = notifications._invoke_awslambda
_original_key_response = S3Response.key_response
_original_send_to_targets = Rule.send_to_targets
_original_terminated = BaseExecutionWorkerCommunication.terminated
_PATCHES: list[tuple[Any, str, Any, Any]] = [  # (owner, attribute, patch, original)
    (LambdaSimpleBackend, "invoke", _invoke, _original_invoke),
    (notifications, "_invoke_awslambda", _invoke_awslambda, _original_invoke_awslambda),
    (S3Response, "key_response", _key_response, _original_key_response),
    (Rule, "send_to_targets", _send_to_targets, _original_send_to_targets),
    (WaitFunction, "_wait_interval", _wait_interval, WaitFunction._wait_interval),
    (retrier_decl, "time", _retrier_time, retrier_decl.time),
    (BaseExecutionWorkerCommunication, "terminated", _terminated, _original_terminated),
    (AmazonStateLanguageParser, "parse", staticmethod(_parse_asl), staticmethod(_original_parse)),
    *(
        (
            DynamoHandler,
            name,
            _one_write_at_a_time(getattr(DynamoHandler, name)),
            getattr(DynamoHandler, name),
        )
        for name in _WRITE_ACTIONS
    ),
]


def install(scale: float = 1.0) -> None:
    """Apply every patch; Wait states and Retry backoff last ``scale`` times as long as on AWS."""
    if not scale > 0:
        raise ValueError(f"time scale must be > 0, not {scale!r}")
    with _lock:
        _scales.append(float(scale))
        if len(_scales) == 1:
            for owner, name, patch, _ in _PATCHES:
                setattr(owner, name, patch)


def uninstall() -> None:
    with _lock:
        _scales.pop()
        if not _scales:
            for owner, name, _, original in _PATCHES:
                setattr(owner, name, original)
