"""s3:// inputs become Runway ephemeral uploads; other URIs pass through (videogen.runway.uploads)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.simulator import RunwaySimulator, SimulatorConfig
from tests.support.template import create_video_bucket
from videogen.core.errors import InputNotFound, InvalidRequest, RunwayUnavailable
from videogen.core.media import content_type_for
from videogen.core.settings import Settings
from videogen.runway.client import RunwayClients
from videogen.runway.uploads import (
    MAX_EPHEMERAL_UPLOAD_BYTES,
    EphemeralUpload,
    EphemeralUploader,
    check_media_uri,
    parse_s3_uri,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, RunwaySimulator, RunwayClients]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("RUNWAYML_API_SECRET", "k")
    with mock_aws(), RunwaySimulator(SimulatorConfig(time_scale=0.01)) as sim:
        s3 = boto3.client("s3")
        create_video_bucket(s3, "inputs")
        s3.put_object(Bucket="inputs", Key="in/cat.png", Body=PNG, ContentType="binary/octet-stream")
        yield s3, sim, RunwayClients(Settings(runway_base_url=sim.base_url))


@pytest.mark.parametrize(
    ("uri", "scheme"),
    [
        ("https://example.com/a.png", "https"),
        ("runway://uploads/abc", "runway"),
        ("data:image/png;base64,iVBORw0KGgo=", "data"),
        ("s3://b/k.png", "s3"),
    ],
)
def test_supported_schemes(uri: str, scheme: str) -> None:
    assert check_media_uri(uri) == scheme


def test_s3_object_is_uploaded_with_its_name_type_and_bytes(
    env: tuple[Any, RunwaySimulator, RunwayClients],
) -> None:
    # GIVEN an s3:// image stored with a generic content type
    s3, sim, clients = env
    # WHEN it is uploaded
    made = EphemeralUploader(s3, clients.for_repeatable()).upload("s3://inputs/in/cat.png", "image")
    # THEN one ephemeral upload happened, with the file name, a guessed image type and every byte
    assert made == EphemeralUpload("s3://inputs/in/cat.png", uri=made.uri, bytes=len(PNG), kind="image")
    assert made.uri.startswith("runway://")
    starts = [r for r in sim.requests if r.path == "/v1/uploads"]
    assert [r.body for r in starts] == [{"filename": "cat.png", "type": "ephemeral"}]
    upload = sim.engine.upload_for_uri(made.uri)
    assert upload is not None
    assert upload.data == PNG
    assert upload.content_type == "image/png"


def test_an_upload_is_named_and_typed_by_its_bytes_not_its_key(
    env: tuple[Any, RunwaySimulator, RunwayClients],
) -> None:
    # GIVEN a PNG stored under a .jpg key with a JPEG content type
    s3, sim, clients = env
    s3.put_object(Bucket="inputs", Key="in/cat.jpg", Body=PNG, ContentType="image/jpeg")
    # WHEN it is uploaded
    made = EphemeralUploader(s3, clients.for_repeatable()).upload("s3://inputs/in/cat.jpg", "image")
    # THEN Runway is told what the bytes are: a PNG named cat.png
    starts = [r for r in sim.requests if r.path == "/v1/uploads"]
    assert [r.body["filename"] for r in starts] == ["cat.png"]
    upload = sim.engine.upload_for_uri(made.uri)
    assert upload is not None and upload.content_type == "image/png"


def test_missing_object_is_input_not_found(env: tuple[Any, RunwaySimulator, RunwayClients]) -> None:
    s3, _, clients = env
    with pytest.raises(InputNotFound, match="does not exist"):
        EphemeralUploader(s3, clients.for_repeatable()).upload("s3://inputs/in/missing.png", "image")


def test_missing_bucket_is_input_not_found(env: tuple[Any, RunwaySimulator, RunwayClients]) -> None:
    s3, _, clients = env
    with pytest.raises(InputNotFound):
        EphemeralUploader(s3, clients.for_repeatable()).upload("s3://nobucket/in/cat.png", "image")


def test_object_over_the_upload_limit_is_invalid() -> None:
    # GIVEN an S3 object one byte over Runway's 200 MB limit (a stub: nothing is downloaded)
    class BigS3:
        def head_object(self, **_: Any) -> dict[str, Any]:
            return {"ContentLength": MAX_EPHEMERAL_UPLOAD_BYTES + 1, "ContentType": "video/mp4"}

        def download_fileobj(self, *_: Any) -> None:  # pragma: no cover - must not be reached
            raise AssertionError("downloaded an oversized object")

    with pytest.raises(InvalidRequest, match="at most"):
        EphemeralUploader(BigS3(), runway=None).upload("s3://b/big.mp4", "video")  # type: ignore[arg-type]


@pytest.mark.parametrize("uri", ["http://example.com/a.png", "ftp://x/y", "file:///etc/passwd", "cat.png"])
def test_unsupported_schemes_are_invalid(uri: str) -> None:
    with pytest.raises(InvalidRequest):
        check_media_uri(uri)


def test_upload_target_failure_is_retryable(env: tuple[Any, RunwaySimulator, RunwayClients]) -> None:
    s3, sim, clients = env
    sim.inject("http_error", path="/_uploads/*", status=503, times=None)
    with pytest.raises(RunwayUnavailable):
        EphemeralUploader(s3, clients.for_repeatable()).upload("s3://inputs/in/cat.png", "image")


@pytest.mark.parametrize(("uri", "parts"), [("s3://b/k/x.png", ("b", "k/x.png")), ("S3://b/k", ("b", "k"))])
def test_parse_s3_uri(uri: str, parts: tuple[str, str]) -> None:
    assert parse_s3_uri(uri) == parts


@pytest.mark.parametrize("uri", ["s3://", "s3://bucket", "s3://bucket/", "s3:///key"])
def test_parse_s3_uri_rejects_incomplete(uri: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_s3_uri(uri)


@pytest.mark.parametrize(
    ("name", "declared", "expected"),
    [
        ("a.png", "image/png", "image/png"),
        ("a.png", "binary/octet-stream", "image/png"),
        ("a.mp4", None, "video/mp4"),
        ("a.jpg", "image/jpeg; charset=binary", "image/jpeg"),
        ("noext", "", "application/octet-stream"),
    ],
)
def test_content_type_for(name: str, declared: str | None, expected: str) -> None:
    assert content_type_for(name, declared) == expected
