"""Tasks, credits and uploads. State is derived from the clock on every read: no background threads.

Each task draws its timings when it is created from an RNG seeded by ``(seed, task number)``: PENDING until
``ready``, THROTTLED until ``start`` (only while a ``throttle`` fault holds it), then RUNNING for ``run``
seconds (or until the fraction ``fail_at`` of it when it fails).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import math
import random
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from .config import SimulatorConfig

FAILURE_MESSAGES = {
    "SAFETY.INPUT": "The input did not pass our content moderation.",
    "SAFETY.OUTPUT": "The output did not pass our content moderation.",
    "INTERNAL.BAD_OUTPUT": "The output was rejected by our quality checks. Try again or change the input.",
    "INTERNAL": "An internal error occurred.",
}


def failure_message(code: str) -> str:
    for prefix, message in FAILURE_MESSAGES.items():
        if code.startswith(prefix):
            return message
    return "The task failed."


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class OutputPlan:
    count: int = 1
    extension: str = "mp4"
    size_bytes: int | None = None
    urls: tuple[str, ...] = ()  # given output URLs, answered as they are instead of the simulator's own


@dataclass
class Task:
    id: str
    number: int
    endpoint: str
    model: str
    body: dict[str, Any]
    created: float
    estimate: float
    charge: int
    ready: float
    start: float
    run: float
    failure_code: str | None = None
    failure: str | None = None
    fail_at: float = 1.0
    outputs: OutputPlan = field(default_factory=OutputPlan)
    cancelled_at: float | None = None
    refund_on_cancel: bool = False
    deleted: bool = False

    def status(self, now: float) -> str:
        end = self.start + self.run * (self.fail_at if self.failure_code else 1.0)
        cancelled = self.cancelled_at
        if cancelled is not None and now >= cancelled and end >= cancelled:
            return "CANCELLED"
        if now < self.ready:
            return "PENDING"
        if now < self.start:
            return "THROTTLED"
        if now < end:
            return "RUNNING"
        return "FAILED" if self.failure_code else "SUCCEEDED"

    def progress(self, now: float) -> float:
        done = (now - self.start) / max(self.run, 1e-9)
        return round(min(max(done, 0.0), 0.99), 2)

    def charged(self, now: float) -> int:
        """Credits this task holds at ``now``: reserved at creation, refunded on failure or early cancel."""
        status = self.status(now)
        refunded = status == "FAILED" or (status == "CANCELLED" and self.refund_on_cancel)
        return 0 if refunded else self.charge


@dataclass
class Upload:
    id: str
    fields: dict[str, str]
    expires: float
    data: bytes | None = None
    content_type: str | None = None
    metadata: str | None = None

    @property
    def uri(self) -> str:
        return f"runway://uploads/{self.id}"


class Engine:
    """All mutable simulator state, behind one lock."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tasks: dict[str, Task] = {}  # in creation order
            self.uploads: dict[str, Upload] = {}
            self.base_balance = self.config.credit_balance
            self._rng = random.Random(f"{self.config.seed}:uploads")

    def now(self) -> float:
        return self.config.clock()

    # --- limits and credits -----------------------------------------------------------------------------

    def balance(self, now: float | None = None) -> int:
        now = self.now() if now is None else now
        with self.lock:
            return self.base_balance - sum(t.charged(now) for t in self.tasks.values())

    def set_balance(self, credits: int) -> None:
        with self.lock:
            now = self.now()
            self.base_balance = credits + sum(t.charged(now) for t in self.tasks.values())

    # --- tasks -------------------------------------------------------------------------------------------

    def create_task(
        self,
        endpoint: str,
        body: dict[str, Any],
        estimate: float,
        *,
        failure_code: str | None = None,
        failure: str | None = None,
        fail_at: float = 1.0,
        forced_throttle: float = 0.0,
        outputs: OutputPlan | None = None,
    ) -> Task:
        with self.lock:
            now = self.now()
            number = len(self.tasks) + 1
            model = str(body.get("model"))
            rng = random.Random(f"{self.config.seed}:task:{number}")
            profile = self.config.profile(model)
            duration = body.get("duration")
            length = duration / 5 if isinstance(duration, int | float) and duration > 0 else 1.0
            run_s = profile.median_s * length * math.exp(rng.gauss(0.0, profile.sigma))
            run_s = min(max(run_s, profile.min_s), profile.max_s)
            scale = self.config.time_scale
            task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))  # drawn before the pending time
            ready = now + rng.uniform(*profile.pending_s) * scale
            task = Task(
                id=task_id,
                number=number,
                endpoint=endpoint,
                model=model,
                body=body,
                created=now,
                estimate=estimate,
                charge=math.ceil(estimate),
                ready=ready,
                start=ready + forced_throttle * scale,
                run=run_s * scale,
                failure_code=failure_code,
                failure=failure or (failure_message(failure_code) if failure_code else None),
                fail_at=fail_at,
                outputs=outputs or OutputPlan(),
            )
            self.tasks[task.id] = task
            return task

    def get(self, task_id: str) -> Task | None:
        with self.lock:
            task = self.tasks.get(task_id)
            return None if task is None or task.deleted else task

    def delete(self, task: Task) -> None:
        """DELETE /v1/tasks/{id}: cancel a live task, delete a finished one."""
        with self.lock:
            now = self.now()
            status = task.status(now)
            if status in ("PENDING", "THROTTLED", "RUNNING"):
                task.cancelled_at = now
                task.refund_on_cancel = status != "RUNNING"
            else:
                task.deleted = True

    def task_json(self, task: Task, output_urls: list[str] | None = None) -> dict[str, Any]:
        now = self.now()
        with self.lock:
            status = task.status(now)
            data: dict[str, Any] = {"id": task.id, "status": status, "createdAt": iso(task.created)}
            if status in ("PENDING", "THROTTLED", "RUNNING"):
                data["estimatedCost"] = {"credits": task.estimate}
                if status == "RUNNING":
                    data["progress"] = task.progress(now)
                return data
            data["cost"] = {"credits": task.charged(now)}
            if status == "SUCCEEDED":
                data["output"] = output_urls or []
            elif status == "FAILED":
                data["failure"] = task.failure
                data["failureCode"] = task.failure_code
            return data

    # --- organization ------------------------------------------------------------------------------------

    def organization(self) -> dict[str, Any]:
        now = self.now()
        with self.lock:
            models = sorted({*self.config.profiles, *(t.model for t in self.tasks.values())})
            daily: dict[str, int] = {}
            for task in self.tasks.values():
                if now - task.created < 24 * 3600:
                    daily[task.model] = daily.get(task.model, 0) + 1
            return {
                "creditBalance": self.balance(now),
                "tier": {
                    "maxMonthlyCreditSpend": 1_000_000,
                    "models": {
                        m: {"maxConcurrentGenerations": None, "maxDailyGenerations": None} for m in models
                    },
                },
                "usage": {"models": {m: {"dailyGenerations": n} for m, n in sorted(daily.items())}},
            }

    # --- uploads -----------------------------------------------------------------------------------------

    def new_upload(self, filename: str, signing_key: bytes) -> Upload:
        with self.lock:
            now = self.now()
            upload_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            key = f"uploads/{upload_id}/{filename}"
            # a presigned S3 POST's form fields, which the target checks come back unchanged
            policy = base64.b64encode(json.dumps({"conditions": [{"key": key}]}).encode()).decode()
            signature = hmac.new(signing_key, policy.encode(), hashlib.sha256).hexdigest()
            fields = {"key": key, "policy": policy, "x-amz-signature": signature}
            upload = Upload(upload_id, fields, now + 24 * 3600)
            self.uploads[upload_id] = upload
            return upload

    def upload_for_uri(self, uri: str) -> Upload | None:
        prefix = "runway://uploads/"
        if not uri.startswith(prefix):
            return None
        with self.lock:
            upload = self.uploads.get(uri[len(prefix) :])
        if upload is None or upload.data is None or self.now() >= upload.expires:
            return None
        return upload
