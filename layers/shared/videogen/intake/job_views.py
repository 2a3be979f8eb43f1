"""What callers see of a job: the public view of a record, its error in words, and paginated listings.

- ``render_job``: status, Runway progress, credits (estimated, charged), the error (code + readable message
  parsed from the Step Functions cause) and, for finished jobs, each archived output with a short-lived
  presigned S3 GET URL (never Runway's own URL, which expires and is not the user's copy).
- ``JobLister``: newest-first pages, through GSIs only (no Scan). One owner's jobs (every caller but an
  admin) come from the ``by_owner`` GSI, a status filter applied as a FilterExpression on that owner's items
  only. Every job (an admin) comes from the ``by_status`` GSI; without a status filter it merges the
  per-status queries (one per status, ``Limit`` items each) and keeps a cursor per status in the opaque
  ``next`` token. A job that changes status while a client pages may show up twice or not at all.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from videogen.core.errors import InvalidPageToken, readable_cause
from videogen.core.job import ALL_STATUSES, FINAL_STATUSES, JobStatus
from videogen.core.settings import Settings
from videogen.intake.api_models import JobSummary, JobView
from videogen.storage.job_store import JobStore, from_dynamo

STATUS_INDEX = "by_status"
OWNER_INDEX = "by_owner"
#: Queries of the by_owner GSI one page may read when a status filter skips items (then ``next`` goes on).
MAX_OWNER_QUERIES = 5
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
_TOKEN_VERSION = 1

#: Readable messages for the error names the pipeline records (used when the cause says nothing better).
ERROR_MESSAGES: dict[str, str] = {
    "InvalidRequest": "The request does not satisfy the model catalog.",
    "InputNotFound": "An s3:// input of the request does not exist or cannot be read.",
    "RunwayRejected": "Runway refused the request.",
    "RunwayAuthError": "Runway refused the API key; check the Runway secret.",
    "InsufficientCredits": "The Runway organization has too few credits for this task.",
    "SubmitOutcomeUnknown": "Runway did not answer the create call; the task may exist. Check Runway usage.",
    "GenerationFailed": "Runway could not generate the video.",
    "ContentModerated": "Runway's content moderation refused the input or the output.",
    "GenerationCancelled": "The job was cancelled.",
    "GenerationTimedOut": "The job's deadline passed before Runway finished; the task was cancelled.",
    "TaskNotFound": "Runway no longer knows the task.",
    "OutputExpired": "The generated video expired on Runway before it could be archived.",
    "OutputHostNotAllowed": "An output URL pointed at a host or address the egress policy refuses.",
    "OutputTooLarge": "The generated video is larger than the stack's EgressMaxBytes.",
    "OutputDownloadFailed": "The generated video could not be downloaded from Runway.",
    "States.Timeout": "A step of the workflow timed out.",
    "States.TaskFailed": "A step of the workflow failed.",
    "UnsupportedFile": "The uploaded file cannot become a job.",
    "StorageUnavailable": "S3 kept failing while the video was archived; retry the job.",
    "StorageRefused": "S3 refused to store the video (permissions or bucket).",
    "BookkeepingFailed": "The job's ending could not be recorded; the reconciler settled it.",
    "ExecutionAborted": "The workflow was stopped by an operator; the Runway task was cancelled.",
}


# --- Errors -------------------------------------------------------------------------------------------------


def error_view(code: str | None, cause: str | None) -> dict[str, str] | None:
    """``{"code", "message"}`` of a recorded failure; the message comes out of a Lambda error's JSON cause."""
    if not code and not cause:
        return None
    message = readable_cause(cause) or ERROR_MESSAGES.get(code or "", "The job did not finish.")
    return {"code": code or "Unknown", "message": message}


# --- One job ------------------------------------------------------------------------------------------------

Presigner = Callable[[str], str]


