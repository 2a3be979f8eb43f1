"""Clients made once per container, on first use: a cold start pays for none it does not call.

:class:`Deferred` stands for the object its factory returns; the first attribute read makes that object
(once, under a lock: the local runner runs invocations on threads) and every later read goes straight to
it. Handlers build their services at import with deferred clients, so the services are ready at cold start
and a boto3 client (its service model loaded from disk, its endpoint resolved) or an HTTP client (its TLS
context) is made by the first invocation that calls it. Settings are still read and validated at import:
bad configuration fails the cold start, not the first call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import boto3
from botocore.config import Config

T = TypeVar("T")
_boto3: Any = boto3  # the service name is a variable: boto3's stubs type clients by literal names

_UNSET: Any = object()
#: boto3's default session is made by the first client; two threads must not make it at once.
_BOTO3_LOCK = threading.Lock()


class Deferred(Generic[T]):
    """The object ``make()`` returns, made on first use and kept (module docstring)."""

    __slots__ = ("_lock", "_make", "_value")

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._value: T = _UNSET
        self._lock = threading.Lock()

    @property
    def made(self) -> bool:
        """True once the object exists."""
        return self._value is not _UNSET

    def get(self) -> T:
        """The object, made now if this is the first use."""
        if self._value is _UNSET:
            with self._lock:
                if self._value is _UNSET:
                    self._value = self._make()
        return self._value

    def __getattr__(self, name: str) -> Any:
        if name in Deferred.__slots__:  # read before __init__ set it (copy, pickle): not the object's
            raise AttributeError(name)
        return getattr(self.get(), name)

    def __repr__(self) -> str:
        return f"Deferred({self._value!r})" if self.made else "Deferred(<not made yet>)"


def aws_client(service: str, config: Config | None = None) -> Any:
    """A boto3 client of ``service``, made on first use (typed ``Any`` as boto3 clients are)."""

    def make() -> Any:
        with _BOTO3_LOCK:
            return _boto3.client(service, config=config)

    return Deferred(make)


def dynamodb_table(name: str, config: Config | None = None) -> Any:
    """The DynamoDB ``Table`` resource of ``name``, made on first use."""

    def make() -> Any:
        with _BOTO3_LOCK:
            return boto3.resource("dynamodb", config=config).Table(name)

    return Deferred(make)


def deferred(make: Callable[[], T]) -> T:
    """``make()``'s object, made on first use, typed as that object."""
    made: Any = Deferred(make)
    return made
