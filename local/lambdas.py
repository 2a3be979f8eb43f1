"""The template's Lambda handlers, run in-process whenever moto invokes them (see ``local.moto_gaps``).

:func:`load_functions` imports each handler from the template's ``CodeUri`` + ``Handler`` as a cold start
does: with the function's environment, its folder and its layers on ``sys.path``, and a fresh copy of the
layer packages, so settings read at import belong to one stack. An exception is answered as the Python
runtime does, so the state machine's ``Retry``/``Catch`` match on its class name.

Asynchronous invocations run on their own daemon thread, as Lambda's event queue does: a failed attempt is
logged at ERROR and retried up to the function's ``MaximumRetryAttempts`` after Lambda's 1 and 2 minute
delays (times the time scale of ``local.moto_gaps``). ``os.environ`` is process-wide: while a handler
imports it holds that function's environment, afterwards the values every function agrees on.
"""

from __future__ import annotations

import contextvars
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

import boto3

from local import moto_gaps
from local.stack import FunctionSpec
from local.timescale import ScaledClock

log = logging.getLogger(__name__)

# What the Lambda service sets in every sandbox; X-Ray and metrics have nowhere to go locally.
RUNTIME_ENV = {"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"}
ASYNC_RETRY_DELAYS = (60.0, 120.0)  # Lambda's delays before the retries of an asynchronous invocation
CLOSE_WAIT_SECONDS = 15.0  # how long closing a stack waits for running asynchronous invocations
_import_lock = threading.Lock()


@dataclass
class _Invocation:
    """One synchronous invocation, as its caller waits for it."""

    over: threading.Event = field(default_factory=threading.Event)
    killed: bool = False


_invocation_over: contextvars.ContextVar[_Invocation | None] = contextvars.ContextVar(
    "local_lambda_invocation", default=None
)


def kill_invocation() -> None:
    """End the invocation running on this thread as Lambda's timeout does (called by a scripted fault,
    ``local.aws_faults``): its caller gets ``Sandbox.Timedout`` at once, and this thread stops where it is
    for good, as a frozen sandbox: no more of the handler runs, not even its ``except``/``finally`` blocks."""
    invocation = _invocation_over.get()
    if invocation is None:
        raise RuntimeError("kill_invocation() outside a local Lambda invocation")
    invocation.killed = True
    invocation.over.set()
    threading.Event().wait()


class LambdaContext:
    """What the Python runtime passes as ``context`` (the attributes Powertools reads)."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.function_name = spec.name
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory_size
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class AsyncInvocation:
    """One asynchronous invocation of a local function, and how it ended."""

    function: str  # logical id
    event: Any
    source: str  # aws:s3, events:<source>, Invoke
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
    _invocations: list[AsyncInvocation] = field(default_factory=list, repr=False)
    closing: threading.Event = field(default_factory=threading.Event, repr=False)

    def invoke(self, body: Any, response_headers: dict[str, Any]) -> bytes:
        """Run the handler on a JSON body; an exception becomes an ``Unhandled`` error payload.

        The handler runs on a thread of its own (with the caller's context variables), so that a killed
        invocation (:func:`kill_invocation`) can leave it stopped while the caller gets Lambda's answer.
        """
        invocation = _Invocation()
        answer: list[bytes] = []

        def run() -> None:
            _invocation_over.set(invocation)
            try:
                answer.append(json.dumps(self.handler(_parse(body), LambdaContext(self.spec))).encode())
            except Exception as exc:  # the runtime reports every exception to the caller
                response_headers["x-amz-function-error"] = "Unhandled"
                answer.append(json.dumps(_error_payload(exc)).encode())
            finally:
                invocation.over.set()

        context = contextvars.copy_context()
        name = f"lambda-{self.spec.logical_id}"
        threading.Thread(target=context.run, args=(run,), name=name, daemon=True).start()
        invocation.over.wait()
        if invocation.killed or not answer:
            response_headers["x-amz-function-error"] = "Unhandled"
            message = f"Task timed out after {self.spec.timeout:.2f} seconds"
            payload = {"errorType": "Sandbox.Timedout", "errorMessage": message, "stackTrace": []}
            return json.dumps(payload).encode()
        return answer[0]

    def invoke_async(self, body: Any) -> AsyncInvocation:
        """Queue an ``Event`` invocation: the handler runs on its own thread; this returns at once."""
        event = _parse(body)
        invocation = AsyncInvocation(self.spec.logical_id, event, _event_source(event))
        if self.closing.is_set():
            invocation.error = {"errorType": "StackClosed", "errorMessage": "the local stack is closing"}
            invocation.done.set()
            log.warning(
                "%s: invocation from %s dropped (stack closing)", self.spec.logical_id, invocation.source
            )
            return invocation
        self._invocations.append(invocation)
        threading.Thread(target=self._run_async, args=(invocation,), daemon=True).start()
        return invocation

    def async_invocations(self) -> list[AsyncInvocation]:
        """Every asynchronous invocation so far (running or done), oldest first."""
        return list(self._invocations)

    def _send_to_destination(self, invocation: AsyncInvocation) -> None:
        """An event that failed every attempt goes to the OnFailure queue, in Lambda's record format."""
        if not self.spec.on_failure_queue:
            log.error(
                "%s: invocation from %s DROPPED (no destination)", self.spec.logical_id, invocation.source
            )
            return
        record = {
            "version": "1.0",
            "requestContext": {
                "functionArn": self.spec.arn,
                "condition": "RetriesExhausted",
                "approximateInvokeCount": invocation.attempts,
            },
            "requestPayload": invocation.event,
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "responsePayload": invocation.error,
        }
        region = self.spec.arn.split(":")[3]
        boto3.client("sqs", region_name=region).send_message(
            QueueUrl=self.spec.on_failure_queue, MessageBody=json.dumps(record, default=str)
        )
        log.error(
            "%s: invocation from %s sent to its dead-letter queue", self.spec.logical_id, invocation.source
        )

    def _run_async(self, invocation: AsyncInvocation) -> None:
        attempts = 1 + self.spec.async_max_retries
        try:
            for attempt in range(1, attempts + 1):
                invocation.attempts = attempt
                headers: dict[str, Any] = {}
                answer = json.loads(self.invoke(json.dumps(invocation.event), headers))
                if "x-amz-function-error" not in headers:
                    invocation.result, invocation.error = answer, None
                    return
                invocation.error = answer
                log.error(
                    "%s: ASYNCHRONOUS INVOCATION FAILED (attempt %d of %d) from %s: %s: %s\n%sevent: %.2000s",
                    self.spec.logical_id,
                    attempt,
                    attempts,
                    invocation.source,
                    answer["errorType"],
                    answer["errorMessage"],
                    "".join(answer["stackTrace"]),
                    json.dumps(invocation.event, default=str),
                )
                delay = ASYNC_RETRY_DELAYS[min(attempt, len(ASYNC_RETRY_DELAYS)) - 1]
                if attempt < attempts and self.closing.wait(delay * moto_gaps.time_scale()):
                    break
            self._send_to_destination(invocation)
        except BaseException as exc:  # never let a worker die silently
            invocation.error = _error_payload(exc)
            log.exception("%s: asynchronous invocation crashed", self.spec.logical_id)
        finally:
            invocation.done.set()


def _event_source(event: Any) -> str:
    if isinstance(event, dict) and event.get("Records"):
        return str(event["Records"][0].get("eventSource"))
    if isinstance(event, dict) and "detail-type" in event:
        return f"events:{event.get('source')}"
    return "Invoke"


def _parse(body: Any) -> Any:
    return json.loads(body) if body else {}


def _error_payload(exc: BaseException) -> dict[str, Any]:
    trace = traceback.format_tb(exc.__traceback__)
    return {"errorMessage": str(exc), "errorType": type(exc).__name__, "stackTrace": trace}


def _load_handler(spec: FunctionSpec) -> tuple[ModuleType, Callable[[Any, Any], Any]]:
    module_path, _, attribute = spec.handler.rpartition(".")
    source = spec.code_dir / (module_path.replace(".", "/") + ".py")
    module_spec = importlib.util.spec_from_file_location(
        f"_local_{spec.logical_id}_{uuid.uuid4().hex}", source
    )
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"{spec.logical_id}: cannot load {source}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module
    sys.path.insert(0, str(spec.code_dir))  # Lambda puts the function's folder first (/var/task)
    try:
        module_spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(spec.code_dir))
    return module, getattr(module, attribute)


