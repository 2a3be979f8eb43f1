"""Streaming outputs into S3: host rule, types, hashing reader, truncated and refused downloads."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from moto import mock_aws

from tests.support.template import create_video_bucket
from videogen.core.errors import OutputDownloadFailed, OutputHostNotAllowed
from videogen.core.settings import Settings
from videogen.pipeline.output_stream import (
    HashingReader,
    OutputArchiver,
    OutputUrlRejected,
    check_output_url,
    make_http_client,
    output_type,
)

ANY_HOST = Settings(output_host_allowlist=("*",))
LOCAL = Settings(allow_loopback_http=True)


@pytest.mark.parametrize(
    ("url", "settings"),
    [
        ("https://dnznrvs05pmza.cloudfront.net/x.mp4?_jwt=1", Settings()),  # Runway's host, the default
        ("https://cdn.example.com/a.mp4?sig=1", ANY_HOST),
        ("http://127.0.0.1:8787/_outputs/t/0.mp4", LOCAL),
        ("http://localhost/x.mp4", LOCAL),
        ("https://a.b.runwayml.com/x.mp4", Settings(output_host_allowlist=(".runwayml.com",))),
        ("https://runwayml.com/x.mp4", Settings(output_host_allowlist=("*.runwayml.com",))),
    ],
)
def test_allowed_output_urls(url: str, settings: Settings) -> None:
    check_output_url(url, settings)


@pytest.mark.parametrize(
    ("url", "settings"),
    [
        ("https://cdn.example.com/a.mp4", Settings()),  # not Runway's host
        ("http://cdn.example.com/a.mp4", ANY_HOST),  # http off loopback
        ("http://127.0.0.1:8787/_outputs/t/0.mp4", Settings()),  # loopback without AllowLoopbackHttp
        ("http://10.0.0.1/a.mp4", ANY_HOST),
        ("ftp://cdn.example.com/a.mp4", ANY_HOST),
        ("file:///etc/passwd", ANY_HOST),
        ("https://evil.example.com/a.mp4", Settings(output_host_allowlist=("cdn.example.com",))),
        ("https://notrunwayml.com/a.mp4", Settings(output_host_allowlist=(".runwayml.com",))),
    ],
)
def test_refused_output_urls(url: str, settings: Settings) -> None:
    with pytest.raises(OutputHostNotAllowed):
        check_output_url(url, settings)


@pytest.mark.parametrize(
    ("content_type", "url", "expected"),
    [
        ("video/mp4", "https://h/x", ("mp4", "video/mp4")),
        ("video/quicktime", "https://h/x.mp4", ("mov", "video/quicktime")),
        ("application/zip", "https://h/x", ("zip", "application/zip")),
        ("audio/wav", "https://h/x", ("wav", "audio/wav")),
        ("audio/x-wav", "https://h/x", ("wav", "audio/x-wav")),
        ("Video/MP4; codecs=avc1", "https://h/x", ("mp4", "video/mp4")),
        ("application/octet-stream", "https://h/out/clip.mov?sig=1", ("mov", "video/quicktime")),
        (None, "https://h/out/clip.mp4", ("mp4", "video/mp4")),
        ("text/plain", "https://h/noext", ("bin", "text/plain")),
        (None, "https://h/noext", ("bin", "application/octet-stream")),
    ],
)
def test_output_type(content_type: str | None, url: str, expected: tuple[str, str]) -> None:
    assert output_type(content_type, url) == expected


def test_hashing_reader_hashes_and_counts() -> None:
    data = [b"abc", b"", b"defgh", b"i"]
    reader = HashingReader(iter(data), expected_bytes=9)
    assert io.BufferedReader(reader).read() == b"abcdefghi"
    assert reader.bytes_read == 9
    assert reader.sha256 == hashlib.sha256(b"abcdefghi").hexdigest()


def test_hashing_reader_refuses_a_short_body() -> None:
    reader = HashingReader(iter([b"abc"]), expected_bytes=10)
    with pytest.raises(OutputDownloadFailed, match="3 of 10"):
        reader.read()
    assert reader.error is not None


def test_hashing_reader_turns_transport_errors_into_download_failures() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"abc"
        raise httpx.ReadError("connection reset")

    reader = HashingReader(chunks(), expected_bytes=10)
    assert reader.read(3) == b"abc"
    with pytest.raises(OutputDownloadFailed, match="broke after 3 bytes"):
        reader.read(3)


# --- stream_to_s3 against moto, with a scripted HTTP transport -------------------------------------------

VIDEO = bytes(range(256)) * 4096  # 1 MiB


class Chunks(httpx.SyncByteStream):
    """A response body streamed in chunks, as from a socket."""

    def __init__(self, data: bytes, size: int = 64 * 1024) -> None:
        self._data, self._size = data, size

    def __iter__(self) -> Iterator[bytes]:
        for i in range(0, len(self._data), self._size):
            yield self._data[i : i + self._size]


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3")
        create_video_bucket(client, "videos")
        yield client


def archiver(s3: Any, handler: Any, **config: Any) -> OutputArchiver:
    transfer = TransferConfig(**config) if config else TransferConfig()
    return OutputArchiver(
        s3,
        make_http_client(transport=httpx.MockTransport(handler)),
        bucket="videos",
        transfer_config=transfer,
    )


def test_streams_a_multipart_upload_with_sha256(s3: Any) -> None:
    # GIVEN an 11 MiB video and multipart uploads in 5 MiB parts (S3's minimum)
    # WHEN archived THEN key, type, size and hash match the bytes
    video = VIDEO * 11

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": "video/mp4", "content-length": str(len(video))},
            stream=Chunks(video),
        )

    arc = archiver(s3, handler, multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    obj = arc.stream_to_s3(
        "https://dnznrvs05pmza.cloudfront.net/x?sig=1", "outputs/job/0", metadata={"job-id": "job"}
    )
    stored = s3.get_object(Bucket="videos", Key="outputs/job/0.mp4")
    body = stored["Body"].read()
    assert body == video
    assert obj.key == "outputs/job/0.mp4"
    assert obj.bytes == len(video)
    assert obj.sha256 == hashlib.sha256(video).hexdigest()
    assert obj.source_host == "dnznrvs05pmza.cloudfront.net"
    assert stored["ContentType"] == "video/mp4"
    assert stored["Metadata"] == {"job-id": "job"}
    assert stored["ETag"].endswith('-3"')  # three parts: really multipart


@pytest.mark.parametrize("status", [403, 404, 410])
def test_refused_url_asks_for_a_refresh(s3: Any, status: int) -> None:
    arc = archiver(s3, lambda request: httpx.Response(status))
    with pytest.raises(OutputUrlRejected):
        arc.stream_to_s3("https://dnznrvs05pmza.cloudfront.net/x", "outputs/job/0")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_download_failures(s3: Any, status: int) -> None:
    arc = archiver(s3, lambda request: httpx.Response(status))
    with pytest.raises(OutputDownloadFailed, match=str(status)):
        arc.stream_to_s3("https://dnznrvs05pmza.cloudfront.net/x", "outputs/job/0")


def test_short_body_leaves_no_object(s3: Any) -> None:
    # GIVEN a response announcing more bytes than it sends
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": "video/mp4", "content-length": str(len(VIDEO) + 10)},
            stream=Chunks(VIDEO),
        )

    # WHEN archived THEN OutputDownloadFailed, and no truncated object under the key
    with pytest.raises(OutputDownloadFailed):
        archiver(s3, handler).stream_to_s3("https://dnznrvs05pmza.cloudfront.net/x", "outputs/job/0")
    assert "Contents" not in s3.list_objects_v2(Bucket="videos")


def test_connection_failure_is_a_download_failure(s3: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(OutputDownloadFailed, match="ConnectError"):
        archiver(s3, handler).stream_to_s3("https://dnznrvs05pmza.cloudfront.net/x", "outputs/job/0")


def test_redirect_to_a_refused_host_is_refused(s3: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "dnznrvs05pmza.cloudfront.net":
            return httpx.Response(302, headers={"location": "http://attacker.example/x.mp4"})
        return httpx.Response(200, content=b"x")  # pragma: no cover - must not be reached

    with pytest.raises(OutputHostNotAllowed):
        archiver(s3, handler).stream_to_s3("https://dnznrvs05pmza.cloudfront.net/x", "outputs/job/0")


def test_put_json_writes_a_manifest(s3: Any) -> None:
    arc = archiver(s3, lambda request: httpx.Response(500))
    arc.put_json("outputs/job/job.json", {"b": 1, "a": [1, 2]})
    stored = s3.get_object(Bucket="videos", Key="outputs/job/job.json")
    assert stored["ContentType"] == "application/json"
    assert b'"a": [' in stored["Body"].read()
