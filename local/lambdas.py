"""Run the template's Lambda handlers in-process whenever moto invokes them.

``install()`` patches these places of moto (process-wide, nested installs, undone by :func:`uninstall`):

- ``LambdaSimpleBackend.invoke`` (``mock_aws`` with ``lambda.use_docker=False``): the ``Invoke`` API, used by
  the Step Functions interpreter (``RequestResponse``) and by callers asking for ``Event``;
- ``LambdaFunction.invoke``: what moto's event sources call directly, without an invocation type: S3 bucket
  notifications (``moto.s3.notifications._invoke_awslambda``), SNS, Kinesis and the legacy ``InvokeAsync``.
  AWS invokes these asynchronously, so for a registered function they are queued as ``Event`` invocations
  (a ``RequestResponse`` header still runs synchronously). moto notifies from inside ``PutObject`` before
  it sets the new object's metadata, ACL and tags, so ``S3Response.key_response``/``bucket_response`` are
  wrapped too: ``Event`` invocations made while moto handles an S3 request on this thread start once the
  request is complete, as on AWS (the handler's ``HeadObject`` sees the ``x-amz-meta-*`` values);
- ``moto.events.models.Rule.send_to_targets``: moto 5 has no Lambda target (it raises
  ``NotImplementedError``). Lambda targets of a matching rule get the EventBridge envelope (``time`` in
  ISO 8601, ``Input``/``InputPath``/``InputTransformer`` applied) through an ``Event`` invocation; the
  rule's other targets (the stack's SQS capture, logs, ...) keep moto's delivery.

A function registered with :func:`load_functions` runs its real handler: its module is loaded from the
template's ``CodeUri`` + ``Handler`` under a unique module name, with the layer folders on ``sys.path`` and
a fresh copy of the layer packages, after the function's environment has been applied. Settings read at
import time therefore belong to one stack. An exception is answered as the Python runtime does, so
``Retry``/``Catch`` match on its class name. Functions that are not registered keep moto's behaviour.

Asynchronous (``Event``) invocations run on their own daemon thread, as Lambda's event queue does: the
caller (S3 PutObject, EventBridge PutEvents, the state machine) never waits for or fails with the handler.
A failed attempt is retried up to ``MaximumRetryAttempts`` of the function's ``EventInvokeConfig`` (default
2) after Lambda's 1 and 2 minute delays multiplied by the stack's time scale; every failed attempt is
logged at ERROR with the error and the event, and the final failure too. Each one is recorded as an
:class:`AsyncInvocation` on its :class:`LocalFunction` (``async_invocations()``), which tests wait on.
``LoadedFunctions.close()`` cancels pending retries and waits (bounded) for running invocations before
the functions are unregistered, so no handler outlives its stack.

``os.environ`` is process-wide: the environment is applied once, when a stack's functions are loaded, and
two stacks must not need different values at the same time (their handlers capture them at import).
"""

from __future__ import annotations

import copy
import datetime
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from jsonpath_ng.ext import parse as jsonpath_parse  # moto's own dependency (input transformers)
from moto.awslambda.models import LambdaFunction
from moto.awslambda.utils import get_backend
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.events.models import Rule
from moto.events.utils import EventTemplateParser
from moto.s3.responses import S3Response

from local.stack import FunctionSpec
from local.timescale import ScaledClock

log = logging.getLogger(__name__)

# What the Lambda service sets in every sandbox; X-Ray and metrics have nowhere to go locally.
RUNTIME_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}

_lock = threading.RLock()
_functions: dict[tuple[str, str, str], LocalFunction] = {}
_installs = 0
_original_invoke = LambdaSimpleBackend.invoke
_original_function_invoke = LambdaFunction.invoke
_original_send_to_targets = Rule.send_to_targets
_original_key_response = S3Response.key_response
_original_bucket_response = S3Response.bucket_response
# Event invocations queued while moto handles an S3 request on this thread (started when it is complete).
_in_request = threading.local()

