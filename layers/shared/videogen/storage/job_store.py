"""Job records in DynamoDB: reads and conditional writes of the attributes of ``videogen.core.job.JobRecord``.

Numbers are stored as ``Decimal`` (DynamoDB's only number type) and read back as int or float. Writes from the
state machine itself (``Mark the job as archiving``) use the same names.

The submit side's writes (uploads, the create about to be sent, each attempt's task) raise
:class:`~videogen.core.errors.JobStoreUnavailable` for transient DynamoDB failures (``job_store_errors``), so
the state machine retries them by name; a failed condition is a :class:`RecordConflict` carrying the record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import botocore.exceptions
from botocore.config import Config
from botocore.exceptions import ClientError

from videogen.core.clock import SYSTEM_CLOCK, format_time
from videogen.core.errors import JobStoreUnavailable, VideoGenError
from videogen.core.job import RECORD_FIELDS, JobStatus
from videogen.storage.aws_errors import CONDITION_FAILED, TRANSIENT_CODES, error_code

#: The DynamoDB client of the submit side's steps: short timeouts and a few SDK retries, so that one call is
#: bounded (``STEP_CALL_MAX_SECONDS``) within the Lambda timeouts (``videogen.pipeline.time_budgets``).
STEP_CONNECT_TIMEOUT = 2
STEP_READ_TIMEOUT = 3
STEP_MAX_ATTEMPTS = 3
STEP_CLIENT_CONFIG = Config(
    connect_timeout=STEP_CONNECT_TIMEOUT,
    read_timeout=STEP_READ_TIMEOUT,
    retries={"mode": "standard", "max_attempts": STEP_MAX_ATTEMPTS},
)
#: Worst case of one call with that client: every attempt times out, plus standard mode's backoff
#: (at most 1, 2, 4... s between attempts).
STEP_CALL_MAX_SECONDS = STEP_MAX_ATTEMPTS * (STEP_CONNECT_TIMEOUT + STEP_READ_TIMEOUT) + sum(
    2**n for n in range(STEP_MAX_ATTEMPTS - 1)
)


def is_transient(exc: BaseException) -> bool:
    """True for a DynamoDB failure that a retry can get past: a throttling or server-side error code, an
    HTTP 5xx, a connection or read timeout. Judged by type and AWS error code, never by message text."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return error_code(exc) in TRANSIENT_CODES or (isinstance(status, int) and status >= 500)
    return isinstance(exc, botocore.exceptions.HTTPClientError | botocore.exceptions.ConnectionError)


@contextmanager
def job_store_errors(operation: str, job_id: str) -> Iterator[None]:
    """Re-raise transient DynamoDB failures as JobStoreUnavailable (retried by the state machine)."""
    try:
        yield
    except (ClientError, botocore.exceptions.BotoCoreError) as exc:
        if not is_transient(exc):
            raise
        code = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
        raise JobStoreUnavailable(
            f"DynamoDB could not {operation} job {job_id} ({code}); safe to retry",
            details={"operation": operation, "code": code},
        ) from exc


class UnknownRecordField(VideoGenError):
    """A write names an attribute that ``JobRecord`` does not define (a programming error)."""


class RecordConflict(VideoGenError):
    """A conditional write found the record in another state (ended, cancelled, another attempt recorded).
    ``existing`` is the record as read just after (empty when there is none)."""

    def __init__(self, job_id: str, existing: Mapping[str, Any] | None, message: str = "") -> None:
        self.job_id = job_id
        self.existing = dict(existing or {})
        super().__init__(message or f"job {job_id} changed while it was being written")


class TaskIdConflict(RecordConflict):
    """The job record already holds a different Runway task for this attempt (another submit won a race),
    or the job ended first."""

    def __init__(self, job_id: str, existing: Mapping[str, Any] | None) -> None:
        task = dict(existing or {}).get("task_id", "?")
        super().__init__(job_id, existing, f"job {job_id} already tracks Runway task {task}")