def _add_layers(layer_dirs: set[Path]) -> set[str]:
    """Put the layer folders on sys.path (as /opt/python); returns the top-level names they provide."""
    names = set()
    for folder in layer_dirs:
        root = folder / "python" if (folder / "python").is_dir() else folder
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        names |= {
            entry.stem
            for entry in root.iterdir()
            if (entry / "__init__.py").exists() or entry.suffix == ".py"
        }
    return names


def _set_env(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def quiesce(functions: Iterable[LocalFunction], timeout: float = CLOSE_WAIT_SECONDS) -> None:
    """Refuse new asynchronous invocations, cancel pending retries and wait for the running ones."""
    deadline = time.monotonic() + timeout
    for function in functions:
        function.closing.set()
        for invocation in function.async_invocations():
            if not invocation.done.wait(max(0.0, deadline - time.monotonic())):
                log.error("%s: invocation from %s outlived its stack", invocation.function, invocation.source)


@contextmanager
def loaded(
    specs: Mapping[str, FunctionSpec], *, extra_env: Mapping[str, str], clock: ScaledClock | None = None
) -> Iterator[dict[str, LocalFunction]]:
    """Import every handler (cold start) and register it with ``local.moto_gaps`` for the block.

    ``clock``: the handlers and their copy of the layer packages read the time from it.
    """
    extra = {**RUNTIME_ENV, **extra_env}
    values: dict[str, set[str]] = {}
    for spec in specs.values():
        for name, value in spec.environment.items():
            values.setdefault(name, set()).add(value)
    saved_env = {name: os.environ.get(name) for name in {*values, *extra}}
    functions: dict[str, LocalFunction] = {}
    with _import_lock:
        packages = _add_layers({folder for spec in specs.values() for folder in spec.layer_dirs})
        # This stack imports its own copy of the layer packages; the process keeps its previous copies.
        saved_modules = {n: sys.modules.pop(n) for n in list(sys.modules) if n.split(".")[0] in packages}
        try:
            for logical_id, spec in specs.items():
                _set_env({**spec.environment, **extra})
                module, handler = _load_handler(spec)
                functions[logical_id] = LocalFunction(spec, module, handler)
        except BaseException:
            _set_env(saved_env)
            raise
        finally:
            fresh = [sys.modules.pop(n) for n in list(sys.modules) if n.split(".")[0] in packages]
            sys.modules.update(saved_modules)
    shared = {name: next(iter(found)) for name, found in values.items() if len(found) == 1}
    _set_env({**dict.fromkeys(values), **shared, **extra})
    if clock is not None:
        for module in [*fresh, *(f.module for f in functions.values())]:
            clock.patch_module(module)
    for function in functions.values():
        moto_gaps.register(function.spec.arn, function)
    try:
        yield functions
    finally:
        quiesce(functions.values())
        for function in functions.values():
            moto_gaps.unregister(function.spec.arn)
            sys.modules.pop(function.module.__name__, None)
        _set_env(saved_env)
