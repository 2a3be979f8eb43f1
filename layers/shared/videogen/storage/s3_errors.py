"""S3 failures as the pipeline's named errors: StorageUnavailable when a later attempt can get past them
(:func:`videogen.storage.aws_errors.is_transient`), StorageRefused for any other answer S3 gave."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from videogen.core.errors import StorageRefused, StorageUnavailable, VideoGenError
from videogen.storage.aws_errors import (
    FORBIDDEN_CODES,
    NOT_FOUND_CODES,
    error_code,
    http_status,
    is_transient,
)


def storage_error(exc: BaseException, action: str, key: str) -> VideoGenError | None:
    """StorageUnavailable or StorageRefused for an S3 failure of ``action`` on ``key``, else None."""
    if is_transient(exc):
        return StorageUnavailable(
            f"S3 {action} of {key} failed, retryable: {_describe(exc)}", details=_details(exc, key)
        )
    if isinstance(exc, ClientError):
        return StorageRefused(
            f"S3 refused the {action} of {key}: {_describe(exc)}", details=_details(exc, key)
        )
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return f"{error_code(exc) or 'no error code'} (HTTP {http_status(exc)})"
    return type(exc).__name__


def _details(exc: BaseException, key: str) -> dict[str, Any]:
    details: dict[str, Any] = {"key": key, "exception": type(exc).__name__}
    if isinstance(exc, ClientError):
        details.update(code=error_code(exc), status=http_status(exc))
    return details


@contextmanager
def s3_errors(action: str, key: str) -> Iterator[None]:
    """Turn S3 failures inside the block into StorageUnavailable / StorageRefused (:func:`storage_error`)."""
    try:
        yield
    except VideoGenError:
        raise
    except Exception as exc:
        error = storage_error(exc, action, key)
        if error is None:
            raise
        raise error from exc


def is_absent(exc: ClientError) -> bool:
    """HeadObject/GetObjectTagging found nothing it may read (403 too: without s3:ListBucket, S3 answers 403
    for a missing key)."""
    return error_code(exc) in NOT_FOUND_CODES | FORBIDDEN_CODES or http_status(exc) in (403, 404)