def attempts_of(record: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The record's ``attempts``; a record written before attempts were kept, with a task, is attempt 1."""
    record = record or {}
    attempts = record.get("attempts")
    if isinstance(attempts, list):
        return [dict(a) for a in attempts if isinstance(a, Mapping)]
    if record.get("task_id"):
        return [{"attempt": 1, "task_id": record["task_id"], "created_at": record.get("submitted_at")}]
    return []


def _attempts_before(attempt: int) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The condition that exactly ``attempt - 1`` attempts are recorded (no task at all for attempt 1), with
    its values and names (DynamoDB refuses names an expression does not use)."""
    if attempt == 1:
        return (
            "attribute_not_exists(#attempts) AND attribute_not_exists(#task_id)",
            {},
            {"#attempts": "attempts", "#task_id": "task_id"},
        )
    return "size(#attempts) = :c_recorded", {":c_recorded": attempt - 1}, {"#attempts": "attempts"}


def to_dynamo(value: Any) -> Any:  # noqa: PLR0911 - one return per JSON type
    """A JSON-like value with floats turned into Decimal (recursively), as boto3's resource API needs."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Mapping):
        return {str(k): to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_dynamo(v) for v in value]
    if isinstance(value, set | frozenset):
        return {to_dynamo(v) for v in value}
    return value


def from_dynamo(value: Any) -> Any:
    """The inverse of :func:`to_dynamo`: Decimal -> int when integral else float; sets -> sorted lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(from_dynamo(v) for v in value)
    return value


def _remove_clause(removed: list[str], names: dict[str, str]) -> str:
    for name in removed:
        names[f"#{name}"] = name
    return (" REMOVE " + ", ".join(f"#{name}" for name in removed)) if removed else ""


class JobStore:
    """Reads and writes job records. Wraps one boto3 ``Table`` (create it once per process and reuse)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    @property
    def table_name(self) -> str:
        return str(self._table.name)

    def get(self, job_id: str, *, consistent: bool = True) -> dict[str, Any] | None:
        """The record of ``job_id`` as plain Python values, or None."""
        response = self._table.get_item(Key={"job_id": job_id}, ConsistentRead=consistent)
        item = response.get("Item")
        return from_dynamo(item) if item else None

    def update(
        self,
        job_id: str,
        fields: Mapping[str, Any],
        *,
        set_if_missing: Mapping[str, Any] | None = None,
        condition: str | None = None,
        condition_values: Mapping[str, Any] | None = None,
        condition_names: Mapping[str, str] | None = None,
        remove: Iterable[str] = (),
        now: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """SET ``fields`` (and ``set_if_missing`` only where absent) on the record, creating it if needed.

        Always sets ``updated_at`` and, when absent, ``created_at``. ``condition`` is a ConditionExpression
        whose placeholders are ``#<name>`` for attribute names in ``fields`` (others go in
        ``condition_names``) and ``:c_<x>`` values passed in ``condition_values``. Returns the record after
        the update. Raises botocore ClientError (``ConditionalCheckFailedException`` when the condition
        fails).
        """
        removed = list(remove)
        unknown = sorted((set(fields) | set(set_if_missing or {}) | set(removed)) - RECORD_FIELDS)
        if unknown:
            raise UnknownRecordField(f"not job record attributes: {', '.join(unknown)}")
        stamp = format_time(now or SYSTEM_CLOCK.now())
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        parts: list[str] = []
        for name, value in {**fields, "updated_at": stamp}.items():
            names[f"#{name}"] = name
            values[f":{name}"] = to_dynamo(value)
            parts.append(f"#{name} = :{name}")
        for name, value in {"created_at": stamp, **(set_if_missing or {})}.items():
            if name in fields:
                continue
            names[f"#{name}"] = name
            values[f":{name}"] = to_dynamo(value)
            parts.append(f"#{name} = if_not_exists(#{name}, :{name})")
        for key, value in (condition_values or {}).items():
            values[key] = to_dynamo(value)
        names.update(condition_names or {})
        kwargs: dict[str, Any] = {
            "Key": {"job_id": job_id},
            "UpdateExpression": "SET " + ", ".join(parts) + _remove_clause(removed, names),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValues": "ALL_NEW",
        }
        if condition:
            kwargs["ConditionExpression"] = condition
        response = self._table.update_item(**kwargs)
        return from_dynamo(response.get("Attributes", {}))

    def create_if_absent(self, job_id: str, fields: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """Write a new record unless one with this id exists: ``(the record now stored, created?)``.

        Entry points derive job ids from idempotency keys and S3 object versions, so a repeated request or a
        duplicate event finds the first record instead of writing a second one.
        """
        try:
            record = self.update(
                job_id,
                fields,
                condition="attribute_not_exists(#job_id)",
                condition_names={"#job_id": "job_id"},
            )
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
            return self.get(job_id) or {}, False
        return record, True

    def record_uploads(
        self,
        job_id: str,
        uploads: Mapping[str, Mapping[str, Any]],
        *,
        request: Mapping[str, Any] | None = None,
        source: str | None = None,
    ) -> dict[str, Any]:
        """Save the job's ephemeral uploads (the whole ``uploads`` map: the upload step is its one writer).

        Creates a QUEUED record when there is none; never touches a job that has ended (RecordConflict).
        """
        if_missing: dict[str, Any] = {"status": JobStatus.QUEUED.value}
        if request is not None:
            if_missing["request"] = dict(request)
        if source is not None:
            if_missing["source"] = source
        with job_store_errors("record the uploads of", job_id):
            try:
                return self.update(
                    job_id,
                    {"uploads": {uri: dict(entry) for uri, entry in uploads.items()}},
                    set_if_missing=if_missing,
                    condition="attribute_not_exists(#finished_at)",
                    condition_names={"#finished_at": "finished_at"},
                )
            except ClientError as exc:
                if error_code(exc) != CONDITION_FAILED:
                    raise
                raise RecordConflict(job_id, self.get(job_id), f"job {job_id} has ended") from exc

    def record_create_sent(
        self,
        job_id: str,
        *,
        attempt: int,
        sent_at: str,
        endpoint: str,
        model: str,
        estimated_credits: float | int | None,
        attempts: Sequence[Mapping[str, Any]] = (),
        request: Mapping[str, Any] | None = None,
        source: str | None = None,
    ) -> dict[str, Any]:
        """Record that the create of ``attempt`` is about to be sent (``create_sent_at``, the model...).

        ``attempts`` (written when given) are the ``attempt - 1`` attempts before, the last one with its
        ending. The write holds only while the job has not ended, no cancellation was asked for and exactly
        ``attempt - 1`` attempts are recorded and no earlier run recorded sending this attempt's create; else
        RecordConflict with the record, and nothing may be sent.
        """
        fields: dict[str, Any] = {
            "create_sent_at": sent_at,
            "create_attempt": attempt,
            "endpoint": endpoint,
            "model": model,
        }
        if estimated_credits is not None:
            fields["estimated_credits"] = estimated_credits
        if attempts:
            fields["attempts"] = [dict(a) for a in attempts]
        if_missing: dict[str, Any] = {"status": JobStatus.QUEUED.value}
        if request is not None:
            if_missing["request"] = dict(request)
        if source is not None:
            if_missing["source"] = source
        recorded, values, names = _attempts_before(attempt)
        with job_store_errors("record the create of", job_id):
            try:
                return self.update(
                    job_id,
                    fields,
                    set_if_missing=if_missing,
                    # A create is sent at most once per attempt: a re-run after a crash finds it recorded.
                    condition=(
                        "attribute_not_exists(#finished_at) AND attribute_not_exists(#cancel_requested_at) "
                        f"AND {recorded} "
                        "AND (attribute_not_exists(#create_attempt) OR #create_attempt <> :c_attempt)"
                    ),
                    condition_values={**values, ":c_attempt": attempt},
                    condition_names={
                        "#finished_at": "finished_at",
                        "#cancel_requested_at": "cancel_requested_at",
                        **names,
                    },
                )
            except ClientError as exc:
                if error_code(exc) != CONDITION_FAILED:
                    raise
                raise RecordConflict(job_id, self.get(job_id)) from exc

    def forget_create_sent(self, job_id: str, attempt: int) -> None:
        """Runway answered the create of ``attempt`` without creating a task: clear its ``create_sent_at`` so
        a retry may send it again. If this write fails, a retry sees a sent create and sends nothing."""
        try:
            with job_store_errors("clear the create of", job_id):
                self.update(
                    job_id,
                    {},
                    remove=("create_sent_at", "create_attempt"),
                    condition="#create_attempt = :c_attempt",
                    condition_values={":c_attempt": attempt},
                    condition_names={"#create_attempt": "create_attempt"},
                )
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise

    def record_submission(
        self,
        job_id: str,
        *,
        task_id: str,
        endpoint: str,
        model: str,
        estimated_credits: float | int | None,
        submitted_at: str,
        deadline_at: str,
        request: Mapping[str, Any] | None = None,
        source: str | None = None,
        attempt: int = 1,
        attempts_before: Sequence[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """Save the Runway task of ``attempt`` (status SUBMITTED): it becomes ``task_id`` and the last entry
        of ``attempts`` (``attempts_before`` + this one). Creates the record if it does not exist; returns the
        record after the write (a caller checks its ``cancel_requested_at``).

        ``deadline_at`` is the job's: written once, by the first attempt. Never overwrites another task of the
        same attempt and never touches a job that has ended (``finished_at`` set): raises
        :class:`TaskIdConflict` (with the existing record) instead. Writing the same task again is a no-op
        success, so a retried submit is safe.
        """
        entry: dict[str, Any] = {
            "attempt": attempt,
            "task_id": task_id,
            "created_at": submitted_at,
            "model": model,
        }
        if estimated_credits is not None:
            entry["estimated_credits"] = estimated_credits
        fields: dict[str, Any] = {
            "task_id": task_id,
            "status": JobStatus.SUBMITTED.value,
            "endpoint": endpoint,
            "model": model,
            "submitted_at": submitted_at,
            "progress": 0,
            "attempts": [*(dict(a) for a in attempts_before), entry],
        }
        if estimated_credits is not None:
            fields["estimated_credits"] = estimated_credits
        if_missing: dict[str, Any] = {"deadline_at": deadline_at}
        if request is not None:
            if_missing["request"] = dict(request)
        if source is not None:
            if_missing["source"] = source
        recorded, values, names = _attempts_before(attempt)
        with job_store_errors("record the Runway task of", job_id):
            try:
                return self.update(
                    job_id,
                    fields,
                    set_if_missing=if_missing,
                    condition=f"attribute_not_exists(#finished_at) AND {recorded}",
                    condition_values=values,
                    condition_names={"#finished_at": "finished_at", **names},
                )
            except ClientError as exc:
                if error_code(exc) != CONDITION_FAILED:
                    raise
                existing = self.get(job_id) or {}
                recorded_attempts = attempts_of(existing)
                ours = len(recorded_attempts) >= attempt and (
                    recorded_attempts[attempt - 1].get("task_id") == task_id
                )
                if ours and not existing.get("finished_at"):
                    return existing  # this very write already happened (a retry of it)
                raise TaskIdConflict(job_id, existing) from exc

    def record_outcome_unknown(self, job_id: str, flag: Mapping[str, Any]) -> dict[str, Any]:
        """Save ``submit_outcome_unknown``: a create whose answer was lost, for an operator's check."""
        with job_store_errors("flag the lost create of", job_id):
            return self.update(job_id, {"submit_outcome_unknown": dict(flag)})
