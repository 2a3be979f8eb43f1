"""Scripted failures of the local AWS side: S3, DynamoDB and EventBridge answers, Lambda timeouts, and hooks
on the state machine's Task states.

Every boto3 call made inside ``mock_aws`` reaches moto through its botocore stubber, once per HTTP attempt:
the handlers' clients and the clients the Step Functions interpreter creates for its service integrations
(``arn:aws:states:::dynamodb:updateItem``, ``events:putEvents``) alike. While an :class:`AwsFaults` is
open (``with AwsFaults() as aws:``), a matching attempt is answered with the fault's AWS error instead, so
botocore's own retries, the handlers' error handling and the machine's ``Retry``/``Catch`` see what AWS would
send::

    aws.fail("s3", "PutObject", key_prefix="outputs/", times=3)  # 3 calls fail, each past botocore's retries
    aws.fail("dynamodb", "UpdateItem", state="Check the task", times=None)  # every call, forever
    aws.fail("dynamodb", "UpdateItem", where=..., times=2, per="attempt")  # 2 attempts: botocore recovers
    aws.kill("dynamodb", "UpdateItem", where=..., after=True)  # the calling Lambda dies of its timeout
    aws.on_task("Archive outputs to S3", action)  # action(job id) as the machine enters that state

A call is matched on its service (botocore's service id: ``s3``, ``dynamodb``, ``eventbridge``), operation,
the Task state whose work made it (``state``: a service integration, or a Lambda handler running for that
Task; calls from other threads, such as s3transfer's, have none), the execution (``job``), the S3 key
(``key_prefix``) and any predicate on the :class:`AwsCall` (``where``; ``params`` is the JSON body of JSON
services). ``times`` counts API calls (every attempt of a call fails, ``per="call"``) or HTTP attempts
(``per="attempt"``); ``None`` means forever. botocore's retry backoff follows ``local.moto_gaps``'s time
scale while a book is open.

``kill`` stops the Lambda making the call as its timeout does (``local.lambdas.kill_invocation``), before
the call or after it reached moto: the caller gets ``Sandbox.Timedout`` and nothing else of the handler runs.
``on_task`` actions run on the execution's thread when it enters the Task state, before its first attempt:
one that blocks holds the execution there, and one that raises fails the execution the way Step Functions'
own errors do (``States.Runtime``, outside the state's Retry and Catch).
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
import types
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import botocore.endpoint
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse
from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
    StateTaskService,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda

from local import moto_gaps
from local.lambdas import kill_invocation

#: The writes of DynamoDB (the reads are GetItem, Query, Scan, BatchGetItem...).
DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
#: (error code, HTTP status) answered when a fault names none: the throttling answer of each service.
DEFAULT_ERRORS = {
    "s3": ("SlowDown", 503),
    "dynamodb": ("ProvisionedThroughputExceededException", 400),
    "eventbridge": ("ThrottlingException", 400),
}
_JSON_TYPES = ("application/x-amz-json", "application/json")


@dataclass(frozen=True)
class AwsCall:
    """One HTTP attempt of a boto3 call, as a fault sees it."""

    service: str  # botocore's service id: s3, dynamodb, eventbridge...
    operation: str  # PutObject, UpdateItem, PutEvents...
    state: str | None  # the Task state whose work made the call (None: not made for a Task)
    job: str | None  # that execution's name (the job id)
    key: str | None  # S3: the object key
    params: dict[str, Any]  # JSON services: the request body
    call_id: str  # one per API call, shared by its retries (botocore's amz-sdk-invocation-id)


@dataclass
class AwsFault:
    """A scripted failure (see the module docstring for the fields)."""

    service: str
    operation: str | frozenset[str] | None = None
    code: str | None = None
    status: int | None = None
    times: int | None = 1
    per: Literal["call", "attempt"] = "call"
    state: str | frozenset[str] | None = None
    job: str | None = None
    key_prefix: str | None = None
    where: Callable[[AwsCall], bool] | None = None
    kill: Literal["before", "after"] | None = None
    fired: int = 0  # attempts answered by this fault
    calls: set[str] = field(default_factory=set)  # the API calls it took

    def matches(self, call: AwsCall) -> bool:
        return (
            call.service == self.service
            and _among(call.operation, self.operation)
            and _among(call.state, self.state)
            and (self.job is None or call.job == self.job)
            and (self.key_prefix is None or (call.key or "").startswith(self.key_prefix))
            and (self.where is None or self.where(call))
        )

    def take(self, call: AwsCall) -> bool:
        """Whether this fault answers the attempt (and count it)."""
        if self.per == "call" and call.call_id in self.calls:
            self.fired += 1
            return True
        if self.times is not None and self.times <= 0:
            return False
        if not self.matches(call):
            return False
        if self.times is not None:
            self.times -= 1
        self.calls.add(call.call_id)
        self.fired += 1
        return True

    def error(self) -> tuple[str, int]:
        code, status = DEFAULT_ERRORS.get(self.service, ("InternalFailure", 500))
        return self.code or code, self.status or status


@dataclass
class TaskHook:
    """An action run as an execution enters a Task state (see :meth:`AwsFaults.on_task`)."""

    state: str
    action: Callable[[str], None]
    job: str | None = None
    times: int | None = 1


def _among(value: str | None, wanted: str | frozenset[str] | None) -> bool:
    if wanted is None:
        return True
    return value == wanted if isinstance(wanted, str) else value in wanted


class AwsFaults:
    """The scripted AWS faults and Task hooks of one block (``with AwsFaults() as aws:``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[AwsFault] = []
        self._hooks: list[TaskHook] = []
        self.answered: list[tuple[AwsCall, AwsFault]] = []  # every attempt a fault answered

    def fail(self, service: str, operation: str | Iterable[str] | None = None, **spec: Any) -> AwsFault:
        """Answer matching calls with an AWS error (``code``/``status``, else the service's throttling)."""
        return self._add(AwsFault(service, **_normalised({"operation": operation, **spec})))

    def kill(
        self, service: str, operation: str | Iterable[str] | None = None, *, after: bool = False, **spec: Any
    ) -> AwsFault:
        """End the Lambda making a matching call as its timeout would: before the call, or ``after`` it
        reached moto (its effect stored, its answer never read)."""
        spec = _normalised({"operation": operation, **spec})
        return self._add(AwsFault(service, kill="after" if after else "before", **spec))

    def on_task(
        self, state: str, action: Callable[[str], None], *, job: str | None = None, times: int | None = 1
    ) -> TaskHook:
        """Run ``action(job id)`` when an execution enters the Task state ``state`` (``times`` entries)."""
        hook = TaskHook(state, action, job, times)
        with self._lock:
            self._hooks.append(hook)
        return hook

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._hooks.clear()
            self.answered.clear()

    def _add(self, fault: AwsFault) -> AwsFault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def _fault_for(self, call: AwsCall) -> AwsFault | None:
        with self._lock:
            for fault in self._faults:
                if fault.take(call):
                    self.answered.append((call, fault))
                    return fault
        return None

    def _hooks_for(self, state: str, job: str) -> list[TaskHook]:
        with self._lock:
            due = [h for h in self._hooks if h.state == state and h.job in (None, job) and h.times != 0]
            for hook in due:
                if hook.times is not None:
                    hook.times -= 1
        return due

    def __enter__(self) -> AwsFaults:
        _install(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _uninstall(self)


def _normalised(spec: dict[str, Any]) -> dict[str, Any]:
    for name in ("operation", "state"):
        value = spec.get(name)
        if value is not None and not isinstance(value, str):
            spec[name] = frozenset(value)
    return spec


# --- the patches ----------------------------------------------------------------------------------------

_books: list[AwsFaults] = []
_books_lock = threading.Lock()
#: (state, job) while a Task's work runs in this context (the local Lambda runtime carries it to the handler)
_running_task: contextvars.ContextVar[tuple[str | None, str | None]] = contextvars.ContextVar(
    "local_aws_faults_task", default=(None, None)
)


def _call_of(event_name: str, request: AWSPreparedRequest) -> AwsCall:
    _, service, operation = event_name.split(".", 2)
    params: dict[str, Any] = {}
    content_type = _header(request, "Content-Type")
    if content_type.startswith(_JSON_TYPES) and isinstance(request.body, bytes | str) and request.body:
        try:
            params = json.loads(request.body)
        except ValueError:
            params = {}
    key = _s3_key(request.url) if service == "s3" else None
    state, job = _running_task.get()
    call_id = _header(request, "amz-sdk-invocation-id") or str(id(request))
    return AwsCall(service, operation, state, job, key, params, call_id)


def _header(request: AWSPreparedRequest, name: str) -> str:
    value = request.headers.get(name) or ""
    return value.decode() if isinstance(value, bytes) else str(value)


def _s3_key(url: str) -> str | None:
    parts = urlsplit(url)
    path = unquote(parts.path.lstrip("/"))
    if (parts.hostname or "").startswith("s3."):  # path style: /bucket/key
        path = path.partition("/")[2]
    return path or None


def _error_response(request: AWSPreparedRequest, service: str, code: str, status: int) -> AWSResponse:
    message = f"{code} (scripted by local.aws_faults)"
    request_id = str(uuid.uuid4())
    if service == "s3":
        body = (
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
        )
        headers = {"Content-Type": "application/xml", "x-amz-request-id": request_id}
    else:
        body = json.dumps({"__type": code, "message": message})
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "x-amzn-ErrorType": code,
            "x-amzn-RequestId": request_id,
        }
    return AWSResponse(request.url, status, headers, MockRawResponse(body))  # type: ignore[arg-type]


def _before_send(
    self: BotocoreStubber, event_name: str, request: AWSPreparedRequest, **kwargs: Any
) -> AWSResponse | None:
    if self.enabled and _books:
        call = _call_of(event_name, request)
        for book in list(_books):
            fault = book._fault_for(call)
            if fault is None:
                continue
            if fault.kill == "after":
                _original_before_send(self, event_name, request, **kwargs)
            if fault.kill is not None:
                kill_invocation()
            code, status = fault.error()
            return _error_response(request, call.service, code, status)
    return _original_before_send(self, event_name, request, **kwargs)


def _attributed(original: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """Calls made on this thread while a Task's work runs belong to that Task's state and execution."""

    def _eval_execution(self: Any, env: Any) -> None:
        token = _running_task.set((self.name, _execution_name(env)))
        try:
            original(self, env)
        finally:
            _running_task.reset(token)

    return _eval_execution


def _execution_name(env: Any) -> str:
    return str(env.states.context_object.context_object_data["Execution"]["Name"])


def _eval_state(self: ExecutionState, env: Any) -> None:
    job = _execution_name(env)
    for book in list(_books):
        for hook in book._hooks_for(self.name, job):
            hook.action(job)
    _original_eval_state(self, env)


_retry_time = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if not k.startswith("__")})
_retry_time.sleep = lambda seconds: time.sleep(max(seconds, 0) * moto_gaps.time_scale())

_original_before_send = BotocoreStubber.__call__
_original_eval_state = ExecutionState._eval_state
_PATCHES: list[tuple[Any, str, Any, Any]] = [  # (owner, attribute, patch, original)
    (BotocoreStubber, "__call__", _before_send, _original_before_send),
    (ExecutionState, "_eval_state", _eval_state, _original_eval_state),
    (
        StateTaskService,
        "_eval_execution",
        _attributed(StateTaskService._eval_execution),
        StateTaskService._eval_execution,
    ),
    (
        StateTaskLambda,
        "_eval_execution",
        _attributed(StateTaskLambda._eval_execution),
        StateTaskLambda._eval_execution,
    ),
    (botocore.endpoint, "time", _retry_time, time),  # botocore sleeps between retries with endpoint.time
]


def _install(book: AwsFaults) -> None:
    with _books_lock:
        _books.append(book)
        if len(_books) == 1:
            for owner, name, patch, _ in _PATCHES:
                setattr(owner, name, patch)


def _uninstall(book: AwsFaults) -> None:
    with _books_lock:
        _books.remove(book)
        if not _books:
            for owner, name, _, original in _PATCHES:
                setattr(owner, name, original)
