"""Named exceptions: the one error base (:class:`VideoGenError`, one ``message`` attribute) and its classes.

Step Functions matches ``Retry``/``Catch`` on the exception *class name* (the Lambda runtime reports it as
``errorType``), so these names are part of the state machine's contract: renaming one is a breaking change
for ``statemachine/generate_video.asl.json``. Each class says whether a retry can help. The entry points'
errors (last section) never reach the state machine: each maps to one HTTP status in the API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator


class VideoGenError(Exception):
    """Base class. ``retryable`` documents what the state machine does with it."""

    retryable = False

    def __init__(self, message: str, *, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then what caused it (``__cause__``, else ``__context__``), each once."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        yield cause
        cause = cause.__cause__ or cause.__context__


MAX_CAUSE_CHARS = 1000
_TRACEBACK = "Traceback (most recent call last)"


def readable_cause(cause: object) -> str:
    """The human message of a Step Functions error ``Cause``: a Lambda error's ``Cause`` is the runtime's JSON
    (``errorMessage``, ``errorType``, ``stackTrace``) and only its message is kept; a stack trace is cut."""
    text = "" if cause is None else str(cause).strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            text = str(parsed.get("errorMessage") or parsed.get("message") or parsed.get("Cause") or "")
    text = text.split(_TRACEBACK, 1)[0].strip()
    return text if len(text) <= MAX_CAUSE_CHARS else text[: MAX_CAUSE_CHARS - 3] + "..."


# --- Bad input: never retried, never reaches Runway -------------------------------------------------------


#: At most this many problems are listed (the last line then counts the rest), so a request with thousands
#: of wrong fields still gets an answer that fits a Lambda response and a job record.
MAX_LISTED_PROBLEMS = 50


def listed_problems(errors: list[str]) -> list[str]:
    """``errors``, the ones past :data:`MAX_LISTED_PROBLEMS` counted on a last line instead."""
    if len(errors) <= MAX_LISTED_PROBLEMS:
        return list(errors)
    shown = errors[: MAX_LISTED_PROBLEMS - 1]
    return [*shown, f"... and {len(errors) - len(shown)} more problems"]


class InvalidRequest(VideoGenError):
    """The generation request does not satisfy the model catalog. ``errors`` lists every problem (at most
    MAX_LISTED_PROBLEMS of them)."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = listed_problems(list(errors))
        super().__init__("; ".join(self.errors) or "invalid request", details={"errors": self.errors})


class InputNotFound(VideoGenError):
    """An ``s3://`` input named by the request does not exist or cannot be read."""


# --- Runway answered with an error ------------------------------------------------------------------------


class RunwayRejected(VideoGenError):
    """Runway refused the request (HTTP 400/404/422). Retrying the same body cannot help."""


class RunwayAuthError(VideoGenError):
    """Runway refused the API key (HTTP 401/403). Fix the secret; retrying cannot help."""


class InsufficientCredits(VideoGenError):
    """The organization has too few credits for this task."""


class RunwayRateLimited(VideoGenError):
    """HTTP 429: too many requests or concurrency limit reached. Retried with backoff."""

    retryable = True


class RunwayUnavailable(VideoGenError):
    """HTTP 5xx, a timeout or a connection failure on a call that is safe to repeat. Retried with backoff."""

    retryable = True


class SubmitOutcomeUnknown(VideoGenError):
    """The create call may have reached Runway but no answer came back (timeout or reset after sending).

    Runway has no idempotency key and no list-tasks endpoint, so re-sending could start a second billed task.
    Not retried: the job fails loudly with this name so an operator can check the Runway usage page.
    """


# --- The Runway task ended badly ----------------------------------------------------------------------------


class GenerationFailed(VideoGenError):
    """The task ended FAILED for a reason other than content moderation (e.g. ``INTERNAL.BAD_OUTPUT.*``)."""


class ContentModerated(VideoGenError):
    """The task ended FAILED with a ``SAFETY.INPUT.*`` or ``SAFETY.OUTPUT.*`` code. Never retried."""


class GenerationCancelled(VideoGenError):
    """The task was cancelled (``DELETE /v1/tasks/{id}``) before it finished."""


class GenerationTimedOut(VideoGenError):
    """The job's deadline passed before Runway finished; the task was cancelled."""


class TaskNotFound(VideoGenError):
    """Runway no longer knows the task (deleted, or the id is wrong)."""


# --- Archiving -----------------------------------------------------------------------------------------


class OutputExpired(VideoGenError):
    """An output URL answered 403/404 even after the task was fetched again for fresh URLs."""


class OutputDownloadFailed(VideoGenError):
    """An output download broke (reset, truncated body, 5xx). Retried: the archive step is idempotent."""

    retryable = True