# Lambda's delays before the first and the second retry of a failed asynchronous invocation (seconds).
ASYNC_RETRY_DELAYS = (60.0, 120.0)
# How long closing a stack waits for asynchronous invocations still running (real seconds).
CLOSE_WAIT_SECONDS = 15.0


class LambdaContext:
    """What the Python runtime passes as ``context``."""

    def __init__(self, function: LocalFunction) -> None:
        self.function_name = function.spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.spec.arn
        self.memory_limit_in_mb = function.spec.memory_size
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.spec.name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + function.spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class AsyncInvocation:
    """One asynchronous (``Event``) invocation of a local function, and how it ended."""

    function: str  # logical id
    event: Any
    source: str  # who sent it: aws:s3, the EventBridge source, Invoke, ...
    attempts: int = 0
    result: Any = None
    error: dict[str, Any] | None = None
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def succeeded(self) -> bool:
        return self.done.is_set() and self.error is None

    def wait(self, timeout: float | None = None) -> AsyncInvocation:
        """Block until every attempt is over; raises TimeoutError after ``timeout`` seconds."""
        if not self.done.wait(timeout):
            raise TimeoutError(
                f"{self.function}: invocation from {self.source} still running after {timeout} s"
            )
        return self


@dataclass
class LocalFunction:
    spec: FunctionSpec
    module: ModuleType
    handler: Callable[[Any, Any], Any]
    retry_scale: float = 1.0  # multiplies ASYNC_RETRY_DELAYS (the stack's time scale)
    _invocations: list[AsyncInvocation] = field(default_factory=list, repr=False)
    _async_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _closing: threading.Event = field(default_factory=threading.Event, repr=False)

    def invoke(self, body: Any, response_headers: dict[str, Any]) -> bytes:
        """Run the handler on a JSON body; an exception becomes an ``Unhandled`` error payload."""
        event = _parse(body)
        context = LambdaContext(self)
        started = time.monotonic()
        try:
            result = self.handler(event, context)
            payload = json.dumps(result).encode()
        except Exception as exc:  # the runtime reports every exception to the caller
            error = _error_payload(exc)
            if isinstance(exc, TypeError) and "JSON serializable" in str(exc):
                error["errorType"] = "Runtime.MarshalError"
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(error).encode()
        elapsed = time.monotonic() - started
        if elapsed > self.spec.timeout:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorMessage": f"Task timed out after {self.spec.timeout:.2f} seconds",
                    "errorType": "Sandbox.Timedout",
                }
            ).encode()
        return payload

    def invoke_async(self, body: Any, *, source: str | None = None) -> AsyncInvocation:
        """Queue an ``Event`` invocation: the handler runs on its own thread; this returns at once."""
        try:
            event = _parse(body)
        except ValueError as exc:
            event = body
            invocation = AsyncInvocation(
                self.spec.logical_id, event, source or "?", error=_error_payload(exc)
            )
            log.error(
                "%s: asynchronous invocation DROPPED, its body is not JSON: %r", self.spec.logical_id, body
            )
            invocation.done.set()
            return invocation
        invocation = AsyncInvocation(self.spec.logical_id, event, source or _event_source(event))
        with self._async_lock:
            closing = self._closing.is_set()
            if not closing:
                self._invocations.append(invocation)
        if closing:
            invocation.error = {"errorType": "StackClosed", "errorMessage": "the local stack is closing"}
            invocation.done.set()
            log.warning(
                "%s: asynchronous invocation from %s dropped, the local stack is closing: %s",
                self.spec.logical_id,
                invocation.source,
                _short(event),
            )
            return invocation
        threading.Thread(
            target=self._run_async, args=(invocation,), name=f"event-{self.spec.logical_id}", daemon=True
        ).start()
        return invocation

    def async_invocations(self) -> list[AsyncInvocation]:
        """Every asynchronous invocation so far (running or done), oldest first."""
        with self._async_lock:
            return list(self._invocations)

    def _run_async(self, invocation: AsyncInvocation) -> None:
        body = json.dumps(invocation.event)
        attempts = 1 + max(0, self.spec.async_max_retries)
        try:
            for attempt in range(1, attempts + 1):
                invocation.attempts = attempt
                headers: dict[str, Any] = {}
                payload = self.invoke(body, headers)
                answer = json.loads(payload) if payload else None
                if "x-amz-function-error" not in headers:
                    invocation.result, invocation.error = answer, None
                    return
                invocation.error = answer if isinstance(answer, dict) else {"errorMessage": str(answer)}
                log.error(
                    "%s: ASYNCHRONOUS INVOCATION FAILED (attempt %d of %d) from %s: %s: %s\n%sevent: %s",
                    self.spec.logical_id,
                    attempt,
                    attempts,
                    invocation.source,
                    invocation.error.get("errorType"),
                    invocation.error.get("errorMessage"),
                    "".join(invocation.error.get("stackTrace") or []),
                    _short(invocation.event),
                )
                if attempt == attempts:
                    break
                delay = ASYNC_RETRY_DELAYS[min(attempt, len(ASYNC_RETRY_DELAYS)) - 1] * self.retry_scale
                if self._closing.wait(delay):
                    log.error("%s: retry abandoned, the local stack is closing", self.spec.logical_id)
                    break
            log.error(
                "%s: asynchronous invocation from %s DROPPED after %d attempt(s) (no destination locally)",
                self.spec.logical_id,
                invocation.source,
                invocation.attempts,
            )
        except BaseException as exc:  # never let a worker die silently
            invocation.error = _error_payload(exc)
            log.exception("%s: asynchronous invocation crashed", self.spec.logical_id)
        finally:
            invocation.done.set()

    def close(self, deadline: float) -> None:
        """Refuse new asynchronous invocations, cancel pending retries, wait until ``deadline``."""
        self._closing.set()
        for invocation in self.async_invocations():
            if not invocation.done.wait(max(0.0, deadline - time.monotonic())):
                log.error(
                    "%s: asynchronous invocation from %s still running when its stack closed",
                    self.spec.logical_id,
                    invocation.source,
                )


