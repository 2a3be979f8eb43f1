"""The one reading of botocore's ClientError: its AWS error code, and the codes that mean "not there"."""

from __future__ import annotations

from botocore.exceptions import ClientError

#: S3 answers for an object (or bucket, or version) that does not exist.
NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchVersion", "NoSuchBucket"})
#: S3 answers for an object the function may not read.
FORBIDDEN_CODES = frozenset({"403", "AccessDenied", "Forbidden"})
CONDITION_FAILED = "ConditionalCheckFailedException"


def error_code(exc: ClientError) -> str:
    """The AWS error code of ``exc`` (``NoSuchKey``, ``ConditionalCheckFailedException``...), or ``""``."""
    return str(exc.response.get("Error", {}).get("Code", ""))


#: Codes of throttling and service-side failures (any AWS service): a later retry can succeed.
TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "InternalServerError",
        "InternalServerErrorException",
        "InternalFailure",
        "InternalException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
        "TransactionInProgressException",
    }
)