def render_job(record: Mapping[str, Any], *, bucket: str, presign: Presigner | None = None) -> JobView:
    """The public view of a job record. ``presign(key)`` returns a GET URL; None leaves URLs out."""
    status = str(record.get("status", ""))
    view: dict[str, Any] = {
        "job_id": record.get("job_id"),
        "status": status,
        "finished": status in FINAL_STATUSES,
        "model": record.get("model"),
        "endpoint": record.get("endpoint"),
        "source": record.get("source"),
        "progress": _number(record.get("progress")),
        "task_id": record.get("task_id"),
        "credits": {
            "estimated": _number(record.get("estimated_credits")),
            "charged": _number(record.get("credits_charged")),
        },
        "error": error_view(record.get("error_code"), record.get("error_cause")),
        "created_at": record.get("created_at"),
        "updated_at": record.get("updated_at"),
        "submitted_at": record.get("submitted_at"),
        "finished_at": record.get("finished_at"),
        "deadline_at": record.get("deadline_at"),
        "task_may_be_running": bool(record.get("task_may_be_running")),
        "outputs": [],
        "manifest": None,
    }
    if status == JobStatus.SUCCEEDED.value:
        keys = record.get("output_keys") or []
        view["outputs"] = [_object_view(bucket, key, presign) for key in sorted(keys)]
        if record.get("manifest_key"):
            view["manifest"] = _object_view(bucket, str(record["manifest_key"]), presign)
    if status == JobStatus.SUCCEEDED.value and view["error"] is not None:
        view["error"] = None
    return JobView.model_validate(view)


def summary_view(record: Mapping[str, Any]) -> JobSummary:
    """A listing entry: no presigned URLs (GET /generations/{id} has them)."""
    return JobSummary.model_validate(
        {
            "job_id": record.get("job_id"),
            "status": record.get("status"),
            "model": record.get("model"),
            "source": record.get("source"),
            "progress": _number(record.get("progress")),
            "created_at": record.get("created_at"),
            "finished_at": record.get("finished_at"),
            "error": error_view(record.get("error_code"), record.get("error_cause")),
        }
    )


def _object_view(bucket: str, key: str, presign: Presigner | None) -> dict[str, Any]:
    return {"key": key, "s3_uri": f"s3://{bucket}/{key}", "url": presign(key) if presign else None}


def _number(value: Any) -> Any:
    return from_dynamo(value)


class JobViews:
    """The one presigned job view, as ``GET /generations/{id}`` and the webhooks show it."""

    def __init__(self, settings: Settings, *, jobs: JobStore, s3: Any) -> None:
        self._settings = settings
        self._jobs = jobs
        self._s3 = s3

    def view(self, job_id: str, *, consistent: bool = True, owner: str | None = None) -> JobView | None:
        """The job's view; None when there is none, or when ``owner`` is given and the job is not theirs."""
        record = self._jobs.get(job_id, consistent=consistent)
        if record is None or (owner is not None and record.get("owner") != owner):
            return None
        return render_job(record, bucket=self._settings.output_bucket, presign=self.presign_get)

    def presign_get(self, key: str) -> str:
        url: str = self._s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._settings.output_bucket, "Key": key},
            ExpiresIn=self._settings.presign_ttl_seconds,
        )
        return url


# --- Listing ------------------------------------------------------------------------------------------------


