"""The one reading of botocore's errors: a ClientError's AWS error code and HTTP status, the codes that mean
"not there", and which failures a later attempt can get past."""

from __future__ import annotations

from botocore.exceptions import ClientError, HTTPClientError, IncompleteReadError
from botocore.exceptions import ConnectionError as BotoConnectionError

#: S3 answers for an object (or bucket, or version) that does not exist.
NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchVersion", "NoSuchBucket"})
#: S3 answers for an object the function may not read.
FORBIDDEN_CODES = frozenset({"403", "AccessDenied", "Forbidden"})
CONDITION_FAILED = "ConditionalCheckFailedException"

#: Codes AWS answers for a failure that a later attempt can get past: throttling, a service's own fault, a
#: request that timed out, an operation racing another (S3 ``OperationAborted``; ``NoSuchUpload`` when a
#: concurrent clean-up aborted the multipart upload being written), a KMS key briefly unreachable.
TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeout",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "InternalFailure",
        "InternalServerError",
        "InternalServerErrorException",
        "InternalException",
        "ServiceUnavailableException",
        "RequestTimeoutException",
        "TransactionInProgressException",
        "ServiceException",
        "OperationAborted",
        "NoSuchUpload",
        "KMS.ThrottlingException",
        "KMS.KMSInternalException",
        "KMS.DependencyTimeoutException",
        "500",
        "502",
        "503",
        "504",
    }
)


def error_code(exc: ClientError) -> str:
    """The AWS error code of ``exc`` (``NoSuchKey``, ``ConditionalCheckFailedException``...), or ``""``."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def http_status(exc: ClientError) -> int | None:
    """The HTTP status of the answer behind ``exc``, when botocore recorded one."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None


def is_transient(exc: BaseException) -> bool:
    """True for a failure a later attempt can get past (botocore's own retries included, already spent).

    A ClientError is transient by its code (:data:`TRANSIENT_CODES`), else by an HTTP 5xx or 429 status; a
    connection that could not be made, was closed, timed out or returned a short body is transient too.
    """
    if isinstance(exc, ClientError):
        if error_code(exc) in TRANSIENT_CODES:
            return True
        status = http_status(exc)
        return status is not None and (status >= 500 or status == 429)
    return isinstance(exc, BotoConnectionError | HTTPClientError | IncompleteReadError)