def _event_source(event: Any) -> str:
    """What sent an event: ``aws:s3``/``aws:sns``/... for records, the ``source`` of an EventBridge event."""
    if isinstance(event, dict):
        records = event.get("Records")
        if isinstance(records, list) and records and isinstance(records[0], dict):
            return str(records[0].get("eventSource") or records[0].get("EventSource") or "records")
        if "detail-type" in event:
            return f"events:{event.get('source')}"
    return "Invoke"


def _short(event: Any, limit: int = 2000) -> str:
    text = json.dumps(event, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


def _parse(body: Any) -> Any:
    if body in (None, b"", ""):
        return {}
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8")
    return json.loads(body)


def _error_payload(exc: BaseException) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _local(account_id: str, region: str, name: str) -> LocalFunction | None:
    with _lock:
        return _functions.get((account_id, region, name))


def _run(local: LocalFunction, invocation_type: str, body: Any, response_headers: Any) -> bytes:
    if invocation_type == "DryRun":
        return b""
    if invocation_type == "Event":
        pending = getattr(_in_request, "pending", None)
        if pending is not None:
            pending.append((local, body))
        else:
            local.invoke_async(body)
        return b""
    payload = local.invoke(body, response_headers)
    response_headers["Content-Length"] = str(len(payload))
    return payload


def _dispatch(  # noqa: PLR0917 - moto's signature
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> str | bytes | None:
    """``LambdaSimpleBackend.invoke``: the Invoke API (Step Functions tasks, ``Event`` callers)."""
    fn = self.get_function(function_name, qualifier)
    local = _local(fn.account_id, fn.region, fn.function_name)
    if local is None:
        return _original_invoke(self, function_name, qualifier, body, headers, response_headers)
    return _run(local, _header(headers, "X-Amz-Invocation-Type") or "RequestResponse", body, response_headers)


def _function_invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> Any:
    """``LambdaFunction.invoke``: moto's event sources (S3 notifications, SNS, ...) call it directly."""
    local = _local(self.account_id, self.region, self.function_name)
    if local is None:
        return _original_function_invoke(self, body, request_headers, response_headers)
    return _run(local, _header(request_headers, "X-Amz-Invocation-Type") or "Event", body, response_headers)


@contextmanager
def _deferring_events() -> Iterator[None]:
    """Hold the ``Event`` invocations this thread makes until the block ends, then start them."""
    if getattr(_in_request, "pending", None) is not None:  # nested: the outermost block starts them
        yield
        return
    _in_request.pending = []
    try:
        yield
    finally:
        pending, _in_request.pending = _in_request.pending, None
        for local, body in pending:
            local.invoke_async(body)


def _key_response(self: S3Response, request: Any, full_url: str, headers: Any) -> Any:
    with _deferring_events():
        return _original_key_response(self, request, full_url, headers)


def _bucket_response(self: S3Response, request: Any, full_url: str, headers: Any) -> Any:
    with _deferring_events():
        return _original_bucket_response(self, request, full_url, headers)


class _OtherTargets:
    """A rule seen with its non-Lambda targets only, for moto's own delivery (no shared state is changed)."""

    def __init__(self, rule: Rule, targets: list[dict[str, Any]]) -> None:
        self._rule = rule
        self.targets = targets

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rule, name)


def _is_lambda_arn(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) > 6 and parts[2] == "lambda" and parts[5] == "function"


def _send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
    """``Rule.send_to_targets`` with Lambda targets (moto 5 raises NotImplementedError for them)."""
    lambda_targets = [t for t in self.targets if _is_lambda_arn(str(t.get("Arn", "")))]
    if not lambda_targets:
        _original_send_to_targets(self, original_event, transform_input)
        return
    if not self.event_pattern.matches_event(original_event):
        return
    # Lambda targets first: moto's SQS delivery rewrites ``time`` in place.
    for target in lambda_targets:
        try:
            event = _target_input(target, copy.deepcopy(original_event), transform_input)
            _invoke_target(self.account_id, str(target["Arn"]), event)
        except Exception:  # PutEvents never fails because of a target (EventBridge retries, then drops)
            log.exception("rule %s: delivery to Lambda target %s FAILED", self.name, target.get("Arn"))
    others = [t for t in self.targets if t not in lambda_targets]
    if others:
        _original_send_to_targets(_OtherTargets(self, others), original_event, transform_input)  # type: ignore[arg-type]


def _target_input(target: Mapping[str, Any], event: dict[str, Any], transform_input: bool) -> Any:
    """What EventBridge sends a target: the envelope (ISO ``time``), ``Input``, ``InputPath``, transformed."""
    event.pop("ingestion-time", None)
    stamp = event.get("time")
    if isinstance(stamp, int | float) or (isinstance(stamp, str) and stamp.replace(".", "", 1).isdigit()):
        event["time"] = datetime.datetime.fromtimestamp(float(stamp), datetime.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    if not transform_input:
        return event
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        matches = [m.value for m in jsonpath_parse(target["InputPath"]).find(event)]
        return matches[0] if matches else None
    transformer = target.get("InputTransformer")
    if transformer:
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,  # type: ignore[arg-type]
        )
    return event


def _invoke_target(account_id: str, arn: str, event: Any) -> None:
    parts = arn.split(":")
    local = _local(parts[4], parts[3], parts[6])
    if local is not None:
        local.invoke_async(json.dumps(event))
        return
    get_backend(account_id, parts[3]).invoke(
        function_name=arn,
        qualifier=parts[7] if len(parts) > 7 else None,
        body=json.dumps(event),
        headers={"X-Amz-Invocation-Type": "Event"},
        response_headers={},
    )


def install() -> None:
    """Route moto's Lambda invocations to registered handlers (nests; undo with :func:`uninstall`)."""
    global _installs  # noqa: PLW0603
    with _lock:
        _installs += 1
        if _installs == 1:
            LambdaSimpleBackend.invoke = _dispatch  # type: ignore[method-assign]
            LambdaFunction.invoke = _function_invoke  # type: ignore[method-assign]
            Rule.send_to_targets = _send_to_targets  # type: ignore[method-assign]
            S3Response.key_response = _key_response  # type: ignore[method-assign]
            S3Response.bucket_response = _bucket_response  # type: ignore[method-assign]


def uninstall() -> None:
    global _installs  # noqa: PLW0603
    with _lock:
        if _installs == 0:
            raise RuntimeError("local.lambdas is not installed")
        _installs -= 1
        if _installs == 0:
            LambdaSimpleBackend.invoke = _original_invoke  # type: ignore[method-assign]
            LambdaFunction.invoke = _original_function_invoke  # type: ignore[method-assign]
            Rule.send_to_targets = _original_send_to_targets  # type: ignore[method-assign]
            S3Response.key_response = _original_key_response  # type: ignore[method-assign]
            S3Response.bucket_response = _original_bucket_response  # type: ignore[method-assign]


@contextmanager
def installed() -> Iterator[None]:
    install()
    try:
        yield
    finally:
        uninstall()


def process_environment(specs: Iterable[FunctionSpec], required: set[str]) -> dict[str, str]:
    """The environment left in ``os.environ`` once every handler is imported.

    The ``required`` functions (the state machine's) must agree on every name they share: they run in one
    process. A name the other functions set differently (e.g. ``OUTPUT_BUCKET: ""`` on the S3 trigger) is
    applied only while that function imports; it is left out here unless a required function sets it.
    """
    specs = list(specs)
    values: dict[str, dict[str, str]] = {}
    for spec in specs:
        for name, value in spec.environment.items():
            values.setdefault(name, {})[spec.logical_id] = value
    env: dict[str, str] = {}
    for name, by_function in values.items():
        mandatory = {by_function[f] for f in by_function if f in required}
        if len(mandatory) > 1:
            raise RuntimeError(
                f"{name} differs between {sorted(f for f in by_function if f in required)}: "
                "in-process handlers share os.environ"
            )
        if mandatory:
            env[name] = mandatory.pop()
        elif len(set(by_function.values())) == 1:
            env[name] = next(iter(by_function.values()))
        else:
            log.warning(
                "%s differs between %s: applied only while each one imports", name, sorted(by_function)
            )
    return env


def _layer_packages(layer_dirs: Iterable[Path]) -> set[str]:
    names: set[str] = set()
    for folder in layer_dirs:
        for root in (folder, folder / "python"):
            if not root.is_dir():
                continue
            for entry in root.iterdir():
                if entry.is_dir() and (entry / "__init__.py").exists():
                    names.add(entry.name)
                elif entry.suffix == ".py":
                    names.add(entry.stem)
    return names


def _load_handler(spec: FunctionSpec, stack_tag: str) -> tuple[ModuleType, Callable[[Any, Any], Any]]:
    module_path, _, attribute = spec.handler.rpartition(".")
    source = spec.code_dir / (module_path.replace(".", "/") + ".py")
    if not source.exists():
        raise FileNotFoundError(f"{spec.logical_id}: handler module {source} does not exist")
    unique = f"_local_lambda_{stack_tag}_{spec.logical_id}_{module_path.replace('.', '_')}"
    module_spec = importlib.util.spec_from_file_location(unique, source)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {source}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[unique] = module
    # Lambda puts the function's own folder first on sys.path (/var/task) while the handler imports.
    sys.path.insert(0, str(spec.code_dir))
    try:
        module_spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(spec.code_dir))
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise AttributeError(f"{spec.logical_id}: {source} has no callable {attribute!r}")
    return module, handler


