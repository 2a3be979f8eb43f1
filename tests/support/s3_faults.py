"""Scripted S3 failures on one boto3 client, through botocore's ``before-call`` event (no network, no moto
patch): a matching call answers the given error code and HTTP status, or raises a botocore exception, as
S3 would after botocore's own retries. Every call the client makes is recorded in ``calls``.

    faults = S3Faults(s3)
    faults.fail("UploadPart", "SlowDown", 503, times=1)
    faults.fail("PutObject", "AccessDenied", 403, key="outputs/job/1.mp4")
    faults.raise_("PutObject", EndpointConnectionError(endpoint_url="https://s3"))

Used as a context manager, the injector detaches itself from the client on exit (for long-lived clients,
such as a handler's module-level one in the local pipeline).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse


@dataclass
class _Fault:
    operation: str
    key: str | None
    times: int | None
    code: str = ""
    status: int = 500
    exception: BaseException | None = None
    fired: int = 0

    def matches(self, operation: str, key: str | None) -> bool:
        if operation != self.operation or (self.key is not None and key != self.key):
            return False
        return self.times is None or self.fired < self.times


class S3Faults:
    """Failures injected into ``s3`` (a boto3 S3 client); ``calls`` lists ``(operation, key)`` in order."""

    def __init__(self, s3: Any) -> None:
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self.calls: list[tuple[str, str | None]] = []
        self._events = s3.meta.events
        self._events.register("before-parameter-build.s3", self._remember_key)
        self._events.register("before-call.s3", self._before_call)

    def __enter__(self) -> S3Faults:
        return self

    def __exit__(self, *exc: object) -> None:
        self._events.unregister("before-parameter-build.s3", self._remember_key)
        self._events.unregister("before-call.s3", self._before_call)

    def fail(
        self, operation: str, code: str, status: int, *, times: int | None = None, key: str | None = None
    ) -> None:
        """``operation`` (on ``key``, if given) answers ``code``/``status`` ``times`` times (None: always)."""
        self._faults.append(_Fault(operation, key, times, code=code, status=status))

    def raise_(
        self, operation: str, exception: BaseException, *, times: int | None = None, key: str | None = None
    ) -> None:
        """``operation`` raises ``exception`` (a botocore connection error, say) ``times`` times."""
        self._faults.append(_Fault(operation, key, times, exception=exception))

    def clear(self) -> None:
        self._faults.clear()

    def count(self, operation: str, key: str | None = None) -> int:
        return sum(1 for op, k in self.calls if op == operation and (key is None or k == key))

    @staticmethod
    def _remember_key(*, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        # before-call sees the serialized request; the API parameters are only visible here.
        context["s3_faults_key"] = params.get("Key")

    def _before_call(self, *, model: Any, context: dict[str, Any], **_: Any) -> Any:
        operation = model.name
        key = context.get("s3_faults_key")
        with self._lock:
            self.calls.append((operation, key))
            fault = next((f for f in self._faults if f.matches(operation, key)), None)
            if fault is None:
                return None
            fault.fired += 1
        if fault.exception is not None:
            raise fault.exception
        body = {
            "Error": {"Code": fault.code, "Message": f"injected {fault.code}"},
            "ResponseMetadata": {"HTTPStatusCode": fault.status},
        }
        return AWSResponse("https://s3.injected", fault.status, {}, None), body
