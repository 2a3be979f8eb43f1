"""How long the submit side's Lambdas may take at worst, from the timeouts of the clients they use.

template.yaml's ``Timeout`` of each function must exceed its budget by ``TIMEOUT_MARGIN_SECONDS`` (a test
checks it): a create Lambda killed by its own timeout after the POST left is a create whose answer was lost,
which fails the job (``SubmitOutcomeUnknown``), so the SDK's create timeout must always fire first.
"""

from __future__ import annotations

from videogen.runway.client import CREATE_TIMEOUT, READ_MAX_RETRIES, READ_TIMEOUT, UPLOAD_TIMEOUT
from videogen.storage.job_store import STEP_CALL_MAX_SECONDS

TIMEOUT_MARGIN_SECONDS = 30
#: Reading the Runway key from Secrets Manager at cold start (Powertools caches it for 5 minutes).
SECRET_READ_SECONDS = 10
#: A 200 MB input read from S3 in the function's region (head + streamed download to /tmp).
S3_INPUT_READ_SECONDS = 60
#: Sending 200 MB to Runway's upload target at 10 MB/s or better.
UPLOAD_TRANSFER_SECONDS = 20
#: The most ``s3://`` inputs a request's media fields hold (image + last_image, character + reference).
MAX_S3_INPUTS = 2
#: How long the create step keeps retrying the write of a task it created before it cancels the task.
RECORD_PATIENCE_SECONDS = 20


def _connect_and_read(connect: float | None, read: float | None) -> float:
    return float(connect or 0) + float(read or 0)


#: One call that is safe to repeat (task GET/DELETE, POST /v1/uploads), SDK retries included.
RUNWAY_READ_CALL_SECONDS = (1 + READ_MAX_RETRIES) * _connect_and_read(READ_TIMEOUT.connect, READ_TIMEOUT.read)
#: The create POST: never retried by the SDK; connect, then the answer.
RUNWAY_CREATE_CALL_SECONDS = _connect_and_read(CREATE_TIMEOUT.connect, CREATE_TIMEOUT.read)


def upload_step_seconds(inputs: int = MAX_S3_INPUTS) -> float:
    """The upload step: the key, the record read, then per input S3, Runway's upload start, the transfer
    and its answer, and the record write. Each upload is recorded once made, so a re-run resumes."""
    per_input = (
        S3_INPUT_READ_SECONDS
        + RUNWAY_READ_CALL_SECONDS
        + UPLOAD_TRANSFER_SECONDS
        + _connect_and_read(UPLOAD_TIMEOUT.connect, UPLOAD_TIMEOUT.read)
        + STEP_CALL_MAX_SECONDS
    )
    return SECRET_READ_SECONDS + STEP_CALL_MAX_SECONDS + inputs * per_input


def create_step_seconds() -> float:
    """The create step: the key, the record read, the previous attempt's task read, the create-sent write,
    the POST, the task's record write (with its patience), and the cancel of a task it could not record."""
    return (
        SECRET_READ_SECONDS
        + STEP_CALL_MAX_SECONDS
        + RUNWAY_READ_CALL_SECONDS
        + STEP_CALL_MAX_SECONDS
        + RUNWAY_CREATE_CALL_SECONDS
        + RECORD_PATIENCE_SECONDS
        + STEP_CALL_MAX_SECONDS
        + 2 * RUNWAY_READ_CALL_SECONDS
    )


def lost_create_step_seconds() -> float:
    """The lost-create step: one record read and one write."""
    return 2 * STEP_CALL_MAX_SECONDS
