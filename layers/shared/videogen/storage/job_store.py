"""Job records in DynamoDB: reads and conditional writes of the attributes of ``videogen.core.job.JobRecord``.

Numbers are stored as ``Decimal`` (DynamoDB's only number type) and read back as int or float. Writes from the
state machine itself (``Record progress``, ``Record the success``, ``Record the failure``) use the same names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from videogen.core.clock import SYSTEM_CLOCK, format_time
from videogen.core.errors import VideoGenError
from videogen.core.job import RECORD_FIELDS, JobStatus
from videogen.storage.aws_errors import CONDITION_FAILED, error_code


class UnknownRecordField(VideoGenError):
    """A write names an attribute that ``JobRecord`` does not define (a programming error)."""


class TaskIdConflict(VideoGenError):
    """The job record already holds a different Runway task id (another submit won a race)."""

    def __init__(self, job_id: str, existing: Mapping[str, Any] | None) -> None:
        self.job_id = job_id
        self.existing = dict(existing or {})
        super().__init__(f"job {job_id} already tracks Runway task {self.existing.get('task_id', '?')}")


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
    ) -> dict[str, Any]:
        """Save the Runway task of a job (status SUBMITTED), creating the record if it does not exist.

        Never overwrites a different ``task_id`` and never touches a job that has already ended
        (``finished_at`` set, e.g. cancelled through the API while the task was being created): raises
        :class:`TaskIdConflict` (with the existing record) instead. Writing the same task id again is a no-op
        success, so a retried submit is safe.
        """
        fields: dict[str, Any] = {
            "task_id": task_id,
            "status": JobStatus.SUBMITTED.value,
            "endpoint": endpoint,
            "model": model,
            "submitted_at": submitted_at,
            "deadline_at": deadline_at,
            "progress": 0,
        }
        if estimated_credits is not None:
            fields["estimated_credits"] = estimated_credits
        if_missing: dict[str, Any] = {}
        if request is not None:
            if_missing["request"] = dict(request)
        if source is not None:
            if_missing["source"] = source
        try:
            return self.update(
                job_id,
                fields,
                set_if_missing=if_missing,
                condition=(
                    "attribute_not_exists(#finished_at) AND "
                    "(attribute_not_exists(#task_id) OR #task_id = :c_task_id)"
                ),
                condition_values={":c_task_id": task_id},
                condition_names={"#finished_at": "finished_at"},
            )
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
            raise TaskIdConflict(job_id, self.get(job_id)) from exc
