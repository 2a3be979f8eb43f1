"""What an input holds, checked at intake (videogen.intake.input_content): data: heads and S3 failures."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from botocore.exceptions import ClientError

from videogen.core.errors import PipelineUnavailable
from videogen.intake.input_content import S3InputChecker, data_uri_head, data_uri_problem

PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + b"\0" * 100


class FailingS3:
    def __init__(self, code: str, status: int) -> None:
        self.calls: list[dict[str, Any]] = []
        self._error = ClientError(
            {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "HeadObject"
        )

    def head_object(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        raise self._error


def test_an_s3_outage_while_checking_an_input_is_retry_later_not_a_refusal() -> None:
    # GIVEN S3 answering SlowDown (503)
    checker = S3InputChecker(FailingS3("SlowDown", 503), max_bytes=1024)
    # WHEN an input is checked THEN the intake says "retry later" (API 503, S3 trigger retried)
    with pytest.raises(PipelineUnavailable, match="retry later"):
        checker.problem("videos", "uploads/a.png", "image")


def test_a_refused_read_is_raised_as_it_is() -> None:
    with pytest.raises(ClientError):
        S3InputChecker(FailingS3("AccessDenied", 403), max_bytes=1024).problem(
            "videos", "uploads/a.png", "image"
        )


def test_a_missing_object_is_a_problem_of_the_request() -> None:
    assert S3InputChecker(FailingS3("404", 404), max_bytes=1024).problem("v", "uploads/a.png", "image") == (
        "does not exist"
    )


def test_only_the_first_bytes_of_a_large_data_uri_are_decoded() -> None:
    uri = "data:image/png;base64," + base64.b64encode(PNG * 10_000).decode()
    assert data_uri_head(uri) == PNG[:64]
    assert data_uri_problem(uri, "image") is None


def test_a_percent_encoded_data_uri_is_checked_too() -> None:
    assert data_uri_problem("data:image/png,hello%20world", "image") == (
        "is not an image file (its first bytes match no PNG, JPG, WEBP file)"
    )