def _encode(data: Mapping[str, Any]) -> str:
    raw = json.dumps({"v": _TOKEN_VERSION, **data}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def encode_token(cursors: Mapping[str, Any]) -> str:
    return _encode({"c": cursors})


def decode_token(token: str, statuses: tuple[str, ...]) -> dict[str, Any]:
    """Per-status cursors in ``token`` (None: from the start, False: exhausted, dict: ExclusiveStartKey)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidPageToken("next is not a token returned by this API") from None
    if not isinstance(data, dict) or data.get("v") != _TOKEN_VERSION or not isinstance(data.get("c"), dict):
        raise InvalidPageToken("next is not a token returned by this API")
    cursors = data["c"]
    if set(cursors) != set(statuses):
        raise InvalidPageToken("next belongs to a listing with another status filter")
    for status, cursor in cursors.items():
        if cursor is None or cursor is False:
            continue
        if (
            not isinstance(cursor, dict)
            or set(cursor) != {"job_id", "status", "created_at"}
            or cursor["status"] != status
            or not all(isinstance(v, str) for v in cursor.values())
        ):
            raise InvalidPageToken("next is not a token returned by this API")
    return cursors


def decode_owner_token(token: str, owner: str, status: str | None) -> dict[str, Any]:
    """The by_owner ExclusiveStartKey in ``token``; it must come from a listing of this owner and filter."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidPageToken("next is not a token returned by this API") from None
    if not isinstance(data, dict) or data.get("v") != _TOKEN_VERSION or not isinstance(data.get("o"), dict):
        raise InvalidPageToken("next is not a token returned by this API")
    cursor = data["o"]
    if (
        set(cursor) != {"job_id", "owner", "created_at"}
        or not all(isinstance(v, str) for v in cursor.values())
        or cursor["owner"] != owner
    ):
        raise InvalidPageToken("next is not a token returned by this API")
    if data.get("s") != status:
        raise InvalidPageToken("next belongs to a listing with another status filter")
    return cursor


class JobLister:
    """Newest-first pages of jobs from the ``by_owner`` and ``by_status`` GSIs of the jobs table (a boto3
    ``Table``)."""

    def __init__(
        self, table: Any, *, index_name: str = STATUS_INDEX, owner_index_name: str = OWNER_INDEX
    ) -> None:
        self._table = table
        self._index = index_name
        self._owner_index = owner_index_name

    def page(
        self,
        *,
        status: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        token: str | None = None,
        owner: str | None = None,
    ) -> dict[str, Any]:
        """``{"items": [...records], "next": token | None}``: ``owner``'s jobs, or every job when None.

        Raises InvalidPageToken or ValueError.
        """
        if status is not None and status not in ALL_STATUSES:
            raise ValueError(f"status must be one of {', '.join(ALL_STATUSES)}")
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        if owner is not None:
            return self._owner_page(owner, status, limit, token)
        statuses = (status,) if status else ALL_STATUSES
        cursors: dict[str, Any] = decode_token(token, statuses) if token else dict.fromkeys(statuses)
        fetched: dict[str, tuple[list[dict[str, Any]], dict[str, Any] | None]] = {}
        for name in statuses:
            cursor = cursors[name]
            if cursor is False:
                continue
            fetched[name] = self._query(name, limit, cursor)
        merged = sorted(
            ((item, name) for name, (items, _) in fetched.items() for item in items),
            key=lambda pair: (str(pair[0].get("created_at", "")), str(pair[0].get("job_id", ""))),
            reverse=True,
        )[:limit]
        taken: dict[str, int] = {}
        for _, name in merged:
            taken[name] = taken.get(name, 0) + 1
        for name, (items, last_key) in fetched.items():
            count = taken.get(name, 0)
            if count == 0:
                if not items and last_key is None:
                    cursors[name] = False
                continue
            if count == len(items) and last_key is None:
                cursors[name] = False
            else:
                last = items[count - 1]
                cursors[name] = {
                    "job_id": str(last["job_id"]),
                    "status": name,
                    "created_at": str(last["created_at"]),
                }
        more = any(c is not False for c in cursors.values())
        return {"items": [item for item, _ in merged], "next": encode_token(cursors) if more else None}

    def _owner_page(self, owner: str, status: str | None, limit: int, token: str | None) -> dict[str, Any]:
        """Newest first from the by_owner GSI; with a status filter, a few more queries fill the page."""
        cursor: dict[str, Any] | None = decode_owner_token(token, owner, status) if token else None
        items: list[dict[str, Any]] = []
        for _ in range(MAX_OWNER_QUERIES):
            kwargs: dict[str, Any] = {
                "IndexName": self._owner_index,
                "KeyConditionExpression": Key("owner").eq(owner),
                "ScanIndexForward": False,
                "Limit": limit - len(items),
            }
            if status is not None:
                kwargs["FilterExpression"] = Attr("status").eq(status)
            if cursor:
                kwargs["ExclusiveStartKey"] = cursor
            response = self._table.query(**kwargs)
            items.extend(from_dynamo(item) for item in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            cursor = {k: str(from_dynamo(v)) for k, v in last.items()} if last else None
            if cursor is None or len(items) >= limit:
                break
        return {"items": items, "next": _encode({"o": cursor, "s": status}) if cursor else None}

    def _query(
        self, status: str, limit: int, cursor: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        kwargs: dict[str, Any] = {
            "IndexName": self._index,
            "KeyConditionExpression": Key("status").eq(status),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = cursor
        response = self._table.query(**kwargs)
        items = [from_dynamo(item) for item in response.get("Items", [])]
        return items, response.get("LastEvaluatedKey")
