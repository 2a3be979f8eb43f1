"""Scripted faults: what they match, what they do, how many times."""

from __future__ import annotations

import fnmatch
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

# Faults decided when a request arrives (any path).
REQUEST_KINDS = {"http_error", "delay", "disconnect"}
# Faults that act on an output download (GET /_outputs/...).
DOWNLOAD_KINDS = {"reset_download", "truncate_download"}
# Faults applied to the next task(s) created (matched on the create request).
TASK_KINDS = {"task_failure", "throttle", "output"}
# Faults applied to a GET /v1/tasks/{id} answer.
RETRIEVE_KINDS = {"expired_urls"}
KINDS = REQUEST_KINDS | DOWNLOAD_KINDS | TASK_KINDS | RETRIEVE_KINDS

_ids = itertools.count(1)


@dataclass
class Fault:
    """One scripted fault, matching ``method`` (exact), ``path`` (a glob such as ``/v1/tasks/*``) and
    ``body`` (top-level fields the request's JSON body must have, e.g. ``{"promptText": "..."}``).

    ``times=None`` means forever; ``params`` are per kind (see the package docstring).
    """

    kind: str
    times: int | None = 1
    method: str | None = None
    path: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    id: int = field(default_factory=lambda: next(_ids))
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(KINDS)}")
        if self.method:
            self.method = self.method.upper()

    def matches(self, method: str, path: str, body: Any = None) -> bool:
        return (
            (not self.method or self.method == method)
            and (not self.path or fnmatch.fnmatchcase(path, self.path))
            and (
                not self.body
                or (isinstance(body, dict) and all(body.get(k) == v for k, v in self.body.items()))
            )
        )


class FaultBook:
    """Thread-safe list of pending faults. Each kind is taken only where it acts (see the KINDS above)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, kinds: set[str], method: str, path: str, body: Any = None) -> list[Fault]:
        """Consume and return every matching fault of ``kinds`` (at most one per kind, oldest first)."""
        taken: list[Fault] = []
        seen: set[str] = set()
        with self._lock:
            for fault in list(self._faults):
                if fault.kind not in kinds or fault.kind in seen or not fault.matches(method, path, body):
                    continue
                seen.add(fault.kind)
                fault.fired += 1
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                taken.append(fault)
        return taken

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