class OutputHostNotAllowed(VideoGenError):
    """An output URL points at a host outside the configured allowlist."""


# --- Bookkeeping: the job record and its announcement -------------------------------------------------------


class BookkeepingUnavailable(VideoGenError):
    """DynamoDB or EventBridge throttled, erred (5xx) or could not be reached while recording or announcing a
    job's ending. Retried: recording and announcing are idempotent."""

    retryable = True


class BookkeepingFailed(VideoGenError):
    """DynamoDB or EventBridge refused to record or announce a job's ending (access denied, validation). Not
    retried: the execution fails and the reconciler settles the job."""


# --- Configuration ------------------------------------------------------------------------------------------


class SettingsError(VideoGenError):
    """The function's environment is incomplete or malformed (raised at cold start)."""


# --- Entry points: answered to callers ---------------------------------------------------------------------


class JobNotFound(VideoGenError):
    """No job record has this id."""


class CallerNotIdentified(VideoGenError):
    """An API request without the identity API Gateway verifies (IAM principal or API key id): HTTP 403."""


class JobAlreadyFinished(VideoGenError):
    """The job is finished (or its video is already being archived): nothing left to cancel."""

    def __init__(self, job_id: str, status: str) -> None:
        super().__init__(f"job {job_id} is {status}; only a job that is still generating can be cancelled")
        self.status = status


class JobNotRecoverable(VideoGenError):
    """``POST /generations/{id}/retry`` of a job that did not fail after Runway made its video."""


class IdempotencyConflict(VideoGenError):
    """The same idempotency key (or S3 object version) was used with a different request."""


class PipelineUnavailable(VideoGenError):
    """Step Functions (or the function that owns Runway calls) did not answer. Safe to retry."""


class InvalidIdempotencyKey(VideoGenError):
    """The Idempotency-Key header is not 1-255 printable ASCII characters."""


class InvalidPageToken(VideoGenError):
    """The ``next`` token was not produced by this API (or was altered)."""


class UploadRejected(VideoGenError):
    """``POST /uploads`` refused the file (type or size)."""


class UnsupportedFile(VideoGenError):
    """An object dropped under ``inputs/`` cannot become a job (type, size, content); it is REJECTED."""


# --- Archiving: the bucket ---------------------------------------------------------------------------------


class StorageUnavailable(VideoGenError):
    """S3 failed past botocore's own retries in a way a later attempt can get past (SlowDown, InternalError,
    a 5xx, a timeout, a closed connection). Retried with backoff for minutes: the archive step skips the
    outputs it already stored, so a retry costs only what is left."""

    retryable = True


class StorageRefused(VideoGenError):
    """S3 refused the archive for good (AccessDenied, NoSuchBucket, a KMS key denied or disabled, any other
    4xx). Retrying cannot help: fix the bucket or the function's permissions."""


# --- Submitting in two states, and Runway's INTERNAL failures ----------------------------------------------


class JobStoreUnavailable(VideoGenError):
    """A job record read or write failed for a reason a retry can get past (throttling, a DynamoDB 5xx, a
    lost connection), after the SDK's own retries. Retried with backoff by the state machine."""

    retryable = True


class RunwayInternalFailure(VideoGenError):
    """The task ended FAILED with an ``INTERNAL.*`` code (Runway recommends a retry; a failed task is not
    billed) and the job has attempts left: the state machine creates a new task."""

    retryable = True


class InputUploadMissing(VideoGenError):
    """The create step found no valid Runway upload recorded for an ``s3://`` input: the upload step did not
    run, or its upload is too old to use. Not retried."""


# --- Egress: where the pipeline sends requests (videogen.egress) --------------------------------------------


class OutputTooLarge(VideoGenError):
    """An output is larger than ``EgressMaxBytes`` (its Content-Length, or the bytes streamed so far). Not
    retried: the same URL serves the same file; nothing is left under the output key."""


class InvalidWebhookUrl(VideoGenError):
    """A ``webhook_url`` the pipeline will not call (scheme, host, or an address that is not public)."""


# --- Entry points: honest availability -----------------------------------------------------------------


class RunwayKeyNotConfigured(VideoGenError):
    """The Runway API key secret has no value, an empty or placeholder one, or cannot be read: no job is
    accepted until an operator puts the key in (API 503 with Retry-After; the S3 trigger raises, so the
    object's event is retried and lands in the dead-letter queue, to be redriven once the key is there)."""


# --- Step inputs ------------------------------------------------------------------------------------------


class InvalidStepInput(VideoGenError):
    """A state-machine step was invoked with an input it cannot read (a state passing the wrong shape, or a
    hand-made event): the message lists each offending field. Never retried: the same input fails the same
    way."""