class LoadedFunctions:
    """The functions of one stack, registered for dispatch; ``close()`` unregisters them and restores env."""

    def __init__(self, functions: dict[str, LocalFunction], saved_env: dict[str, str | None]) -> None:
        self.functions = functions
        self._saved_env = saved_env

    def async_invocations(self) -> list[AsyncInvocation]:
        """The asynchronous invocations of every function of the stack so far."""
        return [i for function in self.functions.values() for i in function.async_invocations()]

    def quiesce(self, timeout: float = CLOSE_WAIT_SECONDS) -> None:
        """Refuse new asynchronous invocations, cancel pending retries and wait for the running ones."""
        deadline = time.monotonic() + timeout
        for function in self.functions.values():
            function.close(deadline)

    def close(self) -> None:
        self.quiesce()
        with _lock:
            for function in self.functions.values():
                _functions.pop(_key(function.spec), None)
                sys.modules.pop(function.module.__name__, None)
        _restore_env(self._saved_env)


def _key(spec: FunctionSpec) -> tuple[str, str, str]:
    # arn:aws:lambda:<region>:<account>:function:<name>
    parts = spec.arn.split(":")
    return parts[4], parts[3], parts[6]


def _restore_env(saved: Mapping[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _add_layers(layer_dirs: Iterable[Path]) -> set[str]:
    """Put the layer folders on sys.path (as /opt/python); returns the top-level names they provide."""
    layer_dirs = list(dict.fromkeys(layer_dirs))
    for folder in layer_dirs:
        for root in (folder / "python", folder):
            if root.is_dir() and str(root) not in sys.path:
                sys.path.insert(0, str(root))
    return _layer_packages(layer_dirs)


def load_functions(
    specs: Mapping[str, FunctionSpec],
    *,
    required: Iterable[str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    clock: ScaledClock | None = None,
) -> LoadedFunctions:
    """Apply the functions' environment, import each handler (cold start) and register it for dispatch.

    ``required``: logical ids that must load (default: all); another function that fails to import is
    logged and left to moto's default behaviour. ``clock``: the handlers and their copy of the layer
    packages read the time from it (compressed time).
    """
    required_ids = set(specs) if required is None else set(required)
    extra = {**RUNTIME_ENV, **(extra_env or {})}
    env = {**process_environment(specs.values(), required_ids), **extra}
    names = set(env) | {name for spec in specs.values() for name in spec.environment}
    with _lock:
        saved_env = {name: os.environ.get(name) for name in names}
        packages = _add_layers(d for spec in specs.values() for d in spec.layer_dirs)
        # A fresh copy of the layer packages for this stack (settings read at import), then the previous
        # copies go back into sys.modules for everything else in the process.
        saved_modules = {n: m for n, m in sys.modules.items() if n.split(".")[0] in packages}
        for name in saved_modules:
            del sys.modules[name]
        stack_tag = uuid.uuid4().hex[:8]
        loaded: dict[str, LocalFunction] = {}
        try:
            for logical_id, spec in specs.items():
                os.environ.update({**env, **spec.environment, **extra})
                try:
                    module, handler = _load_handler(spec, stack_tag)
                except Exception:
                    if logical_id in required_ids:
                        raise
                    log.warning("%s: handler not loaded, moto answers its calls", logical_id, exc_info=True)
                    continue
                loaded[logical_id] = LocalFunction(
                    spec, module, handler, retry_scale=1.0 if clock is None else clock.scale
                )
            _restore_env(dict.fromkeys(names - set(env)))
            os.environ.update(env)
        except BaseException:
            _restore_env(saved_env)
            raise
        finally:
            fresh = {n: sys.modules.pop(n) for n in list(sys.modules) if n.split(".")[0] in packages}
            sys.modules.update(saved_modules)
        if clock is not None:
            for module in [*fresh.values(), *(f.module for f in loaded.values())]:
                clock.patch_module(module)
        for function in loaded.values():
            _functions[_key(function.spec)] = function
    return LoadedFunctions(loaded, saved_env)
